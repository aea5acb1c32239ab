"""`tmsc dr-drill`: the seed's point-in-time recovery (REQ-1-502), performed on one environment.

What it does, in order (README, "Disaster recovery runbook"):

1. Resolves the names tmsc gave the environment's PostgreSQL service: the DB
   instance `<platform>-<env>-<service>` and the connection secret
   `<platform>/<env>/<service>/connection` (services/database.py, secrets.py).
2. Reads the instance, its restorable window (DescribeDBInstanceAutomatedBackups'
   RestoreWindow, else creation/retention and LatestRestorableTime) and the
   secret; picks the restore point (`--to`, default the latest restorable
   time) and refuses one outside the window. Nothing is changed before every
   check passed.
3. RestoreDBInstanceToPointInTime into a NEW instance
   `<source>-r<UTC YYYYMMDDHHMMSS>` (`-2`, `-3`, ... appended when drills
   started in the same second took the name before), naming everything AWS would otherwise
   default (subnet group, security groups, parameter group, Multi-AZ, IAM
   authentication, deletion protection, log exports, backups); the storage
   key is the source's (AWS keeps it on a restore).
4. Waits until it is available (polling; `--poll-interval`, `--timeout`), then
   ModifyDBInstance for what a restore cannot set: the RDS-managed master
   password secret (AWS restores the password as of the restore time and
   manages none), enhanced monitoring, Performance Insights.
5. Repoints the connection secret: PutSecretValue with every key kept and
   `host`, `port`, `password_secret_arn` (and an instance identifier key, if
   the secret has one) changed. `--no-repoint` leaves the secret alone (a
   rehearsal on a live environment: its readers stay on the source).
6. Reports restore point, data loss against the RPO and elapsed time against
   the RTO of the environment (spec `recovery`), as a table or `--json`.

Exit codes: 0 done (restored, and repointed unless --no-repoint) within the
RPO and the RTO, or `--check` passed; 2 refused, nothing changed (unknown
environment, bad or out-of-window time, instance or secret missing or
unreadable, boto3 not installed); 3 done, but the data loss exceeds the RPO
or the elapsed time the RTO; 4 failed part way (an AWS error, or the wait
timed out, after the restore began: the message says what exists). 1 stays
tmsc's "internal error".

The instance and the secret version the drill makes are not Terraform's: the
README says how to adopt them. boto3 is not a dependency of the compiler;
install the `ops` extra (`pip install 'tmsc[ops]'`). Credentials, region
override and endpoint (AWS_ENDPOINT_URL) come from boto3's usual environment;
the region is the spec's.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO, overload

import attrs

from tmsc.model import Platform

EXIT_OK = 0
EXIT_REFUSED = 2
EXIT_OBJECTIVE_MISSED = 3
EXIT_FAILED = 4

UTC = dt.UTC
# Keys of a connection secret that name the instance, as RDS-generated secrets spell it.
IDENTIFIER_KEYS = ("dbInstanceIdentifier", "db_instance_identifier", "instance_identifier")
# Statuses a restored instance does not leave by itself.
FAILED_STATUSES = frozenset(
    {
        "failed",
        "incompatible-restore",
        "incompatible-parameters",
        "incompatible-network",
        "incompatible-option-group",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "storage-full",
        "deleting",
    }
)
RESTORED_FROM_TAG = "tmsc:restored-from"
RESTORE_TIME_TAG = "tmsc:restore-time"


class DrillRefused(Exception):
    """Bad input or a failed check: nothing was changed (exit 2)."""


class DrillFailed(Exception):
    """An error after the restore began (exit 4); `created` says what exists."""

    def __init__(self, message: str, created: Mapping[str, Any]):
        super().__init__(message)
        self.created = dict(created)


# --------------------------------------------------------------------------- pure parts


@attrs.frozen
class DrillTarget:
    """What the spec says about one environment's database: names, region, objectives."""

    platform: str
    environment: str
    service: str
    region: str
    rpo_minutes: int
    rto_hours: float

    @property
    def instance(self) -> str:
        return f"{self.platform}-{self.environment}-{self.service}"

    @property
    def secret_name(self) -> str:
        return f"{self.platform}/{self.environment}/{self.service}/connection"

    @property
    def rpo(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.rpo_minutes)

    @property
    def rto(self) -> dt.timedelta:
        return dt.timedelta(hours=self.rto_hours)


def drill_target(platform: Platform, env: str) -> DrillTarget:
    """The target of a drill of `env`; DrillRefused for an environment the spec does not have."""
    if env not in platform.environments:
        raise DrillRefused(f"no environment named {env!r} (choose one of: {', '.join(sorted(platform.environments))})")
    (service,) = [
        name for name, s in platform.services.items() if s.kind == "postgres"
    ]  # the model requires exactly one
    recovery = platform.environments[env].recovery
    return DrillTarget(platform.platform, env, service, platform.region, recovery.rpo_minutes, recovery.rto_hours)


