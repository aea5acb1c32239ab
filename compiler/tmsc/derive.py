"""Non-functional requirements → concrete settings, each with the reason it was chosen.

Every rule is a pure function of one environment's requirements. Rules are
monotonic: a stricter requirement (higher availability, smaller RPO or RTO)
never yields a weaker setting; tests/test_derive.py holds them to that. A
requirement the AWS services cannot meet is refused here, with the reason,
before a single block of Terraform is produced.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

import attrs

from tmsc import facts, sizes, windows
from tmsc.model import Environment, Platform, RabbitMQ

T = TypeVar("T")

# RDS, EC2 and ElastiCache cover a single-AZ deployment for 99.5% a month; a
# target above that needs a standby in a second AZ.
SINGLE_AZ_SLA_PERCENT = 99.5
# Amazon MQ's SLA for a cluster broker is 99.9%, EKS and RDS Multi-AZ 99.95%:
# a platform that needs all of them in one region cannot promise more.
MAX_TARGET_PERCENT = 99.9
# RDS uploads transaction logs to S3 every five minutes; that bounds PITR.
RDS_LOG_SHIPPING_MINUTES = 5
# A point-in-time restore builds a new instance (tens of minutes before log
# replay) and clients must be repointed: an hour is the least we promise.
MIN_RTO_HOURS = 1.0
# Security Hub RDS.11 and most audit baselines ask for a week of backups.
PROD_GRADE_RETENTION_DAYS = 7
MIN_SUBNET_PREFIX = 28  # AWS refuses subnets smaller than /28
HA_AZ_COUNT = 3
BASE_AZ_COUNT = 2  # EKS and RDS subnet groups need subnets in two AZs at least

BROKER_MODES = ("SINGLE_INSTANCE", "CLUSTER_MULTI_AZ")  # weakest first


@attrs.frozen
class Decision(Generic[T]):
    value: T
    reason: str


@attrs.frozen
class Refusal:
    """A requirement that cannot be met; path is the spec key to change (below the environment's key, unless
    absolute: a service's key that one environment's requirements refuse)."""

    path: tuple[str | int, ...]
    message: str
    hint: str
    absolute: bool = False


class Infeasible(Exception):
    def __init__(self, refusals: list[Refusal]):
        self.refusals = tuple(refusals)
        super().__init__("; ".join(r.message for r in refusals))


@attrs.frozen
class SubnetLayout:
    """CIDRs per tier, one per AZ, in AZ order."""

    public: tuple[str, ...]
    private: tuple[str, ...]
    database: tuple[str, ...]


@attrs.frozen
class EnvironmentPlan:
    """Everything the NFRs decide for one environment. Field order is the order `explain` prints."""

    name: str
    environment: Environment = attrs.field(repr=False)
    schedule: windows.Schedule = attrs.field(repr=False)  # the windows the *_window decisions show
    high_availability: Decision[bool] = attrs.field(metadata={"setting": "availability.high_availability"})
    downtime_budget: Decision[float] = attrs.field(
        metadata={"setting": "availability.downtime_budget_minutes_per_week"}
    )
    az_count: Decision[int] = attrs.field(metadata={"setting": "network.az_count"})
    availability_zone_ids: Decision[tuple[str, ...]] = attrs.field(
        metadata={"setting": "network.availability_zone_ids"}
    )
    nat_gateways: Decision[int] = attrs.field(metadata={"setting": "network.nat_gateways"})
    subnets: Decision[SubnetLayout] = attrs.field(metadata={"setting": "network.subnets"})
    cluster_node_groups: Decision[int] = attrs.field(metadata={"setting": "cluster.node_groups"})
    cluster_upgrade_policy: Decision[str] = attrs.field(metadata={"setting": "cluster.upgrade_policy"})
    cluster_instance_types: Decision[tuple[str, ...]] = attrs.field(metadata={"setting": "cluster.instance_types"})
    cluster_ami_type: Decision[str] = attrs.field(metadata={"setting": "cluster.ami_type"})
    database_multi_az: Decision[bool] = attrs.field(metadata={"setting": "database.multi_az"})
    database_pitr: Decision[bool] = attrs.field(metadata={"setting": "database.point_in_time_recovery"})
    database_backup_retention_days: Decision[int] = attrs.field(metadata={"setting": "database.backup_retention_days"})
    database_cross_region_backup: Decision[str | None] = attrs.field(
        metadata={"setting": "database.cross_region_backup_region"}
    )
    database_instance_class: Decision[str] = attrs.field(metadata={"setting": "database.instance_class"})
    database_backup_window: Decision[str] = attrs.field(metadata={"setting": "database.backup_window"})
    database_maintenance_window: Decision[str] = attrs.field(metadata={"setting": "database.maintenance_window"})
    cache_automatic_failover: Decision[bool] = attrs.field(metadata={"setting": "cache.automatic_failover"})
    cache_replicas: Decision[int] = attrs.field(metadata={"setting": "cache.replicas"})
    cache_node_type: Decision[str] = attrs.field(metadata={"setting": "cache.node_type"})
    cache_snapshot_window: Decision[str] = attrs.field(metadata={"setting": "cache.snapshot_window"})
    cache_maintenance_window: Decision[str] = attrs.field(metadata={"setting": "cache.maintenance_window"})
    broker_deployment_mode: Decision[str] = attrs.field(metadata={"setting": "broker.deployment_mode"})
    broker_instance_type: Decision[str] = attrs.field(metadata={"setting": "broker.instance_type"})
    broker_maintenance_window: Decision[str] = attrs.field(metadata={"setting": "broker.maintenance_window"})
    deletion_protection: Decision[bool] = attrs.field(metadata={"setting": "data.deletion_protection"})
    log_retention_days: Decision[int] = attrs.field(metadata={"setting": "logs.retention_days"})
    pull_request_plans: Decision[bool] = attrs.field(metadata={"setting": "delivery.pull_request_plans"})
    # Regional disaster recovery (regional_dr section below): what is copied to the DR region, and for each
    # data store whether its RPO holds when the whole region is lost.
    attachments_replication: Decision[str | None] = attrs.field(
        default=Decision(None, "no regional DR asked"), metadata={"setting": "storage.replication_region"}
    )
    secrets_replica_region: Decision[str | None] = attrs.field(
        default=Decision(None, "no regional DR asked"), metadata={"setting": "secrets.replica_region"}
    )
    regional_rpo: tuple[tuple[str, Decision[str]], ...] = attrs.field(default=(), metadata={"settings": "regional_rpo"})

    def decisions(self) -> Iterator[tuple[str, Decision[object]]]:
        """(setting name as `explain` shows it, decision), in field order."""
        for field in attrs.fields(type(self)):
            if "setting" in field.metadata:
                yield field.metadata["setting"], getattr(self, field.name)
            elif "settings" in field.metadata:  # a family of decisions, one per member (e.g. per data store)
                for member, decision in getattr(self, field.name):
                    yield f"{field.metadata['settings']}.{member}", decision


# --------------------------------------------------------------------------- rules


def high_availability(env: Environment) -> Decision[bool]:
    target = env.availability.target_percent
    if target > SINGLE_AZ_SLA_PERCENT:
        return Decision(True, f"availability {target:g}% > {SINGLE_AZ_SLA_PERCENT:g}% single-AZ SLA")
    return Decision(False, f"availability {target:g}% ≤ {SINGLE_AZ_SLA_PERCENT:g}% single-AZ SLA")


def az_count(ha: Decision[bool]) -> Decision[int]:
    if ha.value:
        return Decision(HA_AZ_COUNT, f"{ha.reason}: {HA_AZ_COUNT} AZs keep a majority when one fails")
    return Decision(BASE_AZ_COUNT, f"{ha.reason}: {BASE_AZ_COUNT} AZs, the least EKS and RDS subnet groups accept")


def availability_zone_ids(
    env: Environment, region: facts.Region, count: Decision[int], as_of: str
) -> Decision[tuple[str, ...]] | Refusal:
    """Zone IDs, never letters (letters are mapped per account). Pinned in the spec, or the first `count`
    zone IDs of the region's table that EKS accepts: adding a zone appends one, and moves no existing subnet."""
    accepted = region.eks_zone_ids
    pinned = env.availability_zone_ids
    n = count.value
    if pinned is not None:
        for i, zone in enumerate(pinned):
            if zone not in region.zone_ids:
                return Refusal(
                    ("availability_zone_ids", i),
                    f"{zone} is not a zone ID of {region.name} (AWS zone table as of {as_of}: {', '.join(region.zone_ids)})",
                    f"pin zone IDs of {region.name}, e.g. {', '.join(accepted[:n])}",
                )
            if zone in region.eks_refused:
                return Refusal(
                    ("availability_zone_ids", i),
                    f"EKS refuses control-plane subnets in {zone} (UnsupportedAvailabilityZoneException; {region.eks_source})",
                    f"pin other zone IDs of {region.name}: {', '.join(z for z in accepted if z not in pinned)}",
                )
            if zone in pinned[:i]:
                return Refusal(("availability_zone_ids", i), f"{zone} is pinned twice", "pin each zone ID once")
        if len(pinned) != n:
            return Refusal(
                ("availability_zone_ids",),
                f"{len(pinned)} zone IDs pinned, and the requirements derive {n} AZs ({count.reason})",
                f"pin exactly {n} zone IDs of {region.name}, e.g. {', '.join((list(pinned) + [z for z in accepted if z not in pinned])[:n])}",
            )
        return Decision(tuple(pinned), f"pinned in the spec ({n} zone IDs of {region.name}, all accepted by EKS)")
    if len(accepted) < n:
        others = difflib.get_close_matches(
            region.name, [r.name for r in facts.zones().regions.values() if len(r.eks_zone_ids) >= n], n=3, cutoff=0
        )
        return Refusal(
            ("availability", "target_percent"),
            f"{count.reason}, and {region.name} offers {len(accepted)} zones that can hold an EKS control plane "
            f"({', '.join(accepted)}; AWS zone table as of {as_of})",
            f"set target_percent to {SINGLE_AZ_SLA_PERCENT:g} or less, or move the platform to a region with {n} such zones, "
            f"e.g. {', '.join(others[:3])}",
        )
    refused = f"; EKS refuses {', '.join(region.eks_refused)}" if region.eks_refused else ""
    return Decision(
        accepted[:n],
        f"the first {n} zone IDs of {region.name} that EKS accepts (AWS zone table as of {as_of}{refused})",
    )


