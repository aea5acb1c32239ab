"""Drift detection and deletion protection of the compiled stacks, on the moto emulator.

Drift (out/dev): settings changed out of band with boto3 -- the attachments
bucket's versioning suspended and its public-access block switched off, a
managed security-group ingress rule revoked and a managed egress rule altered,
a secret's resource policy replaced -- make ``terraform plan
-detailed-exitcode`` exit 2 and name exactly those resources; applying that
plan restores every setting (checked with boto3) and the next plan exits 0.
What Terraform cannot see is pinned down too: the rules are separate
``aws_vpc_security_group_*_rule`` resources and the groups declare none
inline, so a rule *added* out of band belongs to no resource; no plan reports
it and no apply removes it.

Deletion protection (derive.deletion_protection: every purpose but
development): with the compiled settings (``teardown=False``: the harness's
override leaves protection as compiled), ``terraform destroy`` of staging is
refused by ``lifecycle.prevent_destroy`` on the attachments bucket, a
targeted destroy of the database by RDS deletion protection, ``terraform
destroy`` of bootstrap by ``prevent_destroy`` on the state bucket and a
targeted destroy of the lock table by DynamoDB deletion protection. The last
test is the contrast and the clean-up: dev's bucket (with an object in it) and
database go with a plain ``terraform destroy``; staging and bootstrap only
through a teardown workspace over the same state; the emulator is left empty.

Runtime: only the subsets each check needs are applied (``-target`` pulls in
their dependencies). A full stack costs minutes (EKS node groups, ElastiCache,
MQ, NAT gateways, ...) and adds nothing to what is checked here. Plans use the
same targets, so "no changes" means "none among the applied resources". Most
of the remaining time is the AWS provider's fixed RDS waiter delays (about 80 s
per create, 60 s per delete, even on an emulator that answers at once), so the
three stacks are applied -- and finally destroyed -- concurrently.

moto itself refuses to delete an RDS instance with DeletionProtection and a
DynamoDB table with DeletionProtectionEnabled, as AWS does; no patch needed
for that (two other gaps met here are patched at the end of
tests/emulator/patches.py).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tmsc.load import load_platform

from .conftest import EXAMPLE_SPEC, OUT
from .emulator import TerraformError, TerraformWorkspace

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

PLATFORM = load_platform(EXAMPLE_SPEC)

# Resources the drift test changes out of band (their dependencies come with -target).
DRIFTED = (
    "aws_s3_bucket_versioning.attachments",
    "aws_s3_bucket_public_access_block.attachments",
    "aws_vpc_security_group_ingress_rule.database_from_cluster",
    "aws_vpc_security_group_egress_rule.cluster_egress",
    "aws_secretsmanager_secret_policy.database",
)
TARGETS = {
    # dev also gets its database: the contrast to staging's protected one.
    "dev": (*DRIFTED, "aws_db_instance.database"),
    "staging": ("aws_db_instance.database", "aws_s3_bucket_versioning.attachments"),
    "bootstrap": ("aws_s3_bucket_versioning.state", "aws_dynamodb_table.locks"),
}

PREVENT_DESTROY = "has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed"
ATTACHMENT = ("attachments/pod-0001.pdf", b"%PDF-1.7 proof of delivery")


def target_args(targets: Iterable[str]) -> list[str]:
    return [f"-target={t}" for t in targets]


def attributes(ws: TerraformWorkspace, address: str) -> dict[str, Any]:
    """The state attributes of one (single-instance, managed) resource."""
    rtype, name = address.split(".")
    for res in ws.read_state().get("resources", []):
        if res.get("mode") == "managed" and res["type"] == rtype and res["name"] == name:
            return res["instances"][0]["attributes"]
    raise KeyError(f"{address} not in the state of {ws.source_dir.name}")


def refused(ws: TerraformWorkspace, *args: str) -> str:
    """``terraform destroy`` that must fail. Returns its whole log, whitespace
    runs collapsed (Terraform wraps its diagnostics).

    ``-refresh=false``: the state is fresh from the apply, and neither guard
    depends on a refresh (prevent_destroy fails the plan; the API refusal
    comes from the delete call); it saves a refresh per run.
    """
    with pytest.raises(TerraformError) as failure:
        ws.destroy("-refresh=false", *args)
    return " ".join(failure.value.log_path.read_text().split())


def concurrently(fn: Callable[[str], Any], items: Iterable[str]) -> None:
    """fn(item) for every item, in threads; re-raises the first failure once all
    are done. Terraform runs overlap well: most of an RDS apply or destroy is
    the provider's fixed waiter delays, not emulator work (the emulator
    serializes requests; the workspaces share nothing)."""
    with ThreadPoolExecutor(max_workers=len(TARGETS)) as pool:
        futures = [pool.submit(fn, item) for item in items]
    errors = [error for f in futures if (error := f.exception()) is not None]
    if errors:
        raise errors[0]


def tear_down_over_same_state(ws: TerraformWorkspace, tmp: Path) -> TerraformWorkspace:
    """The way out of a protected stack, as an operator would take it.

    1. Switch RDS deletion protection off (the runbook's console/CLI step).
       The teardown override below would do it too, but through the provider's
       modify-and-wait (80 s more on the emulator); the other protections are
       Terraform's own (prevent_destroy) or state-only (force_destroy,
       skip_final_snapshot) and cost nothing.
    2. A teardown workspace (prevent_destroy off, deletion protection off,
       buckets emptied, no final snapshot) over a copy of the same state; an
       apply writes that into the state (DynamoDB deletion protection: through
       the API) and a full destroy removes everything.
    """
    for res in ws.read_state().get("resources", []):
        if res.get("mode") == "managed" and res["type"] == "aws_db_instance":
            for inst in res["instances"]:
                ws.emulator.client("rds").modify_db_instance(
                    DBInstanceIdentifier=inst["attributes"]["identifier"],
                    DeletionProtection=False,
                    ApplyImmediately=True,
                )
    cleaner = TerraformWorkspace(ws.source_dir, ws.emulator, tmp, teardown=True)
    cleaner.init()
    # The state goes in after init: a terraform.tfstate present at init is taken
    # for the implicit local backend's and "migrated" to the configured one --
    # at the same path -- leaving an empty state with a new lineage.
    shutil.copy2(ws.state_path, cleaner.state_path)
    cleaner.apply(*target_args(TARGETS[ws.source_dir.name]))
    cleaner.destroy()
    return cleaner


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    from tests.emulator import start_emulator

    # start_emulator starts empty: an earlier module in this process (test_delivery_emulator applies
    # the same bootstrap) cannot have left the state bucket and lock table behind.
    with start_emulator(region=PLATFORM.region) as running:
        yield running


@pytest.fixture(scope="module")
def stacks(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TerraformWorkspace]]:
    """The dev, staging and bootstrap subsets, applied at once with the
    compiled settings (teardown=False: protection stays as compiled)."""
    workspaces = {
        env: TerraformWorkspace(OUT / env, emulator, tmp_path_factory.mktemp(env), teardown=False) for env in TARGETS
    }

    def bring_up(env: str) -> None:
        workspaces[env].init()
        workspaces[env].apply(*target_args(TARGETS[env]))

    def clean_up(env: str) -> None:  # only what a failed test left behind
        ws = workspaces[env]
        if not ws.resource_addresses():
            return
        if env == "dev":
            ws.destroy()
        else:
            tear_down_over_same_state(ws, tmp_path_factory.mktemp(f"{env}-cleanup"))

    try:
        concurrently(bring_up, TARGETS)
        yield workspaces
    finally:
        with contextlib.suppress(Exception):
            concurrently(clean_up, TARGETS)


# -- drift ---------------------------------------------------------------------


def test_out_of_band_changes_are_planned_named_and_repaired(
    stacks: dict[str, TerraformWorkspace], emulator: Any
) -> None:
    dev = stacks["dev"]
    s3, ec2, secrets = emulator.client("s3"), emulator.client("ec2"), emulator.client("secretsmanager")
    targets = target_args(DRIFTED)

    bucket = attributes(dev, "aws_s3_bucket_versioning.attachments")["bucket"]
    db_rule = attributes(dev, "aws_vpc_security_group_ingress_rule.database_from_cluster")
    egress = attributes(dev, "aws_vpc_security_group_egress_rule.cluster_egress")
    assert (egress["ip_protocol"], egress["cidr_ipv4"]) == ("-1", "0.0.0.0/0")
    secret_arn = attributes(dev, "aws_secretsmanager_secret_policy.database")["secret_arn"]
    managed_policy = json.loads(secrets.get_resource_policy(SecretId=secret_arn)["ResourcePolicy"])

    # Out of band, as a console user might.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    ec2.revoke_security_group_ingress(
        GroupId=db_rule["security_group_id"], SecurityGroupRuleIds=[db_rule["security_group_rule_id"]]
    )
    ec2.modify_security_group_rules(
        GroupId=egress["security_group_id"],
        SecurityGroupRules=[
            {
                "SecurityGroupRuleId": egress["security_group_rule_id"],
                "SecurityGroupRule": {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "CidrIpv4": "10.10.0.0/16",
                    "Description": "narrowed by hand",
                },
            }
        ],
    )
    secrets.put_resource_policy(
        SecretId=secret_arn,
        ResourcePolicy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AnyoneInTheAccount",
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    # An extra rule opening the database to an office network: it belongs to
    # no resource, so Terraform cannot see it (checked at the end).
    ec2.authorize_security_group_ingress(
        GroupId=db_rule["security_group_id"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "IpRanges": [{"CidrIp": "203.0.113.0/24", "Description": "added by hand"}],
            }
        ],
    )

    code, _ = dev.run(
        "plan",
        "-input=false",
        "-no-color",
        "-lock=false",
        "-detailed-exitcode",
        "-out=drift.tfplan",
        *targets,
        ok_codes=(0, 2),
    )
    assert code == 2, dev.plan_text()
    _, shown = dev.run("show", "-json", "-no-color", "drift.tfplan", capture_stdout=True)
    plan = json.loads(shown)
    # Exactly the drifted resources change (so the applied subset was otherwise in sync).
    changes = {
        c["address"]: c["change"]["actions"] for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]
    }
    assert changes == {
        "aws_s3_bucket_versioning.attachments": ["update"],
        "aws_s3_bucket_public_access_block.attachments": ["update"],
        "aws_vpc_security_group_ingress_rule.database_from_cluster": ["create"],  # gone: re-created
        "aws_vpc_security_group_egress_rule.cluster_egress": ["update"],
        "aws_secretsmanager_secret_policy.database": ["update"],
    }, changes
    drift = {c["address"]: c["change"]["actions"] for c in plan.get("resource_drift", [])}
    assert set(DRIFTED) <= set(drift), drift
    assert drift["aws_vpc_security_group_ingress_rule.database_from_cluster"] == ["delete"]
    before = {c["address"]: c["change"]["before"] for c in plan["resource_changes"]}
    assert before["aws_s3_bucket_versioning.attachments"]["versioning_configuration"][0]["status"] == "Suspended"
    assert before["aws_s3_bucket_public_access_block.attachments"]["block_public_policy"] is False
    assert before["aws_vpc_security_group_egress_rule.cluster_egress"]["cidr_ipv4"] == "10.10.0.0/16"
    assert (
        json.loads(before["aws_secretsmanager_secret_policy.database"]["policy"])["Statement"][0]["Sid"]
        == "AnyoneInTheAccount"
    )

    dev.apply("drift.tfplan")  # exactly the reviewed plan

    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())

    def rules_of(group_id: str) -> list[dict[str, Any]]:
        return ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
            "SecurityGroupRules"
        ]

    assert [
        r
        for r in rules_of(db_rule["security_group_id"])
        if not r["IsEgress"]
        and (r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("tcp", 5432, 5432)
        and r.get("ReferencedGroupInfo", {}).get("GroupId") == db_rule["referenced_security_group_id"]
    ]
    (restored,) = [
        r for r in rules_of(egress["security_group_id"]) if r["SecurityGroupRuleId"] == egress["security_group_rule_id"]
    ]
    assert (restored["IpProtocol"], restored.get("CidrIpv4"), restored.get("Description")) == (
        "-1",
        "0.0.0.0/0",
        egress["description"],
    )
    assert json.loads(secrets.get_resource_policy(SecretId=secret_arn)["ResourcePolicy"]) == managed_policy

    # No changes left -- while the hand-added rule is still there: the blind spot.
    assert dev.plan(*targets) == 0, dev.plan_text()
    assert [r for r in rules_of(db_rule["security_group_id"]) if r.get("CidrIpv4") == "203.0.113.0/24"]


# -- deletion protection ---------------------------------------------------------


def test_staging_destroy_is_refused_by_prevent_destroy_on_the_attachments_bucket(
    stacks: dict[str, TerraformWorkspace], emulator: Any
) -> None:
    staging, s3 = stacks["staging"], emulator.client("s3")
    assert PLATFORM.environments["staging"].purpose != "development"
    bucket = attributes(staging, "aws_s3_bucket_versioning.attachments")["bucket"]
    s3.put_object(Bucket=bucket, Key=ATTACHMENT[0], Body=ATTACHMENT[1])
    applied = staging.resource_addresses()

    log = refused(staging)

    assert "Error: Instance cannot be destroyed" in log
    assert f"Resource aws_s3_bucket.attachments {PREVENT_DESTROY}" in log
    assert "Destroying..." not in log  # refused while planning: nothing touched
    assert staging.resource_addresses() == applied
    assert s3.get_object(Bucket=bucket, Key=ATTACHMENT[0])["Body"].read() == ATTACHMENT[1]
    (db,) = emulator.client("rds").describe_db_instances(
        DBInstanceIdentifier=attributes(staging, "aws_db_instance.database")["identifier"]
    )["DBInstances"]
    assert db["DBInstanceStatus"] == "available"


def test_staging_database_destroy_is_refused_by_rds_deletion_protection(
    stacks: dict[str, TerraformWorkspace], emulator: Any
) -> None:
    staging = stacks["staging"]
    identifier = attributes(staging, "aws_db_instance.database")["identifier"]

    log = refused(staging, "-target=aws_db_instance.database")

    assert "Instance cannot be destroyed" not in log  # not Terraform's guard: the API's
    assert f"deleting RDS DB Instance ({identifier})" in log
    assert "InvalidParameterCombination: Cannot delete protected DB Instance, please disable deletion protection" in log
    (db,) = emulator.client("rds").describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    assert db["DeletionProtection"] is True and db["DBInstanceStatus"] == "available"
    assert "aws_db_instance.database" in staging.resource_addresses()


def test_bootstrap_state_bucket_and_lock_table_refuse_destroy(
    stacks: dict[str, TerraformWorkspace], emulator: Any
) -> None:
    bootstrap, s3, dynamodb = stacks["bootstrap"], emulator.client("s3"), emulator.client("dynamodb")
    bucket = attributes(bootstrap, "aws_s3_bucket_versioning.state")["bucket"]
    table = attributes(bootstrap, "aws_dynamodb_table.locks")["name"]
    s3.put_object(Bucket=bucket, Key="tms/prod/terraform.tfstate", Body=b'{"version": 4}')
    applied = bootstrap.resource_addresses()

    log = refused(bootstrap)
    assert f"Resource aws_s3_bucket.state {PREVENT_DESTROY}" in log
    assert "Destroying..." not in log
    assert bootstrap.resource_addresses() == applied
    assert s3.head_object(Bucket=bucket, Key="tms/prod/terraform.tfstate")

    log = refused(bootstrap, "-target=aws_dynamodb_table.locks")
    assert "Instance cannot be destroyed" not in log
    assert f"deleting AWS DynamoDB Table ({table})" in log
    assert "ValidationException" in log and f"Table '{table}' can't be deleted while DeletionProtectionEnabled" in log
    described = dynamodb.describe_table(TableName=table)["Table"]
    assert described["TableStatus"] == "ACTIVE" and described["DeletionProtectionEnabled"] is True
    assert "aws_dynamodb_table.locks" in bootstrap.resource_addresses()


def test_dev_goes_with_a_plain_destroy_protected_stacks_only_through_a_teardown_workspace(
    stacks: dict[str, TerraformWorkspace], emulator: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The contrast, and the clean-up (run together: both wait on RDS deletes)."""
    s3, rds = emulator.client("s3"), emulator.client("rds")
    dev = stacks["dev"]
    assert PLATFORM.environments["dev"].purpose == "development"
    dev_bucket = attributes(dev, "aws_s3_bucket_versioning.attachments")["bucket"]
    dev_db = attributes(dev, "aws_db_instance.database")
    assert dev_db["deletion_protection"] is False and dev_db["skip_final_snapshot"] is True
    s3.put_object(Bucket=dev_bucket, Key=ATTACHMENT[0], Body=ATTACHMENT[1])
    buckets_applied = {
        dev_bucket,
        attributes(stacks["staging"], "aws_s3_bucket_versioning.attachments")["bucket"],
        attributes(stacks["bootstrap"], "aws_s3_bucket_versioning.state")["bucket"],
    }

    def finish(env: str) -> None:
        ws = stacks[env]
        if env == "dev":
            ws.destroy()  # teardown=False: the compiled settings allow it, data and all
            assert ws.resource_addresses() == []
            return
        cleaner = tear_down_over_same_state(ws, tmp_path_factory.mktemp(f"{env}-cleanup"))
        assert cleaner.resource_addresses() == []
        shutil.copy2(cleaner.state_path, ws.state_path)  # the fixture's finalizer finds nothing left

    concurrently(finish, TARGETS)

    assert not {b["Name"] for b in s3.list_buckets()["Buckets"]} & buckets_applied
    assert not rds.describe_db_instances()["DBInstances"]
    assert not rds.describe_db_snapshots(DBInstanceIdentifier=dev_db["identifier"])["DBSnapshots"]
    assert not emulator.client("dynamodb").list_tables()["TableNames"]
    assert not emulator.client("ec2").describe_vpcs(Filters=[{"Name": "tag:managed-by", "Values": ["tmsc"]}])["Vpcs"]
    assert not [
        s for s in emulator.client("secretsmanager").list_secrets()["SecretList"] if s["Name"].startswith("tms/")
    ]
    assert not emulator.client("eks").list_clusters()["clusters"]
