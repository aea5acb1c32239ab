"""The benchmark stack with CDK for Terraform (Python, prebuilt AWS provider bindings).

Usage: python cdktf_stack.py OUT_DIR  → OUT_DIR/stacks/tms-prod/cdk.tf.json
(`cdktf synth` runs the same file through the app command of a cdktf.json that
compile_bench.py writes; CDKTF_OUTDIR then names the output directory.)
"""

from __future__ import annotations

import os
import sys

from cdktf import App, TerraformStack, TerraformVariable
from cdktf_cdktf_provider_aws import (
    db_instance,
    db_parameter_group,
    db_subnet_group,
    eip,
    eks_cluster,
    eks_node_group,
    elasticache_replication_group,
    elasticache_subnet_group,
    iam_openid_connect_provider,
    iam_policy,
    iam_role,
    iam_role_policy_attachment,
    internet_gateway,
    kms_alias,
    kms_key,
    mq_broker,
    nat_gateway,
    provider,
    route,
    route_table,
    route_table_association,
    s3_bucket,
    s3_bucket_policy,
    s3_bucket_public_access_block,
    s3_bucket_versioning,
    secretsmanager_secret,
    security_group,
    security_group_rule,
    subnet,
    vpc,
)
from cdktf_cdktf_provider_aws import (
    s3_bucket_server_side_encryption_configuration as sse,
)
from constructs import Construct

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as c


