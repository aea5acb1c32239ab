"""The benchmark stack with python-terrascript (PyPI: terrascript): Terraform JSON, no checks.

Usage: python terrascript_stack.py OUT_DIR  → OUT_DIR/main.tf.json
"""

from __future__ import annotations

import sys
from pathlib import Path

import common as c
import terrascript
import terrascript.provider as provider
import terrascript.resource as r


# Resources newer than terrascript's last release (0.9.0, AWS provider 2.x era): any name works, nothing is checked.
class aws_s3_bucket_versioning(terrascript.Resource):
    pass


class aws_s3_bucket_server_side_encryption_configuration(terrascript.Resource):
    pass


def ref(attribute: object) -> str:
    """terrascript writes `aws_vpc.main.id`; Terraform ≥ 0.12 JSON needs "${aws_vpc.main.id}"."""
    return f"${{{attribute}}}"


def build() -> terrascript.Terrascript:
    config = terrascript.Terrascript()
    config += provider.aws(region=c.REGION, default_tags={"tags": c.TAGS})
    config += terrascript.Terraform(required_providers={"aws": {"source": "hashicorp/aws", "version": "~> 5.100"}})
    config += terrascript.Variable("mq_password", type="string", sensitive=True)

    vpc = config.add(
        r.aws_vpc("main", cidr_block=c.VPC_CIDR, enable_dns_hostnames=True, enable_dns_support=True, tags=c.tags("vpc"))
    )
    igw = config.add(r.aws_internet_gateway("main", vpc_id=ref(vpc.id), tags=c.tags("igw")))
    public, private = [], []
    for i, suffix in enumerate(c.SUFFIXES):
        public.append(
            config.add(
                r.aws_subnet(
                    f"public_{suffix}",
                    vpc_id=ref(vpc.id),
                    cidr_block=c.PUBLIC_CIDRS[i],
                    availability_zone=c.AZS[i],
                    map_public_ip_on_launch=False,
                    tags={**c.tags(f"public-{suffix}"), "kubernetes.io/role/elb": "1"},
                )
            )
        )
        private.append(
            config.add(
                r.aws_subnet(
                    f"private_{suffix}",
                    vpc_id=ref(vpc.id),
                    cidr_block=c.PRIVATE_CIDRS[i],
                    availability_zone=c.AZS[i],
                    tags={**c.tags(f"private-{suffix}"), "kubernetes.io/role/internal-elb": "1"},
                )
            )
        )
    eip = config.add(r.aws_eip("nat", domain="vpc", tags=c.tags("nat"), depends_on=["aws_internet_gateway.main"]))
    nat = config.add(
        r.aws_nat_gateway("main", allocation_id=ref(eip.id), subnet_id=ref(public[0].id), tags=c.tags("nat"))
    )
    public_rt = config.add(r.aws_route_table("public", vpc_id=ref(vpc.id), tags=c.tags("public")))
    config += r.aws_route(
        "public_default", route_table_id=ref(public_rt.id), destination_cidr_block="0.0.0.0/0", gateway_id=ref(igw.id)
    )
    private_rt = config.add(r.aws_route_table("private", vpc_id=ref(vpc.id), tags=c.tags("private")))
    config += r.aws_route(
        "private_default",
        route_table_id=ref(private_rt.id),
        destination_cidr_block="0.0.0.0/0",
        nat_gateway_id=ref(nat.id),
    )
    for suffix, subnet in zip(c.SUFFIXES, public, strict=True):
        config += r.aws_route_table_association(
            f"public_{suffix}", subnet_id=ref(subnet.id), route_table_id=ref(public_rt.id)
        )
    for suffix, subnet in zip(c.SUFFIXES, private, strict=True):
        config += r.aws_route_table_association(
            f"private_{suffix}", subnet_id=ref(subnet.id), route_table_id=ref(private_rt.id)
        )

    key = config.add(
        r.aws_kms_key(
            "main",
            description=f"{c.NAME} data",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=c.key_policy("arn:aws:iam::123456789012:root"),
            tags=c.tags("key"),
        )
    )
    config += r.aws_kms_alias("main", name=f"alias/{c.NAME}", target_key_id=ref(key.key_id))

    cluster_role = config.add(
        r.aws_iam_role(
            "cluster",
            name=f"{c.NAME}-cluster",
            assume_role_policy=c.assume_role_policy("eks.amazonaws.com"),
            tags=c.TAGS,
        )
    )
    config += r.aws_iam_role_policy_attachment(
        "cluster_policy", role=ref(cluster_role.name), policy_arn=c.CLUSTER_POLICIES[0]
    )
    node_role = config.add(
        r.aws_iam_role(
            "node", name=f"{c.NAME}-node", assume_role_policy=c.assume_role_policy("ec2.amazonaws.com"), tags=c.TAGS
        )
    )
    for label, arn in c.NODE_POLICIES.items():
        config += r.aws_iam_role_policy_attachment(f"node_{label}", role=ref(node_role.name), policy_arn=arn)
    cluster_sg = config.add(
        r.aws_security_group(
            "cluster",
            name=f"{c.NAME}-cluster",
            vpc_id=ref(vpc.id),
            description="EKS cluster and nodes",
            egress=[
                {
                    "from_port": 0,
                    "to_port": 0,
                    "protocol": "-1",
                    "cidr_blocks": ["0.0.0.0/0"],
                    "description": "all",
                    "ipv6_cidr_blocks": [],
                    "prefix_list_ids": [],
                    "security_groups": [],
                    "self": False,
                }
            ],
            tags=c.tags("cluster"),
        )
    )
    cluster = config.add(
        r.aws_eks_cluster(
            "main",
            name=c.NAME,
            version=c.CLUSTER_VERSION,
            role_arn=ref(cluster_role.arn),
            vpc_config={
                "subnet_ids": [ref(s.id) for s in private],
                "security_group_ids": [ref(cluster_sg.id)],
                "endpoint_private_access": True,
                "endpoint_public_access": False,
            },
            encryption_config={"provider": {"key_arn": ref(key.arn)}, "resources": ["secrets"]},
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            depends_on=["aws_iam_role_policy_attachment.cluster_policy"],
            tags=c.TAGS,
        )
    )
    config += r.aws_eks_node_group(
        "main",
        cluster_name=ref(cluster.name),
        node_group_name="main",
        node_role_arn=ref(node_role.arn),
        subnet_ids=[ref(s.id) for s in private],
        instance_types=c.NODE_INSTANCE_TYPES,
        scaling_config={
            "min_size": c.NODE_SCALING["min"],
            "desired_size": c.NODE_SCALING["desired"],
            "max_size": c.NODE_SCALING["max"],
        },
        update_config={"max_unavailable": 1},
        depends_on=[f"aws_iam_role_policy_attachment.node_{label}" for label in c.NODE_POLICIES],
        tags=c.TAGS,
    )
    oidc = config.add(
        r.aws_iam_openid_connect_provider(
            "eks",
            url="${aws_eks_cluster.main.identity[0].oidc[0].issuer}",
            client_id_list=["sts.amazonaws.com"],
            thumbprint_list=[c.OIDC_THUMBPRINT],
        )
    )

    db_subnets = config.add(
        r.aws_db_subnet_group("main", name=f"{c.NAME}-db", subnet_ids=[ref(s.id) for s in private], tags=c.TAGS)
    )
    groups = {}
    for label, port in (("db", 5432), ("cache", 6379), ("mq", 5671)):
        groups[label] = config.add(
            r.aws_security_group(
                label,
                name=f"{c.NAME}-{label}",
                vpc_id=ref(vpc.id),
                description=f"{label} from the cluster",
                tags=c.tags(label),
            )
        )
        config += r.aws_security_group_rule(
            f"{label}_from_cluster",
            type="ingress",
            from_port=port,
            to_port=port,
            protocol="tcp",
            security_group_id=ref(groups[label].id),
            source_security_group_id=ref(cluster_sg.id),
            description="from EKS",
        )
    params = config.add(
        r.aws_db_parameter_group(
            "main",
            name=f"{c.NAME}-pg16",
            family="postgres16",
            parameter=[{"name": "rds.force_ssl", "value": "1"}, {"name": "log_min_duration_statement", "value": "500"}],
            tags=c.TAGS,
        )
    )
    db = config.add(
        r.aws_db_instance(
            "main",
            identifier=f"{c.NAME}-db",
            engine="postgres",
            engine_version=c.DB_ENGINE_VERSION,
            instance_class=c.DB_INSTANCE_CLASS,
            allocated_storage=c.DB_STORAGE_GIB,
            max_allocated_storage=c.DB_MAX_STORAGE_GIB,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=ref(key.arn),
            db_name="tms",
            username="tms_admin",
            manage_master_user_password=True,
            db_subnet_group_name=ref(db_subnets.name),
            vpc_security_group_ids=[ref(groups["db"].id)],
            parameter_group_name=ref(params.name),
            multi_az=True,
            backup_retention_period=14,
            deletion_protection=True,
            copy_tags_to_snapshot=True,
            final_snapshot_identifier=f"{c.NAME}-db-final",
            performance_insights_enabled=True,
            tags=c.TAGS,
        )
    )
    cache_subnets = config.add(
        r.aws_elasticache_subnet_group("main", name=f"{c.NAME}-cache", subnet_ids=[ref(s.id) for s in private])
    )
    cache = config.add(
        r.aws_elasticache_replication_group(
            "main",
            replication_group_id=f"{c.NAME}-cache",
            description="TMS cache",
            engine="redis",
            engine_version="7.1",
            node_type=c.CACHE_NODE_TYPE,
            num_cache_clusters=2,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            port=6379,
            subnet_group_name=ref(cache_subnets.name),
            security_group_ids=[ref(groups["cache"].id)],
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            kms_key_id=ref(key.arn),
            snapshot_retention_limit=7,
            tags=c.TAGS,
        )
    )
    broker = config.add(
        r.aws_mq_broker(
            "main",
            broker_name=f"{c.NAME}-mq",
            engine_type="RabbitMQ",
            engine_version=c.BROKER_ENGINE_VERSION,
            host_instance_type=c.BROKER_INSTANCE_TYPE,
            deployment_mode="CLUSTER_MULTI_AZ",
            publicly_accessible=False,
            subnet_ids=[ref(s.id) for s in private],
            security_groups=[ref(groups["mq"].id)],
            auto_minor_version_upgrade=True,
            maintenance_window_start_time={"day_of_week": "SUNDAY", "time_of_day": "02:00", "time_zone": "UTC"},
            user=[{"username": "tms", "password": "${var.mq_password}"}],
            logs={"general": True},
            tags=c.TAGS,
        )
    )

    bucket = config.add(r.aws_s3_bucket("attachments", bucket=f"{c.NAME}-attachments-123456789012", tags=c.TAGS))
    config += aws_s3_bucket_versioning(
        "attachments", bucket=ref(bucket.id), versioning_configuration={"status": "Enabled"}
    )
    config += aws_s3_bucket_server_side_encryption_configuration(
        "attachments",
        bucket=ref(bucket.id),
        rule=[
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": ref(key.arn),
                },
                "bucket_key_enabled": True,
            }
        ],
    )
    config += r.aws_s3_bucket_public_access_block(
        "attachments",
        bucket=ref(bucket.id),
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    config += r.aws_s3_bucket_policy(
        "attachments", bucket=ref(bucket.id), policy=c.tls_only_bucket_policy(ref(bucket.arn))
    )

    secrets = []
    for label in c.SECRETS:
        secrets.append(
            config.add(
                r.aws_secretsmanager_secret(
                    label,
                    name=f"{c.NAME}/{label}/connection",
                    kms_key_id=ref(key.arn),
                    recovery_window_in_days=7,
                    tags=c.TAGS,
                )
            )
        )
    del db, cache, broker  # their endpoints would go into secret versions; the comparable stack stops at the secrets

    role = config.add(
        r.aws_iam_role(
            "odoo",
            name=f"{c.NAME}-odoo",
            assume_role_policy=c.irsa_trust_policy(
                ref(oidc.arn),
                '${replace(aws_eks_cluster.main.identity[0].oidc[0].issuer, "https://", "")}',
                "tms",
                "odoo",
            ),
            tags=c.TAGS,
        )
    )
    policy = config.add(
        r.aws_iam_policy(
            "odoo",
            name=f"{c.NAME}-odoo",
            policy=c.workload_policy(ref(bucket.arn), [ref(s.arn) for s in secrets], ref(key.arn)),
        )
    )
    config += r.aws_iam_role_policy_attachment("odoo", role=ref(role.name), policy_arn=ref(policy.arn))
    return config


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    config = build()
    (out / "main.tf.json").write_text(str(config) + "\n")
    print(f"resources={sum(len(blocks) for blocks in config['resource'].values())}")


if __name__ == "__main__":
    main()
