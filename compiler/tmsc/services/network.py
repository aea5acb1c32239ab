"""The VPC: subnets in three tiers across the derived AZs, NAT, routes, flow logs, the S3 endpoint."""

from __future__ import annotations

from tmsc.ir import Block, JsonDocument, Ref, Resource
from tmsc.services.context import ACCOUNT_ID, Context, join, policy
from tmsc.services.keys import encrypted_log_group

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
    role = Resource(
        "aws_iam_role",
        "flow_logs",
        {
            "name": ctx.name("flow-logs"),
            "assume_role_policy": JsonDocument(
                policy(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        # Confused-deputy guard: only this account's flow logs may assume the role.
                        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}},
                    }
                )
            ),
        },
    )
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
