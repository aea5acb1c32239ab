"""The VPC: subnets in three tiers across the derived AZs, NAT, routes, flow logs, the S3 endpoint."""

from __future__ import annotations

from tmsc.ir import Block, JsonDocument, Ref, Resource
from tmsc.services.context import Context, join, policy, service_role
from tmsc.services.keys import encrypted_log_group
from tmsc.services.permissions import (
    ApplyScope,
    CiPermissions,
    Statement,
    merge,
    regional,
    statement,
    tag_keys_kept,
    tags,
    untagged_until_now,
)

TIERS = ("public", "private", "database")


def emit_network(ctx: Context) -> tuple[Block, ...]:
    plan = ctx.plan
    layout = plan.subnets.value
    zones = plan.availability_zone_ids.value
    suffixes = ctx.zone_suffixes()
    az_reason = (plan.az_count.reason,)

    vpc = Resource(
        "aws_vpc",
        "main",
        {
            "cidr_block": ctx.environment.network.cidr,
            "enable_dns_hostnames": True,
            "enable_dns_support": True,
            "tags": {"Name": ctx.name()},
        },
    )
    # Adopting the default security group with no rules closes it (CIS 5.4).
    default_sg = Resource(
        "aws_default_security_group", "main", {"vpc_id": vpc.ref(), "tags": {"Name": ctx.name("default-closed")}}
    )
    igw = Resource("aws_internet_gateway", "main", {"vpc_id": vpc.ref(), "tags": {"Name": ctx.name()}})
    blocks: list[Block] = [vpc, default_sg, igw]

    subnets: dict[str, list[Resource]] = {tier: [] for tier in TIERS}
    cidrs = {"public": layout.public, "private": layout.private, "database": layout.database}
    role_tags = {
        "public": {"kubernetes.io/role/elb": "1"},
        "private": {"kubernetes.io/role/internal-elb": "1"},
        "database": {},
    }
    for tier in TIERS:
        for zone, suffix, cidr in zip(zones, suffixes, cidrs[tier], strict=True):
            subnet = Resource(
                "aws_subnet",
                f"{tier}_{suffix}",
                {
                    "vpc_id": vpc.ref(),
                    "cidr_block": cidr,
                    # A zone ID names the same physical zone in every account; a zone name (eu-west-1a) does not.
                    "availability_zone_id": zone,
                    # Nothing gets a public IP by accident: the NAT gateways use Elastic IPs.
                    "map_public_ip_on_launch": False,
                    "tags": {"Name": ctx.name(tier, suffix), "tier": tier, **role_tags[tier]},
                },
                because=az_reason,
            )
            subnets[tier].append(subnet)
            blocks.append(subnet)

    public_rt = Resource("aws_route_table", "public", {"vpc_id": vpc.ref(), "tags": {"Name": ctx.name("public")}})
    blocks.append(public_rt)
    blocks.append(
        Resource(
            "aws_route",
            "public_internet",
            {"route_table_id": public_rt.ref(), "destination_cidr_block": "0.0.0.0/0", "gateway_id": igw.ref()},
        )
    )
    for subnet, suffix in zip(subnets["public"], suffixes, strict=True):
        blocks.append(
            Resource(
                "aws_route_table_association",
                f"public_{suffix}",
                {"subnet_id": subnet.ref(), "route_table_id": public_rt.ref()},
            )
        )

    nat_reason = (plan.nat_gateways.reason,)
    nats: list[Resource] = []
    for subnet, suffix in list(zip(subnets["public"], suffixes, strict=True))[: plan.nat_gateways.value]:
        eip = Resource(
            "aws_eip", f"nat_{suffix}", {"domain": "vpc", "tags": {"Name": ctx.name("nat", suffix)}}, because=nat_reason
        )
        nat = Resource(
            "aws_nat_gateway",
            suffix,
            {
                "allocation_id": eip.ref(),
                "subnet_id": subnet.ref(),
                "tags": {"Name": ctx.name("nat", suffix)},
                "depends_on": [igw.bare],
            },
            because=nat_reason,
        )
        nats.append(nat)
        blocks.extend([eip, nat])

    private_tables: list[Resource] = []
    for i, (subnet, suffix) in enumerate(zip(subnets["private"], suffixes, strict=True)):
        nat = nats[i] if len(nats) > 1 else nats[0]
        table = Resource(
            "aws_route_table", f"private_{suffix}", {"vpc_id": vpc.ref(), "tags": {"Name": ctx.name("private", suffix)}}
        )
        private_tables.append(table)
        blocks.append(table)
        blocks.append(
            Resource(
                "aws_route",
                f"private_{suffix}_egress",
                {"route_table_id": table.ref(), "destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.ref()},
                because=nat_reason,
            )
        )
        blocks.append(
            Resource(
                "aws_route_table_association",
                f"private_{suffix}",
                {"subnet_id": subnet.ref(), "route_table_id": table.ref()},
            )
        )

    # Database subnets have no route out of the VPC at all.
    database_rt = Resource("aws_route_table", "database", {"vpc_id": vpc.ref(), "tags": {"Name": ctx.name("database")}})
    blocks.append(database_rt)
    for subnet, suffix in zip(subnets["database"], suffixes, strict=True):
        blocks.append(
            Resource(
                "aws_route_table_association",
                f"database_{suffix}",
                {"subnet_id": subnet.ref(), "route_table_id": database_rt.ref()},
            )
        )

    # S3 traffic (attachments, image layers) stays on the AWS network and costs no NAT.
    blocks.append(
        Resource(
            "aws_vpc_endpoint",
            "s3",
            {
                "vpc_id": vpc.ref(),
                "service_name": f"com.amazonaws.{ctx.region}.s3",
                "vpc_endpoint_type": "Gateway",
                "route_table_ids": [t.ref() for t in private_tables] + [database_rt.ref()],
                "tags": {"Name": ctx.name("s3")},
            },
        )
    )
    blocks.extend(flow_logs(ctx, vpc))
    return tuple(blocks)


def flow_logs(ctx: Context, vpc: Resource) -> tuple[Block, ...]:
    """Every accepted and rejected flow to a KMS-encrypted log group (CIS 3.9)."""
    group = encrypted_log_group(ctx, "flow_logs", f"/aws/vpc/{ctx.name()}/flow-logs")
    # Only this account's flow logs may assume the role.
    role = service_role("flow_logs", ctx.name("flow-logs"), "vpc-flow-logs.amazonaws.com", this_account_only=True)
    role_policy = Resource(
        "aws_iam_role_policy",
        "flow_logs",
        {
            "name": "write-flow-logs",
            "role": role.ref(),
            "policy": JsonDocument(
                policy(
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                        "Resource": [group.ref("arn"), join(group.ref("arn"), ":*")],
                    }
                )
            ),
        },
    )
    flow_log = Resource(
        "aws_flow_log",
        "main",
        {
            "vpc_id": vpc.ref(),
            "traffic_type": "ALL",
            "log_destination_type": "cloud-watch-logs",
            "log_destination": group.ref("arn"),
            "iam_role_arn": role.ref("arn"),
            "max_aggregation_interval": 60,
        },
    )
    return (group, role, role_policy, flow_log)


