"""Hypothesis strategies for valid platform specs.

Built from fixed dictionaries with dependent draws (names first, then what
refers to them) rather than `from_type`, which would ignore the model's string
patterns and cross-field validators and produce mostly invalid specs.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import strategies as st

from tmsc.model import Platform

REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "ap-southeast-2"]
SHORT_NAME = st.from_regex(r"\A[a-z][a-z0-9]{1,6}\Z")

# Office/VPN ranges an operator may open the EKS API endpoint to: anything but a /0.
public_cidrs = st.builds(
    lambda address, prefix: str(ipaddress.IPv4Network((address, prefix), strict=False)), st.integers(1 << 24, (224 << 24) - 1), st.integers(8, 32)
)

availability_targets = st.one_of(st.sampled_from([95.0, 99.0, 99.5, 99.9]), st.floats(90.0, 99.9).map(lambda x: round(x, 2)))


@st.composite
def environments(draw: st.DrawFn, second_octet: int) -> dict[str, Any]:
    prefix = draw(st.integers(16, 23))
    env: dict[str, Any] = {
        "purpose": draw(st.sampled_from(["development", "preproduction", "production"])),
        "availability": {"target_percent": draw(availability_targets)},
        "recovery": {"rpo_minutes": draw(st.integers(5, 1440)), "rto_hours": draw(st.sampled_from([1, 2, 4, 8, 24, 72]))},
        "network": {"cidr": f"10.{second_octet}.0.0/{prefix}"},
    }
    if draw(st.booleans()):
        low = draw(st.integers(0, 3))
        high = draw(st.integers(max(low, 1), 6))
        env["sizing"] = {"cluster": {"nodes_per_az_min": low, "nodes_per_az_desired": draw(st.integers(low, high)), "nodes_per_az_max": high}}
    if draw(st.booleans()):
        env["recovery"]["cross_region_backup_region"] = "us-west-2"
    if draw(st.integers(0, 3)) == 0:
        env["cluster_public_access_cidrs"] = draw(st.lists(public_cidrs, min_size=1, max_size=3, unique=True))
    return env


SERVICE_BODIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "eks": st.fixed_dictionaries({"kind": st.just("eks"), "admin_role_name": st.from_regex(r"\A[a-z][a-z-]{2,20}\Z")}),
    "postgres": st.fixed_dictionaries({"kind": st.just("postgres")}, optional={"database_name": st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z")}),
    "bucket": st.fixed_dictionaries({"kind": st.just("bucket")}, optional={"noncurrent_version_days": st.integers(1, 400)}),
    "redis": st.fixed_dictionaries({"kind": st.just("redis")}, optional={"engine": st.sampled_from(["redis", "valkey"])}),
    "rabbitmq": st.fixed_dictionaries({"kind": st.just("rabbitmq")}),
    "api": st.fixed_dictionaries(
        {"kind": st.just("api"), "authorization": st.just("jwt"), "jwt_issuer": st.just("https://auth.example.com/"), "jwt_audience": st.just(["tms"])}
    ),
}


@st.composite
def spec_documents(draw: st.DrawFn, max_environments: int = 4) -> dict[str, Any]:
    """A valid spec as the plain data YAML would give."""
    env_names = draw(st.lists(SHORT_NAME.filter(lambda n: n != "bootstrap"), min_size=1, max_size=max_environments, unique=True))
    octets = draw(st.lists(st.integers(0, 255), min_size=len(env_names), max_size=len(env_names), unique=True))
    service_names = draw(st.lists(SHORT_NAME, min_size=len(SERVICE_BODIES), max_size=len(SERVICE_BODIES), unique=True))
    services = {name: draw(body) for name, body in zip(service_names, SERVICE_BODIES.values())}
    data_services = [n for n, s in services.items() if s["kind"] in ("postgres", "redis", "rabbitmq")]
    workload_names = draw(st.lists(SHORT_NAME, max_size=4, unique=True))
    workloads = {
        name: {
            "namespace": "tms",
            "service_account": name,
            "reads": draw(st.lists(st.sampled_from(data_services), unique=True)),
            **({"attachments_prefix": f"{name}/"} if draw(st.booleans()) else {}),
        }
        for name in workload_names
    }
    return {
        "platform": draw(SHORT_NAME),
        "region": draw(st.sampled_from(REGIONS)),
        "environments": {name: draw(environments(octet)) for name, octet in zip(env_names, octets)},
        "services": services,
        "workloads": workloads,
    }


def platforms(max_environments: int = 4) -> st.SearchStrategy[Platform]:
    return spec_documents(max_environments).map(Platform.model_validate)