class TmsStack(TerraformStack):
    def __init__(self, scope: Construct, name: str) -> None:
        super().__init__(scope, name)
        provider.AwsProvider(self, "aws", region=c.REGION, default_tags=[provider.AwsProviderDefaultTags(tags=c.TAGS)])
        mq_password = TerraformVariable(self, "mq_password", type="string", sensitive=True)

        main_vpc = vpc.Vpc(
            self, "vpc", cidr_block=c.VPC_CIDR, enable_dns_hostnames=True, enable_dns_support=True, tags=c.tags("vpc")
        )
        igw = internet_gateway.InternetGateway(self, "igw", vpc_id=main_vpc.id, tags=c.tags("igw"))
        public, private = [], []
        for i, suffix in enumerate(c.SUFFIXES):
            public.append(
                subnet.Subnet(
                    self,
                    f"public_{suffix}",
                    vpc_id=main_vpc.id,
                    cidr_block=c.PUBLIC_CIDRS[i],
                    availability_zone=c.AZS[i],
                    map_public_ip_on_launch=False,
                    tags={**c.tags(f"public-{suffix}"), "kubernetes.io/role/elb": "1"},
                )
            )
            private.append(
                subnet.Subnet(
                    self,
                    f"private_{suffix}",
                    vpc_id=main_vpc.id,
                    cidr_block=c.PRIVATE_CIDRS[i],
                    availability_zone=c.AZS[i],
                    tags={**c.tags(f"private-{suffix}"), "kubernetes.io/role/internal-elb": "1"},
                )
            )
        nat_ip = eip.Eip(self, "nat_eip", domain="vpc", tags=c.tags("nat"), depends_on=[igw])
        nat = nat_gateway.NatGateway(self, "nat", allocation_id=nat_ip.id, subnet_id=public[0].id, tags=c.tags("nat"))
        public_rt = route_table.RouteTable(self, "public_rt", vpc_id=main_vpc.id, tags=c.tags("public"))
        route.Route(
            self, "public_default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id
        )
        private_rt = route_table.RouteTable(self, "private_rt", vpc_id=main_vpc.id, tags=c.tags("private"))
        route.Route(
            self,
            "private_default",
            route_table_id=private_rt.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
        )
        for suffix, s in zip(c.SUFFIXES, public, strict=True):
            route_table_association.RouteTableAssociation(
                self, f"public_{suffix}_rta", subnet_id=s.id, route_table_id=public_rt.id
            )
        for suffix, s in zip(c.SUFFIXES, private, strict=True):
            route_table_association.RouteTableAssociation(
                self, f"private_{suffix}_rta", subnet_id=s.id, route_table_id=private_rt.id
            )

        key = kms_key.KmsKey(
            self,
            "key",
            description=f"{c.NAME} data",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=c.key_policy("arn:aws:iam::123456789012:root"),
            tags=c.tags("key"),
        )
        kms_alias.KmsAlias(self, "key_alias", name=f"alias/{c.NAME}", target_key_id=key.key_id)

        cluster_role = iam_role.IamRole(
            self,
            "cluster_role",
            name=f"{c.NAME}-cluster",
            assume_role_policy=c.assume_role_policy("eks.amazonaws.com"),
            tags=c.TAGS,
        )
        cluster_policy = iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "cluster_policy", role=cluster_role.name, policy_arn=c.CLUSTER_POLICIES[0]
        )
        node_role = iam_role.IamRole(
            self,
            "node_role",
            name=f"{c.NAME}-node",
            assume_role_policy=c.assume_role_policy("ec2.amazonaws.com"),
            tags=c.TAGS,
        )
        node_policies = [
            iam_role_policy_attachment.IamRolePolicyAttachment(
                self, f"node_{label}", role=node_role.name, policy_arn=arn
            )
            for label, arn in c.NODE_POLICIES.items()
        ]
        cluster_sg = security_group.SecurityGroup(
            self,
            "cluster_sg",
            name=f"{c.NAME}-cluster",
            vpc_id=main_vpc.id,
            description="EKS cluster and nodes",
            egress=[
                security_group.SecurityGroupEgress(
                    from_port=0, to_port=0, protocol="-1", cidr_blocks=["0.0.0.0/0"], description="all"
                )
            ],
            tags=c.tags("cluster"),
        )
        cluster = eks_cluster.EksCluster(
            self,
            "cluster",
            name=c.NAME,
            version=c.CLUSTER_VERSION,
            role_arn=cluster_role.arn,
            vpc_config=eks_cluster.EksClusterVpcConfig(
                subnet_ids=[s.id for s in private],
                security_group_ids=[cluster_sg.id],
                endpoint_private_access=True,
                endpoint_public_access=False,
            ),
            encryption_config=eks_cluster.EksClusterEncryptionConfig(
                provider=eks_cluster.EksClusterEncryptionConfigProvider(key_arn=key.arn), resources=["secrets"]
            ),
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            depends_on=[cluster_policy],
            tags=c.TAGS,
        )
        eks_node_group.EksNodeGroup(
            self,
            "nodes",
            cluster_name=cluster.name,
            node_group_name="main",
            node_role_arn=node_role.arn,
            subnet_ids=[s.id for s in private],
            instance_types=c.NODE_INSTANCE_TYPES,
            scaling_config=eks_node_group.EksNodeGroupScalingConfig(
                min_size=c.NODE_SCALING["min"], desired_size=c.NODE_SCALING["desired"], max_size=c.NODE_SCALING["max"]
            ),
            update_config=eks_node_group.EksNodeGroupUpdateConfig(max_unavailable=1),
            depends_on=node_policies,
            tags=c.TAGS,
        )
        issuer = cluster.identity.get(0).oidc.get(0).issuer
        oidc = iam_openid_connect_provider.IamOpenidConnectProvider(
            self, "oidc", url=issuer, client_id_list=["sts.amazonaws.com"], thumbprint_list=[c.OIDC_THUMBPRINT]
        )

        groups = {}
        for label, port in (("db", 5432), ("cache", 6379), ("mq", 5671)):
            groups[label] = security_group.SecurityGroup(
                self,
                f"{label}_sg",
                name=f"{c.NAME}-{label}",
                vpc_id=main_vpc.id,
                description=f"{label} from the cluster",
                tags=c.tags(label),
            )
            security_group_rule.SecurityGroupRule(
                self,
                f"{label}_from_cluster",
                type="ingress",
                from_port=port,
                to_port=port,
                protocol="tcp",
                security_group_id=groups[label].id,
                source_security_group_id=cluster_sg.id,
                description="from EKS",
            )
        db_subnets = db_subnet_group.DbSubnetGroup(
            self, "db_subnets", name=f"{c.NAME}-db", subnet_ids=[s.id for s in private], tags=c.TAGS
        )
        params = db_parameter_group.DbParameterGroup(
            self,
            "db_params",
            name=f"{c.NAME}-pg16",
            family="postgres16",
            parameter=[
                db_parameter_group.DbParameterGroupParameter(name="rds.force_ssl", value="1"),
                db_parameter_group.DbParameterGroupParameter(name="log_min_duration_statement", value="500"),
            ],
            tags=c.TAGS,
        )
        db_instance.DbInstance(
            self,
            "db",
            identifier=f"{c.NAME}-db",
            engine="postgres",
            engine_version=c.DB_ENGINE_VERSION,
            instance_class=c.DB_INSTANCE_CLASS,
            allocated_storage=c.DB_STORAGE_GIB,
            max_allocated_storage=c.DB_MAX_STORAGE_GIB,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            db_name="tms",
            username="tms_admin",
            manage_master_user_password=True,
            db_subnet_group_name=db_subnets.name,
            vpc_security_group_ids=[groups["db"].id],
            parameter_group_name=params.name,
            multi_az=True,
            backup_retention_period=14,
            deletion_protection=True,
            copy_tags_to_snapshot=True,
            final_snapshot_identifier=f"{c.NAME}-db-final",
            performance_insights_enabled=True,
            tags=c.TAGS,
        )
        cache_subnets = elasticache_subnet_group.ElasticacheSubnetGroup(
            self, "cache_subnets", name=f"{c.NAME}-cache", subnet_ids=[s.id for s in private]
        )
        elasticache_replication_group.ElasticacheReplicationGroup(
            self,
            "cache",
            replication_group_id=f"{c.NAME}-cache",
            description="TMS cache",
            engine="redis",
            engine_version="7.1",
            node_type=c.CACHE_NODE_TYPE,
            num_cache_clusters=2,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            port=6379,
            subnet_group_name=cache_subnets.name,
            security_group_ids=[groups["cache"].id],
            at_rest_encryption_enabled="true",
            transit_encryption_enabled=True,
            kms_key_id=key.arn,
            snapshot_retention_limit=7,
            tags=c.TAGS,
        )
        mq_broker.MqBroker(
            self,
            "broker",
            broker_name=f"{c.NAME}-mq",
            engine_type="RabbitMQ",
            engine_version=c.BROKER_ENGINE_VERSION,
            host_instance_type=c.BROKER_INSTANCE_TYPE,
            deployment_mode="CLUSTER_MULTI_AZ",
            publicly_accessible=False,
            subnet_ids=[s.id for s in private],
            security_groups=[groups["mq"].id],
            auto_minor_version_upgrade=True,
            maintenance_window_start_time=mq_broker.MqBrokerMaintenanceWindowStartTime(
                day_of_week="SUNDAY", time_of_day="02:00", time_zone="UTC"
            ),
            user=[mq_broker.MqBrokerUser(username="tms", password=mq_password.string_value)],
            logs=mq_broker.MqBrokerLogs(general=True),
            tags=c.TAGS,
        )

        bucket = s3_bucket.S3Bucket(self, "attachments", bucket=f"{c.NAME}-attachments-123456789012", tags=c.TAGS)
        s3_bucket_versioning.S3BucketVersioningA(
            self,
            "attachments_versioning",
            bucket=bucket.id,
            versioning_configuration=s3_bucket_versioning.S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        sse.S3BucketServerSideEncryptionConfigurationA(
            self,
            "attachments_sse",
            bucket=bucket.id,
            rule=[
                sse.S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
        )
        s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            self,
            "attachments_public_access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        s3_bucket_policy.S3BucketPolicy(
            self, "attachments_policy", bucket=bucket.id, policy=c.tls_only_bucket_policy(bucket.arn)
        )
        secrets = [
            secretsmanager_secret.SecretsmanagerSecret(
                self,
                f"{label}_secret",
                name=f"{c.NAME}/{label}/connection",
                kms_key_id=key.arn,
                recovery_window_in_days=7,
                tags=c.TAGS,
            )
            for label in c.SECRETS
        ]
        role = iam_role.IamRole(
            self,
            "odoo_role",
            name=f"{c.NAME}-odoo",
            assume_role_policy=c.irsa_trust_policy(
                oidc.arn,
                '${replace(aws_eks_cluster.cluster.identity[0].oidc[0].issuer, "https://", "")}',
                "tms",
                "odoo",
            ),
            tags=c.TAGS,
        )
        policy = iam_policy.IamPolicy(
            self,
            "odoo_policy",
            name=f"{c.NAME}-odoo",
            policy=c.workload_policy(bucket.arn, [s.arn for s in secrets], key.arn),
        )
        iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "odoo_attachment", role=role.name, policy_arn=policy.arn
        )


def main() -> None:
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CDKTF_OUTDIR", "cdktf.out")
    app = App(outdir=outdir)
    TmsStack(app, "tms-prod")
    app.synth()


if __name__ == "__main__":
    main()
