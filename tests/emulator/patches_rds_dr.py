"""RDS disaster-recovery APIs for moto 5.2.5: cross-Region automated backup
replication, and point-in-time restore as `tmsc dr-drill` uses it.

Kept apart from patches.py (same style: the docstring says what AWS does and
why the patch matches it); ``apply_patches()`` there calls
``apply_rds_backup_replication_patch()``, which applies every patch of this
module (``apply_rds_dr_patches()``).
"""

from __future__ import annotations

import datetime as _dt
import secrets
import string
import threading
from typing import Any

_lock = threading.Lock()
_applied = False

_ACTIVE = ("pending", "replicating")


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _backup_arn_suffix() -> str:
    alphabet = string.ascii_lowercase + "234567"  # base32, lower-case as AWS prints it
    return "ab-" + "".join(secrets.choice(alphabet) for _ in range(38))


def _records(backend: Any) -> dict[str, dict[str, Any]]:
    """Replicated backups held in ``backend``'s Region, by ARN. Kept on the
    backend object, so a moto reset (new backends) forgets them too."""
    store = getattr(backend, "_tmsc_replicated_backups", None)
    if store is None:
        store = {}
        backend._tmsc_replicated_backups = store
    return store


def _view(rec: dict[str, Any]) -> dict[str, Any]:
    """The DBInstanceAutomatedBackup shape of a record (no private keys)."""
    return {k: v for k, v in rec.items() if not k.startswith("_") and v is not None}


def apply_rds_backup_replication_patch() -> None:
    """StartDBInstanceAutomatedBackupsReplication, StopDBInstanceAutomatedBackupsReplication,
    DeleteDBInstanceAutomatedBackup and replicated backups in DescribeDBInstanceAutomatedBackups.

    AWS (RDS API reference): StartDBInstanceAutomatedBackupsReplication is
    called in the *destination* Region with ``SourceDBInstanceArn`` (an
    instance in another Region), ``BackupRetentionPeriod`` (default 7) and, for
    an encrypted source, ``KmsKeyId`` (a key in the destination Region). It
    returns a ``DBInstanceAutomatedBackup`` owned by the destination Region
    (``DBInstanceAutomatedBackupsArn`` =
    ``arn:aws:rds:<dest>:<account>:auto-backup:ab-…``) that describes the
    source (``DBInstanceArn``, ``DbiResourceId``, ``Region`` = source Region,
    ``DBInstanceIdentifier``, engine, storage, ``Encrypted``, ``KmsKeyId``,
    ``RestoreWindow``) with ``Status`` ``pending``, then ``replicating``. The
    source instance lists it in ``DBInstanceAutomatedBackupsReplications``
    (DescribeDBInstances in the source Region). Errors: unknown source
    ``DBInstanceNotFound``; source without automated backups or already
    replicating to this Region ``InvalidDBInstanceState``; key not usable
    ``KMSKeyNotAccessibleFault``.

    StopDBInstanceAutomatedBackupsReplication (destination Region) ends the
    replication: the source no longer lists it, and the replicated backup is
    kept (``Status`` ``retained``) for its retention period; without an active
    replication it fails with ``InvalidDBInstanceState`` "… is not replicating
    to the current region". DeleteDBInstanceAutomatedBackup deletes a retained
    backup (``InvalidDBInstanceAutomatedBackupState`` while it replicates).
    DescribeDBInstanceAutomatedBackups in the destination Region returns the
    replicated backups, honours ``DBInstanceAutomatedBackupsArn``,
    ``DbiResourceId``, ``DBInstanceIdentifier`` and the ``db-instance-id``,
    ``dbi-resource-id``, ``region``, ``status`` filters, and fails with
    ``DBInstanceAutomatedBackupNotFound`` when an ARN or resource id names no
    backup. Deleting the source instance leaves its replicated backups
    ``retained``.

    moto 5.2.5 implements none of Start/Stop/Delete (HTTP 500), and its
    Describe ignores ``DBInstanceAutomatedBackupsArn``. The AWS provider's
    ``aws_db_instance_automated_backups_replication`` calls Start, waits on
    Describe by ARN for ``replicating`` (``retained`` counts as gone), reads
    ``KmsKeyId``/``BackupRetentionPeriod``/``DBInstanceArn`` back, and on
    delete calls Stop then polls the source instance until it no longer lists
    the ARN. ``PreSignedUrl`` (GovCloud only) is accepted and ignored, as AWS
    does elsewhere. What the emulator cannot know (restore window contents) is
    a synthetic window from the replication's start to now.
    """
    apply_rds_dr_patches()


