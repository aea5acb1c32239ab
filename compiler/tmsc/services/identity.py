"""IRSA: one IAM role per workload service account, allowed exactly what the workload declares it reads.

A role trusts only system:serviceaccount:<namespace>:<name> of this cluster
(StringEquals on sub and aud). It may read the connection secrets of the
services it reads (and the RDS-managed credential), decrypt them only through
Secrets Manager, connect to Redis as its IAM user, and use its prefix of the
attachments bucket. The secrets controller (External Secrets Operator) gets a
role that reads every connection secret of the environment.
"""

from __future__ import annotations

from typing import Any

from tmsc.ir import Block, JsonDocument, Ref, Resource, Template
from tmsc.model import Platform, Workload
from tmsc.services.cluster import irsa_trust
from tmsc.services.context import Context, policy
from tmsc.services.secrets import SECRETS_KEY, connection_secret_arn

SECRETS_CONTROLLER = ("external-secrets", "external-secrets")  # namespace, service account of ESO
SECRETS_CONTROLLER_ROLE = "irsa_secrets_controller"


def workload_role_arn(workload: str) -> Ref:
    return Ref(f"aws_iam_role.irsa_{workload}", "arn")


def secrets_controller_role_arn() -> Ref:
    return Ref(f"aws_iam_role.{SECRETS_CONTROLLER_ROLE}", "arn")


def readers_of(platform: Platform, service: str) -> list[Ref]:
    """The roles admitted to a service's connection secret: its declared readers and the secrets controller."""
    return [workload_role_arn(name) for name, w in sorted(platform.workloads.items()) if service in w.reads] + [
        secrets_controller_role_arn()
    ]


def secret_read_statements(ctx: Context, secret_arns: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "ReadConnectionSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Resource": secret_arns,
        },
        {
            "Sid": "DecryptThroughSecretsManager",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": SECRETS_KEY,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{ctx.region}.amazonaws.com"}},
        },
    ]


def workload_statements(ctx: Context, workload: Workload) -> list[dict[str, Any]]:
    platform = ctx.platform
    secret_arns: list[Any] = []
    statements: list[dict[str, Any]] = []
    for read in sorted(workload.reads):
        secret_arns.append(connection_secret_arn(read))
        kind = platform.services[read].kind
        if kind == "postgres":
            # The connection secret points at the RDS-managed credential; the reader needs both.
            secret_arns.append(Ref(f"aws_db_instance.{read}", "master_user_secret[0].secret_arn"))
        if kind == "redis":
            statements.append(
                {
                    "Sid": f"ConnectTo{read.title().replace('-', '')}",
                    "Effect": "Allow",
                    "Action": "elasticache:Connect",
                    "Resource": [
                        Ref(f"aws_elasticache_replication_group.{read}", "arn"),
                        Ref(f"aws_elasticache_user.{read}_app", "arn"),
                    ],
                }
            )
    if secret_arns:
        statements[:0] = secret_read_statements(ctx, secret_arns)
    if workload.attachments_prefix:
        bucket_name, _ = platform.service_of_kind("bucket")
        bucket_arn = Ref(f"aws_s3_bucket.{bucket_name}", "arn")
        prefix = workload.attachments_prefix
        statements += [
            {
                "Sid": "ObjectsUnderPrefix",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                "Resource": Template((bucket_arn, f"/{prefix}*")),
            },
            {
                "Sid": "ListPrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            },
            {
                "Sid": "BucketKeyThroughS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": Ref(f"aws_kms_key.{bucket_name}", "arn"),
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{ctx.region}.amazonaws.com"}},
            },
        ]
    return statements


def role_with_policy(
    ctx: Context, address: str, name: str, namespace: str, account: str, statements: list[dict[str, Any]]
) -> list[Block]:
    role = Resource(
        "aws_iam_role",
        address,
        {
            "name": ctx.name(name),
            "description": f"IRSA role of {namespace}/{account}",
            "assume_role_policy": irsa_trust(ctx.platform, namespace, account),
        },
    )
    blocks: list[Block] = [role]
    if statements:
        blocks.append(
            Resource(
                "aws_iam_role_policy",
                address,
                {"name": "least-privilege", "role": role.ref(), "policy": JsonDocument(policy(*statements))},
            )
        )
    return blocks


def emit_identities(ctx: Context) -> tuple[Block, ...]:
    platform = ctx.platform
    blocks: list[Block] = []
    for name, workload in sorted(platform.workloads.items()):
        blocks += role_with_policy(
            ctx, f"irsa_{name}", name, workload.namespace, workload.service_account, workload_statements(ctx, workload)
        )
    data_services = sorted(n for n, s in platform.services.items() if s.kind in ("postgres", "redis", "rabbitmq"))
    controller_secrets: list[Any] = [connection_secret_arn(n) for n in data_services]
    controller_secrets += [
        Ref(f"aws_db_instance.{n}", "master_user_secret[0].secret_arn")
        for n in data_services
        if platform.services[n].kind == "postgres"
    ]
    namespace, account = SECRETS_CONTROLLER
    blocks += role_with_policy(
        ctx,
        SECRETS_CONTROLLER_ROLE,
        "secrets-controller",
        namespace,
        account,
        secret_read_statements(ctx, controller_secrets),
    )
    return tuple(blocks)
