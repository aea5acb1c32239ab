"""S3 buckets: versioned, KMS-encrypted with a bucket key, private, owner-enforced, TLS-only, with lifecycle.

The same hardening serves the attachments bucket of each environment and the
Terraform state bucket of the bootstrap stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from tmsc.ir import Block, JsonDocument, Ref, Resource, Template
from tmsc.model import Bucket, Platform
from tmsc.services.context import ACCOUNT_ID, Context, deny_insecure_transport, policy
from tmsc.services.keys import environment_key
from tmsc.services.permissions import ApplyScope, CiPermissions, Statement, s3_arns, statement


@attrs.frozen
class BucketSpec:
    """What differs between our buckets; everything else is the same hardening."""

    address: str  # local name of every block of the bucket
    name: str | Template
    key_arn: Ref
    noncurrent_version_days: int
    protect: bool  # data worth keeping: no force_destroy, prevent_destroy
    because: tuple[str, ...] = ()


def emit_bucket(spec: BucketSpec) -> tuple[Resource, ...]:
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
    return {"storage": (key, alias, *emit_bucket(bucket))}


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
        "aws_s3_bucket_server_side_encryption_configuration": "OwnBuckets",
        "aws_s3_bucket_versioning": "OwnBuckets",
    },
    apply=ci_bucket_statements,
    read_statements=ci_bucket_read_statements,
)
