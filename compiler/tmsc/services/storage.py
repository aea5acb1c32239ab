"""S3 buckets: versioned, KMS-encrypted with a bucket key, private, owner-enforced, TLS-only, with lifecycle.

The same hardening serves the attachments bucket of each environment and the
Terraform state bucket of the bootstrap stack.
"""

from __future__ import annotations

from typing import Any

import attrs

from tmsc.ir import Block, JsonDocument, Ref, Resource, Template
from tmsc.model import Bucket
from tmsc.services.context import ACCOUNT_ID, Context, deny_insecure_transport, policy
from tmsc.services.keys import customer_key


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
    key, alias = customer_key(name, ctx.name(name), f"S3 bucket {ctx.name(name)}")
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
