"""Customer-managed KMS keys: rotation on, and a key policy that names who may use the key and how."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tmsc.ir import JsonDocument, Ref, Resource
from tmsc.services.context import ACCOUNT_ROOT, Context, arn, policy

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
