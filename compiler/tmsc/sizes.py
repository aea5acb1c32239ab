"""Sizes AWS accepts for what was derived: each service's instance size, checked against the compatibility tables.

A size left out of the spec is derived from the plan: a highly available environment gets a production-capable
size, so raising an environment's availability without touching its sizing still compiles to something AWS
accepts (a cluster broker is never an mq.t3.micro). A size the spec names is checked against the table row of
that size (compiler/tmsc/data/, each row with its source) for the deployment the plan derived: deployment mode
and engine version for the broker, Multi-AZ, Performance Insights and engine version for the database, engine,
version and automatic failover for the cache, architecture and AMI type for the node groups. An incompatible
combination is refused at its key, with the fix. Every rule here is a pure function of its inputs and the tables.
"""

from __future__ import annotations

from typing import Any, TypeVar

import attrs

from tmsc import facts

T = TypeVar("T")


@attrs.frozen
class Sized:
    """A derived size and why (the setting explain prints), or the refusal of a size the spec named."""

    value: Any
    reason: str


@attrs.frozen
class SizeRefusal:
    """A size AWS would refuse; path is below the environment (sizing.<key>)."""

    path: tuple[str | int, ...]
    message: str
    hint: str


# tmsc's defaults, by whether the environment is highly available. A highly available environment gets what AWS
# recommends for production (the broker: "mq.m7g.large and above"); tests/test_sizes.py holds every default to
# its table row for every deployment the plan can derive, and to "stricter never smaller".
DEFAULT_BROKER = {
    False: {"3": "mq.t3.micro", "4": "mq.m7g.medium"},  # RabbitMQ 4 runs on mq.m7g only
    True: {"3": "mq.m7g.large", "4": "mq.m7g.large"},
}
DEFAULT_DATABASE = {False: "db.t4g.medium", True: "db.m6g.large"}
DEFAULT_CACHE = {False: "cache.t4g.small", True: "cache.r7g.large"}
DEFAULT_NODES = {False: ("m6i.large",), True: ("m6i.xlarge",)}


def _known(table: facts.SizeTable, limit: int = 8) -> str:
    keys = sorted(table.rows, key=lambda k: (k.rsplit(".", 1)[0], facts.size_rank(k)))
    return ", ".join(keys[:limit]) + (", ..." if len(keys) > limit else "")


def _as_of(table: facts.SizeTable) -> str:
    return f"{table.name} as of {table.as_of.isoformat()}"


def _derived_reason(ha: bool, ha_reason: str, what: str, row: facts.Row) -> str:
    grade = "a production-capable default" if ha else "the least-cost default"
    return f"{ha_reason}: {grade} for {what} ({row.cite()})"


# --------------------------------------------------------------------------- broker


def broker_engine_key(engine_version: str) -> str:
    """'3.13.8' → '3.13': the table lists major.minor versions."""
    return ".".join(engine_version.split(".")[:2])


def broker_instance_type(
    requested: str | None, ha: bool, ha_reason: str, mode: str, engine_version: str
) -> Sized | SizeRefusal:
    table = facts.broker_types()
    version = broker_engine_key(engine_version)
    default = DEFAULT_BROKER[ha][version.split(".")[0]]
    what = f"a {mode} broker on RabbitMQ {version}"
    if requested is None:
        return Sized(default, _derived_reason(ha, ha_reason, what, table.rows[default]))
    path = ("sizing", "broker_instance_type")
    row = table.get(requested)
    if row is None:
        return SizeRefusal(
            path,
            f"{requested} is not an Amazon MQ for RabbitMQ instance type ({_as_of(table)}: {_known(table)})",
            f"use {default}, or remove the key to derive it",
        )
    known_versions = {v for r in table.rows.values() for v in r.fields["engines"]}
    if version in known_versions and version not in row.fields["engines"]:
        runs = [
            k for k, r in table.rows.items() if version in r.fields["engines"] and mode in r.fields["deployment_modes"]
        ]
        return SizeRefusal(
            path,
            f"Amazon MQ runs RabbitMQ {version} on {', '.join(sorted({k.rsplit('.', 1)[0] for k in runs}))} only, "
            f"and {requested} runs {', '.join(row.fields['engines'])} ({row.cite()})",
            f"use {default}, or remove the key to derive it",
        )
    if mode not in row.fields["deployment_modes"]:
        return SizeRefusal(
            path,
            f"{requested} offers {' and '.join(row.fields['deployment_modes'])} brokers only, and {ha_reason} derives "
            f"{mode} ({row.cite()})",
            f"use {default} (a production-capable type for {mode}), or remove the key to derive it",
        )
    return Sized(requested, f"set in the spec; runs {what} ({row.cite()})")


# --------------------------------------------------------------------------- database