def apply_rds_dr_patches() -> None:
    """Every patch of this module, once: backup replication (above) and
    point-in-time restore (``_patch_point_in_time_restore``)."""
    global _applied
    with _lock:
        if _applied:
            return
        _patch()
        _patch_point_in_time_restore()
        _applied = True


def _patch() -> None:
    from moto.core.responses import ActionResult
    from moto.rds import models as rds_models
    from moto.rds.exceptions import DBInstanceNotFoundError, RDSClientError
    from moto.rds.models import rds_backends
    from moto.rds.responses import RDSResponse

    def err(code: str, message: str) -> RDSClientError:
        return RDSClientError(code, message)

    def parse_instance_arn(value: str) -> tuple[str, str, str]:
        parts = (value or "").split(":", 6)
        if len(parts) != 7 or parts[0] != "arn" or parts[2] != "rds" or parts[5] != "db":
            raise err("InvalidParameterValue", f"Invalid SourceDBInstanceArn: {value!r} is not a DB instance ARN.")
        return parts[3], parts[4], parts[6]  # region, account, identifier

    def resolve_kms_key(account: str, region: str, key_id: str) -> str:
        from moto.kms.models import kms_backends

        kms = kms_backends[account][region]
        try:
            key = kms.describe_key(key_id)
        except Exception:
            key = None
        if key is None or getattr(key, "key_state", "Enabled") not in ("Enabled",):
            raise err(
                "KMSKeyNotAccessibleFault",
                f"The specified KMS key [{key_id}] does not exist, is not enabled or you do "
                f"not have permissions to access it in region {region}.",
            )
        return key.arn

    def source_replications(db: Any) -> list[dict[str, Any]]:
        current = getattr(db, "db_instance_automated_backups_replications", None)
        if current is None:
            current = []
            db.db_instance_automated_backups_replications = current
        return current

    def drop_from_source(rec: dict[str, Any]) -> None:
        src = rds_backends[rec["_account"]][rec["Region"]].databases.get(rec["DBInstanceIdentifier"])
        if src is not None and src.arn == rec["DBInstanceArn"]:
            reps = source_replications(src)
            reps[:] = [r for r in reps if r["DBInstanceAutomatedBackupsArn"] != rec["DBInstanceAutomatedBackupsArn"]]
            src._tmsc_replica_regions = [  # type: ignore[attr-defined]  # this patch's own attribute on moto's DBInstance
                r for r in getattr(src, "_tmsc_replica_regions", []) if r != rec["_dest_region"]
            ]

    def touch(rec: dict[str, Any]) -> None:
        """pending -> replicating once seen after the call that started it;
        the restore window's latest time follows the clock while replicating."""
        if rec["Status"] == "pending" and rec["_seen"]:
            rec["Status"] = "replicating"
        rec["_seen"] = True
        if rec["Status"] == "replicating":
            rec["RestoreWindow"]["LatestTime"] = _now()

    # -- responses ---------------------------------------------------------
    def start_db_instance_automated_backups_replication(self: Any) -> ActionResult:
        account, dest_region = self.current_account, self.region
        source_arn = self.params.get("SourceDBInstanceArn")
        src_region, src_account, src_id = parse_instance_arn(source_arn)
        if src_account != account:
            raise DBInstanceNotFoundError(source_arn)
        if src_region == dest_region:
            raise err(
                "InvalidParameterValue",
                "The source DB instance must be in a different Region than the replicated automated backups.",
            )
        src = rds_backends[account][src_region].databases.get(src_id)
        if src is None:
            raise DBInstanceNotFoundError(src_id)
        if not int(getattr(src, "backup_retention_period", 0) or 0):
            raise err("InvalidDBInstanceState", f"Automated backups are not enabled for DB instance {src_id}.")
        retention = self.params.get("BackupRetentionPeriod")
        retention = 7 if retention in (None, "") else int(retention)
        if not 1 <= retention <= 35:
            raise err("InvalidParameterValue", "BackupRetentionPeriod must be between 1 and 35.")
        encrypted = bool(getattr(src, "storage_encrypted", False))
        kms_key_id = self.params.get("KmsKeyId")
        if kms_key_id:
            kms_key_id = resolve_kms_key(account, dest_region, kms_key_id)
        elif encrypted:
            raise err(
                "InvalidParameterCombination",
                "KmsKeyId is required to replicate the automated backups of an encrypted DB instance.",
            )
        records = _records(self.backend)
        for other in records.values():
            if other["DBInstanceArn"] == src.arn and other["Status"] in _ACTIVE:
                raise err(
                    "InvalidDBInstanceState",
                    f"DB instance {src_id} is already replicating automated backups to region {dest_region}.",
                )
        partition = src.arn.split(":")[1]
        backup_arn = f"arn:{partition}:rds:{dest_region}:{account}:auto-backup:{_backup_arn_suffix()}"
        started = _now()
        subnet_group = getattr(src, "db_subnet_group", None)
        rec: dict[str, Any] = {
            "DBInstanceArn": src.arn,
            "DbiResourceId": src.dbi_resource_id,
            "Region": src_region,
            "DBInstanceIdentifier": src.db_instance_identifier,
            "RestoreWindow": {"EarliestTime": started, "LatestTime": started},
            "AllocatedStorage": getattr(src, "allocated_storage", None),
            "Status": "pending",
            "Port": getattr(src, "port", None),
            "AvailabilityZone": getattr(src, "availability_zone", None),
            "VpcId": getattr(subnet_group, "vpc_id", None),
            "InstanceCreateTime": getattr(src, "instance_create_time", None),
            "MasterUsername": getattr(src, "master_username", None),
            "Engine": src.engine,
            "EngineVersion": getattr(src, "engine_version", None),
            "LicenseModel": getattr(src, "license_model", None),
            "Iops": getattr(src, "iops", None),
            "StorageThroughput": getattr(src, "storage_throughput", None),
            "OptionGroupName": getattr(src, "option_group_name", None),
            "Encrypted": encrypted,
            "StorageType": getattr(src, "storage_type", None),
            "KmsKeyId": kms_key_id or None,
            "IAMDatabaseAuthenticationEnabled": bool(getattr(src, "enable_iam_database_authentication", False)),
            "BackupRetentionPeriod": retention,
            "PreferredBackupWindow": getattr(src, "preferred_backup_window", None),
            "DBInstanceAutomatedBackupsArn": backup_arn,
            "BackupTarget": "region",
            "TagList": list(self.params.get("Tags") or []),
            "_account": account,
            "_dest_region": dest_region,
            "_seen": False,
        }
        records[backup_arn] = rec
        source_replications(src).append({"DBInstanceAutomatedBackupsArn": backup_arn})
        src._tmsc_replica_regions = [*getattr(src, "_tmsc_replica_regions", []), dest_region]  # type: ignore[attr-defined]
        return ActionResult({"DBInstanceAutomatedBackup": _view(rec)})

    def stop_db_instance_automated_backups_replication(self: Any) -> ActionResult:
        source_arn = self.params.get("SourceDBInstanceArn")
        src_region, src_account, src_id = parse_instance_arn(source_arn)
        records = _records(self.backend)
        active = [r for r in records.values() if r["DBInstanceArn"] == source_arn and r["Status"] in _ACTIVE]
        if not active:
            if src_account != self.current_account or src_id not in rds_backends[src_account][src_region].databases:
                raise DBInstanceNotFoundError(src_id)
            raise err("InvalidDBInstanceState", f"DB instance {src_id} is not replicating to the current region.")
        rec = active[0]
        rec["Status"] = "retained"
        drop_from_source(rec)
        return ActionResult({"DBInstanceAutomatedBackup": _view(rec)})

    def delete_db_instance_automated_backup(self: Any) -> ActionResult:
        arn = self.params.get("DBInstanceAutomatedBackupsArn")
        resource_id = self.params.get("DbiResourceId")
        records = _records(self.backend)
        found = [
            r
            for r in records.values()
            if (arn and r["DBInstanceAutomatedBackupsArn"] == arn)
            or (resource_id and r["DbiResourceId"] == resource_id)
        ]
        if not found:
            raise err("DBInstanceAutomatedBackupNotFound", f"Automated backup {arn or resource_id} not found.")
        rec = found[0]
        if rec["Status"] in _ACTIVE:
            raise err(
                "InvalidDBInstanceAutomatedBackupState",
                "The automated backup cannot be deleted while it is replicating; stop the replication first.",
            )
        del records[rec["DBInstanceAutomatedBackupsArn"]]
        return ActionResult({"DBInstanceAutomatedBackup": {**_view(rec), "Status": "deleting"}})

    original_describe = RDSResponse.describe_db_instance_automated_backups

    def describe_db_instance_automated_backups(self: Any) -> Any:
        arn = self.params.get("DBInstanceAutomatedBackupsArn")
        resource_id = self.params.get("DbiResourceId")
        instance_id = self.params.get("DBInstanceIdentifier")
        filters = {f["Name"]: list(f.get("Values") or []) for f in self.params.get("Filters") or []}
        replicated = []
        for rec in _records(self.backend).values():
            if arn and rec["DBInstanceAutomatedBackupsArn"] != arn:
                continue
            if resource_id and rec["DbiResourceId"] != resource_id:
                continue
            if instance_id and rec["DBInstanceIdentifier"] != instance_id:
                continue
            touch(rec)
            checks = {
                "db-instance-id": (rec["DBInstanceIdentifier"], rec["DBInstanceArn"]),
                "dbi-resource-id": (rec["DbiResourceId"],),
                "region": (rec["Region"],),
                "status": (rec["Status"],),
            }
            if any(name in checks and not set(vals) & set(checks[name]) for name, vals in filters.items()):
                continue
            replicated.append(_view(rec))
        if arn or resource_id:
            # A specific backup: only replicated ones carry an ARN here (moto's
            # own local backups have none); AWS fails when none matches.
            if not replicated:
                raise err("DBInstanceAutomatedBackupNotFound", f"No automated backup found for {arn or resource_id}.")
            return ActionResult({"DBInstanceAutomatedBackups": replicated})
        local = original_describe(self).result
        assert isinstance(local, dict), local
        local_list = [_local_backup_view(self.backend, b) for b in local.get("DBInstanceAutomatedBackups") or []]
        return ActionResult({"DBInstanceAutomatedBackups": local_list + replicated})

    RDSResponse.start_db_instance_automated_backups_replication = (  # type: ignore[attr-defined]
        start_db_instance_automated_backups_replication
    )
    RDSResponse.stop_db_instance_automated_backups_replication = (  # type: ignore[attr-defined]
        stop_db_instance_automated_backups_replication
    )
    RDSResponse.delete_db_instance_automated_backup = (  # type: ignore[attr-defined]
        delete_db_instance_automated_backup
    )
    RDSResponse.describe_db_instance_automated_backups = (  # type: ignore[method-assign]
        describe_db_instance_automated_backups
    )

    # Deleting a source instance leaves its replicated backups retained.
    backend_cls = rds_models.RDSBackend
    original_delete = backend_cls.delete_db_instance

    def delete_db_instance(self: Any, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
        db = self.databases.get(db_instance_identifier)
        regions = list(getattr(db, "_tmsc_replica_regions", []) or []) if db is not None else []
        arn = db.arn if db is not None else None
        result = original_delete(self, db_instance_identifier, *args, **kwargs)
        for region in set(regions):
            for rec in _records(rds_backends[self.account_id][region]).values():
                if rec["DBInstanceArn"] == arn and rec["Status"] in _ACTIVE:
                    rec["Status"] = "retained"
        return result

    delete_db_instance.__wrapped__ = original_delete  # type: ignore[attr-defined]
    delete_db_instance.__tmsc_patched__ = True  # type: ignore[attr-defined]
    backend_cls.delete_db_instance = delete_db_instance  # type: ignore[method-assign]


# ---------------------------------------------------------------------------
# Point-in-time restore
# ---------------------------------------------------------------------------

# What DescribeDBInstances reports of a restored instance before "available":
# AWS builds it ("creating"), then takes its first backup ("backing-up").
RESTORE_STATUSES = ("creating", "backing-up")
# The RDS event AWS records for a point-in-time restore (RDS-EVENT-0019).
RESTORE_EVENT = "DB_INSTANCE_RESTORE_POINT_IN_TIME"


def _utc(value: Any) -> _dt.datetime:
    """An aware UTC datetime from moto's naive-UTC datetimes or an ISO 8601 string."""
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=_dt.UTC)
    return value.astimezone(_dt.UTC)


