"""S3 buckets: versioned, KMS-encrypted with a bucket key, private, owner-enforced, TLS-only, with lifecycle.

The same hardening serves the attachments bucket of each environment, its
replica in the DR region when the environment asks for regional DR, and the
Terraform state bucket of the bootstrap stack. The replica is emitted from the
source's own BucketSpec (another name, key and region), so it carries every
protection the source has, by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from tmsc import facts
from tmsc.ir import Block, JsonDocument, Ref, Resource, Template
from tmsc.model import Bucket, Platform
from tmsc.services.context import ACCOUNT_ID, Context, deny_insecure_transport, join, policy, service_role
from tmsc.services.keys import environment_key
from tmsc.services.permissions import ApplyScope, CiPermissions, Statement, s3_arns, statement
from tmsc.services.providers import DR_PROVIDER


@attrs.frozen
class BucketSpec:
    """What differs between our buckets; everything else is the same hardening."""

    address: str  # local name of every block of the bucket
    name: str | Template
    key_arn: Ref
    noncurrent_version_days: int
    protect: bool  # data worth keeping: no force_destroy, prevent_destroy
    because: tuple[str, ...] = ()
    provider: str | None = None  # an aliased provider (the DR region), or the stack's own region


def emit_bucket(spec: BucketSpec) -> tuple[Resource, ...]:
    resources = _bucket_resources(spec)
    if spec.provider is None:
        return resources
    return tuple(attrs.evolve(r, body={"provider": spec.provider, **r.body}) for r in resources)


def _bucket_resources(spec: BucketSpec) -> tuple[Resource, ...]:
    lifecycle: dict[str, Any] = {"prevent_destroy": True} if spec.protect else {}
    bucket_body: dict[str, Any] = {"bucket": spec.name, "force_destroy": not spec.protect}
    if lifecycle:
        bucket_body["lifecycle"] = lifecycle
    bucket = Resource("aws_s3_bucket", spec.address, bucket_body, because=spec.because)
    bucket_id = bucket.ref("id")
    public_access = Resource(
        "aws_s3_bucket_public_access_block",
        spec.address,
        {
            "bucket": bucket_id,
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        },
    )
    return (
        bucket,
        public_access,
        Resource(
            "aws_s3_bucket_versioning",
            spec.address,
            {"bucket": bucket_id, "versioning_configuration": {"status": "Enabled"}},
        ),
        Resource(
            "aws_s3_bucket_server_side_encryption_configuration",
            spec.address,
            {
                "bucket": bucket_id,
                "rule": [
                    {
                        "apply_server_side_encryption_by_default": {
                            "sse_algorithm": "aws:kms",
                            "kms_master_key_id": spec.key_arn,
                        },
                        # A bucket key cuts KMS requests (and their cost) by orders of magnitude.
                        "bucket_key_enabled": True,
                    }
                ],
            },
        ),
        Resource(
            "aws_s3_bucket_ownership_controls",
            spec.address,
            {"bucket": bucket_id, "rule": {"object_ownership": "BucketOwnerEnforced"}},
        ),
        Resource(
            "aws_s3_bucket_policy",
            spec.address,
            {
                "bucket": bucket_id,
                "policy": JsonDocument(
                    policy(deny_insecure_transport([bucket.ref("arn"), Template((bucket.ref("arn"), "/*"))]))
                ),
                # A policy written before the public access block exists may be refused as public.
                "depends_on": [public_access.bare],
            },
        ),
        Resource(
            "aws_s3_bucket_lifecycle_configuration",
            spec.address,
            {
                "bucket": bucket_id,
                "rule": [
                    {
                        "id": "expire-noncurrent-versions",
                        "status": "Enabled",
                        "filter": {},
                        "noncurrent_version_expiration": {"noncurrent_days": spec.noncurrent_version_days},
                    },
                    {
                        "id": "abort-incomplete-uploads",
                        "status": "Enabled",
                        "filter": {},
                        "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                    },
                ],
            },
        ),
    )


def emit_service_bucket(ctx: Context, name: str, service: Bucket) -> dict[str, tuple[Block, ...]]:
    """A bucket service of an environment, e.g. the attachments (receipts, PODs)."""
    key, alias = environment_key(ctx, name, ctx.name(name), f"S3 bucket {ctx.name(name)}")
    protect = ctx.plan.deletion_protection
    # Bucket names are global: the account id keeps two accounts' platforms apart.
    bucket_name = Template((ctx.name(name) + "-", ACCOUNT_ID))
    bucket = BucketSpec(
        address=name,
        name=bucket_name,
        key_arn=key.ref("arn"),
        noncurrent_version_days=service.noncurrent_version_days,
        protect=protect.value,
        because=(protect.reason,),
    )
    return {"storage": (key, alias, *emit_bucket(bucket), *replication(ctx, bucket, key))}


# --------------------------------------------------------------------------- regional DR


def replica_spec(ctx: Context, source: BucketSpec, key: Resource) -> BucketSpec:
    """The replica in the DR region: the source's spec with its own name, CMK and region."""
    decision = ctx.plan.attachments_replication
    return attrs.evolve(
        source,
        address=f"{source.address}_dr",
        name=Template((ctx.name(source.address, "dr") + "-", ACCOUNT_ID)),
        key_arn=key.ref("arn"),
        provider=DR_PROVIDER,
        because=(decision.reason, *source.because),
    )


