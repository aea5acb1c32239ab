"""Amazon MQ for RabbitMQ: private, in the derived deployment mode, general logs on, maintenance outside business hours.

Each workload that reads the broker gets a user of its own, its password drawn into its own secret
(secrets.generated_user_secret, never in state); the connection secret holds the endpoint only. Amazon MQ
creates only the administrator through its API: the workloads' users are created through the broker's
management API by the migration identity's bootstrap Job (tmsc kubernetes renders it).

Amazon MQ takes the broker's one user and its password at creation and the
provider has no write-only argument for it, so the password is drawn by
Secrets Manager at apply time through an ephemeral block and kept in a secret
of its own (secrets.generated_password), which the broker and the migration
identity read. It is never in the spec, out/ or a Terraform
log, and — unavoidably — it is in the state: in the broker's entry and in the
data source's that reads it back. The state bucket is KMS-encrypted and
readable by the deployers only; see the README's "Secrets and state". Amazon
MQ for RabbitMQ encrypts with an AWS-owned key: a customer-managed key is not
offered for this engine.
"""

from __future__ import annotations

from typing import Any

from tmsc.ir import Block, Resource, Template
from tmsc.model import RabbitMQ
from tmsc.services.cluster import cluster_security_group
from tmsc.services.context import Context
from tmsc.services.identity import migration_role_arn, readers_of, reading_workloads, workload_role_arn
from tmsc.services.network import subnet_ids
from tmsc.services.permissions import ApplyScope, CiPermissions, Statement, regional, resourceless, statement
from tmsc.services.secrets import connection_secret, generated_password, generated_user_secret
from tmsc.services.security import ingress_from_group, security_group

AMQPS_PORT = 5671
# Letters and digits only: Amazon MQ refuses commas, colons and equals signs, and JSON and URLs need no escaping.
PASSWORD_DRAW = {"password_length": 32, "exclude_punctuation": True, "require_each_included_type": True}


def emit_messaging(ctx: Context, name: str, service: RabbitMQ) -> dict[str, tuple[Block, ...]]:
    plan = ctx.plan
    full_name = ctx.name(name)
    mode = plan.broker_deployment_mode
    group = security_group(ctx, name, f"RabbitMQ {full_name}: AMQPS from the EKS cluster only")
    password_blocks, password = generated_password(
        ctx,
        name,
        PASSWORD_DRAW,
        # The migration identity logs in as the administrator to create the workloads' users.
        readers=(migration_role_arn(),),
    )
    private = subnet_ids(ctx, "private")
    body: dict[str, Any] = {
        "broker_name": full_name,
        "engine_type": "RabbitMQ",
        "engine_version": service.engine_version,
        "host_instance_type": plan.broker_instance_type.value,
        "deployment_mode": mode.value,
        "publicly_accessible": False,
        # A single-instance broker takes exactly one subnet; a cluster spreads over the AZs.
        "subnet_ids": private if mode.value == "CLUSTER_MULTI_AZ" else private[:1],
        "security_groups": [group.ref()],
        "auto_minor_version_upgrade": True,
        "logs": {"general": True},
        # In UTC, like the RDS and ElastiCache windows it is staggered against (tmsc.windows).
        "maintenance_window_start_time": plan.schedule.broker_maintenance.broker_start(),
        "encryption_options": {"use_aws_owned_key": True},
        "user": [{"username": service.username, "password": password}],
        # Amazon MQ for RabbitMQ takes its one user at creation only: later users and passwords live in
        # RabbitMQ (its management API), and the broker API returns none, so Terraform can neither see
        # drift nor change it. A password that reads as changed or unknown (its secret version replaced)
        # must not plan an update of the broker: the password is the one the broker was created with.
        "lifecycle": {"ignore_changes": ["user"]},
    }
    if plan.deletion_protection.value:
        # Amazon MQ has no deletion-protection setting: Terraform's own guard is the only one there is.
        body["lifecycle"]["prevent_destroy"] = True
    broker = Resource(
        "aws_mq_broker",
        name,
        body,
        because=(mode.reason, f"maintenance_window_start_time: {plan.broker_maintenance_window.reason}"),
    )
    blocks: tuple[Block, ...] = (
        group,
        ingress_from_group(
            f"{name}_from_cluster",
            group.ref(),
            cluster_security_group(ctx.platform),
            AMQPS_PORT,
            "AMQPS from EKS pods and nodes",
        ),
        broker,
    )
    secret = connection_secret(
        ctx,
        name,
        readers_of(ctx.platform, name),
        {
            "engine": "rabbitmq",
            "url": broker.ref("instances[0].endpoints[0]"),
            "host": Template((broker.ref("id"), f".mq.{ctx.region}.amazonaws.com")),
            "port": AMQPS_PORT,
            "vhost": "/",
        },
        # The endpoint only: each workload reads its own user (below), the administrator's password stays in
        # its own secret for Terraform and the migration identity.
        write_only=False,
    )
    users: list[Block] = []
    for workload in reading_workloads(ctx.platform, name):
        users += generated_user_secret(
            ctx, name, workload, PASSWORD_DRAW, [workload_role_arn(workload), migration_role_arn()]
        )
    return {"messaging": blocks, "secrets": (*password_blocks, *secret, *users)}


