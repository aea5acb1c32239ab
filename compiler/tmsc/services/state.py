"""The bootstrap stack: the S3 bucket and DynamoDB table that hold and lock every environment's state, and the CI identity.

It is applied once, with local state, before any environment (see the README).
"""

from __future__ import annotations

from tmsc.ir import Block, Output, Resource
from tmsc.model import Platform
from tmsc.services.delivery import delivery_outputs, emit_delivery
from tmsc.services.keys import customer_key
from tmsc.services.providers import emit_providers, lock_table_name, state_bucket_name, state_key_alias
from tmsc.services.storage import BucketSpec, emit_bucket

BOOTSTRAP = "bootstrap"
STATE_VERSIONS_KEPT_DAYS = 365  # a year of state history to roll back to


def emit_bootstrap(platform: Platform) -> dict[str, tuple[Block, ...]]:
    key, alias = customer_key(
        "state", state_key_alias(platform).removeprefix("alias/"), f"Terraform state of {platform.platform}"
    )
    bucket = emit_bucket(
        BucketSpec(
            address="state",
            name=state_bucket_name(platform),
            key_arn=key.ref("arn"),
            noncurrent_version_days=STATE_VERSIONS_KEPT_DAYS,
            protect=True,
            because=("the state of every environment: never destroyed by accident",),
        )
    )
    table = Resource(
        "aws_dynamodb_table",
        "locks",
        {
            "name": lock_table_name(platform),
            "billing_mode": "PAY_PER_REQUEST",
            "hash_key": "LockID",
            "attribute": [{"name": "LockID", "type": "S"}],
            "point_in_time_recovery": {"enabled": True},
            "server_side_encryption": {"enabled": True, "kms_key_arn": key.ref("arn")},
            "deletion_protection_enabled": True,
        },
    )
    outputs = (
        Output("state_bucket_name", bucket[0].ref("id"), "S3 bucket holding the Terraform state of every environment."),
        Output("lock_table_name", table.ref("name"), "DynamoDB table locking the Terraform state."),
        Output("state_kms_key_arn", key.ref("arn"), "KMS key encrypting the state bucket and the lock table."),
    )
    files: dict[str, tuple[Block, ...]] = {
        "providers.tf.json": emit_providers(platform, BOOTSTRAP, remote_state=False),
        "state.tf.json": (key, alias, *bucket, table),
        "outputs.tf.json": outputs,
    }
    if platform.delivery is not None:
        # The CI identity: GitHub's OIDC provider and the plan/apply roles (services/delivery.py).
        files["delivery.tf.json"] = emit_delivery(platform)
        files["outputs.tf.json"] = (*outputs, *delivery_outputs(platform))
    return files
