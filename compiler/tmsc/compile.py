"""Platform → stacks: the plan of each environment, handed to one emitter per service family.

Pure: no clock, no environment variables, no network. The same Platform
always yields the same stacks, and so (render.py) the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from tmsc.derive import EnvironmentPlan, plan_platform
from tmsc.ir import Block, File, Output, Ref, Resource, Stack, Template
from tmsc.model import Api, Bucket, EksCluster, Platform, Postgres, RabbitMQ, Redis
from tmsc.services.api import emit_api
from tmsc.services.boundary import boundary_arn
from tmsc.services.cache import emit_cache
from tmsc.services.cluster import cluster_name, emit_cluster
from tmsc.services.context import Context
from tmsc.services.controllers import (
    cluster_autoscaler_role_arn,
    emit_controllers,
    load_balancer_controller_role_arn,
)
from tmsc.services.database import emit_database
from tmsc.services.identity import (
    cache_user_address,
    emit_identities,
    migration_role_arn,
    reading_workloads,
    secrets_controller_role_arn,
    workload_role_arn,
)
from tmsc.services.keys import logs_key
from tmsc.services.messaging import emit_messaging
from tmsc.services.network import VPC_ID, emit_network
from tmsc.services.providers import emit_providers
from tmsc.services.secrets import broker_user_secret_arn, connection_secret_arn, emit_secrets_key, password_secret_arn
from tmsc.services.state import emit_bootstraps
from tmsc.services.storage import emit_service_bucket

Emission = dict[str, tuple[Block, ...]]  # file (family) name → blocks

# One emitter per service kind (sqlglot-style dispatch rather than if-chains).
SERVICE_EMITTERS: dict[type, Callable[[Context, str, Any], Emission]] = {
    EksCluster: emit_cluster,
    Postgres: emit_database,
    Redis: emit_cache,
    RabbitMQ: emit_messaging,
    Bucket: emit_service_bucket,
    Api: emit_api,
}


def compile_environment(platform: Platform, plan: EnvironmentPlan) -> Stack:
    ctx = Context(platform, plan)
    files: dict[str, list[Block]] = {
        "providers": list(
            emit_providers(platform, plan.name, remote_state=True, dr_region=plan.database_cross_region_backup.value)
        ),
        "keys": [*logs_key(ctx)],
        "network": list(emit_network(ctx)),
        "secrets": list(emit_secrets_key(ctx)),
        "identity": [*emit_identities(ctx), *emit_controllers(ctx)],
    }
    for name, service in sorted(platform.services.items()):
        for family, blocks in SERVICE_EMITTERS[type(service)](ctx, name, service).items():
            files.setdefault(family, []).extend(blocks)
    files["outputs"] = [*contract_outputs(platform), *helpful_outputs(platform)]
    boundary = boundary_arn(platform, plan.name)
    files = {family: [_bounded(b, boundary, plan.name) for b in blocks] for family, blocks in files.items()}
    acknowledged = {a.resource: a.reason for a in plan.environment.acknowledged_replacements}
    if acknowledged:
        files = {family: [_lift_prevent_destroy(b, acknowledged) for b in blocks] for family, blocks in files.items()}
    return Stack(plan.name, tuple(File(f"{family}.tf.json", tuple(blocks)) for family, blocks in sorted(files.items())))


def _bounded(block: Block, boundary: Template, env: str) -> Block:
    """Every role the stack creates carries the environment's permissions boundary: the apply role may create no
    other (services/delivery.py), and whatever policy a role gets, it cannot reach past its environment."""
    if not isinstance(block, Resource) or block.type != "aws_iam_role":
        return block
    why = f"permissions_boundary: capped to {env} (services/boundary.py)"
    return attrs.evolve(block, body={**block.body, "permissions_boundary": boundary}, because=(*block.because, why))


def _lift_prevent_destroy(block: Block, acknowledged: dict[str, str]) -> Block:
    """An acknowledged replacement may go through: Terraform's prevent_destroy would fail its plan outright.

    tmsc guard still checks the plan; only the resource named, in the environment that names it, loses the
    protection, and it gets it back when the acknowledgement is removed after the apply.
    """
    if not isinstance(block, Resource) or block.address not in acknowledged:
        return block
    lifecycle = dict(block.body.get("lifecycle") or {})
    if not lifecycle.pop("prevent_destroy", False):
        return block
    body = {k: v for k, v in block.body.items() if k != "lifecycle"} | ({"lifecycle": lifecycle} if lifecycle else {})
    why = f"prevent_destroy lifted: replacement acknowledged ({acknowledged[block.address]})"
    return attrs.evolve(block, body=body, because=(*block.because, why))


# The outputs the Kubernetes repository reads from this state by name: a strict contract.
CONTRACT_OUTPUTS = (
    "eks_cluster_name",
    "eks_cluster_oidc_issuer_url",
    "rds_endpoint_secret_arn",
    "redis_endpoint_secret_arn",
    "rabbitmq_endpoint_secret_arn",
    "s3_bucket_name",
)


def contract_outputs(platform: Platform) -> tuple[Output, ...]:
    cluster = cluster_name(platform)
    database, _ = platform.service_of_kind("postgres")
    cache, _ = platform.service_of_kind("redis")
    broker, _ = platform.service_of_kind("rabbitmq")
    bucket, _ = platform.service_of_kind("bucket")
    outputs = (
        Output(
            "eks_cluster_name",
            Ref(f"aws_eks_cluster.{cluster}", "name"),
            "Name of the EKS cluster running the TMS workloads.",
        ),
        Output(
            "eks_cluster_oidc_issuer_url",
            Ref(f"aws_eks_cluster.{cluster}", "identity[0].oidc[0].issuer"),
            "OIDC issuer URL of the EKS cluster (IRSA trust).",
        ),
        Output(
            "rds_endpoint_secret_arn",
            connection_secret_arn(database),
            "ARN of the Secrets Manager secret with the PostgreSQL connection (host, port, dbname, username, password secret ARN).",
        ),
        Output(
            "redis_endpoint_secret_arn",
            connection_secret_arn(cache),
            "ARN of the Secrets Manager secret with the Redis connection (host, port, TLS, IAM auth user).",
        ),
        Output(
            "rabbitmq_endpoint_secret_arn",
            connection_secret_arn(broker),
            "ARN of the Secrets Manager secret with the RabbitMQ connection (AMQPS URL, vhost, username, password).",
        ),
        Output(
            "s3_bucket_name",
            Ref(f"aws_s3_bucket.{bucket}", "id"),
            "Name of the S3 bucket holding file attachments (receipts, PODs).",
        ),
    )
    assert tuple(sorted(o.name for o in outputs)) == tuple(sorted(CONTRACT_OUTPUTS))
    return outputs


def helpful_outputs(platform: Platform) -> tuple[Output, ...]:
    api, _ = platform.service_of_kind("api")
    outputs = [
        Output(
            f"irsa_role_arn_{name}",
            workload_role_arn(name),
            f"IAM role for service account {w.namespace}/{w.service_account} (eks.amazonaws.com/role-arn).",
        )
        for name, w in sorted(platform.workloads.items())
    ]
    outputs += [
        Output(
            "secrets_controller_role_arn",
            secrets_controller_role_arn(),
            "IAM role for the External Secrets Operator service account.",
        ),
        Output("api_endpoint", Ref(f"aws_apigatewayv2_api.{api}", "api_endpoint"), "Public URL of the TMS API."),
        Output(
            "api_target_group_arn",
            Ref(f"aws_lb_target_group.{api}", "arn"),
            "Target group the API pods bind to (TargetGroupBinding).",
        ),
        Output("secrets_kms_key_arn", Ref("aws_kms_key.secrets", "arn"), "KMS key encrypting the connection secrets."),
    ]
    return tuple(outputs) + kubernetes_outputs(platform)


def kubernetes_outputs(platform: Platform) -> tuple[Output, ...]:
    """What `tmsc kubernetes` reads besides the contract: the controllers' and the migration identity's roles,
    the secrets only the migration identity reads, each workload's broker user secret, the VPC."""
    cluster = cluster_name(platform)
    database, _ = platform.service_of_kind("postgres")
    broker, _ = platform.service_of_kind("rabbitmq")
    cache, _ = platform.service_of_kind("redis")
    return (
        Output("vpc_id", VPC_ID, "VPC of the cluster (AWS Load Balancer Controller Helm value vpcId)."),
        Output(
            "migration_role_arn",
            migration_role_arn(),
            "IAM role of the migration identity (service account tmsc-migration/migration): the only reader of the "
            "database master credential and the broker administrator password; runs the user bootstrap Jobs.",
        ),
        Output(
            "load_balancer_controller_role_arn",
            load_balancer_controller_role_arn(),
            "IAM role of the AWS Load Balancer Controller (kube-system/aws-load-balancer-controller).",
        ),
        Output(
            "cluster_autoscaler_role_arn",
            cluster_autoscaler_role_arn(),
            "IAM role of the Cluster Autoscaler (kube-system/cluster-autoscaler).",
        ),
        Output(
            "ebs_csi_driver_role_arn",
            Ref(f"aws_iam_role.irsa_{cluster}_aws_ebs_csi_driver", "arn"),
            "IAM role of the EBS CSI driver add-on (kube-system/ebs-csi-controller-sa).",
        ),
        Output(
            "rds_master_secret_arn",
            Ref(f"aws_db_instance.{database}", "master_user_secret[0].secret_arn"),
            "ARN of the RDS-managed master credential: readable by the migration identity only.",
        ),
        Output(
            "rabbitmq_admin_password_secret_arn",
            password_secret_arn(broker),
            "ARN of the secret holding the broker administrator's password: readable by Terraform and the "
            "migration identity only.",
        ),
        Output(
            "rabbitmq_user_secret_arns",
            {w: broker_user_secret_arn(broker, w) for w in reading_workloads(platform, broker)},
            "ARN of each workload's own broker user secret (username, password), by workload.",
        ),
        Output(
            "redis_usernames",
            {
                w: Ref(f"aws_elasticache_user.{cache_user_address(cache, w)}", "user_name")
                for w in reading_workloads(platform, cache)
            },
            "Each workload's own ElastiCache user (IAM authentication: a token signed with its IRSA role), by workload.",
        ),
    )


def compile_platform(platform: Platform, only: str | None = None) -> list[Stack]:
    """Every environment's stack (or only one) plus the bootstrap stack of each account. Raises Infeasible on refused NFRs."""
    plans = plan_platform(platform)
    stacks = [compile_environment(platform, plan) for name, plan in sorted(plans.items()) if only in (None, name)]
    for name, files in sorted(emit_bootstraps(platform).items()):
        stacks.append(Stack(name, tuple(File(file, blocks) for file, blocks in sorted(files.items()))))
    return stacks