def nat_gateways(ha: Decision[bool], count: Decision[int]) -> Decision[int]:
    if ha.value:
        return Decision(count.value, f"{ha.reason}: one NAT gateway per AZ, so losing an AZ cuts no other AZ off")
    return Decision(1, f"{ha.reason}: one shared NAT gateway (an AZ outage may cut egress)")


def subnet_layout(env: Environment, count: Decision[int]) -> Decision[SubnetLayout] | Refusal:
    """Private subnets (EKS pods) get a quarter of the VPC each; public and database share the last quarter."""
    vpc = env.network.network
    quarters = list(vpc.subnets(prefixlen_diff=2))
    eighths_of_last = list(quarters[3].subnets(prefixlen_diff=3))
    small_prefix = eighths_of_last[0].prefixlen
    if small_prefix > MIN_SUBNET_PREFIX:
        largest = MIN_SUBNET_PREFIX - 5
        return Refusal(
            ("network", "cidr"),
            f"VPC {vpc} is too small: its public and database subnets would be /{small_prefix}, and AWS needs at least /{MIN_SUBNET_PREFIX}",
            f"use a /{largest} or larger range, e.g. {ipaddress.IPv4Network((vpc.network_address, largest), strict=False)}",
        )
    n = count.value
    layout = SubnetLayout(
        public=tuple(str(s) for s in eighths_of_last[:n]),
        private=tuple(str(s) for s in quarters[:n]),
        database=tuple(str(s) for s in eighths_of_last[4 : 4 + n]),
    )
    return Decision(
        layout,
        f"{vpc}: a quarter per AZ for private (pod) subnets; public and database /{small_prefix} in the last quarter",
    )


