"""IRSA: one IAM role per workload service account, allowed exactly what the workload declares it reads.

A role trusts only system:serviceaccount:<namespace>:<name> of this cluster
(StringEquals on sub and aud). It may read the connection secrets of the
services it reads, decrypt them only through Secrets Manager, connect to
PostgreSQL as its own database user through IAM authentication (rds-db:connect
on exactly that dbuser), read its own broker user's secret, connect to Redis
as its IAM user, and use its prefix of the attachments bucket. No workload
role can read the database's master credential or the broker's administrator
password: only the migration identity (a service account of its own, in a
namespace no workload may use) reads them, to create the workloads' users.
The secrets controller (External Secrets Operator) gets a role that reads the
connection secrets (endpoints, no credential) of the environment.
"""

from __future__ import annotations

from typing import Any

from tmsc.ir import Block, JsonDocument, Ref, Resource, Template
from tmsc.model import MIGRATION_NAMESPACE, Platform, Workload, database_user
from tmsc.services.cluster import irsa_trust
from tmsc.services.context import Context, arn, policy
from tmsc.services.secrets import SECRETS_KEY, broker_user_secret_arn, connection_secret_arn, password_secret_arn

SECRETS_CONTROLLER = ("external-secrets", "external-secrets")  # namespace, service account of ESO
SECRETS_CONTROLLER_ROLE = "irsa_secrets_controller"
# The migration identity: runs the database and broker user bootstrap Jobs (and schema migrations).
MIGRATION = (MIGRATION_NAMESPACE, "migration")
MIGRATION_ROLE = "irsa_migration"  # an underscore: no workload's irsa_<name> address can take it


def workload_role_arn(workload: str) -> Ref:
    return Ref(f"aws_iam_role.irsa_{workload}", "arn")


def secrets_controller_role_arn() -> Ref:
    return Ref(f"aws_iam_role.{SECRETS_CONTROLLER_ROLE}", "arn")


def migration_role_arn() -> Ref:
    return Ref(f"aws_iam_role.{MIGRATION_ROLE}", "arn")


def readers_of(platform: Platform, service: str) -> list[Ref]:
    """The roles admitted to a service's connection secret: its declared readers, the migration identity and the
    secrets controller."""
    return [workload_role_arn(name) for name, w in sorted(platform.workloads.items()) if service in w.reads] + [
        migration_role_arn(),
        secrets_controller_role_arn(),
    ]


def cache_user_address(cache: str, workload: str) -> str:
    """Terraform name of a workload's own ElastiCache user (never `<cache>_default`, the disabled default user)."""
    return f"{cache}_user_{workload}"


def reading_workloads(platform: Platform, service: str) -> list[str]:
    """The workloads that read a service: each gets a user of its own on a broker or a cache."""
    return [name for name, w in sorted(platform.workloads.items()) if service in w.reads]


def dbuser_arn(ctx: Context, database: str, user: str) -> Template:
    """arn:<partition>:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<user>: what rds-db:connect is granted on."""
    return arn(
        "rds-db", ctx.region, Template(("dbuser:", Ref(f"aws_db_instance.{database}", "resource_id"), f"/{user}"))
    )


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


def workload_statements(ctx: Context, name: str, workload: Workload) -> list[dict[str, Any]]:
    platform = ctx.platform
    secret_arns: list[Any] = []
    statements: list[dict[str, Any]] = []
    for read in sorted(workload.reads):
        secret_arns.append(connection_secret_arn(read))
        kind = platform.services[read].kind
        if kind == "postgres":
            # Its own database user, through IAM authentication: never the master credential.
            statements.append(
                {
                    "Sid": f"ConnectTo{read.title().replace('-', '')}AsItself",
                    "Effect": "Allow",
                    "Action": "rds-db:connect",
                    "Resource": dbuser_arn(ctx, read, database_user(name)),
                }
            )
        if kind == "rabbitmq":
            # Its own broker user (created by the migration identity's bootstrap Job).
            secret_arns.append(broker_user_secret_arn(read, name))
        if kind == "redis":
            statements.append(
                {
                    "Sid": f"ConnectTo{read.title().replace('-', '')}",
                    "Effect": "Allow",
                    "Action": "elasticache:Connect",
                    "Resource": [
                        Ref(f"aws_elasticache_replication_group.{read}", "arn"),
                        Ref(f"aws_elasticache_user.{cache_user_address(read, name)}", "arn"),
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


def migration_secrets(platform: Platform) -> list[Any]:
    """What the migration identity reads: each database's connection secret and RDS-managed master credential,
    each broker's connection secret, administrator password and the users it creates for the workloads."""
    secrets: list[Any] = []
    for name, service in sorted(platform.services.items()):
        if service.kind == "postgres":
            secrets += [connection_secret_arn(name), Ref(f"aws_db_instance.{name}", "master_user_secret[0].secret_arn")]
        if service.kind == "rabbitmq":
            secrets += [connection_secret_arn(name), password_secret_arn(name)]
            secrets += [broker_user_secret_arn(name, w) for w in reading_workloads(platform, name)]
    return secrets


def emit_identities(ctx: Context) -> tuple[Block, ...]:
    platform = ctx.platform
    blocks: list[Block] = []
    for name, workload in sorted(platform.workloads.items()):
        blocks += role_with_policy(
            ctx,
            f"irsa_{name}",
            name,
            workload.namespace,
            workload.service_account,
            workload_statements(ctx, name, workload),
        )
    namespace, account = MIGRATION
    blocks += role_with_policy(
        ctx, MIGRATION_ROLE, "migration", namespace, account, secret_read_statements(ctx, migration_secrets(platform))
    )
    data_services = sorted(n for n, s in platform.services.items() if s.kind in ("postgres", "redis", "rabbitmq"))
    # Endpoints only: the credentials (master secret, broker passwords) are read through the workloads' and the
    # migration identity's own roles (SecretStores with jwt auth), never through the controller's.
    controller_secrets: list[Any] = [connection_secret_arn(n) for n in data_services]
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
