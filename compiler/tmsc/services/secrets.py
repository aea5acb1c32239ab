"""Connection secrets: what a pod needs to reach a data service, in Secrets Manager under a CMK.

One secret per data service, named <platform>/<env>/<service>/connection,
readable (GetSecretValue) only by the IRSA roles of the workloads that declare
they read the service, the secrets controller, the deploying principal and
the CI roles that plan and apply the environment (they refresh the secret).

A password tmsc must generate (the RabbitMQ broker's) has a secret of its own,
<platform>/<env>/<service>/password, readable by Terraform's principals only:
see generated_password.
"""

from __future__ import annotations

from typing import Any

from tmsc.ir import Block, DataSource, EphemeralResource, JsonDocument, Ref, Resource
from tmsc.services.context import Context, policy
from tmsc.services.keys import environment_key
from tmsc.services.permissions import (
    ApplyScope,
    CiPermissions,
    Statement,
    ci_deployer,
    ci_secret_readers,
    regional,
    statement,
)
from tmsc.services.providers import DR_PROVIDER

SECRETS_KEY = Ref("aws_kms_key.secrets", "arn")
DR_SECRETS_KEY = Ref("aws_kms_key.secrets_dr", "arn")  # the replicas' key, in the DR region
SESSION_CONTEXT = DataSource(
    "aws_iam_session_context", "current", {"arn": Ref("data.aws_caller_identity.current", "arn")}
)


def connection_secret_arn(service: str) -> Ref:
    return Ref(f"aws_secretsmanager_secret.{service}", "arn")


def password_secret_arn(service: str) -> Ref:
    """The secret holding a generated administrator password (generated_password)."""
    return Ref(f"aws_secretsmanager_secret.{service}_password", "arn")


def broker_user_secret_arn(service: str, workload: str) -> Ref:
    """The secret holding a workload's own user of a broker (username, password)."""
    return Ref(f"aws_secretsmanager_secret.{service}_user_{workload}", "arn")


def secret_name(ctx: Context, service: str, what: str = "connection") -> str:
    return f"{ctx.platform.platform}/{ctx.env_name}/{service}/{what}"


def terraform_readers(ctx: Context) -> list[Any]:
    """Who reads a secret's value when Terraform refreshes it: the principal applying now and the CI roles that plan and apply."""
    return [Ref(SESSION_CONTEXT.address, "issuer_arn"), *ci_secret_readers(ctx.platform, ctx.env_name)]


# Every Secrets Manager action that changes who may reach a secret (Service Authorization Reference).
POLICY_CHANGES = ["secretsmanager:DeleteResourcePolicy", "secretsmanager:PutResourcePolicy"]


def deployers(ctx: Context) -> list[Any]:
    """The principal applying now and the environment's CI apply role: who maintains a secret's resource policy.

    Another principal (a second administrator) cannot change the policy until it applies through the CI role or
    an account administrator removes the policy as root: that is the point.
    """
    return [Ref(SESSION_CONTEXT.address, "issuer_arn"), *ci_deployer(ctx.platform, ctx.env_name)]


def emit_secrets_key(ctx: Context) -> tuple[Block, ...]:
    key, alias = environment_key(
        ctx,
        "secrets",
        ctx.name("secrets"),
        f"Secrets Manager secrets of {ctx.name()}",
    )
    replica_region = ctx.plan.secrets_replica_region.value
    if replica_region is None:
        return (key, alias, SESSION_CONTEXT)
    # A KMS key never leaves its region: the replicas are encrypted under a key of the DR region.
    dr_key, dr_alias = environment_key(
        ctx,
        "secrets_dr",
        ctx.name("secrets", "dr"),
        f"Replicas in {replica_region} of the Secrets Manager secrets of {ctx.name()}",
        provider=DR_PROVIDER,
    )
    return (key, alias, dr_key, dr_alias, SESSION_CONTEXT)


def _secret(
    ctx: Context, address: str, name: str, description: str, allowed: list[Any], because: tuple[str, ...] = ()
) -> tuple[Resource, Resource]:
    """A secret under the secrets CMK and its resource policy: GetSecretValue denied to every principal not in `allowed`."""
    protect = ctx.plan.deletion_protection.value
    body: dict[str, Any] = {
        "name": name,
        "description": description,
        "kms_key_id": SECRETS_KEY,
        "recovery_window_in_days": 30 if protect else 7,
    }
    replica = ctx.plan.secrets_replica_region
    if replica.value is not None:
        # Secrets Manager copies the value, tags and resource policy to the replica on every write.
        body["replica"] = [{"region": replica.value, "kms_key_id": DR_SECRETS_KEY}]
        because = (*because, replica.reason)
    secret = Resource("aws_secretsmanager_secret", address, body, because=because)
    secret_policy = Resource(
        "aws_secretsmanager_secret_policy",
        address,
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
                    },
                    # Who may read is this policy: only the deployer may change or remove it.
                    {
                        "Sid": "OnlyTheDeployerChangesThisPolicy",
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": POLICY_CHANGES,
                        "Resource": "*",
                        "Condition": {"StringNotEquals": {"aws:PrincipalArn": deployers(ctx)}},
                    },
                )
            ),
        },
    )
    return secret, secret_policy


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
    # Terraform itself reads the secret when it refreshes the version: the
    # principal applying now and the CI roles that plan and apply keep access.
    secret, secret_policy = _secret(
        ctx,
        service,
        secret_name(ctx, service),
        f"How pods connect to {ctx.name(service)}",
        [*readers, *terraform_readers(ctx)],
        because,
    )
    document = JsonDocument(value)
    version_body: dict[str, Any] = {"secret_id": secret.ref()}
    if write_only:
        version_body.update({"secret_string_wo": document, "secret_string_wo_version": 1})
    else:
        version_body["secret_string"] = document
    version = Resource("aws_secretsmanager_secret_version", service, version_body)
    return (secret, version, secret_policy)


