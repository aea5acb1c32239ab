"""ElastiCache (Redis 7 or Valkey): TLS required, CMK at rest, IAM authentication, failover and replicas from the plan.

Each workload that reads the cache authenticates as an ElastiCache RBAC user of
its own, with IAM authentication: it signs a token with its IRSA role, which
may elasticache:Connect as that user only, so no password exists anywhere and
no workload can act as another. The built-in "default" user is switched off.
"""

from __future__ import annotations

from typing import Any

from tmsc.ir import Block, Resource
from tmsc.model import Redis
from tmsc.services.cluster import cluster_security_group
from tmsc.services.context import Context
from tmsc.services.identity import cache_user_address, readers_of, reading_workloads
from tmsc.services.keys import encrypted_log_group, environment_key
from tmsc.services.network import subnet_ids
from tmsc.services.permissions import ApplyScope, CiPermissions, Statement, regional, statement
from tmsc.services.secrets import connection_secret
from tmsc.services.security import ingress_from_group, security_group

PORT = 6379


def emit_cache(ctx: Context, name: str, service: Redis) -> dict[str, tuple[Block, ...]]:
    plan = ctx.plan
    full_name = ctx.name(name)
    key, alias = environment_key(ctx, name, full_name, f"Data at rest of {full_name}")
    group = security_group(ctx, name, f"{service.engine} {full_name}: reachable from the EKS cluster only")
    subnets = Resource(
        "aws_elasticache_subnet_group", name, {"name": full_name, "subnet_ids": subnet_ids(ctx, "database")}
    )
    slow_log = encrypted_log_group(ctx, f"{name}_slow_log", f"/aws/elasticache/{full_name}/slow-log")
    # The "default" user must be in every user group; it is kept but can do nothing.
    default_user = Resource(
        "aws_elasticache_user",
        f"{name}_default",
        {
            "user_id": ctx.name(name, "default"),
            "user_name": "default",
            "engine": service.engine,
            "access_string": "off -@all",
            "authentication_mode": {"type": "no-password-required"},
        },
    )
    workload_users = [
        Resource(
            "aws_elasticache_user",
            cache_user_address(name, workload),
            {
                # IAM authentication needs user_id and user_name to be equal; "user" keeps a workload named
                # "default" clear of the default user's ID.
                "user_id": ctx.name(name, "user", workload),
                "user_name": ctx.name(name, "user", workload),
                "engine": service.engine,
                "access_string": "on ~* +@all -@dangerous",
                "authentication_mode": {"type": "iam"},
            },
        )
        for workload in reading_workloads(ctx.platform, name)
    ]
    user_group = Resource(
        "aws_elasticache_user_group",
        name,
        {
            "user_group_id": full_name,
            "engine": service.engine,
            "user_ids": [default_user.ref("user_id"), *(user.ref("user_id") for user in workload_users)],
        },
    )
    failover = plan.cache_automatic_failover
    body: dict[str, Any] = {
        "replication_group_id": full_name,
        "description": f"Cache of {full_name}",
        "engine": service.engine,
        "engine_version": service.engine_version,
        "node_type": plan.cache_node_type.value,
        "port": PORT,
        "num_cache_clusters": 1 + plan.cache_replicas.value,
        "automatic_failover_enabled": failover.value,
        "multi_az_enabled": failover.value,
        "at_rest_encryption_enabled": True,
        "kms_key_id": key.ref("arn"),
        "transit_encryption_enabled": True,
        "transit_encryption_mode": "required",
        "user_group_ids": [user_group.ref("user_group_id")],
        "subnet_group_name": subnets.ref("name"),
        "security_group_ids": [group.ref()],
        "snapshot_retention_limit": service.snapshot_retention_days,
        # Both derived from the business hours (tmsc.windows): outside them in winter and summer, apart.
        "snapshot_window": plan.cache_snapshot_window.value,
        "maintenance_window": plan.cache_maintenance_window.value,
        "auto_minor_version_upgrade": True,
        "apply_immediately": False,
        "log_delivery_configuration": [
            {
                "destination": slow_log.ref("name"),
                "destination_type": "cloudwatch-logs",
                "log_format": "json",
                "log_type": "slow-log",
            }
        ],
    }
    if plan.deletion_protection.value:
        body["final_snapshot_identifier"] = ctx.name(name, "final")
    group_resource = Resource(
        "aws_elasticache_replication_group",
        name,
        body,
        because=(
            failover.reason,
            plan.cache_replicas.reason,
            f"snapshot_window: {plan.cache_snapshot_window.reason}",
            f"maintenance_window: {plan.cache_maintenance_window.reason}",
        ),
    )
    blocks: tuple[Block, ...] = (
        key,
        alias,
        group,
        ingress_from_group(
            f"{name}_from_cluster",
            group.ref(),
            cluster_security_group(ctx.platform),
            PORT,
            f"{service.engine} from EKS pods and nodes",
        ),
        subnets,
        slow_log,
        default_user,
        *workload_users,
        user_group,
        group_resource,
    )
    secret = connection_secret(
        ctx,
        name,
        readers_of(ctx.platform, name),
        {
            "engine": service.engine,
            "host": group_resource.ref("primary_endpoint_address"),
            "reader_host": group_resource.ref("reader_endpoint_address"),
            "port": PORT,
            "tls": True,
            "auth": "iam",
            "replication_group_id": full_name,
        },
        write_only=False,
    )
    return {"cache": blocks, "secrets": secret}


# --------------------------------------------------------------------------- what CI needs to apply it


def ci_cache_statements(scope: ApplyScope) -> list[Statement]:
    name = scope.names
    return [
        statement(
            "OwnCache",
            [
                "elasticache:AddTagsToResource",
                "elasticache:CreateCacheCluster",
                "elasticache:CreateCacheSubnetGroup",
                "elasticache:CreateReplicationGroup",
                "elasticache:CreateSnapshot",
                "elasticache:CreateUser",
                "elasticache:CreateUserGroup",
                "elasticache:DecreaseReplicaCount",
                "elasticache:DeleteCacheCluster",
                "elasticache:DeleteCacheSubnetGroup",
                "elasticache:DeleteReplicationGroup",
                "elasticache:DeleteUser",
                "elasticache:DeleteUserGroup",
                "elasticache:IncreaseReplicaCount",
                "elasticache:ModifyCacheCluster",
                "elasticache:ModifyCacheSubnetGroup",
                "elasticache:ModifyReplicationGroup",
                "elasticache:ModifyUser",
                "elasticache:ModifyUserGroup",
                "elasticache:RemoveTagsFromResource",
            ],
            # parametergroup:default.* is the engine's default group a replication group starts in.
            regional(
                "elasticache",
                scope.home,
                f"replicationgroup:{name}",
                f"cluster:{name}",
                f"subnetgroup:{name}",
                f"user:{name}",
                f"usergroup:{name}",
                f"snapshot:{name}",
                "parametergroup:default.*",
            ),
        ),
    ]


CI_PERMISSIONS = CiPermissions(
    family="cache",
    group="data",
    grants={
        "aws_elasticache_replication_group": "OwnCache",
        "aws_elasticache_subnet_group": "OwnCache",
        "aws_elasticache_user": "OwnCache",
        "aws_elasticache_user_group": "OwnCache",
    },
    apply=ci_cache_statements,
    reads=("elasticache:Describe*", "elasticache:List*"),
    resourceless={
        "elasticache:Describe*": "DescribeCacheClusters for members of a group is authorized on no single ARN",
        "elasticache:List*": "ListTagsForResource follows the Describe calls",
    },
    service_linked_roles=("elasticache.amazonaws.com",),
)