# --------------------------------------------------------------------------- what CI needs to apply it


def ci_broker_statements(scope: ApplyScope) -> list[Statement]:
    return [
        resourceless(
            "CreateTaggedBroker", ["mq:CreateBroker"], scope.home, CI_PERMISSIONS.resourceless, scope.request_tags()
        ),
        statement(
            "OwnBroker",
            [
                "mq:CreateTags",
                "mq:CreateUser",
                "mq:DeleteBroker",
                "mq:DeleteTags",
                "mq:DeleteUser",
                "mq:RebootBroker",
                "mq:UpdateBroker",
                "mq:UpdateUser",
            ],
            regional("mq", scope.home, f"broker:{scope.names}:*"),
        ),
    ]


def ci_broker_network_statements(scope: ApplyScope) -> list[Statement]:
    """Amazon MQ creates the broker's network interfaces with the caller's rights and does not tag them.

    Their ids are AWS's, so the interface itself is scoped by region only (the subnet and security group it goes
    into must be the environment's, by tag: network.py's ChangeOwnNetwork), and the permission that hands an interface to a service names Amazon
    MQ (ec2:AuthorizedService, as the Amazon MQ developer guide prescribes).
    """
    interfaces = regional("ec2", scope.home, "network-interface/*")
    return [
        # The subnet and security-group side of CreateNetworkInterface is ChangeOwnNetwork's (by tag).
        statement("BrokerNetworkInterfaces", ["ec2:CreateNetworkInterface"], interfaces),
        statement(
            "BrokerInterfacesForAmazonMqOnly",
            ["ec2:CreateNetworkInterfacePermission"],
            interfaces,
            {"StringEquals": {"ec2:AuthorizedService": "mq.amazonaws.com"}},
        ),
        statement(
            "RemoveBrokerNetworkInterfaces",
            ["ec2:DeleteNetworkInterface", "ec2:DeleteNetworkInterfacePermission", "ec2:DetachNetworkInterface"],
            interfaces,
        ),
    ]


CI_PERMISSIONS = CiPermissions(
    family="messaging",
    group="data",
    grants={"aws_mq_broker": "CreateTaggedBroker"},
    apply=ci_broker_statements,
    reads=("mq:Describe*", "mq:List*"),
    resourceless={
        "mq:Describe*": "broker ids are assigned by AWS",
        "mq:List*": "ListBrokers takes no resource",
        "mq:CreateBroker": "Amazon MQ's CreateBroker takes no resource-level permissions",
    },
    service_linked_roles=("mq.amazonaws.com",),
)
BROKER_NETWORK_CI_PERMISSIONS = CiPermissions(
    family="messaging-network", group="network", grants={}, apply=ci_broker_network_statements
)
