"""RDS cross-Region automated backup replication for moto 5.2.5.

Kept apart from patches.py (same style: the docstring says what AWS does and
why the patch matches it); ``apply_patches()`` there calls
``apply_rds_backup_replication_patch()``.
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
    return _dt.datetime.now(_dt.timezone.utc)


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
    global _applied
    with _lock:
        if _applied:
            return
        _patch()
        _applied = True


def _patch() -> None:
    from moto.core.responses import ActionResult
    from moto.rds import models as rds_models
    from moto.rds.exceptions import DBInstanceNotFoundError, RDSClientError
    from moto.rds.responses import RDSResponse
    from moto.rds.models import rds_backends

    def err(code: str, message: str) -> RDSClientError:
        return RDSClientError(code, message)

    def parse_instance_arn(value: str) -> tuple[str, str, str]:
        parts = (value or "").split(":", 6)
        if len(parts) != 7 or parts[0] != "arn" or parts[2] != "rds" or parts[5] != "db":
            raise err("InvalidParameterValue",
                      f"Invalid SourceDBInstanceArn: {value!r} is not a DB instance ARN.")
        return parts[3], parts[4], parts[6]  # region, account, identifier

    def resolve_kms_key(account: str, region: str, key_id: str) -> str:
        from moto.kms.models import kms_backends

        kms = kms_backends[account][region]
        try:
            key = kms.describe_key(key_id)
        except Exception:
            key = None
        if key is None or getattr(key, "key_state", "Enabled") not in ("Enabled",):
            raise err("KMSKeyNotAccessibleFault",
                      f"The specified KMS key [{key_id}] does not exist, is not enabled or you do "
                      f"not have permissions to access it in region {region}.")
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
            src._tmsc_replica_regions = [r for r in getattr(src, "_tmsc_replica_regions", [])
                                         if r != rec["_dest_region"]]

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
            raise err("InvalidParameterValue",
                      "The source DB instance must be in a different Region than the "
                      "replicated automated backups.")
        src = rds_backends[account][src_region].databases.get(src_id)
        if src is None:
            raise DBInstanceNotFoundError(src_id)
        if not int(getattr(src, "backup_retention_period", 0) or 0):
            raise err("InvalidDBInstanceState",
                      f"Automated backups are not enabled for DB instance {src_id}.")
        retention = self.params.get("BackupRetentionPeriod")
        retention = 7 if retention in (None, "") else int(retention)
        if not 1 <= retention <= 35:
            raise err("InvalidParameterValue",
                      "BackupRetentionPeriod must be between 1 and 35.")
        encrypted = bool(getattr(src, "storage_encrypted", False))
        kms_key_id = self.params.get("KmsKeyId")
        if kms_key_id:
            kms_key_id = resolve_kms_key(account, dest_region, kms_key_id)
        elif encrypted:
            raise err("InvalidParameterCombination",
                      "KmsKeyId is required to replicate the automated backups of an "
                      "encrypted DB instance.")
        records = _records(self.backend)
        for rec in records.values():
            if rec["DBInstanceArn"] == src.arn and rec["Status"] in _ACTIVE:
                raise err("InvalidDBInstanceState",
                          f"DB instance {src_id} is already replicating automated backups "
                          f"to region {dest_region}.")
        partition = src.arn.split(":")[1]
        backup_arn = (f"arn:{partition}:rds:{dest_region}:{account}:auto-backup:"
                      f"{_backup_arn_suffix()}")
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
            "IAMDatabaseAuthenticationEnabled": bool(
                getattr(src, "enable_iam_database_authentication", False)),
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
        src._tmsc_replica_regions = [*getattr(src, "_tmsc_replica_regions", []), dest_region]
        return ActionResult({"DBInstanceAutomatedBackup": _view(rec)})

    def stop_db_instance_automated_backups_replication(self: Any) -> ActionResult:
        source_arn = self.params.get("SourceDBInstanceArn")
        src_region, src_account, src_id = parse_instance_arn(source_arn)
        records = _records(self.backend)
        active = [r for r in records.values()
                  if r["DBInstanceArn"] == source_arn and r["Status"] in _ACTIVE]
        if not active:
            if src_account != self.current_account or \
                    src_id not in rds_backends[src_account][src_region].databases:
                raise DBInstanceNotFoundError(src_id)
            raise err("InvalidDBInstanceState",
                      f"DB instance {src_id} is not replicating to the current region.")
        rec = active[0]
        rec["Status"] = "retained"
        drop_from_source(rec)
        return ActionResult({"DBInstanceAutomatedBackup": _view(rec)})

    def delete_db_instance_automated_backup(self: Any) -> ActionResult:
        arn = self.params.get("DBInstanceAutomatedBackupsArn")
        resource_id = self.params.get("DbiResourceId")
        records = _records(self.backend)
        found = [r for r in records.values()
                 if (arn and r["DBInstanceAutomatedBackupsArn"] == arn)
                 or (resource_id and r["DbiResourceId"] == resource_id)]
        if not found:
            raise err("DBInstanceAutomatedBackupNotFound",
                      f"Automated backup {arn or resource_id} not found.")
        rec = found[0]
        if rec["Status"] in _ACTIVE:
            raise err("InvalidDBInstanceAutomatedBackupState",
                      "The automated backup cannot be deleted while it is replicating; stop "
                      "the replication first.")
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
            checks = {"db-instance-id": (rec["DBInstanceIdentifier"], rec["DBInstanceArn"]),
                      "dbi-resource-id": (rec["DbiResourceId"],),
                      "region": (rec["Region"],), "status": (rec["Status"],)}
            if any(name in checks and not set(vals) & set(checks[name])
                   for name, vals in filters.items()):
                continue
            replicated.append(_view(rec))
        if arn or resource_id:
            # A specific backup: only replicated ones carry an ARN here (moto's
            # own local backups have none); AWS fails when none matches.
            if not replicated:
                raise err("DBInstanceAutomatedBackupNotFound",
                          f"No automated backup found for {arn or resource_id}.")
            return ActionResult({"DBInstanceAutomatedBackups": replicated})
        local = original_describe(self)
        local_list = list(local.result.get("DBInstanceAutomatedBackups") or [])
        return ActionResult({"DBInstanceAutomatedBackups": local_list + replicated})

    RDSResponse.start_db_instance_automated_backups_replication = (  # type: ignore[attr-defined]
        start_db_instance_automated_backups_replication)
    RDSResponse.stop_db_instance_automated_backups_replication = (  # type: ignore[attr-defined]
        stop_db_instance_automated_backups_replication)
    RDSResponse.delete_db_instance_automated_backup = (  # type: ignore[attr-defined]
        delete_db_instance_automated_backup)
    RDSResponse.describe_db_instance_automated_backups = (  # type: ignore[method-assign]
        describe_db_instance_automated_backups)

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
