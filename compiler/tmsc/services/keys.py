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
    merge,
    regional,
    resourceless,
    statement,
    tag_keys_kept,
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
) -> tuple[Resource, Resource]:
    """A symmetric CMK with yearly rotation, and its alias; provider names an aliased provider (another region)."""
    placement = {"provider": provider} if provider else {}
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


def logs_key(ctx: Context) -> tuple[Resource, Resource]:
    """The key of every CloudWatch log group of the environment."""
    log_groups = arn("logs", ctx.region, "log-group:*")
    return customer_key(
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
    """Key ids are AWS's: a key is created with the environment's tags and changed only while it carries them."""
    keys = regional("kms", scope.regions, "key/*")
    own = scope.resource_tags()
    return [
        resourceless(
            "CreateTaggedKeys",
            ["kms:CreateKey", "kms:TagResource"],
            scope.regions,
            CI_PERMISSIONS.resourceless,
            merge(scope.request_tags(), untagged_until_now()),
        ),
        statement(
            "ManageOwnKeys",
            [
                "kms:CreateAlias",
                "kms:DeleteAlias",
                "kms:DisableKeyRotation",
                "kms:EnableKeyRotation",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:UpdateAlias",
                "kms:UpdateKeyDescription",
            ],
            keys,
            own,
        ),
        statement("RetagOwnKeys", ["kms:TagResource", "kms:UntagResource"], keys, merge(own, tag_keys_kept())),
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
    keys_used_through=("logs",),
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
