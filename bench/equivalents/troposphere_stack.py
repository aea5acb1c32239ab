"""The benchmark stack with troposphere: a CloudFormation template (property types checked, nothing else).

Usage: python troposphere_stack.py OUT_DIR  → OUT_DIR/template.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import common as c
from troposphere import (
    GetAtt,
    Output,
    Parameter,
    Ref,
    Select,
    Split,
    Sub,
    Tags,
    Template,
    amazonmq,
    ec2,
    eks,
    elasticache,
    iam,
    kms,
    rds,
    s3,
    secretsmanager,
)


def policy(text: str) -> dict:
    return json.loads(text)


def build() -> Template:
    t = Template(Description="TMS prod (benchmark equivalent)")
    mq_password = t.add_parameter(Parameter("MqPassword", Type="String", NoEcho=True, MinLength=12))

    vpc = t.add_resource(
        ec2.VPC("Vpc", CidrBlock=c.VPC_CIDR, EnableDnsHostnames=True, EnableDnsSupport=True, Tags=Tags(c.tags("vpc")))
    )
    igw = t.add_resource(ec2.InternetGateway("InternetGateway", Tags=Tags(c.tags("igw"))))
    attach = t.add_resource(ec2.VPCGatewayAttachment("GatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(igw)))
    public, private = [], []
    for i, suffix in enumerate(c.SUFFIXES):
        public.append(
            t.add_resource(
                ec2.Subnet(
                    f"PublicSubnet{suffix.upper()}",
                    VpcId=Ref(vpc),
                    CidrBlock=c.PUBLIC_CIDRS[i],
                    AvailabilityZone=c.AZS[i],
                    MapPublicIpOnLaunch=False,
                    Tags=Tags({**c.tags(f"public-{suffix}"), "kubernetes.io/role/elb": "1"}),
                )
            )
        )
        private.append(
            t.add_resource(
                ec2.Subnet(
                    f"PrivateSubnet{suffix.upper()}",
                    VpcId=Ref(vpc),
                    CidrBlock=c.PRIVATE_CIDRS[i],
                    AvailabilityZone=c.AZS[i],
                    Tags=Tags({**c.tags(f"private-{suffix}"), "kubernetes.io/role/internal-elb": "1"}),
                )
            )
        )
    eip = t.add_resource(ec2.EIP("NatEip", Domain="vpc", DependsOn=attach, Tags=Tags(c.tags("nat"))))
    nat = t.add_resource(
        ec2.NatGateway(
            "NatGateway", AllocationId=GetAtt(eip, "AllocationId"), SubnetId=Ref(public[0]), Tags=Tags(c.tags("nat"))
        )
    )
    public_rt = t.add_resource(ec2.RouteTable("PublicRouteTable", VpcId=Ref(vpc), Tags=Tags(c.tags("public"))))
    t.add_resource(
        ec2.Route(
            "PublicDefaultRoute",
            RouteTableId=Ref(public_rt),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref(igw),
            DependsOn=attach,
        )
    )
    private_rt = t.add_resource(ec2.RouteTable("PrivateRouteTable", VpcId=Ref(vpc), Tags=Tags(c.tags("private"))))
    t.add_resource(
        ec2.Route(
            "PrivateDefaultRoute", RouteTableId=Ref(private_rt), DestinationCidrBlock="0.0.0.0/0", NatGatewayId=Ref(nat)
        )
    )
    for suffix, subnet in zip(c.SUFFIXES, public, strict=True):
        t.add_resource(
            ec2.SubnetRouteTableAssociation(
                f"PublicAssociation{suffix.upper()}", SubnetId=Ref(subnet), RouteTableId=Ref(public_rt)
            )
        )
    for suffix, subnet in zip(c.SUFFIXES, private, strict=True):
        t.add_resource(
            ec2.SubnetRouteTableAssociation(
                f"PrivateAssociation{suffix.upper()}", SubnetId=Ref(subnet), RouteTableId=Ref(private_rt)
            )
        )

    key = t.add_resource(
        kms.Key(
            "DataKey",
            Description=f"{c.NAME} data",
            EnableKeyRotation=True,
            PendingWindowInDays=30,
            KeyPolicy=policy(c.key_policy("arn:aws:iam::123456789012:root")),
            Tags=Tags(c.tags("key")),
        )
    )
    t.add_resource(kms.Alias("DataKeyAlias", AliasName=f"alias/{c.NAME}", TargetKeyId=Ref(key)))

    # CloudFormation attaches managed policies through the role's ManagedPolicyArns: no attachment resources.
    cluster_role = t.add_resource(
        iam.Role(
            "ClusterRole",
            RoleName=f"{c.NAME}-cluster",
            AssumeRolePolicyDocument=policy(c.assume_role_policy("eks.amazonaws.com")),
            ManagedPolicyArns=list(c.CLUSTER_POLICIES),
            Tags=Tags(c.TAGS),
        )
    )
    node_role = t.add_resource(
        iam.Role(
            "NodeRole",
            RoleName=f"{c.NAME}-node",
            AssumeRolePolicyDocument=policy(c.assume_role_policy("ec2.amazonaws.com")),
            ManagedPolicyArns=list(c.NODE_POLICIES.values()),
            Tags=Tags(c.TAGS),
        )
    )
    cluster_sg = t.add_resource(
        ec2.SecurityGroup(
            "ClusterSecurityGroup",
            GroupName=f"{c.NAME}-cluster",
            GroupDescription="EKS cluster and nodes",
            VpcId=Ref(vpc),
            SecurityGroupEgress=[ec2.SecurityGroupRule(IpProtocol="-1", CidrIp="0.0.0.0/0", Description="all")],
            Tags=Tags(c.tags("cluster")),
        )
    )
    cluster = t.add_resource(
        eks.Cluster(
            "Cluster",
            Name=c.NAME,
            Version=c.CLUSTER_VERSION,
            RoleArn=GetAtt(cluster_role, "Arn"),
            ResourcesVpcConfig=eks.ResourcesVpcConfig(
                SubnetIds=[Ref(s) for s in private],
                SecurityGroupIds=[Ref(cluster_sg)],
                EndpointPrivateAccess=True,
                EndpointPublicAccess=False,
            ),
            EncryptionConfig=[
                eks.EncryptionConfig(Provider=eks.Provider(KeyArn=GetAtt(key, "Arn")), Resources=["secrets"])
            ],
            Logging=eks.Logging(
                ClusterLogging=eks.ClusterLogging(
                    EnabledTypes=[eks.LoggingTypeConfig(Type=x) for x in ("api", "audit", "authenticator")]
                )
            ),
            Tags=Tags(c.TAGS),
        )
    )
    t.add_resource(
        eks.Nodegroup(
            "NodeGroup",
            ClusterName=Ref(cluster),
            NodegroupName="main",
            NodeRole=GetAtt(node_role, "Arn"),
            Subnets=[Ref(s) for s in private],
            InstanceTypes=c.NODE_INSTANCE_TYPES,
            ScalingConfig=eks.ScalingConfig(
                MinSize=c.NODE_SCALING["min"], DesiredSize=c.NODE_SCALING["desired"], MaxSize=c.NODE_SCALING["max"]
            ),
            UpdateConfig=eks.UpdateConfig(MaxUnavailable=1),
            Tags=c.TAGS,
        )
    )
    oidc = t.add_resource(
        iam.OIDCProvider(
            "OidcProvider",
            Url=GetAtt(cluster, "OpenIdConnectIssuerUrl"),
            ClientIdList=["sts.amazonaws.com"],
            ThumbprintList=[c.OIDC_THUMBPRINT],
        )
    )

    groups = {}
    for label, port in (("Db", 5432), ("Cache", 6379), ("Mq", 5671)):
        groups[label] = t.add_resource(
            ec2.SecurityGroup(
                f"{label}SecurityGroup",
                GroupName=f"{c.NAME}-{label.lower()}",
                GroupDescription=f"{label} from the cluster",
                VpcId=Ref(vpc),
                Tags=Tags(c.tags(label.lower())),
            )
        )
        t.add_resource(
            ec2.SecurityGroupIngress(
                f"{label}FromCluster",
                GroupId=Ref(groups[label]),
                IpProtocol="tcp",
                FromPort=port,
                ToPort=port,
                SourceSecurityGroupId=Ref(cluster_sg),
                Description="from EKS",
            )
        )
    db_subnets = t.add_resource(
        rds.DBSubnetGroup(
            "DbSubnetGroup",
            DBSubnetGroupName=f"{c.NAME}-db",
            DBSubnetGroupDescription="TMS database",
            SubnetIds=[Ref(s) for s in private],
            Tags=Tags(c.TAGS),
        )
    )
    params = t.add_resource(
        rds.DBParameterGroup(
            "DbParameterGroup",
            DBParameterGroupName=f"{c.NAME}-pg16",
            Family="postgres16",
            Description="TMS PostgreSQL 16",
            Parameters={"rds.force_ssl": "1", "log_min_duration_statement": "500"},
            Tags=Tags(c.TAGS),
        )
    )
    t.add_resource(
        rds.DBInstance(
            "Database",
            DBInstanceIdentifier=f"{c.NAME}-db",
            Engine="postgres",
            EngineVersion=c.DB_ENGINE_VERSION,
            DBInstanceClass=c.DB_INSTANCE_CLASS,
            AllocatedStorage=str(c.DB_STORAGE_GIB),
            MaxAllocatedStorage=c.DB_MAX_STORAGE_GIB,
            StorageType="gp3",
            StorageEncrypted=True,
            KmsKeyId=GetAtt(key, "Arn"),
            DBName="tms",
            MasterUsername="tms_admin",
            ManageMasterUserPassword=True,
            DBSubnetGroupName=Ref(db_subnets),
            VPCSecurityGroups=[Ref(groups["Db"])],
            DBParameterGroupName=Ref(params),
            MultiAZ=True,
            BackupRetentionPeriod=14,
            DeletionProtection=True,
            CopyTagsToSnapshot=True,
            EnablePerformanceInsights=True,
            DeletionPolicy="Snapshot",
            UpdateReplacePolicy="Snapshot",
            Tags=Tags(c.TAGS),
        )
    )
    cache_subnets = t.add_resource(
        elasticache.SubnetGroup(
            "CacheSubnetGroup",
            CacheSubnetGroupName=f"{c.NAME}-cache",
            Description="TMS cache",
            SubnetIds=[Ref(s) for s in private],
        )
    )
    t.add_resource(
        elasticache.ReplicationGroup(
            "Cache",
            ReplicationGroupId=f"{c.NAME}-cache",
            ReplicationGroupDescription="TMS cache",
            Engine="redis",
            EngineVersion="7.1",
            CacheNodeType=c.CACHE_NODE_TYPE,
            NumCacheClusters=2,
            AutomaticFailoverEnabled=True,
            MultiAZEnabled=True,
            Port=6379,
            CacheSubnetGroupName=Ref(cache_subnets),
            SecurityGroupIds=[Ref(groups["Cache"])],
            AtRestEncryptionEnabled=True,
            TransitEncryptionEnabled=True,
            KmsKeyId=GetAtt(key, "Arn"),
            SnapshotRetentionLimit=7,
            Tags=Tags(c.TAGS),
        )
    )
    t.add_resource(
        amazonmq.Broker(
            "Broker",
            BrokerName=f"{c.NAME}-mq",
            EngineType="RABBITMQ",
            EngineVersion=c.BROKER_ENGINE_VERSION,
            HostInstanceType=c.BROKER_INSTANCE_TYPE,
            DeploymentMode="CLUSTER_MULTI_AZ",
            PubliclyAccessible=False,
            SubnetIds=[Ref(s) for s in private],
            SecurityGroups=[Ref(groups["Mq"])],
            AutoMinorVersionUpgrade=True,
            MaintenanceWindowStartTime=amazonmq.MaintenanceWindow(
                DayOfWeek="SUNDAY", TimeOfDay="02:00", TimeZone="UTC"
            ),
            Users=[amazonmq.User(Username="tms", Password=Ref(mq_password))],
            Logs=amazonmq.LogsConfiguration(General=True),
        )
    )

    bucket = t.add_resource(
        s3.Bucket(
            "Attachments",
            BucketName=f"{c.NAME}-attachments-123456789012",
            VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
            BucketEncryption=s3.BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    s3.ServerSideEncryptionRule(
                        ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                            SSEAlgorithm="aws:kms", KMSMasterKeyID=GetAtt(key, "Arn")
                        ),
                        BucketKeyEnabled=True,
                    )
                ]
            ),
            PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
                BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
            ),
            OwnershipControls=s3.OwnershipControls(
                Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
            ),
            Tags=Tags(c.TAGS),
        )
    )
    t.add_resource(
        s3.BucketPolicy(
            "AttachmentsPolicy",
            Bucket=Ref(bucket),
            PolicyDocument=Sub(c.tls_only_bucket_policy("${BucketArn}"), BucketArn=GetAtt(bucket, "Arn")),
        )
    )
    secrets = [
        t.add_resource(
            secretsmanager.Secret(
                f"{label.capitalize()}Secret", Name=f"{c.NAME}/{label}/connection", KmsKeyId=Ref(key), Tags=Tags(c.TAGS)
            )
        )
        for label in c.SECRETS
    ]
    role = t.add_resource(
        iam.Role(
            "OdooRole",
            RoleName=f"{c.NAME}-odoo",
            AssumeRolePolicyDocument=Sub(
                c.irsa_trust_policy("${OidcArn}", "${IssuerHost}", "tms", "odoo"),
                OidcArn=Ref(oidc),
                IssuerHost=Select(1, Split("//", GetAtt(cluster, "OpenIdConnectIssuerUrl"))),
            ),
            Tags=Tags(c.TAGS),
        )
    )
    t.add_resource(
        iam.ManagedPolicy(
            "OdooPolicy",
            ManagedPolicyName=f"{c.NAME}-odoo",
            Roles=[Ref(role)],
            PolicyDocument=Sub(
                c.workload_policy("${BucketArn}", ["${S0}", "${S1}", "${S2}"], "${KeyArn}"),
                BucketArn=GetAtt(bucket, "Arn"),
                S0=Ref(secrets[0]),
                S1=Ref(secrets[1]),
                S2=Ref(secrets[2]),
                KeyArn=GetAtt(key, "Arn"),
            ),
        )
    )
    t.add_output(Output("ClusterName", Value=Ref(cluster)))
    return t


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    template = build()
    (out / "template.json").write_text(template.to_json() + "\n")
    print(f"resources={len(template.resources)}")


if __name__ == "__main__":
    main()