def subnet_ids(ctx: Context, tier: str) -> list[Ref]:
    """References to the subnets of one tier, in AZ order, for the services placed in them."""
    return [Ref(f"aws_subnet.{tier}_{suffix}", "id") for suffix in ctx.zone_suffixes()]


VPC_ID = Ref("aws_vpc.main", "id")


# --------------------------------------------------------------------------- what CI needs to apply it

EC2_CREATES: dict[str, tuple[str, ...]] = {
    "vpc": ("ec2:CreateVpc",),
    "subnet": ("ec2:CreateSubnet",),
    "internet-gateway": ("ec2:CreateInternetGateway",),
    "elastic-ip": ("ec2:AllocateAddress",),
    "natgateway": ("ec2:CreateNatGateway",),
    "route-table": ("ec2:CreateRouteTable",),
    "security-group": ("ec2:CreateSecurityGroup",),
    "security-group-rule": ("ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress"),
    "vpc-endpoint": ("ec2:CreateVpcEndpoint",),
    "vpc-flow-log": ("ec2:CreateFlowLogs",),
    "launch-template": ("ec2:CreateLaunchTemplate",),
}
# On resources of the environment (by tag): the parent side of every create
# (a subnet in a VPC, a NAT gateway on a subnet and an address) and every change.
EC2_CHANGES = (
    "ec2:Associate*",
    "ec2:Attach*",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateFlowLogs",
    "ec2:CreateLaunchTemplateVersion",
    "ec2:CreateNatGateway",
    "ec2:CreateNetworkInterface",
    "ec2:CreateRoute",
    "ec2:CreateRouteTable",
    "ec2:CreateSecurityGroup",
    "ec2:CreateSubnet",
    "ec2:CreateVpcEndpoint",
    "ec2:DeleteFlowLogs",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteLaunchTemplate",
    "ec2:DeleteLaunchTemplateVersions",
    "ec2:DeleteNatGateway",
    "ec2:DeleteRoute",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteSubnet",
    "ec2:DeleteVpc",
    "ec2:DeleteVpcEndpoints",
    "ec2:Detach*",
    "ec2:Disassociate*",
    "ec2:Modify*",
    "ec2:ReleaseAddress",
    "ec2:Replace*",
    "ec2:Revoke*",
    "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
)


