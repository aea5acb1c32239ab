"""Security groups and their rules, one rule per resource so a change never rewrites a whole group."""

from __future__ import annotations

from tmsc.ir import Ref, Resource
from tmsc.services.context import Context
from tmsc.services.network import VPC_ID


def security_group(ctx: Context, address: str, purpose: str) -> Resource:
    return Resource(
        "aws_security_group",
        address,
        {
            "name": ctx.name(address.replace("_", "-")),
            "description": purpose,
            "vpc_id": VPC_ID,
            "tags": {"Name": ctx.name(address.replace("_", "-"))},
            # Rules are separate resources; a replaced group must exist before the old one goes.
            "lifecycle": {"create_before_destroy": True},
        },
    )


def ingress_from_group(address: str, group: Ref, source: Ref, port: int | None, description: str) -> Resource:
    """Allow one port (or all traffic when port is None) into group from the members of source."""
    body: dict[str, object] = {
        "security_group_id": group,
        "referenced_security_group_id": source,
        "description": description,
    }
    body.update({"ip_protocol": "-1"} if port is None else {"ip_protocol": "tcp", "from_port": port, "to_port": port})
    return Resource("aws_vpc_security_group_ingress_rule", address, body)


def egress_to_group(address: str, group: Ref, target: Ref, port: int, description: str) -> Resource:
    return Resource(
        "aws_vpc_security_group_egress_rule",
        address,
        {
            "security_group_id": group,
            "referenced_security_group_id": target,
            "ip_protocol": "tcp",
            "from_port": port,
            "to_port": port,
            "description": description,
        },
    )


def egress_anywhere(address: str, group: Ref, description: str) -> Resource:
    return Resource(
        "aws_vpc_security_group_egress_rule",
        address,
        {"security_group_id": group, "cidr_ipv4": "0.0.0.0/0", "ip_protocol": "-1", "description": description},
    )