def restorable_window(db: Any) -> tuple[_dt.datetime, _dt.datetime] | None:
    """(earliest, latest) restorable time of a moto DB instance, as the patched
    emulator reports it; None without automated backups (retention 0)."""
    retention = int(getattr(db, "backup_retention_period", 0) or 0)
    if not retention:
        return None
    latest = _now()
    earliest = max(_utc(db.instance_create_time), latest - _dt.timedelta(days=retention))
    return earliest, latest


def _local_backup_view(backend: Any, backup: Any) -> dict[str, Any]:
    """The DBInstanceAutomatedBackup shape of one of moto's own (same-Region)
    automated backups, with what AWS returns of it (see the docstring of
    _patch_point_in_time_restore)."""
    identifier = backup.db_instance_identifier
    view: dict[str, Any] = {"DBInstanceIdentifier": identifier, "Status": backup.status}
    db = backend.databases.get(identifier)
    if db is None:
        return view
    window = restorable_window(db)
    view.update(
        {
            "DBInstanceArn": db.arn,
            "DbiResourceId": db.dbi_resource_id,
            "Region": db.region,
            "RestoreWindow": {"EarliestTime": window[0], "LatestTime": window[1]} if window else None,
            "AllocatedStorage": getattr(db, "allocated_storage", None),
            "Port": getattr(db, "port", None),
            "InstanceCreateTime": _utc(db.instance_create_time),
            "MasterUsername": getattr(db, "master_username", None),
            "Engine": db.engine,
            "EngineVersion": getattr(db, "engine_version", None),
            "Encrypted": bool(getattr(db, "storage_encrypted", False)),
            "KmsKeyId": getattr(db, "kms_key_id", None),
            "StorageType": getattr(db, "storage_type", None),
            "IAMDatabaseAuthenticationEnabled": bool(getattr(db, "enable_iam_database_authentication", False)),
            "BackupRetentionPeriod": getattr(db, "backup_retention_period", None),
            "PreferredBackupWindow": getattr(db, "preferred_backup_window", None),
            "BackupTarget": "region",
        }
    )
    return {k: v for k, v in view.items() if v is not None}


