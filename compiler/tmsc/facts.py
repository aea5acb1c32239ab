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