def ci_network_statements(scope: ApplyScope) -> list[Statement]:
    """EC2 ids are AWS's: everything is scoped by the environment's tags, set at creation."""
    p, env = scope.prefix, scope.env
    regions = scope.home
    # Existing resources are scoped by their tags: the resource type adds nothing to that.
    all_types = regional("ec2", regions, "*")
    statements = [
        statement(
            f"Create{''.join(part.title() for part in kind.split('-'))}Tagged",
            actions,
            regional("ec2", regions, f"{kind}/*"),
            scope.request_tags(),
        )
        for kind, actions in sorted(EC2_CREATES.items())
    ]
    statements += [
        statement("ChangeOwnNetwork", EC2_CHANGES, all_types, scope.resource_tags()),
        statement(
            "TagOnCreate",
            ["ec2:CreateTags"],
            all_types,
            {"StringEquals": {"ec2:CreateAction": sorted({a for actions in EC2_CREATES.values() for a in actions})}},
        ),
        statement(
            "RetagOwnNetwork",
            ["ec2:CreateTags", "ec2:DeleteTags"],
            all_types,
            merge(scope.resource_tags(), tag_keys_kept()),
        ),
        # aws_default_security_group adopts the group AWS made with the VPC, untagged: it may be
        # tagged into this environment (never out of another), then closed by ChangeOwnNetwork.
        statement(
            "AdoptDefaultSecurityGroup",
            ["ec2:CreateTags"],
            regional("ec2", regions, "security-group/*"),
            merge({"StringEquals": tags("RequestTag", p, env)}, untagged_until_now()),
        ),
    ]
    return statements


CI_PERMISSIONS = CiPermissions(
    family="network",
    group="network",
    grants={
        "aws_vpc": "CreateVpcTagged",
        "aws_subnet": "CreateSubnetTagged",
        "aws_internet_gateway": "CreateInternetGatewayTagged",
        "aws_eip": "CreateElasticIpTagged",
        "aws_nat_gateway": "CreateNatgatewayTagged",
        "aws_route_table": "CreateRouteTableTagged",
        "aws_route": "ChangeOwnNetwork",
        "aws_route_table_association": "ChangeOwnNetwork",
        "aws_security_group": "CreateSecurityGroupTagged",
        "aws_default_security_group": "AdoptDefaultSecurityGroup",
        "aws_vpc_security_group_egress_rule": "CreateSecurityGroupRuleTagged",
        "aws_vpc_security_group_ingress_rule": "CreateSecurityGroupRuleTagged",
        "aws_vpc_endpoint": "CreateVpcEndpointTagged",
        "aws_flow_log": "CreateVpcFlowLogTagged",
        "aws_launch_template": "CreateLaunchTemplateTagged",
    },
    apply=ci_network_statements,
    reads=("ec2:Describe*",),
    resourceless={"ec2:Describe*": "EC2 Describe calls take no resource-level permissions"},
    passes_roles_to=("vpc-flow-logs.amazonaws.com",),
)