def _patch_point_in_time_restore() -> None:
    """RestoreDBInstanceToPointInTime, LatestRestorableTime and the restorable
    window, as AWS answers them.

    AWS (RDS API reference, RestoreDBInstanceToPointInTime): restores the
    source's data as of ``RestoreTime`` — any time from the earliest restorable
    time (the start of the backup retention period, or the instance's
    creation) to ``LatestRestorableTime`` — or as of the latest restorable time
    with ``UseLatestRestorableTime``; naming both is refused
    (``InvalidParameterCombination``), a source without automated backups
    (retention 0) too (``PointInTimeRestoreNotEnabled``), an identifier in use
    as well (``DBInstanceAlreadyExists``). A time outside the window is
    refused with HTTP 400 (the exact code is not documented; here
    ``InvalidParameterValue``). "The target database is created with most of
    the original configuration, but ... with the default security group, the
    default subnet group, and the default DB parameter group ... as a
    single-AZ deployment": what the request does not name is AWS's default,
    not the source's — ``DBSubnetGroupName`` (default subnet group),
    ``VpcSecurityGroupIds`` (the default security group of the subnet
    group's VPC), ``DBParameterGroupName`` (the engine's default group),
    ``MultiAZ``, ``EnableIAMDatabaseAuthentication``, ``DeletionProtection``,
    ``PubliclyAccessible`` and ``CopyTagsToSnapshot`` (off),
    ``EnableCloudwatchLogsExports`` (none). Enhanced monitoring is not a
    restore parameter (off until ModifyDBInstance), and neither is a managed
    master password outside RDS for Oracle: the restored instance has the
    source's password as of the restore time and no ``MasterUserSecret``
    until ModifyDBInstance ``ManageMasterUserPassword`` (the AWS provider
    does exactly that after a restore). Storage encryption and its KMS key
    are the source's. The new instance is ``creating``, then
    ``backing-up``, then ``available``; RDS records the restore as an event
    of category ``restoration`` (RDS-EVENT-0019) naming the source and the
    new instance (the emulator's text: "Restored from DB instance <source>
    to <target>."). DescribeDBInstanceAutomatedBackups returns the
    instance's backup with ``DBInstanceArn``, ``DbiResourceId``, ``Region``
    and ``RestoreWindow`` (``EarliestTime``, ``LatestTime``);
    ``LatestRestorableTime`` is a UTC timestamp, absent without backups.

    moto 5.2.5 ignores ``RestoreTime`` and ``UseLatestRestorableTime`` (no
    window, no check, nothing recorded), copies every setting of the source
    onto the new instance (subnet group, security groups, parameter group,
    Multi-AZ, IAM authentication, deletion protection, monitoring, log
    exports, a new managed master secret) — so a restore that forgets them
    looks right — reports the source as its ``ReadReplicaSourceDBInstanceIdentifier``
    (the AWS provider then reads ``replicate_source_db`` and an adopted
    instance would be promoted), reports it ``available`` at once, records no event,
    returns its local automated backups with only identifier and status, and
    gives ``LatestRestorableTime`` without a time zone (clients read it as
    local time) and even without backups.

    The patch keeps moto's restore and then applies AWS's defaults for what
    the request did not name, checks the parameters and the window, scripts
    the status (``creating`` on the first DescribeDBInstances, ``backing-up``
    on the second, then ``available``), records the event, and keeps what
    the request asked (``_tmsc_restore`` on the instance: source, restore
    time, latest or not — what CloudTrail would show) for tests to read.
    Not modelled: ``LatestRestorableTime`` lags real time by up to five
    minutes on AWS (log upload interval); here it is the current time, and
    the window's earliest time is the instance's creation (or the start of
    the retention period) since moto keeps no backups to restore from.
    Restores from ``SourceDbiResourceId`` or a replicated backup ARN are left
    as moto has them, and so are tags (moto copies the source's; the drill
    names them).
    """
    from moto.ec2.models import ec2_backends
    from moto.rds import models as rds_models
    from moto.rds.exceptions import (
        DBInstanceAlreadyExists,
        InvalidParameterCombination,
        InvalidParameterValue,
        RDSClientError,
    )
    from moto.rds.responses import RDSResponse

    instance_cls = rds_models.DBInstance
    backend_cls = rds_models.RDSBackend

    def latest_restorable_time(self: Any) -> _dt.datetime | None:
        return _now() if int(getattr(self, "backup_retention_period", 0) or 0) else None

    instance_cls.latest_restorable_time = property(latest_restorable_time)  # type: ignore[assignment,method-assign]

    rds_models.Event.EVENT_MAP[RESTORE_EVENT] = {
        "Categories": ["restoration"],
        "Message": "Restored from DB instance",
    }

    original_restore = backend_cls.restore_db_instance_to_point_in_time

    def given(overrides: Any, key: str) -> Any:
        value = overrides.get(key)
        return None if value in (None, "", [], {}) else value

    def restore_db_instance_to_point_in_time(
        self: Any, source_db_identifier: str, target_db_identifier: str, overrides: Any
    ) -> Any:
        if not source_db_identifier:
            return original_restore(self, source_db_identifier, target_db_identifier, overrides)
        source = self.describe_db_instances(db_instance_identifier=source_db_identifier)[0]
        restore_time = given(overrides, "restore_time")
        use_latest = bool(overrides.get("use_latest_restorable_time"))
        if restore_time is not None and use_latest:
            raise InvalidParameterCombination("Cannot specify both RestoreTime and UseLatestRestorableTime.")
        window = restorable_window(source)
        if window is None:
            raise RDSClientError(
                "PointInTimeRestoreNotEnabled",
                f"Point-in-time restore is not enabled for DB instance {source_db_identifier}: "
                "its backup retention period is 0.",
            )
        at = window[1] if restore_time is None else _utc(restore_time)
        if not window[0] <= at <= window[1]:
            raise InvalidParameterValue(
                f"The restore time {at.isoformat()} is outside the restorable window of DB "
                f"instance {source_db_identifier}: {window[0].isoformat()} to {window[1].isoformat()}."
            )
        if (target_db_identifier or "").lower() in self.databases:
            raise DBInstanceAlreadyExists()

        new = original_restore(self, source_db_identifier, target_db_identifier, overrides)

        # AWS's defaults for what the request does not name (moto copied the source's).
        if given(overrides, "db_subnet_group_name") is None:
            new._db_subnet_group_name = None
            new.db_subnet_group = None  # type: ignore[assignment]  # moto types it as always set; AWS restores into none
        if given(overrides, "vpc_security_group_ids") is None:
            ec2 = ec2_backends[self.account_id][self.region_name]
            subnet_group = getattr(new, "db_subnet_group", None)
            vpc_id = subnet_group.vpc_id if subnet_group is not None else ec2.default_vpc.id
            default_group = ec2.get_default_security_group(vpc_id)
            assert default_group is not None, vpc_id  # moto creates one with every VPC
            new.vpc_security_group_ids = [default_group.id]
        if given(overrides, "db_parameter_group_name") is None:
            new.db_parameter_group_name = None
        for attribute, parameter in (
            ("multi_az", "multi_az"),
            ("enable_iam_database_authentication", "enable_iam_database_authentication"),
            ("deletion_protection", "deletion_protection"),
            ("publicly_accessible", "publicly_accessible"),
            ("copy_tags_to_snapshot", "copy_tags_to_snapshot"),
        ):
            setattr(new, attribute, bool(overrides.get(parameter)))
        new.enabled_cloudwatch_logs_exports = list(given(overrides, "enable_cloudwatch_logs_exports") or [])
        new.monitoring_interval = 0
        new.monitoring_role_arn = None
        # moto stored the request's SourceDBInstanceIdentifier as a read-replica source.
        new.source_db_instance_identifier = None
        if not str(new.engine).startswith("oracle") and hasattr(new, "master_user_secret"):
            new.master_user_secret.delete_secret()
            del new.master_user_secret
            new.manage_master_user_password = False

        new.status = RESTORE_STATUSES[0]
        # This patch's own attributes on moto's DBInstance.
        new._tmsc_pending_statuses = list(RESTORE_STATUSES)  # type: ignore[attr-defined]
        new._tmsc_restore = {  # type: ignore[attr-defined]
            "source": source.db_instance_identifier,
            "source_arn": source.arn,
            "restore_time": at,
            "use_latest_restorable_time": use_latest,
            "window": window,
        }
        new.add_event(RESTORE_EVENT)
        self.events[
            -1
        ].message = f"Restored from DB instance {source.db_instance_identifier} to {new.db_instance_identifier}."
        return new

    restore_db_instance_to_point_in_time.__wrapped__ = original_restore  # type: ignore[attr-defined]
    backend_cls.restore_db_instance_to_point_in_time = (  # type: ignore[method-assign]
        restore_db_instance_to_point_in_time
    )

    original_describe_instances = RDSResponse.describe_db_instances

    def describe_db_instances(self: Any) -> Any:
        identifier = (self.params.get("DBInstanceIdentifier") or "").lower()
        for db in list(self.backend.databases.values()):
            pending = getattr(db, "_tmsc_pending_statuses", None)
            if pending is None or (identifier and db.db_instance_identifier != identifier):
                continue
            if pending:
                db.status = pending.pop(0)
            else:
                db.status = "available"
                del db._tmsc_pending_statuses
        return original_describe_instances(self)

    describe_db_instances.__wrapped__ = original_describe_instances  # type: ignore[attr-defined]
    RDSResponse.describe_db_instances = describe_db_instances  # type: ignore[method-assign]
