"""`tmsc dr-drill` (compiler/tmsc/drill.py): the seed's point-in-time recovery, performed on an environment.

The pure parts (names, the restorable window, the restore request, the secret
rewrite, the report and its exit codes) are unit-tested here without AWS.

The emulator tests apply the database of out/prod on the patched moto server
and run the drill against it, in process and through the `tmsc` command:
a new instance restored from the right source and time with the source's
settings, the connection secret repointed with its other keys kept, the
report's figures consistent, refusals that change nothing, and the README's
steps that make Terraform adopt the restored instance (an in-place update, no
replacement). moto's gaps in point-in-time restore are patched in
tests/emulator/patches_rds_dr.py (``_patch_point_in_time_restore``). No SQL
runs on moto: what is checked is the API state AWS would show.

    TMSC_TF_PLUGIN_DIR=/opt/tf-plugins pytest tests/test_dr_drill.py -q
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tmsc import drill
from tmsc.drill import (
    DrillRefused,
    DrillReport,
    choose_restore_point,
    drill_target,
    follow_up_modification,
    parse_time,
    repoint_secret,
    restore_request,
    restored_identifier,
    setting_differences,
)
from tmsc.load import load_platform

from .conftest import EXAMPLE_SPEC, OUT, REPO

PLATFORM = load_platform(EXAMPLE_SPEC)
UTC = dt.UTC
T0 = dt.datetime(2024, 7, 28, 10, 0, tzinfo=UTC)
# The installed console script, else the same entry point through the interpreter.
TMSC = (
    [str(Path(sys.executable).with_name("tmsc"))]
    if Path(sys.executable).with_name("tmsc").exists()
    else [sys.executable, "-m", "tmsc.cli"]
)


# --------------------------------------------------------------------------- pure parts


def test_names_are_the_compiled_ones() -> None:
    target = drill_target(PLATFORM, "prod")
    assert (target.instance, target.secret_name) == ("tms-prod-database", "tms/prod/database/connection")
    assert (target.rpo, target.rto) == (dt.timedelta(minutes=15), dt.timedelta(hours=4))  # REQ-1-502
    database = json.loads((OUT / "prod" / "database.tf.json").read_text())["resource"]["aws_db_instance"]["database"]
    secret = json.loads((OUT / "prod" / "secrets.tf.json").read_text())["resource"]["aws_secretsmanager_secret"][
        "database"
    ]
    assert database["identifier"] == target.instance and secret["name"] == target.secret_name
    assert drill_target(PLATFORM, "dev").rto == dt.timedelta(hours=24)


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(DrillRefused, match=r"no environment named 'qa' \(choose one of: dev, prod, staging\)"):
        drill_target(PLATFORM, "qa")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-07-28T10:00:00Z", T0),
        ("2024-07-28T12:00:00+02:00", T0),
        ("2024-07-28T10:00:00", T0),  # no offset: UTC, as the AWS CLI reads it
        ("2024-07-28 10:00", T0),
    ],
)
def test_times_are_read_as_utc(text: str, expected: dt.datetime) -> None:
    assert parse_time(text, "--to") == expected


def test_a_malformed_time_is_refused() -> None:
    with pytest.raises(DrillRefused, match="--to 'yesterday' is not an ISO 8601 time"):
        parse_time("yesterday", "--to")


def test_the_restore_point_must_lie_in_the_window() -> None:
    earliest, latest = T0, T0 + dt.timedelta(hours=2)
    assert choose_restore_point(None, earliest, latest, "db") == latest
    assert choose_restore_point(T0 + dt.timedelta(minutes=30), earliest, latest, "db") == T0 + dt.timedelta(minutes=30)
    assert choose_restore_point(earliest, earliest, latest, "db") == earliest
    for outside in (earliest - dt.timedelta(seconds=1), latest + dt.timedelta(seconds=1)):
        with pytest.raises(
            DrillRefused,
            match=r"--to .* is outside the restorable window of db: 2024-07-28T10:00:00Z to 2024-07-28T12:00:00Z",
        ):
            choose_restore_point(outside, earliest, latest, "db")


def test_the_restore_point_is_not_after_the_incident() -> None:
    earliest, latest = T0, T0 + dt.timedelta(hours=2)
    incident = T0 + dt.timedelta(hours=1)
    assert choose_restore_point(None, earliest, latest, "db", incident) == incident  # the last moment before it
    assert choose_restore_point(None, earliest, latest, "db", latest + dt.timedelta(minutes=1)) == latest
    with pytest.raises(DrillRefused, match="is after --incident-at"):
        choose_restore_point(incident + dt.timedelta(seconds=1), earliest, latest, "db", incident)
    with pytest.raises(DrillRefused, match=r"--incident-at .* is outside the restorable window"):
        choose_restore_point(None, earliest, latest, "db", earliest - dt.timedelta(minutes=1))


def test_the_restored_identifier_is_a_valid_new_rds_identifier() -> None:
    longest = "p" * 14 + "-" + "e" * 12 + "-" + "s" * 12  # MAX_RESOURCE_NAME = 40
    for source in ("tms-prod-database", longest):
        name = restored_identifier(source, T0.replace(second=7))
        assert name == f"{source}-r20240728100007"
        names = drill.restored_identifiers(source, T0.replace(second=7))
        assert names[0] == name and names[1] == f"{name}-2" and len(set(names)) == len(names)
        for candidate in names:
            assert re.fullmatch(r"[a-z][a-z0-9-]{0,62}", candidate)
            assert "--" not in candidate and not candidate.endswith("-")


SOURCE: dict[str, Any] = {
    "DBInstanceIdentifier": "tms-prod-database",
    "DBInstanceArn": "arn:aws:rds:eu-west-1:123456789012:db:tms-prod-database",
    "DBInstanceClass": "db.r6g.large",
    "Engine": "postgres",
    "EngineVersion": "16.4",
    "MultiAZ": True,
    "PubliclyAccessible": False,
    "AutoMinorVersionUpgrade": True,
    "CopyTagsToSnapshot": True,
    "IAMDatabaseAuthenticationEnabled": True,
    "DeletionProtection": True,
    "StorageEncrypted": True,
    "KmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/db",
    "DBSubnetGroup": {"DBSubnetGroupName": "tms-prod-database"},
    "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-1", "Status": "active"}],
    "DBParameterGroups": [{"DBParameterGroupName": "tms-prod-database", "ParameterApplyStatus": "in-sync"}],
    "OptionGroupMemberships": [{"OptionGroupName": "default:postgres-16", "Status": "in-sync"}],
    "Endpoint": {"Address": "tms-prod-database.x.eu-west-1.rds.amazonaws.com", "Port": 5432},
    "StorageType": "gp3",
    "MaxAllocatedStorage": 1000,
    "BackupRetentionPeriod": 7,
    "PreferredBackupWindow": "01:00-02:00",
    "CACertificateIdentifier": "rds-ca-rsa2048-g1",
    "EnabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "MasterUserSecret": {
        "SecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-old",
        "KmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/secrets",
    },
    "MonitoringInterval": 60,
    "MonitoringRoleArn": "arn:aws:iam::123456789012:role/tms-prod-database-monitoring",
    "PerformanceInsightsEnabled": True,
    "PerformanceInsightsKMSKeyId": "arn:aws:kms:eu-west-1:123456789012:key/db",
    "PerformanceInsightsRetentionPeriod": 7,
    "TagList": [{"Key": "platform", "Value": "tms"}, {"Key": "aws:cloudformation:stack-name", "Value": "x"}],
}


def test_the_restore_request_names_everything_aws_would_default() -> None:
    request = restore_request(SOURCE, "tms-prod-database-r20240728100000", T0)
    assert request["SourceDBInstanceIdentifier"] == "tms-prod-database"
    assert request["TargetDBInstanceIdentifier"] == "tms-prod-database-r20240728100000"
    assert request["RestoreTime"] == T0 and "UseLatestRestorableTime" not in request
    # AWS would use the default subnet group, security group and parameter group, single-AZ,
    # no IAM authentication, no deletion protection: every one is named.
    assert request["DBSubnetGroupName"] == "tms-prod-database"
    assert request["VpcSecurityGroupIds"] == ["sg-1"]
    assert request["DBParameterGroupName"] == "tms-prod-database"
    assert (
        request["MultiAZ"] is True
        and request["EnableIAMDatabaseAuthentication"] is True
        and request["DeletionProtection"] is True
    )
    assert (
        request["PubliclyAccessible"] is False
        and request["Port"] == 5432
        and request["DBInstanceClass"] == "db.r6g.large"
    )
    assert request["BackupRetentionPeriod"] == 7 and request["PreferredBackupWindow"] == "01:00-02:00"  # PITR stays on
    assert request["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert "OptionGroupName" not in request  # the default one is what a restore gets
    assert "KmsKeyId" not in request  # not a parameter: a restore keeps the source's key
    assert request["Tags"] == [
        {"Key": "platform", "Value": "tms"},
        {"Key": "tmsc:restored-from", "Value": "tms-prod-database"},
        {"Key": "tmsc:restore-time", "Value": "2024-07-28T10:00:00Z"},
    ]


def test_what_a_restore_cannot_set_is_modified_afterwards() -> None:
    restored = {
        **SOURCE,
        "MasterUserSecret": None,
        "MonitoringInterval": 0,
        "MonitoringRoleArn": None,
        "PerformanceInsightsEnabled": False,
    }
    assert follow_up_modification(SOURCE, restored) == {
        "ManageMasterUserPassword": True,
        "MasterUserSecretKmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/secrets",
        "MonitoringInterval": 60,
        "MonitoringRoleArn": "arn:aws:iam::123456789012:role/tms-prod-database-monitoring",
        "EnablePerformanceInsights": True,
        "PerformanceInsightsKMSKeyId": "arn:aws:kms:eu-west-1:123456789012:key/db",
        "PerformanceInsightsRetentionPeriod": 7,
        "ApplyImmediately": True,
    }
    assert follow_up_modification(SOURCE, {**SOURCE, "MasterUserSecret": {"SecretArn": "new"}}) == {}
    changes = follow_up_modification(SOURCE, restored)
    assert not drill.modification_applied(changes, restored)  # "available" before the modification started
    assert not drill.modification_applied(changes, {**SOURCE, "MasterUserSecret": None})
    assert drill.modification_applied(changes, {**SOURCE, "MasterUserSecret": {"SecretArn": "new"}})


def test_setting_differences_name_what_was_not_kept() -> None:
    assert setting_differences(SOURCE, dict(SOURCE)) == []
    restored = {
        **SOURCE,
        "MultiAZ": False,
        "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-default"}],
        "DBSubnetGroup": None,
    }
    assert setting_differences(SOURCE, restored) == [
        "subnet group: None, the source has 'tms-prod-database'",
        "security groups: ['sg-default'], the source has ['sg-1']",
        "Multi-AZ: False, the source has True",
    ]


def test_the_secret_is_repointed_and_every_other_key_kept() -> None:
    old = {
        "engine": "postgres",
        "host": "old",
        "port": 5432,
        "dbname": "tms",
        "username": "tms_admin",
        "sslmode": "verify-full",
        "password_secret_arn": "arn:old",
        "extra": [1, 2],
    }
    new, changed = repoint_secret(old, "new.example", 5432, "tms-prod-database-r1", "arn:new")
    assert new == {**old, "host": "new.example", "password_secret_arn": "arn:new"} and changed == [
        "host",
        "password_secret_arn",
    ]
    assert list(new) == list(old)  # key order kept
    rds_style = {"host": "old", "port": "5432", "dbInstanceIdentifier": "tms-prod-database", "password": "kept"}
    new, changed = repoint_secret(rds_style, "new", 6432, "tms-prod-database-r1", None)
    assert new == {"host": "new", "port": "6432", "dbInstanceIdentifier": "tms-prod-database-r1", "password": "kept"}
    assert changed == ["dbInstanceIdentifier", "host", "port"]


def report(**changes: Any) -> DrillReport:
    base: dict[str, Any] = dict(
        target=drill_target(PLATFORM, "prod"),
        source_instance="tms-prod-database",
        restored_instance="tms-prod-database-r20240728100000",
        earliest_restorable=T0 - dt.timedelta(days=7),
        latest_restorable=T0 - dt.timedelta(minutes=4),
        restore_point=T0 - dt.timedelta(minutes=4),
        window_read_at=T0 + dt.timedelta(seconds=2),
        started_at=T0,
        restore_requested_at=T0 + dt.timedelta(seconds=3),
        available_at=T0 + dt.timedelta(minutes=25),
        finished_at=T0 + dt.timedelta(minutes=26),
        restored_host="tms-prod-database-r20240728100000.x.eu-west-1.rds.amazonaws.com",
        restored_port=5432,
        secret_version_id="v2",
        secret_changed_keys=("host", "password_secret_arn"),
    )
    base.update(changes)
    return DrillReport(**base)


def test_the_report_measures_data_loss_and_elapsed_time_against_the_objectives() -> None:
    r = report()
    assert r.data_loss == dt.timedelta(minutes=4, seconds=2)  # window read - restore point
    assert r.elapsed == dt.timedelta(minutes=26)  # finished - started
    assert (r.within_rpo, r.within_rto, r.exit_code, r.result) == (True, True, 0, "within RPO and RTO")
    data = r.to_json()
    assert data["data_loss_seconds"] == 242 and data["rpo_seconds"] == 900
    assert data["elapsed_seconds"] == 1560 and data["rto_seconds"] == 14400
    assert data["restore_point"] == "2024-07-28T09:56:00Z" and data["restore_point_is_latest"] is True
    assert data["secret"] == {
        "name": "tms/prod/database/connection",
        "repointed": True,
        "arn": None,
        "version_id": "v2",
        "changed_keys": ["host", "password_secret_arn"],
    }
    text = "\n".join(r.lines())
    assert "restore point      2024-07-28T09:56:00Z (latest restorable)" in text
    assert re.search(r"data loss +4m 02s +RPO 15m 00s +ok", text) and re.search(
        r"elapsed +26m 00s +RTO 4h 00m +ok", text
    )


def test_an_incident_time_moves_both_measures() -> None:
    incident = T0 - dt.timedelta(hours=3, minutes=50)
    r = report(incident_at=incident, restore_point=incident - dt.timedelta(minutes=20))
    assert r.data_loss == dt.timedelta(minutes=20) and not r.within_rpo
    assert r.elapsed == dt.timedelta(hours=4, minutes=16) and not r.within_rto
    assert (r.exit_code, r.result) == (drill.EXIT_OBJECTIVE_MISSED, "RPO and RTO missed")
    assert "MISSED" in "\n".join(r.lines())
    assert report(finished_at=T0 + dt.timedelta(hours=4, seconds=1)).result == "RTO missed"


def test_data_loss_is_never_negative_and_a_check_reports_no_elapsed_time() -> None:
    r = report(
        restore_point=T0 + dt.timedelta(seconds=5), latest_restorable=T0 + dt.timedelta(seconds=5)
    )  # AWS's clock ahead of ours
    assert r.data_loss == dt.timedelta(0)
    check = report(
        check_only=True,
        restore_requested_at=None,
        available_at=None,
        finished_at=None,
        restored_host=None,
        secret_version_id=None,
    )
    assert check.elapsed is None and check.within_rto is None and check.exit_code == 0
    assert check.to_json()["elapsed_seconds"] is None and "nothing restored" in check.result


def test_without_boto3_the_command_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 -> ImportError
    assert drill.drill_command(PLATFORM, "prod") == drill.EXIT_REFUSED
    err = capsys.readouterr().err
    assert "needs boto3" in err and "pip install 'tmsc[ops]'" in err and "nothing was changed" in err


class FakeAws:
    """Just enough RDS and Secrets Manager for the paths the emulator cannot take (a restore that never finishes)."""

    def __init__(self, stuck_in: str, existing: tuple[str, ...] = (), taken_meanwhile: tuple[str, ...] = ()):
        self.stuck_in = stuck_in
        self.existing = set(existing)  # instances there before the drill
        self.taken_meanwhile = set(taken_meanwhile)  # names a racing drill takes between check and restore
        self.restores: list[dict[str, Any]] = []
        self.puts: list[str] = []

    def __call__(self, service: str) -> FakeAws:
        return self

    def describe_db_instances(self, DBInstanceIdentifier: str) -> dict[str, Any]:
        if DBInstanceIdentifier == SOURCE["DBInstanceIdentifier"]:
            return {
                "DBInstances": [
                    {**SOURCE, "LatestRestorableTime": T0, "InstanceCreateTime": T0 - dt.timedelta(days=30)}
                ]
            }
        if self.restores and DBInstanceIdentifier == self.restores[-1]["TargetDBInstanceIdentifier"]:
            return {"DBInstances": [{"DBInstanceIdentifier": DBInstanceIdentifier, "DBInstanceStatus": self.stuck_in}]}
        if DBInstanceIdentifier in self.existing:
            return {"DBInstances": [{"DBInstanceIdentifier": DBInstanceIdentifier, "DBInstanceStatus": "available"}]}
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "DBInstanceNotFound", "Message": "not found"}}, "DescribeDBInstances")

    def describe_db_instance_automated_backups(self, DBInstanceIdentifier: str) -> dict[str, Any]:
        return {"DBInstanceAutomatedBackups": []}

    def describe_secret(self, SecretId: str) -> dict[str, Any]:
        return {"ARN": f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{SecretId}-abc"}

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        return {"SecretString": json.dumps({"host": "old", "port": 5432})}

    def restore_db_instance_to_point_in_time(self, **request: Any) -> dict[str, Any]:
        name = request["TargetDBInstanceIdentifier"]
        if name in self.existing | self.taken_meanwhile:
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "DBInstanceAlreadyExists", "Message": "exists"}}, "RestoreDBInstanceToPointInTime"
            )
        self.restores.append(request)
        return {}

    def put_secret_value(self, **request: Any) -> dict[str, Any]:
        self.puts.append(request["SecretString"])
        return {"VersionId": "v2"}


@pytest.mark.parametrize("status", ["creating", "incompatible-restore"])
def test_a_restore_that_does_not_finish_fails_part_way_and_leaves_the_secret(status: str) -> None:
    aws = FakeAws(stuck_in=status)
    clock = iter(T0 + dt.timedelta(minutes=i) for i in range(10_000))
    with pytest.raises(drill.DrillFailed) as failed:
        drill.run_drill(
            drill_target(PLATFORM, "prod"),
            timeout=600,
            poll_interval=0,
            clients=aws,
            now=lambda: next(clock),
            sleep=lambda _: None,
        )
    (request,) = aws.restores
    assert request["RestoreTime"] == T0 and failed.value.created == {
        "restored_instance": request["TargetDBInstanceIdentifier"]
    }
    assert (
        "still creating at the deadline" if status == "creating" else "is incompatible-restore: the restore failed"
    ) in str(failed.value)
    assert aws.puts == []  # the secret stays on the source


def test_drills_started_in_the_same_second_take_the_next_free_name() -> None:
    """Names carry the start time to the second: a drill that finds its name taken (by an earlier drill
    of the same second, or by one racing it between the check and the restore) takes the next one."""
    target = drill_target(PLATFORM, "prod")
    first, second, third = drill.restored_identifiers(target.instance, T0)[:3]

    def run(aws: FakeAws, check_only: bool = False) -> drill.DrillReport:
        return drill.run_drill(
            target,
            check_only=check_only,
            timeout=0,
            poll_interval=0,
            clients=aws,
            now=lambda: T0,
            sleep=lambda _: None,
        )

    checked = run(FakeAws(stuck_in="available", existing=(first,)), check_only=True)
    assert checked.restored_instance == second and checked.exit_code == drill.EXIT_OK  # --check never refuses a name

    # The restore starts (the fake never lets it finish: the deadline reports what exists).
    aws = FakeAws(stuck_in="creating", existing=(first,), taken_meanwhile=(second,))
    with pytest.raises(drill.DrillFailed) as failed:
        run(aws)
    assert [r["TargetDBInstanceIdentifier"] for r in aws.restores] == [third]
    assert failed.value.created == {"restored_instance": third}


def test_a_drill_refuses_when_every_name_is_taken_and_changes_nothing() -> None:
    target = drill_target(PLATFORM, "prod")
    aws = FakeAws(stuck_in="available", existing=tuple(drill.restored_identifiers(target.instance, T0)))
    with pytest.raises(drill.DrillRefused, match="exist already: delete the old drills' copies"):
        drill.run_drill(target, clients=aws, now=lambda: T0, sleep=lambda _: None)
    assert aws.restores == [] and aws.puts == []


def test_a_failure_part_way_exits_4_and_says_what_exists(capsys: pytest.CaptureFixture[str]) -> None:
    code = drill.drill_command(
        PLATFORM, "prod", timeout=0, poll_interval=0, clients=FakeAws(stuck_in="creating"), as_json=True
    )
    captured = capsys.readouterr()
    assert code == drill.EXIT_FAILED
    assert (
        "exists now: restored_instance tms-prod-database-r" in captured.err
        and "the connection secret was not changed" in captured.err
    )
    assert json.loads(captured.out)["result"] == "failed"


def test_compile_never_imports_boto3(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        f"sys.argv = ['tmsc', 'compile', {str(EXAMPLE_SPEC)!r}, '--out', {str(tmp_path)!r}]\n"
        "from tmsc.cli import main, typer_app\n"
        "main()\n"
        "typer_app()\n"  # the full command tree, dr-drill included
        "assert 'boto3' not in sys.modules and 'tmsc.drill' not in sys.modules, sorted(m for m in sys.modules if 'boto' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, capture_output=True, text=True)


# --------------------------------------------------------------------------- on the emulator

# The database and its connection secret, and what Terraform needs for them (VPC and database
# subnets, subnet group, security group, parameter group, storage/logs/secrets keys, log groups,
# monitoring role): the rest of prod (EKS, cache, broker, API, ...) takes minutes on the emulator
# and the drill touches none of it. The provider alone waits some 80 s for a new DB instance.
TARGETS = ("-target=aws_db_instance.database", "-target=aws_secretsmanager_secret_version.database")
ACCOUNT = "123456789012"


class Stack:
    def __init__(self, emulator: Any, workspace: Any):
        self.emulator = emulator
        self.workspace = workspace
        self.target = drill_target(PLATFORM, "prod")
        self.rds = emulator.client("rds", PLATFORM.region)
        self.secrets = emulator.client("secretsmanager", PLATFORM.region)

    def clients(self, service: str) -> Any:
        return self.emulator.client(service, PLATFORM.region)

    def instance(self, identifier: str) -> dict[str, Any]:
        (db,) = self.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        return db

    def instances(self) -> list[str]:
        return sorted(db["DBInstanceIdentifier"] for db in self.rds.describe_db_instances()["DBInstances"])

    def secret(self) -> dict[str, Any]:
        return json.loads(self.secrets.get_secret_value(SecretId=self.target.secret_name)["SecretString"])

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.emulator.env(PLATFORM.region)}
        return subprocess.run(
            [*TMSC, "dr-drill", str(EXAMPLE_SPEC), *args],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )


def requested(identifier: str) -> dict[str, Any]:
    """What the emulator received for a restore (the patch keeps it; on AWS, CloudTrail shows it)."""
    from moto.rds.models import rds_backends

    # tests/emulator/patches_rds_dr.py adds _tmsc_restore to moto's DBInstance.
    return rds_backends[ACCOUNT][PLATFORM.region].databases[identifier]._tmsc_restore  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if shutil.which("terraform") is None:
        pytest.skip("terraform not on PATH")
    from tests.emulator import TerraformWorkspace, start_emulator

    with start_emulator(region=PLATFORM.region) as emulator:
        workspace = TerraformWorkspace(OUT / "prod", emulator, tmp_path_factory.mktemp("prod-database"), teardown=True)
        workspace.init()
        workspace.apply(*TARGETS)
        stack = Stack(emulator, workspace)
        # prod has deletion protection; the teardown override switched it off so that destroy can
        # run. Back on, as in prod, for the drill to copy (the cleanup switches it off again).
        stack.rds.modify_db_instance(
            DBInstanceIdentifier=stack.target.instance, DeletionProtection=True, ApplyImmediately=True
        )
        try:
            yield stack
        finally:
            # Every instance, the restored ones Terraform does not know included, deleted here: the
            # provider would wait a minute more for its own; destroy then removes everything else.
            for identifier in stack.instances():
                stack.rds.modify_db_instance(
                    DBInstanceIdentifier=identifier, DeletionProtection=False, ApplyImmediately=True
                )
                stack.rds.delete_db_instance(
                    DBInstanceIdentifier=identifier, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
                )
            # Without refresh: Terraform would read all of it back first (many seconds on a busy machine);
            # an instance it no longer finds counts as deleted for the provider.
            workspace.destroy("-refresh=false")
            assert stack.instances() == []
            assert not [s for s in stack.secrets.list_secrets()["SecretList"] if s["Name"] == stack.target.secret_name]


@pytest.mark.emulator
@pytest.mark.terraform
def test_the_drill_restores_a_copy_of_the_source_and_repoints_the_secret(stack: Stack) -> None:
    source = stack.instance(stack.target.instance)
    secret_before = stack.secret()
    seen: list[str] = []
    r = drill.run_drill(stack.target, poll_interval=0.01, clients=stack.clients, progress=seen.append)

    # A new instance, available, restored from the source as of the restore point.
    restored = stack.instance(r.restored_instance)
    assert r.restored_instance.startswith("tms-prod-database-r") and restored["DBInstanceStatus"] == "available"
    assert restored["DbiResourceId"] != source["DbiResourceId"]
    asked = requested(r.restored_instance)
    assert asked["source"] == "tms-prod-database" and asked["use_latest_restorable_time"] is False
    assert abs(asked["restore_time"] - r.restore_point) < dt.timedelta(milliseconds=1)
    assert r.restore_point_is_latest and r.earliest_restorable <= r.restore_point <= r.latest_restorable
    events = stack.rds.describe_events(SourceType="db-instance", SourceIdentifier=r.restored_instance)["Events"]
    assert any(e["Message"] == f"Restored from DB instance tms-prod-database to {r.restored_instance}." for e in events)
    tags = {t["Key"]: t["Value"] for t in restored["TagList"]}
    assert tags["tmsc:restored-from"] == "tms-prod-database" and tags["tmsc:restore-time"] == drill.iso(r.restore_point)
    assert tags["platform"] == "tms" and tags["environment"] == "prod"  # the provider's default tags, copied

    # The source's settings (the patched emulator, like AWS, would have defaulted every one).
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == "tms-prod-database"
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == [
        g["VpcSecurityGroupId"] for g in source["VpcSecurityGroups"]
    ]
    assert restored["DBParameterGroups"][0]["DBParameterGroupName"] == "tms-prod-database"
    assert restored["MultiAZ"] is True and source["MultiAZ"] is True
    assert restored["KmsKeyId"] == source["KmsKeyId"] and restored["StorageEncrypted"] is True
    assert restored["IAMDatabaseAuthenticationEnabled"] is True and restored["DeletionProtection"] is True
    assert restored["BackupRetentionPeriod"] == source["BackupRetentionPeriod"] >= 7
    assert sorted(restored["EnabledCloudwatchLogsExports"]) == ["postgresql", "upgrade"]
    assert restored["MonitoringInterval"] == 60 and restored["PerformanceInsightsEnabled"] is True
    assert setting_differences(source, restored) == [] and r.notes == ()
    # Its own RDS-managed password secret (the restore brings the password as of the restore point, unmanaged).
    assert restored["MasterUserSecret"]["SecretArn"] != source["MasterUserSecret"]["SecretArn"]
    assert restored["MasterUserSecret"]["KmsKeyId"] == source["MasterUserSecret"]["KmsKeyId"]

    # The connection secret points at it; nothing else changed.
    secret_after = stack.secret()
    assert secret_after["host"] == restored["Endpoint"]["Address"] != secret_before["host"]
    assert secret_after["port"] == restored["Endpoint"]["Port"] == 5432
    assert secret_after["password_secret_arn"] == restored["MasterUserSecret"]["SecretArn"]
    unchanged = {k: v for k, v in secret_before.items() if k not in ("host", "password_secret_arn")}
    assert {k: secret_after[k] for k in unchanged} == unchanged and set(secret_after) == set(secret_before)
    current = stack.secrets.describe_secret(SecretId=stack.target.secret_name)["VersionIdsToStages"]
    assert current[r.secret_version_id] == ["AWSCURRENT"]

    # The wait polled through the statuses AWS goes through; the figures add up.
    assert any(m.endswith(": creating") for m in seen) and any(m.endswith(": backing-up") for m in seen)
    assert r.started_at <= r.window_read_at <= r.restore_requested_at <= r.available_at <= r.finished_at  # type: ignore[operator]
    assert r.elapsed == r.finished_at - r.started_at and r.elapsed <= stack.target.rto  # type: ignore[operator]
    assert r.data_loss <= stack.target.rpo and r.within_rpo and r.within_rto and r.exit_code == 0


@pytest.mark.emulator
@pytest.mark.terraform
def test_the_command_restores_to_a_chosen_time_and_reports_json(stack: Stack) -> None:
    before = stack.instances()
    check = stack.cli("--env", "prod", "--check", "--json")
    assert check.returncode == 0, check.stderr
    planned = json.loads(check.stdout)
    assert planned["check_only"] is True and stack.instances() == before  # nothing restored
    earliest, latest = (parse_time(planned["restorable_window"][k], k) for k in ("earliest", "latest"))
    to = earliest + (latest - earliest) / 2
    to = to.replace(microsecond=to.microsecond // 1000 * 1000)  # as precise as the ISO text passed on
    incident = dt.datetime.now(UTC)

    run = stack.cli(
        "--env",
        "prod",
        "--to",
        drill.iso(to) or "",
        "--incident-at",
        drill.iso(incident) or "",
        "--json",
        "--poll-interval",
        "0.01",
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert "dr-drill: restoring tms-prod-database as of" in run.stderr  # progress goes to stderr, JSON alone to stdout
    identifier = data["restored_instance"]
    assert stack.instance(identifier)["DBInstanceStatus"] == "available" and identifier not in before
    assert parse_time(data["restore_point"], "") == to and data["restore_point_is_latest"] is False
    assert abs(requested(identifier)["restore_time"] - to) < dt.timedelta(milliseconds=1)

    # Data loss from the incident back to the restore point; elapsed from the incident to the repointed secret.
    point, at, finished = (parse_time(data[k], k) for k in ("restore_point", "incident_at", "finished_at"))
    assert data["data_loss_seconds"] == pytest.approx((at - point).total_seconds(), abs=0.002)
    assert data["elapsed_seconds"] == pytest.approx((finished - at).total_seconds(), abs=0.002)
    assert data["rpo_seconds"] == 900 and data["rto_seconds"] == 14400
    assert data["data_loss_seconds"] <= data["rpo_seconds"] and data["elapsed_seconds"] <= data["rto_seconds"]
    assert (data["within_rpo"], data["within_rto"], data["exit_code"], data["result"]) == (
        True,
        True,
        0,
        "within RPO and RTO",
    )
    assert (
        stack.secret()["host"] == data["restored_endpoint"]["host"] == stack.instance(identifier)["Endpoint"]["Address"]
    )

    out = io.StringIO()
    assert (
        drill.drill_command(PLATFORM, "prod", check_only=True, clients=stack.clients, stdout=out, stderr=io.StringIO())
        == 0
    )
    assert "check only: nothing restored, nothing changed" in out.getvalue() and "(to be created)" in out.getvalue()


@pytest.mark.emulator
@pytest.mark.terraform
def test_refusals_change_nothing(stack: Stack) -> None:
    instances, secret = stack.instances(), stack.secret()
    versions = stack.secrets.describe_secret(SecretId=stack.target.secret_name)["VersionIdsToStages"]
    now = dt.datetime.now(UTC)
    cases = {
        ("--env", "qa"): "no environment named 'qa'",
        ("--env", "prod", "--to", "last tuesday"): "is not an ISO 8601 time",
        ("--env", "prod", "--to", "2000-01-01T00:00:00Z"): "is outside the restorable window of tms-prod-database",
        ("--env", "prod", "--to", drill.iso(now + dt.timedelta(hours=1)) or ""): "is outside the restorable window",
        (
            "--env",
            "prod",
            "--to",
            drill.iso(now - dt.timedelta(seconds=5)) or "",
            "--incident-at",
            drill.iso(now - dt.timedelta(seconds=30)) or "",
        ): "is after --incident-at",
        ("--env", "prod", "--incident-at", drill.iso(now + dt.timedelta(hours=1)) or ""): "is in the future",
    }
    for args, message in cases.items():
        # The command's wiring once through the real `tmsc`; the others in process (same code, no start-up cost).
        if args == ("--env", "prod", "--to", "2000-01-01T00:00:00Z"):
            result = stack.cli(*args)
            code, err = result.returncode, result.stderr
        else:
            options = dict(zip(args[::2], args[1::2], strict=True))
            out, err_stream = io.StringIO(), io.StringIO()
            code = drill.drill_command(
                PLATFORM,
                options["--env"],
                to=options.get("--to"),
                incident_at=options.get("--incident-at"),
                clients=stack.clients,
                stdout=out,
                stderr=err_stream,
            )
            err = err_stream.getvalue()
        assert code == drill.EXIT_REFUSED, (args, err)
        assert message in err and "nothing was changed." in err, (args, err)
    assert stack.instances() == instances and stack.secret() == secret
    assert stack.secrets.describe_secret(SecretId=stack.target.secret_name)["VersionIdsToStages"] == versions


@pytest.mark.emulator
@pytest.mark.terraform
def test_terraform_adopts_the_restored_instance_in_place(stack: Stack) -> None:
    """The README's adoption steps: forget the damaged instance, rename it aside, rename the restored one
    to the name Terraform expects, import it. The plan updates it in place (no replacement) and writes
    the connection secret for it: the original endpoint, its own password secret."""
    # A drill of its own first: what an earlier test left behind is not this test's input (under
    # pytest-xdist, whether and in which order the others ran is not this test's to assume).
    restored_id = drill.run_drill(stack.target, poll_interval=0.01, clients=stack.clients).restored_instance
    assert stack.secret()["host"].split(".")[0] == restored_id and restored_id.startswith("tms-prod-database-r")
    ws, name = stack.workspace, stack.target.instance
    # `terraform state rm aws_db_instance.database`, done on the local state file: every Terraform
    # command here spends 10-20 s loading prod's configuration and the provider.
    state = json.loads(ws.state_path.read_text())
    state["resources"] = [
        r for r in state["resources"] if (r["mode"], r["type"], r["name"]) != ("managed", "aws_db_instance", "database")
    ]
    state["serial"] += 1
    ws.state_path.write_text(json.dumps(state))
    stack.rds.modify_db_instance(
        DBInstanceIdentifier=name, NewDBInstanceIdentifier=f"{name}-damaged", ApplyImmediately=True
    )
    stack.rds.modify_db_instance(DBInstanceIdentifier=restored_id, NewDBInstanceIdentifier=name, ApplyImmediately=True)
    adopted = stack.instance(name)
    # The README's import block (`terraform import` does the same, one Terraform run earlier).
    (ws.dir / "adopt.tf.json").write_text(json.dumps({"import": [{"to": "aws_db_instance.database", "id": name}]}))
    assert ws.plan(*TARGETS, "-out=adopt.plan") == 2
    _, shown = ws.run("show", "-json", "-no-color", "adopt.plan", capture_stdout=True)
    changes = {
        c["address"]: c["change"]
        for c in json.loads(shown)["resource_changes"]
        if c["change"]["actions"] != ["no-op"] or "importing" in c["change"]
    }

    instance = changes["aws_db_instance.database"]
    assert instance["importing"] == {"id": name}
    assert instance["actions"] == ["update"]  # adopted, not replaced
    assert instance["before"]["resource_id"] == adopted["DbiResourceId"] and instance["after"]["identifier"] == name
    assert instance["before"]["replicate_source_db"] in (None, "")  # a restore is no read replica
    secret = changes["aws_secretsmanager_secret_version.database"]
    assert sorted(secret["actions"]) == ["create", "delete"]  # a new version, written by Terraform again
    value = json.loads(secret["after"]["secret_string"])
    assert value["host"] == adopted["Endpoint"]["Address"] and value["host"].startswith(f"{name}.")
    assert value["password_secret_arn"] == adopted["MasterUserSecret"]["SecretArn"]
    assert set(changes) == {"aws_db_instance.database", "aws_secretsmanager_secret_version.database"}


@pytest.mark.emulator
@pytest.mark.terraform
def test_a_rehearsal_leaves_the_secret_alone(stack: Stack) -> None:
    secret, versions = (
        stack.secret(),
        stack.secrets.describe_secret(SecretId=stack.target.secret_name)["VersionIdsToStages"],
    )
    r = drill.run_drill(stack.target, repoint=False, poll_interval=0.01, clients=stack.clients)
    assert stack.instance(r.restored_instance)["DBInstanceStatus"] == "available"
    assert (
        stack.secret() == secret
        and stack.secrets.describe_secret(SecretId=stack.target.secret_name)["VersionIdsToStages"] == versions
    )
    assert r.secret_version_id is None and r.to_json()["secret"]["repointed"] is False and r.exit_code == 0
    assert "(not repointed: --no-repoint)" in "\n".join(r.lines())
