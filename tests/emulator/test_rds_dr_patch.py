"""Cross-Region RDS automated backup replication on the emulator
(tests/emulator/patches_rds_dr.py): a DB instance in eu-west-1 replicating its
automated backups to eu-central-1 through ``aws_db_instance_automated_backups_replication``
on a second provider alias. Apply, re-plan without changes, destroy.

    TMSC_TF_PLUGIN_DIR=/opt/tf-plugins pytest tests/emulator/test_rds_dr_patch.py -q
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.emulator import TerraformWorkspace, start_emulator

pytestmark = pytest.mark.emulator

SOURCE_REGION = "eu-west-1"
DR_REGION = "eu-central-1"


def _stack() -> dict[str, Any]:
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "~> 5.100"}}},
        "provider": {"aws": [{"region": SOURCE_REGION}, {"alias": "dr", "region": DR_REGION}]},
        "resource": {
            "aws_kms_key": {
                "db": {"description": "db key", "deletion_window_in_days": 7},
                "dr": {"provider": "aws.dr", "description": "dr backups key", "deletion_window_in_days": 7},
            },
            "aws_db_instance": {
                "orders": {
                    "identifier": "orders",
                    "engine": "postgres",
                    "engine_version": "16.3",
                    "instance_class": "db.t4g.micro",
                    "allocated_storage": 20,
                    "storage_encrypted": True,
                    "kms_key_id": "${aws_kms_key.db.arn}",
                    "username": "orders_admin",
                    "password": "not-a-real-password-1",
                    "backup_retention_period": 7,
                    "skip_final_snapshot": True,
                    "apply_immediately": True,
                }
            },
            "aws_db_instance_automated_backups_replication": {
                "orders": {
                    "provider": "aws.dr",
                    "source_db_instance_arn": "${aws_db_instance.orders.arn}",
                    "kms_key_id": "${aws_kms_key.dr.arn}",
                    "retention_period": 14,
                }
            },
        },
        "output": {
            "replication_arn": {"value": "${aws_db_instance_automated_backups_replication.orders.id}"},
            "source_arn": {"value": "${aws_db_instance.orders.arn}"},
            "dr_key_arn": {"value": "${aws_kms_key.dr.arn}"},
        },
    }


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")
def test_rds_backup_replication_lifecycle(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.tf.json").write_text(json.dumps(_stack(), indent=2) + "\n")

    with start_emulator() as emu:
        ws = TerraformWorkspace(src, emu, tmp_path / "ws", teardown=True, timeout=600)
        ws.init()
        ws.apply()
        out = ws.output()

        dr = emu.client("rds", DR_REGION)
        backups = dr.describe_db_instance_automated_backups(DBInstanceAutomatedBackupsArn=out["replication_arn"])[
            "DBInstanceAutomatedBackups"
        ]
        assert len(backups) == 1
        backup = backups[0]
        assert backup["Status"] == "replicating"
        assert backup["DBInstanceArn"] == out["source_arn"]
        assert backup["Region"] == SOURCE_REGION
        assert backup["DBInstanceIdentifier"] == "orders"
        assert backup["KmsKeyId"] == out["dr_key_arn"]
        assert backup["BackupRetentionPeriod"] == 14
        assert backup["Encrypted"] is True
        assert backup["DBInstanceAutomatedBackupsArn"].startswith(
            f"arn:aws:rds:{DR_REGION}:123456789012:auto-backup:ab-"
        )

        source = emu.client("rds", SOURCE_REGION).describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"][0]
        assert source["DBInstanceAutomatedBackupsReplications"] == [
            {"DBInstanceAutomatedBackupsArn": out["replication_arn"]}
        ]

        assert ws.plan() == 0, ws.plan_text()

        ws.destroy()
        assert ws.resource_addresses() == []
        # Stopping keeps the replicated backup, retained (as on AWS).
        retained = dr.describe_db_instance_automated_backups(Filters=[{"Name": "status", "Values": ["retained"]}])[
            "DBInstanceAutomatedBackups"
        ]
        assert [b["DBInstanceAutomatedBackupsArn"] for b in retained] == [out["replication_arn"]]
