"""What every emitter of one environment needs: the spec, the decisions, names and common references."""

from __future__ import annotations

from typing import Any

import attrs

from tmsc.derive import EnvironmentPlan
from tmsc.ir import JsonDocument, Ref, Resource, Template
from tmsc.model import Environment, Platform

ACCOUNT_ID = Ref("data.aws_caller_identity.current", "account_id")
PARTITION = Ref("data.aws_partition.current", "partition")


@attrs.frozen
class Context:
    platform: Platform
    plan: EnvironmentPlan

    @property
    def env_name(self) -> str:
        return self.plan.name

    @property
    def environment(self) -> Environment:
        return self.plan.environment

    @property
    def region(self) -> str:
        return self.platform.region

    def name(self, *parts: str) -> str:
        """AWS name of a resource: <platform>-<environment>-<parts...>."""
        return "-".join((self.platform.platform, self.env_name, *parts))

    def zone_suffixes(self) -> tuple[str, ...]:
        """Address suffix of each AZ, from its zone ID ('euw1-az2' → 'az2'): the same physical zone in every
        account, and stable however many AZs there are."""
        return tuple(zone.rsplit("-", 1)[-1] for zone in self.plan.availability_zone_ids.value)


def arn(service: str, region: str, resource: str | Ref | Template) -> Template:
    """arn:<partition>:<service>:<region>:<account>:<resource>; region is "" for global services such as IAM."""
    tail = resource.parts if isinstance(resource, Template) else (resource,)
    return join("arn:", PARTITION, f":{service}:{region}:", ACCOUNT_ID, ":", *tail)


def join(*parts: str | Ref) -> Template:
    """A template from parts, adjacent literals merged so equal templates render equally."""
    merged: list[str | Ref] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return Template(tuple(merged))


ACCOUNT_ROOT = join("arn:", PARTITION, ":iam::", ACCOUNT_ID, ":root")


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def service_role(address: str, name: str, service: str, *, this_account_only: bool = False) -> Resource:
    """An IAM role an AWS service assumes. this_account_only: only on behalf of this account's resources
    (aws:SourceAccount), the confused-deputy guard for services acting on resources another account could own."""
    trust: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["sts:AssumeRole", "sts:TagSession"] if service == "eks.amazonaws.com" else "sts:AssumeRole",
    }
    if this_account_only:
        trust["Condition"] = {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    return Resource("aws_iam_role", address, {"name": name, "assume_role_policy": JsonDocument(policy(trust))})


def deny_insecure_transport(resources: list[Any]) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