def replication(ctx: Context, source: BucketSpec, source_key: Resource) -> tuple[Resource, ...]:
    """The replica bucket, its CMK, the replication role and the replication rule (S3 RTC); nothing without DR."""
    decision = ctx.plan.attachments_replication
    if decision.value is None:
        return ()
    table = facts.disaster_recovery()
    name = source.address
    key, alias = environment_key(
        ctx,
        f"{name}_dr",
        ctx.name(name, "dr"),
        f"S3 bucket {ctx.name(name, 'dr')} in {decision.value}: the replica of {ctx.name(name)}",
        provider=DR_PROVIDER,
    )
    replica = replica_spec(ctx, source, key)
    replica_blocks = emit_bucket(replica)
    source_arn = Ref(f"aws_s3_bucket.{name}", "arn")
    replica_arn = replica_blocks[0].ref("arn")
    # S3 of this account only: no other account's bucket can make S3 act as this role.
    role = service_role(
        f"{name}_replication", ctx.name(name, "replication"), "s3.amazonaws.com", this_account_only=True
    )
    role_policy = Resource(
        "aws_iam_role_policy",
        f"{name}_replication",
        {
            "name": "least-privilege",
            "role": role.ref(),
            "policy": JsonDocument(
                policy(*replication_statements(ctx, source_arn, source_key, replica_arn, key, decision.value))
            ),
        },
    )
    rule = Resource(
        "aws_s3_bucket_replication_configuration",
        name,
        {
            "bucket": Ref(f"aws_s3_bucket.{name}", "id"),
            "role": role.ref("arn"),
            "rule": [
                {
                    "id": "regional-dr",
                    "status": "Enabled",
                    "priority": 1,
                    "filter": {},
                    # A delete in the primary stays there: the replica keeps what a mistaken or malicious
                    # delete removed (versioning keeps it in the source too, until noncurrent_version_days).
                    "delete_marker_replication": {"status": "Disabled"},
                    # Every object is SSE-KMS under the bucket's CMK: S3 replicates such objects only when asked.
                    "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                    "destination": {
                        "bucket": replica_arn,
                        "storage_class": "STANDARD",
                        "encryption_configuration": {"replica_kms_key_id": key.ref("arn")},
                        # RTC: the only replication with a published time bound; its API takes 15 minutes only.
                        "replication_time": {"status": "Enabled", "time": {"minutes": table.rtc_minutes}},
                        "metrics": {"status": "Enabled", "event_threshold": {"minutes": table.rtc_minutes}},
                    },
                }
            ],
            # Both buckets must be versioned before S3 accepts a replication configuration.
            "depends_on": [
                Ref(f"aws_s3_bucket_versioning.{name}"),
                Ref(f"aws_s3_bucket_versioning.{replica.address}"),
                Ref(f"aws_iam_role_policy.{name}_replication"),
            ],
        },
        because=(decision.reason,),
    )
    return (key, alias, *replica_blocks, role, role_policy, rule)


