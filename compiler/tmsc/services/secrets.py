"""Connection secrets: what a pod needs to reach a data service, in Secrets Manager under a CMK.

One secret per data service, named <platform>/<env>/<service>/connection,
readable (GetSecretValue) only by the IRSA roles of the workloads that declare
they read the service, the secrets controller, the deploying principal and
the CI roles that plan and apply the environment (they refresh the secret).
"""

from __future__ import annotations

from typing import Any

from tmsc.ir import Block, DataSource, JsonDocument, Ref, Resource
from tmsc.services.context import Context, policy
from tmsc.services.delivery import ci_secret_readers
from tmsc.services.keys import customer_key

SECRETS_KEY = Ref("aws_kms_key.secrets", "arn")
SESSION_CONTEXT = DataSource("aws_iam_session_context", "current", {"arn": Ref("data.aws_caller_identity.current", "arn")})


def connection_secret_arn(service: str) -> Ref:
    return Ref(f"aws_secretsmanager_secret.{service}", "arn")


def secret_name(ctx: Context, service: str) -> str:
    return f"{ctx.platform.platform}/{ctx.env_name}/{service}/connection"


def emit_secrets_key(ctx: Context) -> tuple[Block, ...]:
    key, alias = customer_key(
        "secrets",
        ctx.name("secrets"),
        f"Secrets Manager secrets of {ctx.name()}",
    )
    return (key, alias, SESSION_CONTEXT)


def connection_secret(
    ctx: Context,
    service: str,
    readers: list[Ref],
    value: dict[str, Any],
    write_only: bool,
    because: tuple[str, ...] = (),
) -> tuple[Block, ...]:
    """The secret, its value and its resource policy.

    write_only: the value holds a password, so it goes through the write-only
    argument and never lands in state (bump secret_string_wo_version to rewrite it).
    """
    protect = ctx.plan.deletion_protection.value
    secret = Resource(
        "aws_secretsmanager_secret",
        service,
        {
            "name": secret_name(ctx, service),
            "description": f"How pods connect to {ctx.name(service)}",
            "kms_key_id": SECRETS_KEY,
            "recovery_window_in_days": 30 if protect else 7,
        },
        because=because,
    )
    document = JsonDocument(value)
    version_body: dict[str, Any] = {"secret_id": secret.ref()}
    if write_only:
        version_body.update({"secret_string_wo": document, "secret_string_wo_version": 1})
    else:
        version_body["secret_string"] = document
    version = Resource("aws_secretsmanager_secret_version", service, version_body)
    # Terraform itself reads the secret when it refreshes the version: the
    # principal applying now and the CI roles that plan and apply keep access.
    allowed = [*readers, Ref(SESSION_CONTEXT.address, "issuer_arn"), *ci_secret_readers(ctx.platform, ctx.env_name)]
    secret_policy = Resource(
        "aws_secretsmanager_secret_policy",
        service,
        {
            "secret_arn": secret.ref("arn"),
            "block_public_policy": True,
            "policy": JsonDocument(
                policy(
                    {
                        "Sid": "OnlyDeclaredReaders",
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                        "Condition": {"StringNotEquals": {"aws:PrincipalArn": allowed}},
                    }
                )
            ),
        },
    )
    return (secret, version, secret_policy)