def database_multi_az(ha: Decision[bool]) -> Decision[bool]:
    if ha.value:
        return Decision(True, f"{ha.reason}: a synchronous standby in a second AZ fails over in 1-2 minutes")
    return Decision(False, f"{ha.reason}: single-AZ instance; an AZ outage means a restore")


def database_pitr(env: Environment) -> Decision[bool] | Refusal:
    rpo = env.recovery.rpo_minutes
    if rpo < RDS_LOG_SHIPPING_MINUTES:
        return Refusal(
            ("recovery", "rpo_minutes"),
            f"RPO {rpo} min cannot be met: RDS ships transaction logs to S3 every {RDS_LOG_SHIPPING_MINUTES} minutes, "
            "so point-in-time recovery may lose up to 5 minutes",
            f"set rpo_minutes to {RDS_LOG_SHIPPING_MINUTES} or more (or run a synchronous cross-region design tmsc does not build)",
        )
    return Decision(
        True, f"RPO {rpo} min ≥ {RDS_LOG_SHIPPING_MINUTES} min log-shipping interval: point-in-time recovery meets it"
    )


def backup_retention_days(env: Environment, ha: Decision[bool]) -> Decision[int]:
    prod_grade = ha.value or env.purpose == "production"
    if prod_grade:
        why = ha.reason if ha.value else "production data"
        return Decision(
            PROD_GRADE_RETENTION_DAYS, f"{why}: {PROD_GRADE_RETENTION_DAYS} days of PITR window (Security Hub RDS.11)"
        )
    return Decision(1, "not production-grade: 1 day of PITR window covers the RPO at least cost")


def recovery_time(env: Environment) -> Refusal | None:
    rto = env.recovery.rto_hours
    if rto < MIN_RTO_HOURS:
        return Refusal(
            ("recovery", "rto_hours"),
            f"RTO {rto:g} h is shorter than a point-in-time restore can take (a new instance plus log replay and repointing clients)",
            f"set rto_hours to {MIN_RTO_HOURS:g} or more",
        )
    return None


def availability_ceiling(env: Environment) -> Refusal | None:
    target = env.availability.target_percent
    if target > MAX_TARGET_PERCENT:
        return Refusal(
            ("availability", "target_percent"),
            f"availability {target:g}% cannot be met in one region: Amazon MQ promises 99.9% for a cluster broker, "
            "EKS and RDS Multi-AZ 99.95%",
            f"set target_percent to {MAX_TARGET_PERCENT:g} or less",
        )
    return None


