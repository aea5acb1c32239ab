"""Hypothesis strategies for valid platform specs.

Built from fixed dictionaries with dependent draws (names first, then what
refers to them) rather than `from_type`, which would ignore the model's string
patterns and cross-field validators and produce mostly invalid specs.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import strategies as st

from tmsc import facts
from tmsc.derive import SINGLE_AZ_SLA_PERCENT
from tmsc.model import (
    MAX_LOAD_BALANCER_NAME,
    MAX_RESOURCE_NAME,
    NAME_MAX_LENGTH,
    PLATFORM_IDENTITY_NAMES,
    RESERVED_PLATFORM_PREFIXES,
    RESERVED_ROLE_NAMES,
    RESERVED_ROLE_PREFIXES,
    Platform,
    database_user,
)

DEFAULT_ELASTIC_IPS = 5  # compiler/tmsc/data/quotas.json
YAML_11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "ap-southeast-2", "ap-northeast-3"]
LETTERS = "abcdefghijklmnopqrstuvwxyz"
ALPHANUMERIC = LETTERS + "0123456789"


@st.composite
def names(draw: st.DrawFn, max_size: int = 7) -> str:
    """A Name (model.NAME_PATTERN): a letter, then letters, digits and single hyphens, never a hyphen last."""
    size = draw(st.integers(2, max(2, max_size)))
    chars = [draw(st.sampled_from(LETTERS))]
    while len(chars) < size:
        if chars[-1] != "-" and len(chars) < size - 1 and draw(st.integers(0, 4)) == 0:
            chars.append("-")
        else:
            chars.append(draw(st.sampled_from(ALPHANUMERIC)))
    return "".join(chars)


SHORT_NAME = names()
PLATFORM_NAME = names(max_size=12).filter(
    lambda n: not any((n + "-").startswith(prefix) for prefix in RESERVED_PLATFORM_PREFIXES)
)

# Office/VPN ranges an operator may open the EKS API endpoint to: up to three,
# never more than the model's bound together (a /8 of IPv4, a /32 of IPv6).
public_cidrs = st.one_of(
    st.builds(
        lambda address, prefix: str(ipaddress.IPv4Network((address, prefix), strict=False)),
        st.integers(1 << 24, (224 << 24) - 1),
        st.integers(10, 32),
    ),
    st.builds(
        lambda address, prefix: str(ipaddress.IPv6Network((address, prefix), strict=False)),
        st.integers(0x2000 << 112, (0x4000 << 112) - 1),
        st.integers(34, 128),
    ),
)
TIMEZONES = st.sampled_from(
    [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
        "America/Argentina/Buenos_Aires",
        "Etc/GMT+5",
        "Pacific/Chatham",
    ]
)

availability_targets = st.one_of(
    st.sampled_from([95.0, 99.0, 99.5, 99.9]), st.floats(90.0, 99.9).map(lambda x: round(x, 2))
)


@st.composite
def environments(draw: st.DrawFn, second_octet: int) -> dict[str, Any]:
    prefix = draw(st.integers(16, 23))
    env: dict[str, Any] = {
        "purpose": draw(st.sampled_from(["development", "preproduction", "production"])),
        "availability": {"target_percent": draw(availability_targets)},
        "recovery": {
            "rpo_minutes": draw(st.integers(5, 1440)),
            "rto_hours": draw(st.sampled_from([1, 2, 4, 8, 24, 72])),
        },
        "network": {"cidr": f"10.{second_octet}.0.0/{prefix}"},
    }
    if draw(st.booleans()):
        low = draw(st.integers(0, 3))
        high = draw(st.integers(max(low, 1), 6))
        env["sizing"] = {
            "cluster": {
                "nodes_per_az_min": low,
                "nodes_per_az_desired": draw(st.integers(low, high)),
                "nodes_per_az_max": high,
            }
        }
    # Regional DR promises the RPO for the attachments through S3 RTC: an RPO under its objective is refused.
    if env["recovery"]["rpo_minutes"] >= facts.disaster_recovery().rtc_minutes and draw(st.booleans()):
        env["recovery"]["cross_region_backup_region"] = "us-west-2"
    if draw(st.integers(0, 3)) == 0:
        env["cluster_public_access_cidrs"] = draw(st.lists(public_cidrs, min_size=1, max_size=3, unique=True))
    if draw(st.integers(0, 3)) == 0:
        env["availability"]["business_hours"] = {"timezone": draw(TIMEZONES)}
    return env


SERVICE_BODIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "eks": st.fixed_dictionaries({"kind": st.just("eks"), "admin_role_name": st.from_regex(r"\A[a-z][a-z-]{2,20}\Z")}),
    "postgres": st.fixed_dictionaries(
        {"kind": st.just("postgres")},
        optional={
            # Not a word YAML 1.1 reads as a boolean or null: a spec written out as YAML (tests/test_sizes.py)
            # would be refused for it (tmsc refuses what YAML 1.1 and 1.2 read differently).
            "database_name": st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z").filter(lambda n: n not in YAML_11_WORDS)
        },
    ),
    "bucket": st.fixed_dictionaries(
        {"kind": st.just("bucket")}, optional={"noncurrent_version_days": st.integers(1, 400)}
    ),
    "redis": st.fixed_dictionaries(
        {"kind": st.just("redis")}, optional={"engine": st.sampled_from(["redis", "valkey"])}
    ),
    "rabbitmq": st.fixed_dictionaries({"kind": st.just("rabbitmq")}),
    "api": st.fixed_dictionaries(
        {
            "kind": st.just("api"),
            "authorization": st.just("jwt"),
            "jwt_issuer": st.just("https://auth.example.com/"),
            "jwt_audience": st.just(["tms"]),
        }
    ),
}


@st.composite
def spec_documents(draw: st.DrawFn, max_environments: int = 4, delivery: bool = False) -> dict[str, Any]:
    """A valid spec as the plain data YAML would give; delivery=True adds a delivery section half of the time.

    Names have hyphens and lengths up to what the model's name budgets allow
    (<platform>-<environment>-<service> within 40 characters, the API
    service's within 32), so properties about AWS names meet long names too.
    """
    platform = draw(PLATFORM_NAME)
    with_delivery = delivery and draw(st.booleans())
    # Every document stays valid with a delivery section added (tests/test_delivery.py adds one): no 'tfstate'
    # environment, no environment name that starts with another's plus '-'. Environment names also differ from
    # the platform and service names: tests look for an environment's name in what other environments'
    # policies say, and the platform's or a service's name would match it there.
    reserved = {"bootstrap", "tfstate", platform}
    env_max = min(16, MAX_LOAD_BALANCER_NAME - 2 - 2 - len(platform))  # leaves an API service name of 2 at least
    env_names = draw(
        st.lists(
            names(max_size=env_max).filter(lambda n: n not in reserved),
            min_size=1,
            max_size=max_environments,
            unique=True,
        )
    )
    # CI apply roles are scoped by <platform>-<environment>-*: no environment name may start with another's plus '-'.
    env_names = [e for e in env_names if not any(o != e and o.startswith(e + "-") for o in env_names)]
    longest = len(platform) + 1 + max(map(len, env_names)) + 1
    service_names = draw(
        st.lists(
            names(max_size=min(NAME_MAX_LENGTH, MAX_RESOURCE_NAME - longest)).filter(lambda n: n not in env_names),
            min_size=len(SERVICE_BODIES),
            max_size=len(SERVICE_BODIES),
            unique=True,
        )
    )
    # The API service is named last: its names (the load balancer's) have the tightest limit.
    service_names[-1] = draw(
        names(max_size=MAX_LOAD_BALANCER_NAME - longest).filter(
            lambda n: n not in service_names[:-1] and n not in env_names
        )
    )
    octets = draw(st.lists(st.integers(0, 255), min_size=len(env_names), max_size=len(env_names), unique=True))
    services = {name: draw(body) for name, body in zip(service_names, SERVICE_BODIES.values(), strict=True)}
    data_services = [n for n, s in services.items() if s["kind"] in ("postgres", "redis", "rabbitmq")]
    administrators = {"tms_admin", "tms"}  # the master and broker user names SERVICE_BODIES keep at their defaults
    workload_names = draw(
        st.lists(
            names(max_size=NAME_MAX_LENGTH).filter(
                lambda n: (
                    n not in env_names
                    and n not in PLATFORM_IDENTITY_NAMES
                    and not database_user(n).startswith(RESERVED_ROLE_PREFIXES)
                    and database_user(n) not in RESERVED_ROLE_NAMES | administrators
                    and n not in administrators
                )
            ),
            max_size=4,
            unique=True,
        )
    )
    api_server = draw(st.sampled_from([None, *workload_names]))
    workloads = {
        name: {
            "namespace": "tms",
            "service_account": name,
            "reads": draw(st.lists(st.sampled_from(data_services), unique=True)),
            **({"attachments_prefix": f"{name}/"} if draw(st.booleans()) else {}),
            "database_access": draw(st.sampled_from(["read_write", "read_only"])),
            **({"serves_api": True} if name == api_server else {}),
        }
        for name in workload_names
    }
    drawn = {name: draw(environments(octet)) for name, octet in zip(env_names, octets, strict=True)}
    document: dict[str, Any] = {
        "platform": platform,
        "region": draw(st.sampled_from(REGIONS)),
        "environments": drawn,
        "services": services,
        "workloads": workloads,
    }
    # One Elastic IP per NAT gateway: three in a highly available environment, one otherwise. Beyond AWS's default
    # of 5 per account and region, a spec declares the raised quota (tmsc refuses it otherwise: tests/test_quotas.py).
    elastic_ips = sum(
        3 if env["availability"]["target_percent"] > SINGLE_AZ_SLA_PERCENT else 1 for env in drawn.values()
    )
    if elastic_ips > DEFAULT_ELASTIC_IPS:
        document["raised_quotas"] = [
            {
                "quota": "elastic_ips",
                "value": draw(st.integers(elastic_ips, elastic_ips + 20)),
                "reason": "Service Quotas request approved for this account",
            }
        ]
    if with_delivery:
        document["delivery"] = {
            "github_repository": f"example-org/{platform}",
            "github_oidc_provider": draw(st.sampled_from(["create", "existing"])),
        }
    return document


def platforms(max_environments: int = 4) -> st.SearchStrategy[Platform]:
    return spec_documents(max_environments).map(Platform.model_validate)
