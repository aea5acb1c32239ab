"""Customer-managed KMS keys: rotation on, and a key policy that names who may use the key and how."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tmsc.ir import JsonDocument, Ref, Resource
from tmsc.services.context import ACCOUNT_ROOT, Context, arn, policy
from tmsc.services.permissions import (
    ApplyScope,
    CiPermissions,
    Statement,
    ci_deployer,
    merge,
    regional,
    resourceless,
    statement,
    untagged_until_now,
)

# Key administration for the account, spelled out rather than "kms:*": IAM
# policies in the account decide which principals may administer the key.
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:Create*",
    "kms:Delete*",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:Put*",
    "kms:Revoke*",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
]
KEY_USE_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
# The services that use an environment's keys on the caller's behalf (through grants).
KEY_USING_SERVICES = ("rds", "eks", "elasticache", "secretsmanager", "logs", "s3")
DELETION_WINDOW_DAYS = 30


def account_statements() -> list[dict[str, Any]]:
    return [
        {
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": {"AWS": ACCOUNT_ROOT},
            "Action": KEY_ADMIN_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "AccountPrincipalsUseKeyThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": ACCOUNT_ROOT},
            "Action": KEY_USE_ACTIONS,
            "Resource": "*",
        },
    ]


def customer_key(
    address: str,
    alias: str,
    description: str,
    extra_statements: Sequence[dict[str, Any]] = (),
    provider: str | None = None,
    administrators: Sequence[Any] = (),
) -> tuple[Resource, Resource]:
    """A symmetric CMK with yearly rotation, and its alias; provider names an aliased provider (another region).

    administrators: principals the key policy itself lets administer the key and use it through AWS services
    (an environment's CI apply role), so that they need no IAM grant that would reach other keys.
    """
    placement = {"provider": provider} if provider else {}
    if administrators:
        extra_statements = [*administrator_statements(list(administrators)), *extra_statements]
    key = Resource(
        "aws_kms_key",
        address,
        {
            **placement,
            "description": description,
            "enable_key_rotation": True,
            "rotation_period_in_days": 365,
            "deletion_window_in_days": DELETION_WINDOW_DAYS,
            # In a key policy "Resource": "*" means this key; nothing wider is possible.
            "policy": JsonDocument(policy(*account_statements(), *extra_statements)),
        },
    )
    return key, Resource(
        "aws_kms_alias", address, {**placement, "name": f"alias/{alias}", "target_key_id": key.ref("key_id")}
    )


def administrator_statements(administrators: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "ApplyRoleAdministersKey",
            "Effect": "Allow",
            "Principal": {"AWS": administrators},
            "Action": KEY_ADMIN_ACTIONS,
            "Resource": "*",
        },
        {
            # RDS, EKS, ElastiCache, Secrets Manager, CloudWatch Logs and S3 use the key on the applier's behalf.
            "Sid": "ApplyRoleUsesKeyThroughServices",
            "Effect": "Allow",
            "Principal": {"AWS": administrators},
            "Action": ["kms:CreateGrant", *KEY_USE_ACTIONS],
            "Resource": "*",
            "Condition": {"StringLike": {"kms:ViaService": [f"{s}.*.amazonaws.com" for s in KEY_USING_SERVICES]}},
        },
    ]


def environment_key(
    ctx: Context,
    address: str,
    alias: str,
    description: str,
    extra_statements: Sequence[dict[str, Any]] = (),
    provider: str | None = None,
) -> tuple[Resource, Resource]:
    """A key of an environment's stack: its CI apply role administers it through the key policy, not by tag.

    A tag-based IAM grant would reach any key someone tags for the environment, and KMS lets whoever may tag
    at CreateKey tag any untagged key of the region (tmsc/data/iam_authorization.json): a key policy names
    exactly this key.
    """
    return customer_key(
        address, alias, description, extra_statements, provider, ci_deployer(ctx.platform, ctx.env_name)
    )


def logs_key(ctx: Context) -> tuple[Resource, Resource]:
    """The key of every CloudWatch log group of the environment."""
    log_groups = arn("logs", ctx.region, "log-group:*")
    return environment_key(
        ctx,
        "logs",
        ctx.name("logs"),
        f"CloudWatch Logs of {ctx.name()}",
        [
            {
                "Sid": "CloudWatchLogsUseKey",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{ctx.region}.amazonaws.com"},
                "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            }
        ],
    )


LOGS_KEY_ARN = Ref("aws_kms_key.logs", "arn")


def encrypted_log_group(ctx: Context, address: str, name: str) -> Resource:
    """A CloudWatch log group under the environment's logs key, kept as long as the plan says."""
    return Resource(
        "aws_cloudwatch_log_group",
        address,
        {"name": name, "retention_in_days": ctx.plan.log_retention_days.value, "kms_key_id": LOGS_KEY_ARN},
        because=(ctx.plan.log_retention_days.reason,),
    )


# --------------------------------------------------------------------------- what CI needs to apply them


def ci_key_statements(scope: ApplyScope) -> list[Statement]:
    """Creating a key with the environment's tags, and its aliases by name. Everything else an apply role does to a
    key (policy, rotation, deletion, tags, use through services) its key policy grants it (environment_key): no IAM
    grant reaches a key by tag, so tagging someone else's untagged key into the environment gains nothing."""
    return [
        # KMS authorizes tags at CreateKey as kms:TagResource on every key of the region: the one grant by absence
        # of a tag left, and all it allows is setting the environment's tags (README, residual risks).
        resourceless(
            "CreateTaggedKeys",
            ["kms:CreateKey", "kms:TagResource"],
            scope.regions,
            CI_PERMISSIONS.resourceless,
            merge(scope.request_tags(), untagged_until_now()),
        ),
        statement(
            "OwnAliases",
            ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            regional("kms", scope.regions, f"alias/{scope.names}"),
        ),
    ]


def ci_log_statements(scope: ApplyScope) -> list[Statement]:
    """Log groups are named: /aws/<service>/<platform>-<env>..."""
    p, env = scope.prefix, scope.env
    return [
        statement(
            "OwnLogGroups",
            [
                "logs:AssociateKmsKey",
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:DisassociateKmsKey",
                "logs:PutRetentionPolicy",
                "logs:TagLogGroup",
                "logs:TagResource",
                "logs:UntagLogGroup",
                "logs:UntagResource",
            ],
            regional("logs", scope.home, f"log-group:/aws/*/{p}-{env}/*", f"log-group:/aws/*/{p}-{env}-*"),
        ),
        # ElastiCache slow logs and API Gateway access logs are "log deliveries".
        resourceless(
            "LogDeliveries",
            ["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:UpdateLogDelivery"],
            scope.home,
            LOG_CI_PERMISSIONS.resourceless,
        ),
        # The account's log resource policy that lets a service deliver logs: AWS authorizes it on no resource and
        # with no condition key (tmsc/data/iam_authorization.json), so the home region is all that narrows it.
        # It never covers DeleteResourcePolicy.
        resourceless(
            "LogDeliveryResourcePolicy", ["logs:PutResourcePolicy"], scope.home, LOG_CI_PERMISSIONS.resourceless
        ),
    ]


CI_PERMISSIONS = CiPermissions(
    family="keys",
    group="keys",
    grants={"aws_kms_key": "CreateTaggedKeys", "aws_kms_alias": "OwnAliases"},
    apply=ci_key_statements,
    reads=(
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListAliases",
        "kms:ListResourceTags",
    ),
    resourceless={
        "kms:ListAliases": "lists the region's aliases, no resource",
        "kms:DescribeKey": "plan refreshes keys whose ids AWS assigns",
        "kms:GetKeyPolicy": "plan refreshes keys whose ids AWS assigns",
        "kms:GetKeyRotationStatus": "plan refreshes keys whose ids AWS assigns",
        "kms:ListResourceTags": "plan refreshes keys whose ids AWS assigns",
        "kms:CreateKey": "a key that does not exist yet has no ARN",
        "kms:TagResource": "tagging at CreateKey, before the key has an ARN",
    },
)

LOG_CI_PERMISSIONS = CiPermissions(
    family="logs",
    group="platform",
    grants={"aws_cloudwatch_log_group": "OwnLogGroups"},
    apply=ci_log_statements,
    reads=(
        "logs:Describe*",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:ListTagsForResource",
        "logs:ListTagsLogGroup",
    ),
    resourceless={
        "logs:Describe*": "DescribeLogGroups and DescribeResourcePolicies take no resource",
        "logs:ListTagsForResource": "follows DescribeLogGroups",
        "logs:ListTagsLogGroup": "follows DescribeLogGroups",
        "logs:GetLogDelivery": "log deliveries (ElastiCache, API Gateway logs) take no resource-level permissions",
        "logs:ListLogDeliveries": "log deliveries take no resource-level permissions",
        "logs:CreateLogDelivery": "log deliveries take no resource-level permissions",
        "logs:UpdateLogDelivery": "log deliveries take no resource-level permissions",
        "logs:DeleteLogDelivery": "log deliveries take no resource-level permissions",
        "logs:PutResourcePolicy": "the account's log resource policy that lets a service deliver logs has no ARN",
    },
)