def cross_region_backup(env: Environment, platform: Platform) -> Decision[str | None] | Refusal:
    target = env.recovery.cross_region_backup_region
    if target is None:
        return Decision(None, "no regional DR asked: backups stay in the region")
    if target == platform.region:
        return Refusal(
            ("recovery", "cross_region_backup_region"),
            f"the DR region {target} is the platform's own region",
            "name another region, or remove the key",
        )
    if target not in facts.zones().regions:
        return unknown_region(("recovery", "cross_region_backup_region"), target, "the DR region")
    return Decision(target, f"regional DR asked: automated backups replicated to {target}")


def cache_automatic_failover(ha: Decision[bool]) -> Decision[bool]:
    if ha.value:
        return Decision(True, f"{ha.reason}: automatic failover and Multi-AZ replicas")
    return Decision(False, f"{ha.reason}: a single node; a restart loses the cache, not data")


def cache_replicas(ha: Decision[bool], count: Decision[int]) -> Decision[int]:
    if ha.value:
        return Decision(count.value - 1, f"{ha.reason}: one replica in each other AZ ({count.value - 1})")
    return Decision(0, f"{ha.reason}: no replicas")


def broker_deployment_mode(ha: Decision[bool]) -> Decision[str]:
    if ha.value:
        return Decision("CLUSTER_MULTI_AZ", f"{ha.reason}: a three-node RabbitMQ cluster across AZs")
    return Decision("SINGLE_INSTANCE", f"{ha.reason}: one broker node")


def cluster_upgrade_policy(env: Environment) -> Decision[str]:
    """EKS upgrade_policy.support_type: what EKS does when the cluster's version leaves standard support."""
    if env.purpose == "production":
        return Decision(
            "EXTENDED",
            "production: at the end of standard support EKS keeps the version (extended support, at a cost) "
            "instead of upgrading the control plane unannounced",
        )
    return Decision(
        "STANDARD",
        f"{env.purpose}: EKS upgrades the control plane itself at the end of standard support, so the cluster "
        "never pays for extended support and meets each upgrade before production does",
    )


def deletion_protection(env: Environment) -> Decision[bool]:
    if env.purpose == "development":
        return Decision(False, "development data is disposable: destroy works without extra steps")
    return Decision(True, f"{env.purpose} data: deletion protection and final snapshots on every data store")


def pull_request_plans(env: Environment) -> Decision[bool]:
    """Whether the role an unreviewed pull request assumes may read this environment's state and secrets.

    A pull request edits its own workflow files, so anything its jobs may read, its author may read. Production's
    state holds the broker password: its plan is made after the merge, by the main-branch role, and shown to the
    required reviewers of its GitHub Environment before they approve the apply.
    """
    if env.purpose == "production":
        return Decision(
            False,
            "production: no role a pull request can assume reads its state or secrets; its plan is made after the "
            "merge and approved by its reviewers before the apply (the pull request shows tmsc diff)",
        )
    return Decision(True, f"{env.purpose}: pull requests plan it with the read-only pull-request role")


def log_retention_days(env: Environment) -> Decision[int]:
    days = {"development": 30, "preproduction": 90, "production": 365}[env.purpose]
    return Decision(days, f"{env.purpose}: logs kept {days} days")


# --------------------------------------------------------------------------- business hours and windows


def business_hours(env: Environment) -> windows.Hours:
    hours = env.availability.business_hours
    return windows.Hours.parse(hours.days, hours.start, hours.end, hours.timezone)


def downtime_budget(env: Environment) -> Decision[float]:
    """The downtime the target allows in a week of business hours (maintenance runs outside them: it spends none)."""
    hours = business_hours(env)
    target = env.availability.target_percent
    minutes = (100 - target) / 100 * hours.minutes_per_week
    return Decision(
        round(minutes, 1),
        f"{100 - target:.4g}% of {hours.minutes_per_week / 60:g} business hours a week ({hours.text}): "
        f"{minutes:.1f} minutes of unplanned downtime a week; every backup and maintenance window lies outside "
        "business hours, so none of it goes to maintenance",
    )


def _broker_override(service: RabbitMQ) -> int | None:
    """The spec's fixed broker maintenance start, as a minute of the UTC week (None: derive it)."""
    if service.maintenance_day is None or service.maintenance_time is None:
        return None
    day = windows.BROKER_DAY_NAMES.index(service.maintenance_day)
    return day * windows.DAY + windows.clock_minutes(service.maintenance_time)


