"""What AWS enforces, as data: the tables under tmsc/data/, each dated and each row with its source.

The tables are read once, lazily, and never change while tmsc runs. Rules
compare against a table's own "as_of" date, never the clock, so a given tmsc
answers the same way every day; refreshing a table is a reviewed change
(README, "AWS facts tmsc knows").
"""

from __future__ import annotations

import datetime
import difflib
import functools
import json
from pathlib import Path
from typing import Any

import attrs

DATA = Path(__file__).parent / "data"


def _table(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


# --------------------------------------------------------------------------- zones


@attrs.frozen
class Region:
    name: str
    title: str
    zone_ids: tuple[str, ...]
    eks_refused: tuple[str, ...]
    source: str
    eks_source: str

    @property
    def eks_zone_ids(self) -> tuple[str, ...]:
        """The region's zone IDs an EKS control plane accepts, in the table's order."""
        return tuple(zone for zone in self.zone_ids if zone not in self.eks_refused)


@attrs.frozen
class ZoneTable:
    as_of: datetime.date
    regions: dict[str, Region]

    def nearest(self, region: str, n: int = 3) -> list[str]:
        return difflib.get_close_matches(region, sorted(self.regions), n=n, cutoff=0.6)


@functools.cache
def zones() -> ZoneTable:
    data = _table("zones.json")
    sources = data["sources"]
    regions = {
        name: Region(
            name=name,
            title=row["name"],
            zone_ids=tuple(row["zone_ids"]),
            eks_refused=tuple(row.get("eks_refused", ())),
            source=sources[row["source"]],
            eks_source=sources["eks_refused"],
        )
        for name, row in data["regions"].items()
    }
    return ZoneTable(datetime.date.fromisoformat(data["as_of"]), regions)


# --------------------------------------------------------------------------- versions


@attrs.frozen
class Support:
    """One version's support window; None where AWS has announced no date."""

    version: str
    end_of_standard_support: datetime.date | None
    end_of_extended_support: datetime.date | None

    def status(self, on: datetime.date) -> str:
        """'standard', 'extended' (past standard support, still offered at a cost) or 'ended'."""
        if self.end_of_extended_support is not None and on >= self.end_of_extended_support:
            return "ended"
        if self.end_of_standard_support is not None and on >= self.end_of_standard_support:
            return "extended" if self.end_of_extended_support != self.end_of_standard_support else "ended"
        return "standard"


@attrs.frozen
class Calendar:
    """The versions of one engine, oldest first."""

    engine: str
    source: str
    extended_support_cost: str | None
    versions: dict[str, Support]
    fix_note: str = ""  # appended to a fix that names a version (e.g. the instance types it runs on)

    def newest_in_standard_support(self, on: datetime.date) -> str:
        """The newest version in standard support on that date (the newest offered at all, should a stale table hold none)."""
        for wanted in ("standard", "extended"):
            current = [v for v, s in self.versions.items() if s.status(on) == wanted]
            if current:
                return max(current, key=version_key)
        return max(self.versions, key=version_key)


@attrs.frozen
class VersionTable:
    as_of: datetime.date
    eks: Calendar
    postgres: Calendar  # major versions
    postgres_minors: dict[str, Calendar]  # major → its minor versions
    postgres_family: dict[str, str]
    elasticache: dict[str, Calendar]  # redis, valkey
    rabbitmq: Calendar


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _date(value: str | None) -> datetime.date | None:
    return None if value is None else datetime.date.fromisoformat(value)


@functools.cache
def versions() -> VersionTable:
    data = _table("versions.json")
    eks = data["eks"]
    pg = data["postgres"]
    cache = data["elasticache"]
    mq = data["rabbitmq"]
    return VersionTable(
        as_of=datetime.date.fromisoformat(data["as_of"]),
        eks=Calendar(
            "EKS Kubernetes",
            eks["source"],
            eks["extended_support_cost"],
            {
                v: Support(v, _date(r["end_of_standard_support"]), _date(r["end_of_extended_support"]))
                for v, r in eks["versions"].items()
            },
        ),
        postgres=Calendar(
            "RDS for PostgreSQL",
            pg["source"],
            pg["extended_support_cost"],
            {
                major: Support(major, _date(row["end_of_standard_support"]), _date(row["end_of_extended_support"]))
                for major, row in pg["majors"].items()
            },
        ),
        postgres_minors={
            major: Calendar(
                "RDS for PostgreSQL",
                pg["source"],
                None,
                {
                    v: Support(v, _date(r["end_of_standard_support"]), _date(r["end_of_standard_support"]))
                    for v, r in row["minors"].items()
                },
            )
            for major, row in pg["majors"].items()
        },
        postgres_family={major: row["parameter_group_family"] for major, row in pg["majors"].items()},
        elasticache={
            engine: Calendar(
                f"ElastiCache {'Redis OSS' if engine == 'redis' else 'Valkey'}",
                cache["source"],
                cache["extended_support_cost"],
                {
                    v: Support(v, _date(r["end_of_standard_support"]), _date(r["end_of_extended_support"]))
                    for v, r in rows.items()
                },
            )
            for engine, rows in cache["engines"].items()
        },
        rabbitmq=Calendar(
            "Amazon MQ for RabbitMQ",
            mq["source"],
            None,
            {v: Support(v, _date(r["end_of_support"]), _date(r["end_of_support"])) for v, r in mq["versions"].items()},
            mq["fix_note"],
        ),
    )


# --------------------------------------------------------------------------- sizes

# Sizes within a family, smallest first: how "a smaller instance" is compared across rules and tables.
SIZE_ORDER = (
    "nano",
    "micro",
    "small",
    "medium",
    "large",
    "xlarge",
    "2xlarge",
    "4xlarge",
    "8xlarge",
    "12xlarge",
    "16xlarge",
    "24xlarge",
)


def size_rank(type_name: str) -> int:
    """Position of a type's size (the part after its last dot) in SIZE_ORDER; unknown sizes rank last."""
    size = type_name.rsplit(".", 1)[-1]
    return SIZE_ORDER.index(size) if size in SIZE_ORDER else len(SIZE_ORDER)


@attrs.frozen
class Row:
    """One row of a compatibility table: its key, its fields, and the source it was read from."""

    table: str
    key: str
    fields: dict[str, Any]
    source: str

    def cite(self) -> str:
        """How explain and refusals name the row: table, key and source."""
        return f"{self.table} row {self.key} ({self.source})"


@attrs.frozen
class SizeTable:
    name: str
    as_of: datetime.date
    rows: dict[str, Row]
    extra: dict[str, Any] = attrs.field(factory=dict)

    def get(self, key: str) -> Row | None:
        return self.rows.get(key)


def _size_table(file: str, section: str) -> SizeTable:
    data = _table(file)
    sources = data["sources"]
    rows = {
        key: Row(file, key, {k: v for k, v in row.items() if k != "source"}, sources[row["source"]])
        for key, row in data[section].items()
    }
    extra = {k: v for k, v in data.items() if k not in ("//", "as_of", "sources", section)}
    return SizeTable(file, datetime.date.fromisoformat(data["as_of"]), rows, extra)


@functools.cache
def broker_types() -> SizeTable:
    return _size_table("broker_types.json", "types")


@functools.cache
def database_classes() -> SizeTable:
    return _size_table("database_classes.json", "classes")


@functools.cache
def cache_nodes() -> SizeTable:
    return _size_table("cache_nodes.json", "node_types")


@functools.cache
def instance_families() -> SizeTable:
    return _size_table("node_types.json", "instance_families")


@functools.cache
def ami_types() -> SizeTable:
    return _size_table("node_types.json", "ami_types")


# --------------------------------------------------------------------------- quotas


@attrs.frozen
class Quota:
    key: str
    name: str
    scope: str  # "region" or "zone": what one account's limit is counted over
    default: int
    quota_code: str | None
    counts: str
    source: str


@attrs.frozen
class QuotaTable:
    as_of: datetime.date
    quotas: dict[str, Quota]


@functools.cache
def quotas() -> QuotaTable:
    data = _table("quotas.json")
    sources = data["sources"]
    return QuotaTable(
        datetime.date.fromisoformat(data["as_of"]),
        {
            key: Quota(
                key,
                row["name"],
                row["scope"],
                row["default"],
                row.get("quota_code"),
                row["counts"],
                sources[row["source"]],
            )
            for key, row in data["quotas"].items()
        },
    )


# --------------------------------------------------------------------------- maintenance windows


@attrs.frozen
class WindowRule:
    """What AWS accepts for one backup or maintenance window (maintenance.json, one row)."""

    key: str
    service: str
    argument: str
    period: str  # "daily" or "weekly"
    format: str
    min_minutes: int
    must_not_overlap: tuple[str, ...]
    source: str


@attrs.frozen
class MaintenanceTable:
    as_of: datetime.date
    check_year: int  # the year whose every date the windows are checked on
    windows: dict[str, WindowRule]


@functools.cache
def maintenance() -> MaintenanceTable:
    data = _table("maintenance.json")
    return MaintenanceTable(
        as_of=datetime.date.fromisoformat(data["as_of"]),
        check_year=int(data["check_year"]),
        windows={
            key: WindowRule(
                key=key,
                service=row["service"],
                argument=row["argument"],
                period=row["period"],
                format=row["format"],
                min_minutes=int(row["min_minutes"]),
                must_not_overlap=tuple(row["must_not_overlap"]),
                source=row["source"],
            )
            for key, row in data["windows"].items()
        },
    )


# --------------------------------------------------------------------------- regional disaster recovery


@attrs.frozen
class Fact:
    """One published fact, its text and where AWS says it."""

    note: str
    source: str


@attrs.frozen
class DisasterRecoveryTable:
    as_of: datetime.date
    rtc_minutes: int  # S3 Replication Time Control's objective, the only value its API accepts
    rtc_percent: float  # the share of objects the objective covers
    s3_rtc: Fact
    s3_kms_replication: Fact
    rds_backup_replication: Fact
    secrets_manager_replication: Fact
    amazon_mq_cross_region: Fact
    mq_cross_region_engines: tuple[str, ...]


@functools.cache
def disaster_recovery() -> DisasterRecoveryTable:
    data = _table("disaster_recovery.json")
    sources = data["sources"]

    def fact(key: str) -> Fact:
        row = data[key]
        return Fact(row["note"], sources[row["source"]])

    rtc = data["s3_replication_time_control"]
    return DisasterRecoveryTable(
        as_of=datetime.date.fromisoformat(data["as_of"]),
        rtc_minutes=rtc["minutes"],
        rtc_percent=rtc["percent_of_objects"],
        s3_rtc=fact("s3_replication_time_control"),
        s3_kms_replication=fact("s3_replication_of_kms_objects"),
        rds_backup_replication=fact("rds_backup_replication"),
        secrets_manager_replication=fact("secrets_manager_replication"),
        amazon_mq_cross_region=fact("amazon_mq_cross_region"),
        mq_cross_region_engines=tuple(data["amazon_mq_cross_region"]["engines"]),
    )


# --------------------------------------------------------------------------- IAM authorization


@attrs.frozen
class IamAuthorization:
    as_of: datetime.date
    # action → the service-specific condition keys AWS evaluates for it
    condition_keys: dict[str, frozenset[str]]
    facts: dict[str, dict[str, str]]

    def keys_for(self, action: str) -> frozenset[str]:
        return self.condition_keys.get(action, frozenset())


@functools.cache
def iam_authorization() -> IamAuthorization:
    data = _table("iam_authorization.json")
    return IamAuthorization(
        as_of=datetime.date.fromisoformat(data["as_of"]),
        condition_keys={action: frozenset(row["keys"]) for action, row in data["condition_keys"].items()},
        facts=data["facts"],
    )
