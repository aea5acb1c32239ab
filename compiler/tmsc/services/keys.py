"""Customer-managed KMS keys: rotation on, and a key policy that names who may use the key and how."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tmsc.ir import JsonDocument, Resource
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
        {"Sid": "AccountAdministersKey", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}, "Action": KEY_ADMIN_ACTIONS, "Resource": "*"},
        {"Sid": "AccountPrincipalsUseKeyThroughIam", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}, "Action": KEY_USE_ACTIONS, "Resource": "*"},
    ]


def customer_key(
    address: str,
    alias: str,
    description: str,
    extra_statements: Sequence[dict[str, Any]] = (),
) -> tuple[Resource, Resource]:
    """A symmetric CMK with yearly rotation, and its alias."""
    key = Resource(
        "aws_kms_key",
        address,
        {
            "description": description,
            "enable_key_rotation": True,
            "rotation_period_in_days": 365,
            "deletion_window_in_days": DELETION_WINDOW_DAYS,
            # In a key policy "Resource": "*" means this key; nothing wider is possible.
            "policy": JsonDocument(policy(*account_statements(), *extra_statements)),
        },
    )
    return key, Resource("aws_kms_alias", address, {"name": f"alias/{alias}", "target_key_id": key.ref("key_id")})


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
