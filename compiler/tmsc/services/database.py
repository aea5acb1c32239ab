"""RDS for PostgreSQL 16: Multi-AZ, retention and PITR from the plan, CMK storage, TLS forced, no password in out/ or state.

RDS generates the master password and keeps it in its own Secrets Manager
secret (manage_master_user_password); the connection secret points at it.
"""

from __future__ import annotations

from typing import Any

from tmsc import facts
from tmsc.ir import Block, Ref, Resource
from tmsc.model import Postgres
from tmsc.services.cluster import cluster_security_group, managed_policy
from tmsc.services.context import Context, service_role
from tmsc.services.identity import readers_of
from tmsc.services.keys import encrypted_log_group, environment_key
from tmsc.services.network import subnet_ids
from tmsc.services.permissions import ApplyScope, CiPermissions, Statement, regional, statement
from tmsc.services.providers import DR_PROVIDER
from tmsc.services.secrets import SECRETS_KEY, connection_secret
from tmsc.services.security import ingress_from_group, security_group

PORT = 5432
LOG_EXPORTS = ("postgresql", "upgrade")


def parameter_family(engine_version: str) -> str:
    """The DB parameter group family of the major version, from tmsc's RDS version table (postgres16)."""
    return facts.versions().postgres_family[engine_version.split(".")[0]]


def emit_database(ctx: Context, name: str, service: Postgres) -> dict[str, tuple[Block, ...]]:
    plan = ctx.plan
    sizing = ctx.environment.sizing
    protect = plan.deletion_protection
    full_name = ctx.name(name)
    key, alias = environment_key(ctx, name, full_name, f"Storage, snapshots and Performance Insights of {full_name}")
    group = security_group(ctx, name, f"PostgreSQL {full_name}: reachable from the EKS cluster only")
    subnets = Resource("aws_db_subnet_group", name, {"name": full_name, "subnet_ids": subnet_ids(ctx, "database")})
    parameters = Resource(
        "aws_db_parameter_group",
        name,
        {
            "name": full_name,
            "family": parameter_family(service.engine_version),
            "parameter": [
                {"name": "rds.force_ssl", "value": "1", "apply_method": "pending-reboot"},
                {
                    "name": "log_min_duration_statement",
                    "value": str(service.log_min_duration_ms),
                    "apply_method": "immediate",
                },
                {"name": "log_statement", "value": "ddl", "apply_method": "immediate"},
                {"name": "log_connections", "value": "1", "apply_method": "immediate"},
                {"name": "log_disconnections", "value": "1", "apply_method": "immediate"},
            ],
            "lifecycle": {"create_before_destroy": True},
        },
    )
    monitoring = service_role(f"{name}_monitoring", ctx.name(name, "monitoring"), "monitoring.rds.amazonaws.com")
    # RDS exports to these exact names; creating them first gives them the logs CMK and a retention
    # (RDS would create them with neither, kept forever).
    log_groups = [
        encrypted_log_group(ctx, f"{name}_{log}", f"/aws/rds/instance/{full_name}/{log}") for log in LOG_EXPORTS
    ]
    body: dict[str, Any] = {
        "identifier": full_name,
        "engine": "postgres",
        "engine_version": service.engine_version,
        "instance_class": plan.database_instance_class.value,
        "allocated_storage": sizing.database_storage_gib,
        "max_allocated_storage": sizing.database_max_storage_gib,
        "storage_type": "gp3",
        "storage_encrypted": True,
        "kms_key_id": key.ref("arn"),
        "db_name": service.database_name,
        "username": service.master_username,
        "manage_master_user_password": True,
        "master_user_secret_kms_key_id": SECRETS_KEY,
        "iam_database_authentication_enabled": True,
        "multi_az": plan.database_multi_az.value,
        "backup_retention_period": plan.database_backup_retention_days.value,
        # Both derived from the business hours (tmsc.windows): outside them in winter and summer, apart.
        "backup_window": plan.database_backup_window.value,
        "maintenance_window": plan.database_maintenance_window.value,
        "copy_tags_to_snapshot": True,
        "deletion_protection": protect.value,
        "skip_final_snapshot": not protect.value,
        "delete_automated_backups": not protect.value,
        "db_subnet_group_name": subnets.ref("name"),
        "vpc_security_group_ids": [group.ref()],
        "parameter_group_name": parameters.ref("name"),
        "publicly_accessible": False,
        "auto_minor_version_upgrade": True,
        "performance_insights_enabled": True,
        "performance_insights_kms_key_id": key.ref("arn"),
        "performance_insights_retention_period": 7,
        "monitoring_interval": 60,
        "monitoring_role_arn": monitoring.ref("arn"),
        "enabled_cloudwatch_logs_exports": list(LOG_EXPORTS),
        "ca_cert_identifier": "rds-ca-rsa2048-g1",
        "depends_on": [Ref(f"aws_iam_role_policy_attachment.{name}_monitoring"), *(group.bare for group in log_groups)],
    }
    if protect.value:
        body["final_snapshot_identifier"] = ctx.name(name, "final")
    instance = Resource(
        "aws_db_instance",
        name,
        body,
        because=(
            plan.database_multi_az.reason,
            plan.database_backup_retention_days.reason,
            plan.database_pitr.reason,
            protect.reason,
            f"backup_window: {plan.database_backup_window.reason}",
            f"maintenance_window: {plan.database_maintenance_window.reason}",
        ),
    )
    blocks: list[Block] = [
        key,
        alias,
        group,
        ingress_from_group(
            f"{name}_from_cluster",
            group.ref(),
            cluster_security_group(ctx.platform),
            PORT,
            "PostgreSQL from EKS pods and nodes",
        ),
        subnets,
        parameters,
        monitoring,
        Resource(
            "aws_iam_role_policy_attachment",
            f"{name}_monitoring",
            {
                "role": monitoring.ref("name"),
                "policy_arn": managed_policy("service-role/AmazonRDSEnhancedMonitoringRole"),
            },
        ),
        *log_groups,
        instance,
    ]
    blocks.extend(cross_region_backups(ctx, name, instance))
    secret = connection_secret(
        ctx,
        name,
        readers_of(ctx.platform, name),
        {
            "engine": "postgres",
            "host": instance.ref("address"),
            "port": PORT,
            "dbname": service.database_name,
            "username": service.master_username,
            "sslmode": "verify-full",
            # RDS keeps the password in its own secret (rotated by RDS); read it from there.
            "password_secret_arn": instance.ref("master_user_secret[0].secret_arn"),
        },
        write_only=False,
    )
    return {"database": tuple(blocks), "secrets": secret}