def parse_time(text: str, option: str) -> dt.datetime:
    """An ISO 8601 time as aware UTC; one without an offset is UTC (as the AWS CLI reads it)."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise DrillRefused(f"{option} {text!r} is not an ISO 8601 time such as 2024-07-28T10:15:00Z") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@overload
def iso(value: dt.datetime) -> str: ...
@overload
def iso(value: dt.datetime | None) -> str | None: ...
def iso(value: dt.datetime | None) -> str | None:
    """2024-07-28T10:15:00Z (whole seconds are shown whole; fractions are kept)."""
    if value is None:
        return None
    value = as_utc(value)
    spec = "seconds" if value.microsecond == 0 else "milliseconds"
    return value.isoformat(timespec=spec).replace("+00:00", "Z")


def duration(delta: dt.timedelta | None) -> str:
    """4m 12s, 1h 05m, 0.4s."""
    if delta is None:
        return "-"
    seconds = delta.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def choose_restore_point(
    requested: dt.datetime | None,
    earliest: dt.datetime,
    latest: dt.datetime,
    instance: str,
    incident_at: dt.datetime | None = None,
) -> dt.datetime:
    """The restore point: `requested`, else the latest restorable time but not after the incident.

    DrillRefused for a point outside [earliest, latest], or a requested point after the incident
    (the restored data would hold what the incident did).
    """
    earliest, latest = as_utc(earliest), as_utc(latest)
    if requested is None:
        point = latest if incident_at is None else min(latest, as_utc(incident_at))
    else:
        point = as_utc(requested)
        if incident_at is not None and point > as_utc(incident_at):
            raise DrillRefused(
                f"--to {iso(point)} is after --incident-at {iso(incident_at)}: the restored data would include "
                "the incident; choose a time before it"
            )
    if not earliest <= point <= latest:
        option = (
            "--to"
            if requested is not None
            else "--incident-at"
            if incident_at is not None and point < latest
            else "the latest restorable time"
        )
        raise DrillRefused(
            f"{option} {iso(point)} is outside the restorable window of {instance}: {iso(earliest)} to {iso(latest)}; "
            "choose a time in it"
        )
    return point


# How many names `restored_identifiers` offers: drills started in the same second, or racing
# for the same name, each take the next one.
RESTORED_NAME_ATTEMPTS = 20


def restored_identifier(source: str, at: dt.datetime, attempt: int = 1) -> str:
    """`<source>-r<YYYYMMDDHHMMSS>` in UTC, then `-2`, `-3`, ... for later attempts.

    A valid RDS identifier (≤ 63 characters: tmsc names are ≤ 40; no double or trailing hyphen).
    """
    stamp = f"{source}-r{as_utc(at):%Y%m%d%H%M%S}"
    return stamp if attempt == 1 else f"{stamp}-{attempt}"


def restored_identifiers(source: str, at: dt.datetime) -> list[str]:
    """The names a drill started at `at` may give its restored instance, in the order it tries them."""
    return [restored_identifier(source, at, attempt) for attempt in range(1, RESTORED_NAME_ATTEMPTS + 1)]


def first_free_identifier(rds: Any, candidates: list[str], source: str) -> str:
    """The first candidate no DB instance has (DrillRefused if every one is taken)."""
    for name in candidates:
        if describe_instance(rds, name) is None:
            return name
    raise DrillRefused(
        f"{len(candidates)} DB instances named like {candidates[0]} exist already: delete the old drills' copies of {source}"
    )


def restore_request(source: Mapping[str, Any], target: str, restore_point: dt.datetime) -> dict[str, Any]:
    """RestoreDBInstanceToPointInTime parameters that give the new instance the source's settings.

    Everything AWS would otherwise default is named: AWS restores into the default subnet group,
    security group and parameter group, single-AZ, without IAM authentication or deletion protection.
    The storage key is not a parameter: a restore keeps the source's.
    """
    request: dict[str, Any] = {
        "SourceDBInstanceIdentifier": source["DBInstanceIdentifier"],
        "TargetDBInstanceIdentifier": target,
        "RestoreTime": as_utc(restore_point),
        "DBInstanceClass": source["DBInstanceClass"],
        "MultiAZ": bool(source.get("MultiAZ")),
        "PubliclyAccessible": bool(source.get("PubliclyAccessible")),
        "AutoMinorVersionUpgrade": bool(source.get("AutoMinorVersionUpgrade", True)),
        "CopyTagsToSnapshot": bool(source.get("CopyTagsToSnapshot")),
        "EnableIAMDatabaseAuthentication": bool(source.get("IAMDatabaseAuthenticationEnabled")),
        "DeletionProtection": bool(source.get("DeletionProtection")),
        "Tags": restored_tags(source.get("TagList") or [], source["DBInstanceIdentifier"], restore_point),
    }
    subnet_group = (source.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
    if subnet_group:
        request["DBSubnetGroupName"] = subnet_group
    groups = [g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups") or [] if g.get("VpcSecurityGroupId")]
    if groups:
        request["VpcSecurityGroupIds"] = groups
    parameter_groups = [
        g["DBParameterGroupName"] for g in source.get("DBParameterGroups") or [] if g.get("DBParameterGroupName")
    ]
    if parameter_groups:
        request["DBParameterGroupName"] = parameter_groups[0]
    # A default option group ("default:postgres-16") is what a restore gets anyway; naming it is refused
    # where it does not exist yet.
    option_groups = [
        g["OptionGroupName"] for g in source.get("OptionGroupMemberships") or [] if g.get("OptionGroupName")
    ]
    if option_groups and not option_groups[0].startswith("default:"):
        request["OptionGroupName"] = option_groups[0]
    port = (source.get("Endpoint") or {}).get("Port") or source.get("DbInstancePort")
    if port:
        request["Port"] = int(port)
    for parameter, field in (
        ("StorageType", "StorageType"),
        ("MaxAllocatedStorage", "MaxAllocatedStorage"),
        ("BackupRetentionPeriod", "BackupRetentionPeriod"),
        ("PreferredBackupWindow", "PreferredBackupWindow"),
        ("CACertificateIdentifier", "CACertificateIdentifier"),
    ):
        if source.get(field) not in (None, ""):
            request[parameter] = source[field]
    if source.get("EnabledCloudwatchLogsExports"):
        request["EnableCloudwatchLogsExports"] = list(source["EnabledCloudwatchLogsExports"])
    return request


def restored_tags(tags: list[Mapping[str, str]], source: str, restore_point: dt.datetime) -> list[dict[str, str]]:
    """The source's tags (its default tags among them), minus AWS's own, plus where and when it was restored from."""
    markers = {RESTORED_FROM_TAG: source, RESTORE_TIME_TAG: iso(restore_point) or ""}
    kept = [
        {"Key": t["Key"], "Value": t["Value"]}
        for t in tags
        if not t["Key"].startswith("aws:") and t["Key"] not in markers
    ]
    return kept + [{"Key": k, "Value": v} for k, v in markers.items()]


def follow_up_modification(source: Mapping[str, Any], restored: Mapping[str, Any]) -> dict[str, Any]:
    """ModifyDBInstance parameters for what a restore cannot set: the managed master password secret,
    enhanced monitoring, Performance Insights. Empty when the restored instance has them already."""
    changes: dict[str, Any] = {}
    source_secret = source.get("MasterUserSecret") or {}
    if source_secret and not restored.get("MasterUserSecret"):
        changes["ManageMasterUserPassword"] = True
        if source_secret.get("KmsKeyId"):
            changes["MasterUserSecretKmsKeyId"] = source_secret["KmsKeyId"]
    interval = int(source.get("MonitoringInterval") or 0)
    if interval and (
        int(restored.get("MonitoringInterval") or 0) != interval
        or restored.get("MonitoringRoleArn") != source.get("MonitoringRoleArn")
    ):
        changes["MonitoringInterval"] = interval
        changes["MonitoringRoleArn"] = source["MonitoringRoleArn"]
    if source.get("PerformanceInsightsEnabled") and not restored.get("PerformanceInsightsEnabled"):
        changes["EnablePerformanceInsights"] = True
        if source.get("PerformanceInsightsKMSKeyId"):
            changes["PerformanceInsightsKMSKeyId"] = source["PerformanceInsightsKMSKeyId"]
        if source.get("PerformanceInsightsRetentionPeriod"):
            changes["PerformanceInsightsRetentionPeriod"] = source["PerformanceInsightsRetentionPeriod"]
    if changes:
        changes["ApplyImmediately"] = True
    return changes


def modification_applied(changes: Mapping[str, Any], db: Mapping[str, Any]) -> bool:
    """Whether the instance shows what follow_up_modification asked (RDS may report "available" for a
    moment before it starts modifying)."""
    if changes.get("ManageMasterUserPassword") and not db.get("MasterUserSecret"):
        return False
    if "MonitoringInterval" in changes and int(db.get("MonitoringInterval") or 0) != changes["MonitoringInterval"]:
        return False
    return not (changes.get("EnablePerformanceInsights") and not db.get("PerformanceInsightsEnabled"))


def setting_differences(source: Mapping[str, Any], restored: Mapping[str, Any]) -> list[str]:
    """The settings the drill promises to keep that the restored instance does not have (empty: all kept)."""

    def settings(db: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "subnet group": (db.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
            "security groups": sorted(g.get("VpcSecurityGroupId") for g in db.get("VpcSecurityGroups") or []),
            "parameter group": sorted(g.get("DBParameterGroupName") for g in db.get("DBParameterGroups") or []),
            "Multi-AZ": bool(db.get("MultiAZ")),
            "storage key": db.get("KmsKeyId"),
            "storage encrypted": bool(db.get("StorageEncrypted")),
            "IAM authentication": bool(db.get("IAMDatabaseAuthenticationEnabled")),
            "deletion protection": bool(db.get("DeletionProtection")),
            "engine version": db.get("EngineVersion"),
            "instance class": db.get("DBInstanceClass"),
        }

    want, have = settings(source), settings(restored)
    return [f"{name}: {have[name]!r}, the source has {want[name]!r}" for name in want if want[name] != have[name]]


def repoint_secret(
    value: Mapping[str, Any], host: str, port: int, identifier: str, password_secret_arn: str | None
) -> tuple[dict[str, Any], list[str]]:
    """The connection secret pointing at the restored instance, every other key kept; and the keys changed."""
    new = dict(value)
    new["host"] = host
    if "port" in value:
        new["port"] = str(port) if isinstance(value["port"], str) else port
    if password_secret_arn and "password_secret_arn" in value:
        new["password_secret_arn"] = password_secret_arn
    for key in IDENTIFIER_KEYS:
        if key in value:
            new[key] = identifier
    return new, sorted(k for k in new if new[k] != value.get(k))


@attrs.frozen
class DrillReport:
    target: DrillTarget
    source_instance: str
    restored_instance: str
    earliest_restorable: dt.datetime
    latest_restorable: dt.datetime
    restore_point: dt.datetime
    window_read_at: dt.datetime
    started_at: dt.datetime
    incident_at: dt.datetime | None = None
    check_only: bool = False
    repointed: bool = True
    restore_requested_at: dt.datetime | None = None
    available_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    restored_host: str | None = None
    restored_port: int | None = None
    secret_arn: str | None = None
    secret_version_id: str | None = None
    secret_changed_keys: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def restore_point_is_latest(self) -> bool:
        return self.restore_point == self.latest_restorable

    @property
    def data_loss(self) -> dt.timedelta:
        """What was written after the restore point and before the incident (default: when the window
        was read) is lost; never negative (AWS's clock may run ahead of ours)."""
        reference = self.incident_at or self.window_read_at
        return max(dt.timedelta(0), as_utc(reference) - as_utc(self.restore_point))

    @property
    def elapsed(self) -> dt.timedelta | None:
        """From the incident (default: the drill's start) to the secret pointing at the restored instance
        (with --no-repoint: to the restored instance being ready)."""
        if self.finished_at is None:
            return None
        return as_utc(self.finished_at) - as_utc(self.incident_at or self.started_at)

    @property
    def within_rpo(self) -> bool:
        return self.data_loss <= self.target.rpo

    @property
    def within_rto(self) -> bool | None:
        elapsed = self.elapsed
        return None if elapsed is None else elapsed <= self.target.rto

    @property
    def exit_code(self) -> int:
        if self.check_only:
            return EXIT_OK
        return EXIT_OK if self.within_rpo and self.within_rto else EXIT_OBJECTIVE_MISSED

    @property
    def result(self) -> str:
        if self.check_only:
            return "check only: nothing restored, nothing changed"
        missed = [name for name, ok in (("RPO", self.within_rpo), ("RTO", self.within_rto)) if not ok]
        return "within RPO and RTO" if not missed else f"{' and '.join(missed)} missed"

    def to_json(self) -> dict[str, Any]:
        t = self.target
        elapsed = self.elapsed
        return {
            "environment": t.environment,
            "service": t.service,
            "region": t.region,
            "check_only": self.check_only,
            "source_instance": self.source_instance,
            "restored_instance": self.restored_instance,
            "restored_endpoint": None
            if self.restored_host is None
            else {"host": self.restored_host, "port": self.restored_port},
            "restorable_window": {"earliest": iso(self.earliest_restorable), "latest": iso(self.latest_restorable)},
            "restore_point": iso(self.restore_point),
            "restore_point_is_latest": self.restore_point_is_latest,
            "incident_at": iso(self.incident_at),
            "started_at": iso(self.started_at),
            "restore_requested_at": iso(self.restore_requested_at),
            "available_at": iso(self.available_at),
            "finished_at": iso(self.finished_at),
            "data_loss_seconds": round(self.data_loss.total_seconds(), 3),
            "rpo_seconds": int(t.rpo.total_seconds()),
            "within_rpo": self.within_rpo,
            "elapsed_seconds": None if elapsed is None else round(elapsed.total_seconds(), 3),
            "rto_seconds": int(t.rto.total_seconds()),
            "within_rto": self.within_rto,
            "secret": {
                "name": t.secret_name,
                "repointed": self.repointed and not self.check_only,
                "arn": self.secret_arn,
                "version_id": self.secret_version_id,
                "changed_keys": list(self.secret_changed_keys),
            },
            "notes": list(self.notes),
            "result": self.result,
            "exit_code": self.exit_code,
        }

    def lines(self) -> list[str]:
        t = self.target

        def verdict(ok: bool | None) -> str:
            return "-" if ok is None else ("ok" if ok else "MISSED")

        restored = self.restored_instance + (" (to be created)" if self.check_only else "")
        point = iso(self.restore_point) + (" (latest restorable)" if self.restore_point_is_latest else "")
        rows = [
            ("source instance", self.source_instance),
            ("restorable window", f"{iso(self.earliest_restorable)} to {iso(self.latest_restorable)}"),
            ("restore point", point),
            ("restored instance", restored),
        ]
        if self.restored_host is not None:
            rows.append(("endpoint", f"{self.restored_host}:{self.restored_port}"))
        secret = t.secret_name
        if not self.repointed and not self.check_only:
            secret += " (not repointed: --no-repoint)"
        if self.secret_version_id:
            secret += (
                f" (new version {self.secret_version_id}: {', '.join(self.secret_changed_keys) or 'no key'} changed)"
            )
        rows.append(("connection secret", secret))
        if self.incident_at is not None:
            rows.append(("incident at", iso(self.incident_at) or ""))
        loss_label = "data loss" + (" (if restored now)" if self.check_only else "")
        rows.append((loss_label, f"{duration(self.data_loss):<10} RPO {duration(t.rpo):<9} {verdict(self.within_rpo)}"))
        rows.append(("elapsed", f"{duration(self.elapsed):<10} RTO {duration(t.rto):<9} {verdict(self.within_rto)}"))
        rows.append(("result", self.result))
        width = max(len(label) for label, _ in rows)
        out = [f"DR drill of {t.platform}/{t.environment} ({t.service}): point-in-time restore in {t.region}"]
        out += [f"  {label:<{width}}  {value}" for label, value in rows]
        out += [f"  note: {note}" for note in self.notes]
        if not self.check_only and not self.repointed:
            out.append(
                f"Next: check the restored instance, then delete it (it has the source's deletion protection): {self.restored_instance}."
            )
        elif not self.check_only:
            out.append(
                "Next: verify the data, restart the readers, then adopt the restored instance into Terraform (README, 'Disaster recovery runbook')."
            )
        return out


# --------------------------------------------------------------------------- AWS


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def boto3_clients(region: str) -> Callable[[str], Any]:
    """A client factory for the region, from boto3's usual environment (credentials, AWS_ENDPOINT_URL, AWS_CA_BUNDLE)."""
    try:
        import boto3
    except ImportError:
        raise DrillRefused(
            "tmsc dr-drill needs boto3, which the compiler does not install: pip install 'tmsc[ops]' (or pip install boto3)"
        ) from None
    session = boto3.session.Session(region_name=region)
    return lambda service: session.client(service)


def _aws_error(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', 'error')}: {err.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"


def _error_code_is(error: Exception, code: str) -> bool:
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == code


def restorable_window(rds: Any, source: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """(earliest, latest) restorable time of the source: its automated backup's RestoreWindow when RDS
    gives one, else from its creation and retention period, up to LatestRestorableTime."""
    latest = source.get("LatestRestorableTime")
    retention = int(source.get("BackupRetentionPeriod") or 0)
    if not retention or latest is None:
        raise DrillRefused(
            f"{source['DBInstanceIdentifier']} has no point-in-time recovery (backup retention {retention} days"
            f"{', no latest restorable time yet' if retention else ''}); nothing to restore from"
        )
    latest = as_utc(latest)
    earliest = max(as_utc(source["InstanceCreateTime"]), latest - dt.timedelta(days=retention))
    backups = rds.describe_db_instance_automated_backups(DBInstanceIdentifier=source["DBInstanceIdentifier"]).get(
        "DBInstanceAutomatedBackups", []
    )
    for backup in backups:
        arn = backup.get("DBInstanceArn")
        mine = (
            arn == source.get("DBInstanceArn")
            if arn
            else backup.get("DBInstanceIdentifier") == source["DBInstanceIdentifier"]
        )
        earliest_time = (backup.get("RestoreWindow") or {}).get("EarliestTime")
        if mine and earliest_time is not None and backup.get("Status", "active") == "active":
            earliest = as_utc(earliest_time)
            break
    return earliest, latest


def describe_instance(rds: Any, identifier: str) -> dict[str, Any] | None:
    db: dict[str, Any]
    try:
        (db,) = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    except Exception as error:
        if _error_code_is(error, "DBInstanceNotFound"):
            return None
        raise
    return db


class WaitStatus(str):
    """A progress message "<instance>: <status>" from a wait, which also says what the wait is for and until when."""

    identifier: str
    status: str
    goal: str
    deadline: dt.datetime

    def __new__(cls, identifier: str, status: str, goal: str, deadline: dt.datetime) -> WaitStatus:
        message = super().__new__(cls, f"{identifier}: {status}")
        message.identifier, message.status, message.goal, message.deadline = identifier, status, goal, deadline
        return message

    @property
    def over(self) -> bool:
        """The wait ends with this status."""
        return self.status == "available"


def wait_available(
    rds: Any,
    identifier: str,
    deadline: dt.datetime,
    poll_interval: float,
    now: Callable[[], dt.datetime],
    sleep: Callable[[float], None],
    progress: Callable[[str], None],
    ready: Callable[[Mapping[str, Any]], bool] = lambda db: True,
    goal: str = "available",
) -> dict[str, Any]:
    """Poll until `identifier` is available (and `ready`); DrillFailed on a status it does not leave or past the deadline.

    Each status it sees is a progress message, a WaitStatus saying what the wait is for (`goal`) and until when.
    """
    last = None
    while True:
        db = describe_instance(rds, identifier)  # may be missing for a moment right after the restore call
        status = db["DBInstanceStatus"] if db else "not visible yet"
        if status == "available" and db is not None and not ready(db):
            status = "available, the modification not yet started"
        if status != last:
            progress(WaitStatus(identifier, status, goal, deadline))
            last = status
        if status == "available":
            assert db is not None
            return db
        if status in FAILED_STATUSES:
            raise DrillFailed(
                f"{identifier} is {status}: the restore failed (see its RDS events)", {"restored_instance": identifier}
            )
        if now() >= deadline:
            raise DrillFailed(
                f"{identifier} is still {status} at the deadline {iso(deadline)} (--timeout)",
                {"restored_instance": identifier},
            )
        sleep(poll_interval)


def restore_into_free_name(
    rds: Any,
    source: Mapping[str, Any],
    point: dt.datetime,
    candidates: list[str],
    first: str,
    progress: Callable[[str], None],
) -> str:
    """Start the restore into `first`, or into the next free candidate if another drill took it meanwhile.

    The check before the restore and the restore itself are two calls: a drill racing this one may take
    the name in between. RDS then refuses with DBInstanceAlreadyExists and nothing was created.
    """
    for name in candidates[candidates.index(first) :]:
        progress(f"restoring {source['DBInstanceIdentifier']} as of {iso(point)} into {name}")
        try:
            rds.restore_db_instance_to_point_in_time(**restore_request(source, name, point))
        except Exception as error:
            if _error_code_is(error, "DBInstanceAlreadyExists"):
                progress(f"{name} was taken meanwhile, trying the next name")
                continue
            raise
        return name
    raise DrillRefused(
        f"{len(candidates)} DB instances named like {candidates[0]} exist already: delete the old drills' copies"
    )


def run_drill(
    target: DrillTarget,
    *,
    restore_to: dt.datetime | None = None,
    incident_at: dt.datetime | None = None,
    check_only: bool = False,
    repoint: bool = True,
    poll_interval: float = 30.0,
    timeout: float | None = None,
    clients: Callable[[str], Any] | None = None,
    now: Callable[[], dt.datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] = lambda message: None,
) -> DrillReport:
    """Perform the drill (see the module docstring). DrillRefused: nothing changed; DrillFailed: part done."""
    started_at = now()
    if incident_at is not None and as_utc(incident_at) > started_at:
        raise DrillRefused(f"--incident-at {iso(incident_at)} is in the future")
    make = clients or boto3_clients(target.region)

    # ---- read-only checks: any failure here changes nothing
    try:
        rds, secrets = make("rds"), make("secretsmanager")
        source = describe_instance(rds, target.instance)
        if source is None:
            raise DrillRefused(
                f"no DB instance {target.instance} in {target.region}: is the environment applied, and are the credentials for its account?"
            )
        earliest, latest = restorable_window(rds, source)
        window_read_at = now()
        point = choose_restore_point(restore_to, earliest, latest, target.instance, incident_at)
        # Never a name that exists: two drills started in the same second take the next free one. --check
        # reports the name a drill would take now; a name is only ever taken, never refused.
        candidates = restored_identifiers(target.instance, started_at)
        restored_id = first_free_identifier(rds, candidates, target.instance)
        secret = secrets.describe_secret(SecretId=target.secret_name)
        current = secrets.get_secret_value(SecretId=secret["ARN"])
        value = json.loads(current.get("SecretString") or "null")
        if not isinstance(value, dict) or "host" not in value:
            raise DrillRefused(
                f"the secret {target.secret_name} is not a JSON object with a 'host' key, as tmsc writes it"
            )
    except DrillRefused:
        raise
    except Exception as error:  # botocore's ClientError, NoCredentialsError, EndpointConnectionError, ...
        raise DrillRefused(
            f"reading {target.instance} and {target.secret_name} failed, nothing was changed: {_aws_error(error)}"
        ) from None

    report = DrillReport(
        target=target,
        source_instance=target.instance,
        restored_instance=restored_id,
        earliest_restorable=earliest,
        latest_restorable=latest,
        restore_point=point,
        window_read_at=window_read_at,
        started_at=started_at,
        incident_at=incident_at,
        check_only=check_only,
        secret_arn=secret["ARN"],
    )
    if check_only:
        return report

    # ---- the restore
    created: dict[str, Any] = {}
    deadline = started_at + (dt.timedelta(seconds=timeout) if timeout is not None else target.rto)
    try:
        requested_at = now()
        restored_id = restore_into_free_name(rds, source, point, candidates, restored_id, progress)
        created["restored_instance"] = restored_id
        report = attrs.evolve(report, restored_instance=restored_id)
        restored = wait_available(rds, restored_id, deadline, poll_interval, now, sleep, progress)
        available_at = now()
        changes = follow_up_modification(source, restored)
        if changes:
            progress(f"{restored_id}: setting {', '.join(k for k in changes if k != 'ApplyImmediately')}")
            rds.modify_db_instance(DBInstanceIdentifier=restored_id, **changes)
            restored = wait_available(
                rds,
                restored_id,
                deadline,
                poll_interval,
                now,
                sleep,
                progress,
                ready=lambda db: modification_applied(changes, db),
                goal="the new settings",
            )
        notes = [f"restored instance differs: {difference}" for difference in setting_differences(source, restored)]
        password_secret = (restored.get("MasterUserSecret") or {}).get("SecretArn")
        if "password_secret_arn" in value and not password_secret:
            notes.append(
                "the restored instance has no RDS-managed password secret: password_secret_arn still names the source's"
            )
        endpoint = restored.get("Endpoint") or {}
        host, port = endpoint.get("Address"), int(endpoint.get("Port") or source["Endpoint"]["Port"])
        if not host:
            raise DrillFailed(f"{restored_id} is available but has no endpoint address", created)
        new_value, changed = repoint_secret(value, host, port, restored_id, password_secret)
        version_id = None
        if repoint:
            progress(f"repointing {target.secret_name} at {host}:{port}")
            put = secrets.put_secret_value(SecretId=secret["ARN"], SecretString=json.dumps(new_value))
            version_id = put.get("VersionId")
            created["secret_version_id"] = version_id
        finished_at = now()
    except DrillRefused:  # every name taken by racing drills: the restore never started
        raise
    except DrillFailed as failure:
        failure.created.update(created)
        raise
    except Exception as error:
        raise DrillFailed(f"{_aws_error(error)}", created) from None
    return attrs.evolve(
        report,
        restore_requested_at=requested_at,
        available_at=available_at,
        finished_at=finished_at,
        restored_host=host,
        restored_port=port,
        repointed=repoint,
        secret_version_id=version_id,
        secret_changed_keys=tuple(changed) if repoint else (),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- the command


def elapsed_text(seconds: float) -> str:
    """12s, 3m07s, 1h05m: the elapsed time of a progress line, as terraform prints it."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class ProgressWriter:
    """`tmsc dr-drill`'s progress on stderr, each line ending with the time since the drill started.

    `dr-drill: <message> [3m12s elapsed]`; a status seen while waiting also says what for and until when:
    `dr-drill: tms-prod-database-r…: creating (waiting for available; deadline 14:05Z) [3m12s elapsed]`.
    On a terminal that line is rewritten in place every second while the wait lasts (`sleep` replaces
    the drill's sleep between polls); anywhere else (a pipe, a CI log) each status is one plain line, and
    a wait longer than `heartbeat` seconds repeats it ("still creating") that often, with no carriage return.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool | None = None,
        width: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = utcnow,
        heartbeat: float = 300.0,
    ):
        self.stream = stream
        self.tty = _is_terminal(stream) if tty is None else tty
        self.width = width
        self.clock = clock
        self.pause = pause
        self.now = now
        self.heartbeat = heartbeat
        self.started = clock()
        self._waiting: WaitStatus | None = None
        self._last_line_at = self.started
        self._live = False  # a rewritten line is on screen, not yet ended

    def __call__(self, message: str) -> None:
        self._end_live()
        self._waiting = message if isinstance(message, WaitStatus) and not message.over else None
        self._show(self._text(message))

    def sleep(self, seconds: float) -> None:
        """The pause between two polls: on a terminal the waiting line's times go on; in a pipe a heartbeat."""
        end = self.clock() + seconds
        while (left := end - self.clock()) > 0:
            self.pause(min(left, 1.0) if self._waiting is not None else left)
            waiting = self._waiting
            if waiting is None:
                continue
            if self.tty:
                self._show(self._text(waiting))
            elif self.clock() - self._last_line_at >= self.heartbeat:
                self._show(self._text(f"{waiting.identifier}: still {waiting.status}", waiting))

    def close(self) -> None:
        """End a line rewritten in place (before the report, or an error, is written)."""
        self._end_live()
        self._waiting = None

    def _text(self, message: str, waiting: WaitStatus | None = None) -> str:
        waiting = waiting or (message if isinstance(message, WaitStatus) else None)
        text = f"dr-drill: {message}"
        if waiting is not None and not waiting.over:
            deadline = as_utc(waiting.deadline)
            when = f"{deadline:%H:%M}Z" if deadline.date() == self.now().date() else f"{deadline:%Y-%m-%d %H:%M}Z"
            text += f" (waiting for {waiting.goal}; deadline {when})"
        return f"{text} [{elapsed_text(self.clock() - self.started)} elapsed]"

    def _show(self, text: str) -> None:
        if self.tty and self._waiting is not None:
            width = self.width or _terminal_width(self.stream)
            if len(text) >= width:  # never wrap: a carriage return rewrites the last row only
                head, _, tail = text.rpartition(" [")
                text = head[: max(width - len(tail) - 4, 1)] + "… [" + tail
            self.stream.write("\r" + text[: width - 1] + "\x1b[K")
            self._live = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._last_line_at = self.clock()

    def _end_live(self) -> None:
        if self._live:
            self.stream.write("\n")
            self.stream.flush()
            self._live = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def _terminal_width(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 100
    return columns if columns > 0 else 100  # a pseudo-terminal nobody sized says 0


def drill_command(
    platform: Platform,
    env: str,
    *,
    to: str | None = None,
    incident_at: str | None = None,
    check_only: bool = False,
    repoint: bool = True,
    as_json: bool = False,
    poll_interval: float = 30.0,
    timeout: float | None = None,
    clients: Callable[[str], Any] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """`tmsc dr-drill`: run, print the report (or the refusal), return the exit code."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    progress = ProgressWriter(err)
    try:
        target = drill_target(platform, env)
        restore_to = parse_time(to, "--to") if to is not None else None
        incident = parse_time(incident_at, "--incident-at") if incident_at is not None else None
        try:
            report = run_drill(
                target,
                restore_to=restore_to,
                incident_at=incident,
                check_only=check_only,
                repoint=repoint,
                poll_interval=poll_interval,
                timeout=timeout,
                clients=clients,
                sleep=progress.sleep,
                progress=progress,
            )
        finally:
            progress.close()
    except DrillRefused as refusal:
        err.write(f"error: {refusal}\nnothing was changed.\n")
        if as_json:
            out.write(
                json.dumps({"result": "refused", "error": str(refusal), "exit_code": EXIT_REFUSED}, indent=2) + "\n"
            )
        return EXIT_REFUSED
    except DrillFailed as failure:
        exists = ", ".join(f"{k} {v}" for k, v in failure.created.items() if v) or "nothing"
        secret = "repointed" if failure.created.get("secret_version_id") else "not changed"
        err.write(
            f"error: the drill failed part way: {failure}\nexists now: {exists}; the connection secret was {secret}.\n"
        )
        if as_json:
            out.write(
                json.dumps(
                    {"result": "failed", "error": str(failure), "created": failure.created, "exit_code": EXIT_FAILED},
                    indent=2,
                )
                + "\n"
            )
        return EXIT_FAILED
    if as_json:
        out.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        out.write("\n".join(report.lines()) + "\n")
    return report.exit_code