def maintenance_schedule(platform: Platform, name: str) -> windows.Schedule | list[Refusal]:
    """Every window outside the business hours on every date of the table's check year; refused when they
    leave no room, or when the spec's fixed broker window meets them (both said, when both hold)."""
    env = platform.environments[name]
    table = facts.maintenance()
    hours = business_hours(env)
    year = table.check_year
    broker_name, broker = platform.service_of_kind("rabbitmq")
    assert isinstance(broker, RabbitMQ)
    fixed = _broker_override(broker)
    refusals: list[Refusal] = []
    if fixed is not None:
        minutes = table.windows["broker_maintenance"].min_minutes
        met = windows.clash(hours, year, fixed, minutes)
        if met is not None:
            window = windows.Window("broker_maintenance", fixed, minutes, False)
            others = [business_hours(e) for e in platform.environments.values()]
            start = windows.common_start(others, year, minutes)
            instead = (
                f", or start it where no environment has business hours, e.g. maintenance_day: "
                f'{windows.BROKER_DAY_NAMES[start // windows.DAY]}, maintenance_time: "{windows.clock_text(start)}"'
                if start is not None
                else ""
            )
            refusals.append(
                Refusal(
                    ("services", broker_name, "maintenance_time"),
                    f"the broker's maintenance ({window.utc_text()}: Amazon MQ's maintenance can last two hours from its "
                    f"start) meets {name}'s business hours {hours.text} on {met.date.isoformat()} (business hours ran "
                    f"{met.local} that day)",
                    "remove maintenance_day and maintenance_time, so tmsc derives the window from each environment's "
                    f"business hours{instead}",
                    absolute=True,
                )
            )
            fixed = None  # plan the rest as if derived: the hours may leave no room either
    schedule = windows.plan(hours, table, fixed)
    if isinstance(schedule, windows.NoRoom):
        rule = table.windows[schedule.key]
        where = "a day, every day," if schedule.daily else "in one stretch of the week"
        refusals.append(
            Refusal(
                ("availability", "business_hours"),
                f"business hours {hours.text} leave no room for the {rule.service} {schedule.key.split('_')[1]} window "
                f"({rule.argument}): it needs {schedule.needed} minutes {where} outside business hours on every date "
                f"of {year} (in each UTC offset of {hours.timezone}) and clear of the other windows, and "
                f"{schedule.longest} are left"
                " (tmsc never puts maintenance inside business hours: the target counts every minute of them)",
                _room_fix(env, table, fixed),
            )
        )
    if refusals:
        return refusals
    assert isinstance(schedule, windows.Schedule)
    return schedule