def cross_region_backups(ctx: Context, name: str, instance: Resource) -> list[Block]:
    decision = ctx.plan.database_cross_region_backup
    if decision.value is None:
        return []
    key, alias = environment_key(
        ctx,
        f"{name}_dr",
        ctx.name(name, "dr"),
        f"Replicated automated backups of {ctx.name(name)} in {decision.value}",
        provider=DR_PROVIDER,
    )
    return [
        key,
        alias,
        Resource(
            "aws_db_instance_automated_backups_replication",
            name,
            {
                "provider": DR_PROVIDER,
                "source_db_instance_arn": instance.ref("arn"),
                "kms_key_id": key.ref("arn"),
                "retention_period": ctx.plan.database_backup_retention_days.value,
            },
            because=(decision.reason,),
        ),
    ]


# --------------------------------------------------------------------------- what CI needs to apply it


def ci_database_statements(scope: ApplyScope) -> list[Statement]:
    name = scope.names
    return [
        statement(
            "OwnDatabase",
            [
                "rds:AddTagsToResource",
                "rds:CreateDBInstance",
                "rds:CreateDBParameterGroup",
                "rds:CreateDBSnapshot",
                "rds:CreateDBSubnetGroup",
                "rds:DeleteDBInstance",
                "rds:DeleteDBInstanceAutomatedBackup",
                "rds:DeleteDBParameterGroup",
                "rds:DeleteDBSubnetGroup",
                "rds:ModifyDBInstance",
                "rds:ModifyDBParameterGroup",
                "rds:ModifyDBSubnetGroup",
                "rds:RebootDBInstance",
                "rds:RemoveTagsFromResource",
                "rds:ResetDBParameterGroup",
                "rds:StartDBInstanceAutomatedBackupsReplication",
                "rds:StopDBInstanceAutomatedBackupsReplication",
            ],
            # og:default:* is the engine's default option group every instance is created in;
            # replicated backups get ids from AWS (auto-backup:ab-...).
            regional(
                "rds",
                scope.regions,
                f"db:{name}",
                f"pg:{name}",
                f"subgrp:{name}",
                f"snapshot:{name}",
                "og:default:*",
                "auto-backup:*",
            ),
        ),
        # manage_master_user_password: RDS creates its secret (rds!db-<id>) with the caller's rights.
        statement(
            "DatabaseManagedSecret",
            ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
            regional("secretsmanager", scope.home, "secret:rds!db-*"),
        ),
    ]


CI_PERMISSIONS = CiPermissions(
    family="database",
    group="data",
    grants={
        "aws_db_instance": "OwnDatabase",
        "aws_db_instance_automated_backups_replication": "OwnDatabase",
        "aws_db_parameter_group": "OwnDatabase",
        "aws_db_subnet_group": "OwnDatabase",
    },
    apply=ci_database_statements,
    reads=("rds:Describe*", "rds:ListTagsForResource"),
    resourceless={
        "rds:Describe*": "the provider finds instances by resource-id filter, authorized on no single ARN",
        "rds:ListTagsForResource": "follows the Describe calls",
    },
    passes_roles_to=("monitoring.rds.amazonaws.com",),
    attaches_managed_policies=("service-role/AmazonRDSEnhancedMonitoringRole",),
    service_linked_roles=("rds.amazonaws.com",),
)