def replication_statements(
    ctx: Context, source_arn: Ref, source_key: Resource, replica_arn: Ref, replica_key: Resource, dr_region: str
) -> list[dict[str, Any]]:
    """What S3 needs to replicate SSE-KMS objects, and nothing more (facts: s3_replication_of_kms_objects).

    With S3 Bucket Keys on, the KMS encryption context is the bucket's ARN (not the object's): both are allowed.
    No s3:ReplicateDelete: delete markers are not replicated.
    """
    return [
        {
            "Sid": "SourceBucketConfiguration",
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": source_arn,
        },
        {
            "Sid": "ReadSourceVersions",
            "Effect": "Allow",
            "Action": [
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionTagging",
            ],
            "Resource": join(source_arn, "/*"),
        },
        {
            "Sid": "WriteReplicas",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateTags"],
            "Resource": join(replica_arn, "/*"),
        },
        {
            "Sid": "DecryptSourceObjects",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": source_key.ref("arn"),
            "Condition": {
                "StringEquals": {"kms:ViaService": f"s3.{ctx.region}.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": [source_arn, join(source_arn, "/*")]},
            },
        },
        {
            "Sid": "EncryptReplicas",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": replica_key.ref("arn"),
            "Condition": {
                "StringEquals": {"kms:ViaService": f"s3.{dr_region}.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": [replica_arn, join(replica_arn, "/*")]},
            },
        },
    ]


# --------------------------------------------------------------------------- what CI needs to apply it


def ci_bucket_read_statements(platform: Platform, regions: Sequence[str]) -> list[Statement]:
    return [
        statement(
            "ReadBucketConfiguration",
            [
                "s3:GetAccelerateConfiguration",
                "s3:GetBucket*",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:GetReplicationConfiguration",
                "s3:ListBucket",
            ],
            s3_arns(f"{platform.platform}-*"),
        )
    ]


def ci_bucket_statements(scope: ApplyScope) -> list[Statement]:
    name = scope.names
    statements = [
        statement(
            "OwnBuckets",
            [
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:ListBucketVersions",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
                "s3:PutReplicationConfiguration",
            ],
            s3_arns(name),
        ),
    ]
    if not scope.plan.deletion_protection.value:
        # force_destroy: a disposable environment's bucket is emptied before it is deleted.
        statements.append(
            statement("EmptyOwnDisposableBuckets", ["s3:DeleteObject", "s3:DeleteObjectVersion"], s3_arns(f"{name}/*"))
        )
    return statements


CI_PERMISSIONS = CiPermissions(
    family="storage",
    group="data",
    grants={
        "aws_s3_bucket": "OwnBuckets",
        "aws_s3_bucket_lifecycle_configuration": "OwnBuckets",
        "aws_s3_bucket_ownership_controls": "OwnBuckets",
        "aws_s3_bucket_policy": "OwnBuckets",
        "aws_s3_bucket_public_access_block": "OwnBuckets",
        "aws_s3_bucket_replication_configuration": "OwnBuckets",
        "aws_s3_bucket_server_side_encryption_configuration": "OwnBuckets",
        "aws_s3_bucket_versioning": "OwnBuckets",
    },
    apply=ci_bucket_statements,
    read_statements=ci_bucket_read_statements,
    # The replication role of regional DR is handed to S3.
    passes_roles_to=("s3.amazonaws.com",),
)
