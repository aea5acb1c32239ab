"""The bootstrap stacks: per AWS account, the S3 bucket and DynamoDB table that hold and lock its environments'
state, and the CI identity of those environments.

Each is applied once, with local state, before any environment of its account (see the README). With one
account (named in the spec or not) there is one, out/bootstrap/; with several, one per account,
out/bootstrap-<account id>/.
"""

from __future__ import annotations

from tmsc.ir import Block, Output, Resource
from tmsc.model import Platform
from tmsc.services.boundary import emit_boundaries
from tmsc.services.delivery import delivery_outputs, emit_delivery
from tmsc.services.keys import customer_key
from tmsc.services.providers import (
    BOOTSTRAP,
    accounts,
    bootstrap_stack,
    emit_providers,
    lock_table_name,
    state_bucket_name,
    state_key_alias,
)
from tmsc.services.storage import BucketSpec, emit_bucket

__all__ = ["BOOTSTRAP", "emit_bootstrap", "emit_bootstraps"]

STATE_VERSIONS_KEPT_DAYS = 365  # a year of state history to roll back to


def emit_bootstraps(platform: Platform) -> dict[str, dict[str, tuple[Block, ...]]]:
    """Stack name → file name → blocks: one bootstrap stack per account."""
    return {
        bootstrap_stack(platform, account): emit_bootstrap(platform, account, environments)
        for account, environments in accounts(platform).items()
    }


def emit_bootstrap(
    platform: Platform, account: str | None = None, environments: tuple[str, ...] | None = None
) -> dict[str, tuple[Block, ...]]:
    """The bootstrap stack of one account, for the environments it holds (every environment, by default)."""
    environments = environments if environments is not None else tuple(sorted(platform.environments))
    key, alias = customer_key(
        "state", state_key_alias(platform).removeprefix("alias/"), f"Terraform state of {platform.platform}"
    )
    bucket = emit_bucket(
        BucketSpec(
            address="state",
            name=state_bucket_name(platform, account),
            key_arn=key.ref("arn"),
            noncurrent_version_days=STATE_VERSIONS_KEPT_DAYS,
            protect=True,
            because=(f"the state of {', '.join(environments)}: never destroyed by accident",),
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
        Output(
            "state_bucket_name",
            bucket[0].ref("id"),
            f"S3 bucket holding the Terraform state of {', '.join(environments)}.",
        ),
        Output("lock_table_name", table.ref("name"), "DynamoDB table locking the Terraform state."),
        Output("state_kms_key_arn", key.ref("arn"), "KMS key encrypting the state bucket and the lock table."),
    )
    stack = bootstrap_stack(platform, account)
    files: dict[str, tuple[Block, ...]] = {
        "providers.tf.json": emit_providers(platform, stack, remote_state=False),
        "state.tf.json": (key, alias, *bucket, table),
        # The permissions boundary of every role each environment's stack creates (services/boundary.py).
        "boundary.tf.json": emit_boundaries(platform, environments),
        "outputs.tf.json": outputs,
    }
    if platform.delivery is not None:
        # The CI identity of this account's environments: GitHub's OIDC provider and the plan/apply roles.
        files["delivery.tf.json"] = emit_delivery(platform, environments)
        files["outputs.tf.json"] = (*outputs, *delivery_outputs(platform, environments))
    return files