def _room_fix(env: Environment, table: facts.MaintenanceTable, fixed: int | None) -> str:
    """Business hours that leave room, found by asking the planner: an earlier end, or fewer days."""
    hours = env.availability.business_hours
    start = windows.clock_minutes(hours.start)
    for end in range((windows.clock_minutes(hours.end) - 1) // 30 * 30, start, -30):  # on the half hour
        trial = windows.Hours.parse(hours.days, hours.start, windows.clock_text(end), hours.timezone)
        if isinstance(windows.plan(trial, table, fixed), windows.Schedule):
            return (
                f'end business hours earlier, e.g. end: "{windows.clock_text(end)}" '
                "(backups need room every night, maintenance once a week)"
            )
    return "shorten the business hours or the business days; maintenance needs room outside them"


def _window_reason(
    window: windows.Window, hours: windows.Hours, table: facts.MaintenanceTable, pinned: bool = False
) -> str:
    rule = table.windows[window.key]
    local = " / ".join(windows.local_views(window, hours.timezone, table.check_year))
    if window.key == "broker_maintenance":
        what = (
            f"Amazon MQ takes a start (time_zone UTC) and maintains for up to two hours: {window.utc_text()}, "
            f"local {local}"
        )
    else:
        what = f"{window.utc_text()}, local {local}; AWS takes {rule.format} in UTC, at least {rule.min_minutes} min"
    how = "pinned in the spec (maintenance_day, maintenance_time), checked" if pinned else "derived"
    return (
        f"{what}; {how}: outside business hours {hours.text} on every date of {table.check_year}, clear of every "
        f"other data store's windows (AWS window table as of {table.as_of.isoformat()})"
    )


def window_decisions(schedule: windows.Schedule, env: Environment, pinned_broker: bool) -> dict[str, Decision[str]]:
    table = facts.maintenance()
    hours = business_hours(env)
    return {
        window.key: Decision(
            window.aws(), _window_reason(window, hours, table, pinned_broker and window.key == "broker_maintenance")
        )
        for window in schedule.windows()
    }


# --------------------------------------------------------------------------- regional disaster recovery
#
# The DR region (recovery.cross_region_backup_region) receives a copy of every data store that can be
# copied: the database's automated backups, the attachments (S3 replication under Replication Time
# Control) and the secrets (Secrets Manager replicas). What cannot be copied is said plainly.


def regional_rpo_bound(env: Environment, dr: Decision[str | None] | Refusal) -> Refusal | None:
    """An RPO shorter than S3 RTC's objective cannot be promised for the attachments in a regional disaster."""
    if not isinstance(dr, Decision) or dr.value is None:
        return None
    table = facts.disaster_recovery()
    rpo = env.recovery.rpo_minutes
    if rpo >= table.rtc_minutes:
        return None
    return Refusal(
        ("recovery", "rpo_minutes"),
        f"RPO {rpo} min cannot be promised in a regional disaster: the attachments reach {dr.value} through S3 "
        f"Replication Time Control, whose objective is {table.rtc_percent:g}% of objects within {table.rtc_minutes} "
        f"minutes (the only replication with a published bound; {table.s3_rtc.source})",
        f"set rpo_minutes to {table.rtc_minutes} or more, or remove cross_region_backup_region "
        "(then a regional disaster loses the environment's data)",
    )


def attachments_replication(env: Environment, dr: Decision[str | None]) -> Decision[str | None]:
    if dr.value is None:
        return Decision(None, "no regional DR asked: the attachments stay in the region (S3 keeps them in 3+ AZs)")
    table = facts.disaster_recovery()
    return Decision(
        dr.value,
        f"regional DR asked: replicated to a bucket in {dr.value} under S3 Replication Time Control "
        f"({table.rtc_percent:g}% of objects within {table.rtc_minutes} min ≤ RPO {env.recovery.rpo_minutes} min; "
        "replication without RTC has no published bound)",
    )


def secrets_replica_region(dr: Decision[str | None]) -> Decision[str | None]:
    if dr.value is None:
        return Decision(None, "no regional DR asked: the secrets stay in the region")
    return Decision(dr.value, f"regional DR asked: every secret replicated to {dr.value} under a key of that region")


def regional_rpo(
    env: Environment, platform: Platform, dr: Decision[str | None]
) -> tuple[tuple[str, Decision[str]], ...]:
    """For each data store: is its RPO met when the platform's whole region is lost, and how (or why not)."""
    table = facts.disaster_recovery()
    rpo = env.recovery.rpo_minutes
    region = platform.region
    if dr.value is None:
        lost = "no regional DR asked (recovery.cross_region_backup_region): a loss of {region} loses {what}"
        return tuple(
            (store, Decision("not covered", lost.format(region=region, what=what)))
            for store, what in (
                ("database", "the database and its backups"),
                ("attachments", "the attachments"),
                ("secrets", "the connection secrets (rebuilt by an apply elsewhere)"),
                ("cache", "the cache (rebuilt empty, as it would be anyway)"),
                ("broker", "the queued messages"),
                ("state", "the Terraform state of the lost resources (a rebuild elsewhere starts a new state)"),
            )
        )
    target = dr.value
    return (
        (
            "database",
            Decision(
                "best effort",
                f"transaction logs every {RDS_LOG_SHIPPING_MINUTES} min, copied with the snapshots to {target} as soon "
                f"as each is ready; AWS publishes no bound on that copy, so RPO {rpo} min holds only while the copy "
                f"keeps up: the replicated backup's RestoreWindow (DescribeDBInstanceAutomatedBackups in {target}) shows "
                f"how far behind it is ({table.rds_backup_replication.source})",
            ),
        ),
        (
            "attachments",
            Decision(
                "met",
                f"S3 Replication Time Control copies {table.rtc_percent:g}% of objects to {target} within "
                f"{table.rtc_minutes} min ≤ RPO {rpo} min; replication metrics show any object later than that "
                f"({table.s3_rtc.source})",
            ),
        ),
        (
            "secrets",
            Decision(
                "met",
                f"replicated to {target} on every write, and written only by an apply; the replicas still name "
                f"{region}'s endpoints, so a rebuild in {target} rewrites them, and the RDS-managed master secret "
                f"is not replicated: a restore in {target} creates its own ({table.secrets_manager_replication.source})",
            ),
        ),
        (
            "cache",
            Decision(
                "not met: rebuilt empty",
                f"no copy in {target} (tmsc builds no ElastiCache Global Datastore): the cache holds copies of "
                "database records and is refilled from the restored database",
            ),
        ),
        (
            "broker",
            Decision(
                "not met: messages lost",
                f"Amazon MQ replicates across regions for {', '.join(table.mq_cross_region_engines)} only: the "
                f"messages queued in {region} are lost, a broker is rebuilt in {target}, and producers must resend "
                f"what was not consumed ({table.amazon_mq_cross_region.source})",
            ),
        ),
        (
            "state",
            Decision(
                "not replicated",
                f"the Terraform state bucket stays in {region}: it describes resources of {region}, lost with it; "
                f"a rebuild in {target} applies the spec there with a new state (bootstrap stack first)",
            ),
        ),
    )


# --------------------------------------------------------------------------- assembly


def plan_environment(platform: Platform, name: str) -> EnvironmentPlan:
    """All decisions for one environment, or Infeasible listing every requirement refused."""
    env = platform.environments[name]
    refusals: list[Refusal] = [r for r in (availability_ceiling(env), recovery_time(env)) if r is not None]
    ha = high_availability(env)
    count = az_count(ha)
    table = facts.zones()
    region = table.regions.get(platform.region)
    if region is None:
        raise Infeasible([unknown_region(("region",), platform.region, "the platform's region")])
    zone_ids = availability_zone_ids(env, region, count, table.as_of.isoformat())
    subnets = subnet_layout(env, count)
    pitr = database_pitr(env)
    cross_region = cross_region_backup(env, platform)
    schedule = maintenance_schedule(platform, name)

    for outcome in (zone_ids, subnets, pitr, cross_region, regional_rpo_bound(env, cross_region)):
        if isinstance(outcome, Refusal):
            refusals.append(outcome)
    sized = size_environment(platform, env, ha)
    refusals.extend(r for r in sized.values() if isinstance(r, Refusal))
    if isinstance(schedule, list):
        refusals.extend(schedule)
    if refusals:
        raise Infeasible([r if r.absolute else attrs.evolve(r, path=("environments", name, *r.path)) for r in refusals])
    assert isinstance(subnets, Decision) and isinstance(pitr, Decision) and isinstance(cross_region, Decision)
    assert isinstance(zone_ids, Decision) and isinstance(schedule, windows.Schedule)
    _, broker = platform.service_of_kind("rabbitmq")
    assert isinstance(broker, RabbitMQ)
    window = window_decisions(schedule, env, _broker_override(broker) is not None)
    return EnvironmentPlan(
        name=name,
        environment=env,
        schedule=schedule,
        high_availability=ha,
        downtime_budget=downtime_budget(env),
        az_count=count,
        availability_zone_ids=zone_ids,
        nat_gateways=nat_gateways(ha, count),
        subnets=subnets,
        cluster_node_groups=Decision(count.value, f"one managed node group per AZ ({count.value})"),
        cluster_upgrade_policy=cluster_upgrade_policy(env),
        cluster_instance_types=_decided(sized["cluster_instance_types"]),
        cluster_ami_type=_decided(sized["cluster_ami_type"]),
        database_multi_az=database_multi_az(ha),
        database_pitr=pitr,
        database_backup_retention_days=backup_retention_days(env, ha),
        database_cross_region_backup=cross_region,
        database_instance_class=_decided(sized["database_instance_class"]),
        database_backup_window=window["database_backup"],
        database_maintenance_window=window["database_maintenance"],
        cache_automatic_failover=cache_automatic_failover(ha),
        cache_replicas=cache_replicas(ha, count),
        cache_node_type=_decided(sized["cache_node_type"]),
        cache_snapshot_window=window["cache_snapshot"],
        cache_maintenance_window=window["cache_maintenance"],
        broker_deployment_mode=broker_deployment_mode(ha),
        broker_instance_type=_decided(sized["broker_instance_type"]),
        broker_maintenance_window=window["broker_maintenance"],
        deletion_protection=deletion_protection(env),
        log_retention_days=log_retention_days(env),
        pull_request_plans=pull_request_plans(env),
        attachments_replication=attachments_replication(env, cross_region),
        secrets_replica_region=secrets_replica_region(cross_region),
        regional_rpo=regional_rpo(env, platform, cross_region),
    )


def size_environment(platform: Platform, env: Environment, ha: Decision[bool]) -> dict[str, Decision[object] | Refusal]:
    """Each service's size for what the plan derives (sizes.py): a Decision, or a Refusal at the spec's key."""
    sizing = env.sizing
    _, broker = platform.service_of_kind("rabbitmq")
    _, database = platform.service_of_kind("postgres")
    _, cache = platform.service_of_kind("redis")
    _, cluster = platform.service_of_kind("eks")
    assert broker.kind == "rabbitmq" and database.kind == "postgres" and cache.kind == "redis" and cluster.kind == "eks"
    outcomes: dict[str, sizes.Sized | sizes.SizeRefusal] = {
        "broker_instance_type": sizes.broker_instance_type(
            sizing.broker_instance_type, ha.value, ha.reason, broker_deployment_mode(ha).value, broker.engine_version
        ),
        "database_instance_class": sizes.database_instance_class(
            sizing.database_instance_class,
            ha.value,
            ha.reason,
            database_multi_az(ha).value,
            database.engine_version,
        ),
        "cache_node_type": sizes.cache_node_type(
            sizing.cache_node_type,
            ha.value,
            ha.reason,
            cache_automatic_failover(ha).value,
            cache.engine,
            cache.engine_version,
        ),
    }
    nodes = sizes.node_instance_types(sizing.cluster.instance_types, ha.value, ha.reason)
    if isinstance(nodes, sizes.SizeRefusal):
        outcomes["cluster_instance_types"] = nodes
        outcomes["cluster_ami_type"] = sizes.Sized("", "")  # not reached: the refusal above stops the plan
    else:
        outcomes["cluster_instance_types"], architecture = nodes
        outcomes["cluster_ami_type"] = sizes.node_ami_type(sizing.cluster.ami_type, architecture, cluster.version)
    return {
        key: Refusal(o.path, o.message, o.hint) if isinstance(o, sizes.SizeRefusal) else Decision(o.value, o.reason)
        for key, o in outcomes.items()
    }


def _decided(outcome: Decision[object] | Refusal) -> Decision[Any]:
    """A size decision once the refusals have been collected (plan_environment raises before any is left)."""
    assert isinstance(outcome, Decision)
    return outcome


def unknown_region(path: tuple[str | int, ...], name: str, what: str) -> Refusal:
    table = facts.zones()
    near = table.nearest(name)
    return Refusal(
        path,
        f"{what} {name} is not a region tmsc knows (AWS zone table as of {table.as_of.isoformat()}, "
        f"{len(table.regions)} regions)",
        f"did you mean {' or '.join(near)}?" if near else f"name one of: {', '.join(sorted(table.regions))}",
    )


# --------------------------------------------------------------------------- versions


def _version_finding(
    calendar: facts.Calendar, version: str, key: str, path: tuple[str | int, ...], as_of: facts.VersionTable
) -> tuple[Refusal | None, Refusal | None]:
    """(refusal, warning) for one version against its calendar, on the table's own date."""
    on = as_of.as_of
    newest = calendar.newest_in_standard_support(on)
    support = calendar.versions.get(key)
    table = f"AWS version calendar as of {on.isoformat()}, {calendar.source}"
    if support is None:
        offered = ", ".join(v for v, s in calendar.versions.items() if s.status(on) != "ended")
        return Refusal(
            path,
            f"{calendar.engine} {version} is not a version AWS offers ({table}; offered: {offered})",
            f"use {newest}{calendar.fix_note}",
        ), None
    status = support.status(on)
    if status == "ended":
        ended = support.end_of_extended_support or support.end_of_standard_support
        assert ended is not None
        return Refusal(
            path,
            f"{calendar.engine} {version} reached end of support on {ended.isoformat()} ({table}): AWS creates it no more",
            f"use {newest}, the newest version in standard support{calendar.fix_note}",
        ), None
    if status == "extended":
        assert support.end_of_standard_support is not None and support.end_of_extended_support is not None
        cost = f": {calendar.extended_support_cost}" if calendar.extended_support_cost else ""
        return None, Refusal(
            path,
            f"{calendar.engine} {version} left standard support on {support.end_of_standard_support.isoformat()} and runs "
            f"in extended support until {support.end_of_extended_support.isoformat()}{cost} ({table})",
            f"upgrade to {newest}, the newest version in standard support{calendar.fix_note}",
        )
    return None, None


def version_findings(platform: Platform) -> tuple[list[Refusal], list[Refusal]]:
    """(refusals, warnings) for every service version of the spec, against the version table's date."""
    table = facts.versions()
    findings: list[tuple[Refusal | None, Refusal | None]] = []
    for name, service in sorted(platform.services.items()):
        if service.kind == "eks":
            findings.append(
                _version_finding(table.eks, service.version, service.version, ("services", name, "version"), table)
            )
        elif service.kind == "postgres":
            path = ("services", name, "engine_version")
            major, _, minor = service.engine_version.partition(".")
            findings.append(_version_finding(table.postgres, service.engine_version, major, path, table))
            if minor and major in table.postgres_minors:
                calendar = table.postgres_minors[major]
                findings.append(_version_finding(calendar, service.engine_version, service.engine_version, path, table))
        elif service.kind == "redis":
            calendar = table.elasticache[service.engine]
            path = ("services", name, "engine_version")
            findings.append(_version_finding(calendar, service.engine_version, service.engine_version, path, table))
        elif service.kind == "rabbitmq":
            key = ".".join(service.engine_version.split(".")[:2])
            path = ("services", name, "engine_version")
            findings.append(_version_finding(table.rabbitmq, service.engine_version, key, path, table))
    refusals = [r for r, _ in findings if r is not None]
    warnings = [w for _, w in findings if w is not None]
    return refusals, warnings


def plan_platform(platform: Platform) -> dict[str, EnvironmentPlan]:
    """Plans of every environment, collecting the refusals of all of them."""
    plans: dict[str, EnvironmentPlan] = {}
    refusals, _ = version_findings(platform)
    if platform.region not in facts.zones().regions:
        raise Infeasible([*refusals, unknown_region(("region",), platform.region, "the platform's region")])
    for name in sorted(platform.environments):
        try:
            plans[name] = plan_environment(platform, name)
        except Infeasible as exc:
            refusals.extend(exc.refusals)
    if refusals:
        raise Infeasible(refusals)
    return plans
