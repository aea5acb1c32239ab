"""Regional DR of the attachments and the secrets on the emulator (tests/emulator/patches_replication.py).

The attachments part is the compiled out/prod/storage.tf.json itself (the bucket,
its replica in eu-central-1, the replication role and the S3 RTC rule), next to a
secret with a replica in eu-central-1 as services/secrets.py writes it. Apply,
read back through the AWS APIs, re-plan without changes, destroy.

    TMSC_TF_PLUGIN_DIR=/opt/tf-plugins pytest tests/emulator/test_replication_patch.py -q -n 0
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.emulator import TerraformWorkspace, start_emulator

pytestmark = pytest.mark.emulator

REPO = Path(__file__).resolve().parents[2]
SOURCE_REGION = "eu-west-1"
DR_REGION = "eu-central-1"


def _providers() -> dict[str, Any]:
    return {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "~> 5.100"}}},
        "provider": {"aws": [{"region": SOURCE_REGION}, {"alias": "dr", "region": DR_REGION}]},
        "data": {"aws_caller_identity": {"current": {}}, "aws_partition": {"current": {}}},
    }


def _secret() -> dict[str, Any]:
    return {
        "resource": {
            "aws_kms_key": {
                "secrets": {"description": "secrets", "deletion_window_in_days": 7},
                "secrets_dr": {"provider": "aws.dr", "description": "replicas", "deletion_window_in_days": 7},
            },
            "aws_secretsmanager_secret": {
                "database": {
                    "name": "tms/prod/database/connection",
                    "kms_key_id": "${aws_kms_key.secrets.arn}",
                    "recovery_window_in_days": 0,
                    "replica": [{"region": DR_REGION, "kms_key_id": "${aws_kms_key.secrets_dr.arn}"}],
                }
            },
            "aws_secretsmanager_secret_version": {
                "database": {"secret_id": "${aws_secretsmanager_secret.database.id}", "secret_string": "{}"}
            },
        },
        "output": {
            "secret_arn": {"value": "${aws_secretsmanager_secret.database.arn}"},
            "dr_key_arn": {"value": "${aws_kms_key.secrets_dr.arn}"},
        },
    }


def _outputs() -> dict[str, Any]:
    return {
        "output": {
            "bucket": {"value": "${aws_s3_bucket.attachments.id}"},
            "replica_arn": {"value": "${aws_s3_bucket.attachments_dr.arn}"},
            "replica_bucket": {"value": "${aws_s3_bucket.attachments_dr.id}"},
            "replica_key_arn": {"value": "${aws_kms_key.attachments_dr.arn}"},
            "role_arn": {"value": "${aws_iam_role.attachments_replication.arn}"},
        }
    }


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")
def test_attachments_and_secrets_replicate_and_replan_clean(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(REPO / "out" / "prod" / "storage.tf.json", src / "storage.tf.json")
    (src / "providers.tf.json").write_text(json.dumps(_providers(), indent=2) + "\n")
    (src / "secret.tf.json").write_text(json.dumps(_secret(), indent=2) + "\n")
    (src / "outputs.tf.json").write_text(json.dumps(_outputs(), indent=2) + "\n")

    with start_emulator() as emu:
        ws = TerraformWorkspace(src, emu, tmp_path / "ws", teardown=True, timeout=600)
        ws.init()
        ws.apply()
        out = ws.output()

        s3 = emu.client("s3", SOURCE_REGION)
        config = s3.get_bucket_replication(Bucket=out["bucket"])["ReplicationConfiguration"]
        assert config["Role"] == out["role_arn"]
        (rule,) = config["Rules"]
        assert rule["Status"] == "Enabled"
        assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
        assert rule["DeleteMarkerReplication"] == {"Status": "Disabled"}
        destination = rule["Destination"]
        assert destination["Bucket"] == out["replica_arn"]
        assert destination["EncryptionConfiguration"] == {"ReplicaKmsKeyID": out["replica_key_arn"]}
        assert destination["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
        assert destination["Metrics"] == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}

        replica = emu.client("s3", DR_REGION)
        location = replica.get_bucket_location(Bucket=out["replica_bucket"])["LocationConstraint"]
        assert location == DR_REGION
        assert replica.get_bucket_versioning(Bucket=out["replica_bucket"])["Status"] == "Enabled"
        (sse,) = replica.get_bucket_encryption(Bucket=out["replica_bucket"])["ServerSideEncryptionConfiguration"][
            "Rules"
        ]
        assert sse["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == out["replica_key_arn"]
        assert replica.get_public_access_block(Bucket=out["replica_bucket"])["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
        assert "aws:SecureTransport" in replica.get_bucket_policy(Bucket=out["replica_bucket"])["Policy"]

        status = emu.client("secretsmanager", SOURCE_REGION).describe_secret(SecretId=out["secret_arn"])[
            "ReplicationStatus"
        ]
        assert [(s["Region"], s["KmsKeyId"], s["Status"]) for s in status] == [(DR_REGION, out["dr_key_arn"], "InSync")]
        dr_secret = emu.client("secretsmanager", DR_REGION).describe_secret(SecretId="tms/prod/database/connection")
        assert dr_secret["PrimaryRegion"] == SOURCE_REGION

        assert ws.plan() == 0, ws.plan_text()

        ws.destroy()
        assert ws.resource_addresses() == []
        assert emu.client("secretsmanager", DR_REGION).list_secrets()["SecretList"] == []