def generated_user_secret(
    ctx: Context, service: str, user: str, draw: dict[str, Any], readers: list[Any]
) -> tuple[Block, ...]:
    """A user of a service whose password tmsc draws and nobody but its readers ever sees: {"username", "password"}.

    The password comes from an `ephemeral "aws_secretsmanager_random_password"` and goes, inside the JSON
    document, only into the write-only `secret_string_wo`: it is in no plan, state, log or out/ file at all
    (unlike the administrator's, which the broker's own argument needs). Whoever creates the user in the
    service (the migration identity's bootstrap Job) reads it from the secret, as the workload does.
    """
    address = f"{service}_user_{user}"
    generator = EphemeralResource("aws_secretsmanager_random_password", address, draw)
    secret, secret_policy = _secret(
        ctx,
        address,
        secret_name(ctx, service, f"users/{user}"),
        f"The {ctx.name(service)} user of workload {user}",
        [*readers, *terraform_readers(ctx)],
    )
    version = Resource(
        "aws_secretsmanager_secret_version",
        address,
        # Written once: a new version_wo would draw a new password, which the bootstrap Job then sets (PUT users).
        {
            "secret_id": secret.ref(),
            "secret_string_wo": JsonDocument({"username": user, "password": generator.ref("random_password")}),
            "secret_string_wo_version": 1,
        },
    )
    return (generator, secret, version, secret_policy)


def generated_password(
    ctx: Context, service: str, draw: dict[str, Any], readers: tuple[Any, ...] = ()
) -> tuple[tuple[Block, ...], Ref]:
    """A password drawn at apply time for an argument that has no write-only twin; (blocks, the value to give it).

    No Terraform log, plan or out/ file ever holds it:

    1. an `ephemeral "aws_secretsmanager_random_password"` draws it (GetRandomPassword
       with `draw`'s options). Ephemeral: never in the plan or the state, and
       Terraform takes its value only in write-only arguments;
    2. the write-only `secret_string_wo` writes it, once, into a secret of its own
       (<platform>/<env>/<service>/password; Terraform's principals alone read
       it). The draw is repeated in every run and discarded: only a change of
       `secret_string_wo_version` would write a new one;
    3. a data source reads that version back: its `secret_string` is a plain
       value the service's argument takes, and its id is "<secret ARN>|<version
       id>" — unlike the `aws_secretsmanager_random_password` data source, whose
       id is the password itself and is printed in the log ("Read complete ...
       [id=...]").

    The password is then in the state of that data source and of the resource
    that takes it, and nowhere else. A separate secret breaks the cycle a single
    one would make: the connection secret holds the service's endpoint, known
    only once the service exists, and the service needs the password first.
    """
    generator = EphemeralResource("aws_secretsmanager_random_password", service, draw)
    address = f"{service}_password"
    secret, secret_policy = _secret(
        ctx,
        address,
        secret_name(ctx, service, "password"),
        f"The generated password of {ctx.name(service)}, read by Terraform and the migration identity only",
        [*readers, *terraform_readers(ctx)],
    )
    version = Resource(
        "aws_secretsmanager_secret_version",
        address,
        # Written once: bumping the version writes a new password here but not into the service (see the caller).
        {
            "secret_id": secret.ref(),
            "secret_string_wo": generator.ref("random_password"),
            "secret_string_wo_version": 1,
        },
    )
    stored = DataSource(
        "aws_secretsmanager_secret_version",
        address,
        {"secret_id": secret.ref("arn"), "version_id": version.ref("version_id")},
    )
    return (generator, secret, version, secret_policy, stored), stored.ref("secret_string")


# --------------------------------------------------------------------------- what CI needs to apply them


def ci_secret_statements(scope: ApplyScope) -> list[Statement]:
    return [
        statement(
            "OwnConnectionSecrets",
            [
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteResourcePolicy",
                "secretsmanager:DeleteSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutResourcePolicy",
                "secretsmanager:PutSecretValue",
                # Replicas in the DR region are made and removed through the primary secret.
                "secretsmanager:RemoveRegionsFromReplication",
                "secretsmanager:ReplicateSecretToRegions",
                "secretsmanager:RestoreSecret",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
                "secretsmanager:UpdateSecret",
                "secretsmanager:UpdateSecretVersionStage",
                "secretsmanager:ValidateResourcePolicy",
            ],
            regional("secretsmanager", scope.home, f"secret:{scope.prefix}/{scope.env}/*"),
        ),
    ]


CI_PERMISSIONS = CiPermissions(
    family="secrets",
    group="data",
    grants={
        "aws_secretsmanager_secret": "OwnConnectionSecrets",
        "aws_secretsmanager_secret_policy": "OwnConnectionSecrets",
        "aws_secretsmanager_secret_version": "OwnConnectionSecrets",
    },
    apply=ci_secret_statements,
    reads=(
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetRandomPassword",
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:ListSecretVersionIds",
    ),
    resourceless={
        "secretsmanager:DescribeSecret": "plan refreshes the RDS-managed secret, named rds!db-<id> by AWS",
        "secretsmanager:GetResourcePolicy": "follows DescribeSecret",
        "secretsmanager:ListSecretVersionIds": "follows DescribeSecret",
        "secretsmanager:GetRandomPassword": "generates a password, touches no resource",
    },
    service_linked_roles=(),
)