def database_instance_class(
    requested: str | None, ha: bool, ha_reason: str, multi_az: bool, engine_version: str
) -> Sized | SizeRefusal:
    """tmsc turns Performance Insights on for every database, so the class must offer it."""
    table = facts.database_classes()
    major = engine_version.split(".")[0]
    default = DEFAULT_DATABASE[ha]
    what = f"PostgreSQL {major}{', Multi-AZ' if multi_az else ''}, Performance Insights on"
    if requested is None:
        return Sized(default, _derived_reason(ha, ha_reason, what, table.rows[default]))
    path = ("sizing", "database_instance_class")
    row = table.get(requested)
    if row is None:
        return SizeRefusal(
            path,
            f"{requested} is not an RDS for PostgreSQL instance class tmsc knows ({_as_of(table)}: {_known(table)})",
            f"use {default}, or remove the key to derive it",
        )
    if major not in row.fields["postgres_majors"]:
        return SizeRefusal(
            path,
            f"{requested} does not run PostgreSQL {major} ({row.cite()})",
            f"use {default}, or remove the key to derive it",
        )
    if multi_az and not row.fields["multi_az"]:
        return SizeRefusal(
            path,
            f"{requested} offers no Multi-AZ deployment, and {ha_reason} derives one ({row.cite()})",
            f"use {default}, or remove the key to derive it",
        )
    if not row.fields["performance_insights"]:
        return SizeRefusal(
            path,
            f"{requested} offers no Performance Insights, which tmsc turns on for every database ({row.cite()})",
            f"use {default}, or remove the key to derive it",
        )
    return Sized(requested, f"set in the spec; runs {what} ({row.cite()})")


# --------------------------------------------------------------------------- cache


def cache_node_type(
    requested: str | None, ha: bool, ha_reason: str, failover: bool, engine: str, engine_version: str
) -> Sized | SizeRefusal:
    table = facts.cache_nodes()
    default = DEFAULT_CACHE[ha]
    label = "Redis OSS" if engine == "redis" else "Valkey"
    what = f"{label} {engine_version}{' with automatic failover' if failover else ''}"
    if requested is None:
        return Sized(default, _derived_reason(ha, ha_reason, what, table.rows[default]))
    path = ("sizing", "cache_node_type")
    row = table.get(requested)
    if row is None:
        return SizeRefusal(
            path,
            f"{requested} is not an ElastiCache node type tmsc knows ({_as_of(table)}: {_known(table)})",
            f"use {default}, or remove the key to derive it",
        )
    if not row.fields["creatable"]:
        return SizeRefusal(
            path,
            f"ElastiCache creates no new clusters on {requested} ({row.cite()})",
            f"use {default}, or remove the key to derive it",
        )
    least = row.fields["engines"][engine]  # None: the table's source states no least version
    if least is not None and facts.version_key(engine_version) < facts.version_key(least):
        return SizeRefusal(
            path,
            f"{requested} runs {label} {least} and later, not {engine_version} ({row.cite()})",
            f"use {default}, or remove the key to derive it",
        )
    if failover and not row.fields["automatic_failover"]:
        return SizeRefusal(
            path,
            f"{requested} offers no Multi-AZ with automatic failover, and {ha_reason} derives it ({row.cite()})",
            f"use {default}, or remove the key to derive it",
        )
    return Sized(requested, f"set in the spec; runs {what} ({row.cite()})")


# --------------------------------------------------------------------------- node groups


def node_instance_types(requested: list[str] | None, ha: bool, ha_reason: str) -> tuple[Sized, str] | SizeRefusal:
    """(the instance types with their reason, their architecture)."""
    table = facts.instance_families()
    types = tuple(requested) if requested is not None else DEFAULT_NODES[ha]
    rows: list[facts.Row] = []
    for i, instance_type in enumerate(types):
        family = instance_type.split(".")[0]
        row = table.get(family)
        if row is None:
            return SizeRefusal(
                ("sizing", "cluster", "instance_types", i),
                f"{instance_type}: tmsc knows no instance family {family} ({_as_of(table)}: {_known(table, 40)})",
                f"use a family of the table, e.g. {DEFAULT_NODES[ha][0]}, or add the family to node_types.json with its source",
            )
        rows.append(row)
    architectures = {row.fields["architecture"] for row in rows}
    if len(architectures) > 1:
        mixed = ", ".join(f"{t}: {r.fields['architecture']}" for t, r in zip(types, rows, strict=True))
        return SizeRefusal(
            ("sizing", "cluster", "instance_types"),
            f"instance_types mix architectures ({mixed}); a node group runs one AMI of one architecture",
            "list instance types of one architecture",
        )
    arch = architectures.pop()
    cites = "; ".join(dict.fromkeys(row.cite() for row in rows))
    if requested is None:
        return Sized(
            types, f"{ha_reason}: {'a production-capable' if ha else 'the least-cost'} default ({cites})"
        ), arch
    return Sized(types, f"set in the spec; {arch} ({cites})"), arch


def node_ami_type(requested: str | None, architecture: str, kubernetes_version: str) -> Sized | SizeRefusal:
    table = facts.ami_types()
    default: str = table.extra["default_ami_type"][architecture]
    chosen = requested if requested is not None else default
    row = table.rows[chosen]
    path = ("sizing", "cluster", "ami_type")
    if row.fields["architecture"] != architecture:
        fitting = [
            k
            for k, r in table.rows.items()
            if r.fields["architecture"] == architecture and "last_kubernetes_version" not in r.fields
        ]
        return SizeRefusal(
            path,
            f"{chosen} is an AMI for {row.fields['architecture']}, and the instance types are {architecture} ({row.cite()})",
            f"use {' or '.join(fitting)}, or remove the key to derive it",
        )
    last = row.fields.get("last_kubernetes_version")
    if last is not None and facts.version_key(kubernetes_version) > facts.version_key(last):
        return SizeRefusal(path, f"{chosen} serves Kubernetes {last} at most ({row.cite()})", f"use {default}")
    if requested is None:
        return Sized(chosen, f"Amazon Linux 2023 for {architecture} instance types ({row.cite()})")
    return Sized(chosen, f"set in the spec; an AMI for {architecture} ({row.cite()})")
