"""Self-check of the emulator harness: hand-written stacks, one per service
family, each applied on the patched moto server, re-planned (no drift
allowed), destroyed, and checked with boto3 on the way.

The families run concurrently (the AWS provider spends most of its time in
waiters, e.g. ~80 s for an RDS instance whatever the emulator does), each
test waits for and reports its own family. Run with::

    TMSC_TF_PLUGIN_DIR=/opt/tf-plugins pytest -m emulator tests/emulator
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.emulator import TerraformWorkspace, apply_patches, start_emulator, workspace
from tests.emulator.patches import MOTO_VERSION
from tests.emulator.stacks import STACKS, write_stack
from tests.emulator.workspace import OVERRIDE_NAME, only_transport_errors

pytestmark = pytest.mark.emulator

LIFECYCLE_TIMEOUT = 900  # seconds, per family (all run at once)

Ctx = dict[str, Any]


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def _gone(call: Callable[[], Any], *codes: str) -> bool:
    try:
        call()
    except Exception as exc:  # botocore ClientError
        return not codes or _error_code(exc) in codes
    return False


def _vpcs_named(emu: Any, name: str) -> list[dict[str, Any]]:
    ec2 = emu.client("ec2")
    return ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]


def _key_scheduled_for_deletion(emu: Any, key_arn: str) -> bool:
    # KMS never deletes a key at once: destroy schedules deletion (7–30 days).
    return emu.client("kms").describe_key(KeyId=key_arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"


# -- network ------------------------------------------------------------------
def network_applied(emu: Any, ws: TerraformWorkspace, ctx: Ctx) -> None:
    out = ws.output()
    ctx.update(out)
    ec2 = emu.client("ec2")
    groups = {
        g["GroupName"]: g["GroupId"]
        for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [out["vpc_id"]]}])["SecurityGroups"]
    }
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [groups["net-db"], groups["net-app"]]}]
    )["SecurityGroupRules"]
    described = {(r["GroupId"], r.get("FromPort"), r["IsEgress"]): r.get("Description") for r in rules}
    assert described[(groups["net-db"], 5432, False)] == "postgres from the app tier"
    assert described[(groups["net-db"], 8080, False)] == "legacy rule resource"
    assert described[(groups["net-app"], 5432, True)] == "app to postgres"
    status = emu.client("kms").get_key_rotation_status(KeyId=out["key_arn"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 180


def network_destroyed(emu: Any, ctx: Ctx) -> None:
    assert not _vpcs_named(emu, "net-vpc")
    assert _key_scheduled_for_deletion(emu, ctx["key_arn"])
    aliases = emu.client("kms").list_aliases()["Aliases"]
    assert "alias/net-main" not in {a["AliasName"] for a in aliases}


# -- storage ------------------------------------------------------------------
BUCKET = "tmsc-emu-docs"


def storage_applied(emu: Any, ws: TerraformWorkspace, ctx: Ctx) -> None:
    s3 = emu.client("s3")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    pab = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(pab.values())
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # Upload and read back over the emulator's HTTPS: the TLS-only policy lets it through.
    s3.put_object(Bucket=BUCKET, Key="probe.txt", Body=b"stored")
    assert s3.get_object(Bucket=BUCKET, Key="probe.txt")["Body"].read() == b"stored"


def storage_before_destroy(emu: Any, ws: TerraformWorkspace, ctx: Ctx) -> None:
    # Versions and delete markers, as a state bucket holds after lockfile runs:
    # force_destroy must empty all of them.
    s3 = emu.client("s3")
    for i in range(3):
        s3.put_object(Bucket=BUCKET, Key=f"state/{i}.tflock", Body=b"lock")
        s3.put_object(Bucket=BUCKET, Key=f"state/{i}.tflock", Body=b"lock2")
        s3.delete_object(Bucket=BUCKET, Key=f"state/{i}.tflock")
    s3.put_object(Bucket=BUCKET, Key="live.json", Body=b"{}")
    assert len(s3.list_object_versions(Bucket=BUCKET).get("DeleteMarkers", [])) == 3


def storage_destroyed(emu: Any, ctx: Ctx) -> None:
    s3 = emu.client("s3")
    assert BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


# -- database -----------------------------------------------------------------
def database_applied(emu: Any, ws: TerraformWorkspace, ctx: Ctx) -> None:
    rds = emu.client("rds")
    orders = rds.describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"][0]
    audit = rds.describe_db_instances(DBInstanceIdentifier="audit")["DBInstances"][0]
    assert orders["MultiAZ"] is True
    assert orders["PerformanceInsightsEnabled"] is True
    assert orders["PerformanceInsightsRetentionPeriod"] == 7
    assert orders["DeletionProtection"] is False  # lifted by the teardown override
    assert orders["DbiResourceId"] != audit["DbiResourceId"]
    outputs = ws.read_state()["outputs"]  # cheaper than `terraform output`
    assert outputs["orders_resource_id"]["value"] == orders["DbiResourceId"]
    params = rds.describe_db_parameters(DBParameterGroupName="orders-pg16", Source="user")["Parameters"]
    assert {p["ParameterName"]: p["ParameterValue"] for p in params}["rds.force_ssl"] == "1"


def database_destroyed(emu: Any, ctx: Ctx) -> None:
    rds = emu.client("rds")
    ids = {d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]}
    assert not ids & {"orders", "audit"}
    groups = rds.describe_db_parameter_groups()["DBParameterGroups"]
    assert "orders-pg16" not in {g["DBParameterGroupName"] for g in groups}
    assert _gone(
        lambda: rds.describe_db_parameter_groups(DBParameterGroupName="orders-pg16"), "DBParameterGroupNotFound"
    )
    assert _gone(lambda: rds.describe_db_subnet_groups(DBSubnetGroupName="db-subnets"))
    snapshots = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert "orders-final" not in {s["DBSnapshotIdentifier"] for s in snapshots}
    assert not _vpcs_named(emu, "db-vpc")


# -- cache --------------------------------------------------------------------
def cache_applied(emu: Any, ws: TerraformWorkspace, ctx: Ctx) -> None:
    ec = emu.client("elasticache")
    rg = ec.describe_replication_groups(ReplicationGroupId="sessions")["ReplicationGroups"][0]
    assert rg["AutomaticFailover"] == "enabled" and rg["MultiAZ"] == "enabled"
    assert sorted(rg["MemberClusters"]) == ["sessions-001", "sessions-002"]
    azs = set()
    for member in rg["MemberClusters"]:
        cc = ec.describe_cache_clusters(CacheClusterId=member, ShowCacheNodeInfo=True)["CacheClusters"][0]
        assert cc["ReplicationGroupId"] == "sessions"
        assert cc["CacheParameterGroup"]["CacheParameterGroupName"] == "sessions-redis7"
        azs.add(cc["PreferredAvailabilityZone"])
    assert azs == {"eu-west-1a", "eu-west-1b"}
    assert rg["NodeGroups"][0]["ReaderEndpoint"]["Address"]
    (group,) = ec.describe_user_groups(UserGroupId="sessions")["UserGroups"]
    assert sorted(group["UserIds"]) == ["sessions-app", "sessions-default"]
    assert group["ReplicationGroups"] == ["sessions"]
    params = ec.describe_cache_parameters(CacheParameterGroupName="sessions-redis7", Source="user")
    assert {p["ParameterName"]: p["ParameterValue"] for p in params["Parameters"]} == {
        "maxmemory-policy": "allkeys-lru"
    }


def cache_destroyed(emu: Any, ctx: Ctx) -> None:
    ec = emu.client("elasticache")
    assert _gone(lambda: ec.describe_replication_groups(ReplicationGroupId="sessions"), "ReplicationGroupNotFoundFault")
    clusters = {c["CacheClusterId"] for c in ec.describe_cache_clusters()["CacheClusters"]}
    assert not {c for c in clusters if c.startswith("sessions-")}
    assert _gone(
        lambda: ec.describe_cache_parameter_groups(CacheParameterGroupName="sessions-redis7"),
        "CacheParameterGroupNotFound",
    )
    assert _gone(lambda: ec.describe_cache_subnet_groups(CacheSubnetGroupName="cache-subnets"))
    assert _gone(lambda: ec.describe_user_groups(UserGroupId="sessions"), "UserGroupNotFound")
    users = {u["UserId"] for u in ec.describe_users()["Users"]}
    assert not users & {"sessions-app", "sessions-default"}
    assert not _vpcs_named(emu, "cache-vpc")


# -- cluster ------------------------------------------------------------------
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"


def cluster_applied(emu: Any, ws: TerraformWorkspace, ctx: Ctx) -> None:
    eks = emu.client("eks")
    cluster = eks.describe_cluster(name="tmsc")["cluster"]
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    ctx["cluster_sg"] = cluster["resourcesVpcConfig"]["clusterSecurityGroupId"]
    ng = eks.describe_nodegroup(clusterName="tmsc", nodegroupName="default")["nodegroup"]
    assert ng["updateConfig"] == {"maxUnavailable": 1}
    (version,) = emu.client("ec2").describe_launch_template_versions(LaunchTemplateName="eks-nodes")[
        "LaunchTemplateVersions"
    ]
    specs = version["LaunchTemplateData"]["TagSpecifications"]
    assert [s["ResourceType"] for s in specs] == ["instance"]
    assert "remoteAccess" not in ng
    principal = "arn:aws:iam::123456789012:role/eks-deployer"
    # bootstrap_cluster_creator_admin_permissions = false: only our entry.
    assert eks.list_access_entries(clusterName="tmsc")["accessEntries"] == [principal]
    entry = eks.describe_access_entry(clusterName="tmsc", principalArn=principal)["accessEntry"]
    assert entry["kubernetesGroups"] == ["deployers"] and entry["type"] == "STANDARD"
    assoc = eks.list_associated_access_policies(clusterName="tmsc", principalArn=principal)
    (policy,) = assoc["associatedAccessPolicies"]
    assert policy["policyArn"] == ADMIN_POLICY
    assert policy["accessScope"]["type"] == "namespace"
    assert sorted(policy["accessScope"]["namespaces"]) == ["billing", "orders"]
    assert sorted(eks.list_addons(clusterName="tmsc")["addons"]) == ["coredns", "vpc-cni"]
    coredns = eks.describe_addon(clusterName="tmsc", addonName="coredns")["addon"]
    assert coredns["status"] == "ACTIVE" and coredns["addonVersion"] == "v1.11.3-eksbuild.1"


def cluster_destroyed(emu: Any, ctx: Ctx) -> None:
    assert "tmsc" not in emu.client("eks").list_clusters()["clusters"]
    templates = emu.client("ec2").describe_launch_templates()["LaunchTemplates"]
    assert "eks-nodes" not in {t["LaunchTemplateName"] for t in templates}
    iam = emu.client("iam")
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert not roles & {"eks-cluster", "eks-nodes", "eks-deployer"}
    assert _gone(lambda: emu.client("ec2").describe_security_groups(GroupIds=[ctx["cluster_sg"]]))
    assert not _vpcs_named(emu, "eks-vpc")


# -- messaging ----------------------------------------------------------------
def _brokers_named(emu: Any, name: str) -> list[dict[str, Any]]:
    return [b for b in emu.client("mq").list_brokers()["BrokerSummaries"] if b["BrokerName"] == name]


def messaging_applied(emu: Any, ws: TerraformWorkspace, ctx: Ctx) -> None:
    (summary,) = _brokers_named(emu, "events")
    broker = emu.client("mq").describe_broker(BrokerId=summary["BrokerId"])
    assert broker["EngineType"].lower() == "rabbitmq"
    assert broker["DeploymentMode"] == "CLUSTER_MULTI_AZ"
    assert broker["PubliclyAccessible"] is False


def messaging_destroyed(emu: Any, ctx: Ctx) -> None:
    assert not _brokers_named(emu, "events")
    assert not _vpcs_named(emu, "mq-vpc")


# -- secrets ------------------------------------------------------------------
SECRET = "tmsc/orders/db"


def _secrets_named(emu: Any, name: str) -> list[dict[str, Any]]:
    sm = emu.client("secretsmanager")
    return [s for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"] if s["Name"] == name]


def secrets_applied(emu: Any, ws: TerraformWorkspace, ctx: Ctx) -> None:
    value = emu.client("secretsmanager").get_secret_value(SecretId=SECRET)["SecretString"]
    assert json.loads(value)["dbname"] == "orders"


def secrets_destroyed(emu: Any, ctx: Ctx) -> None:
    assert not _secrets_named(emu, SECRET)


def test_apply_patches_is_idempotent_and_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    apply_patches()
    apply_patches()
    from moto.kms.responses import KmsResponse

    assert getattr(KmsResponse.enable_key_rotation, "__tmsc_patched__", False)
    from tests.emulator import patches

    monkeypatch.setattr(moto, "__version__", "0.0.0")
    with pytest.raises(RuntimeError, match=MOTO_VERSION):
        patches.apply_patches()


def test_only_a_connection_failure_reruns_an_apply() -> None:
    closed = (
        "Error: reading IAM Policies attached to Role (tms-prod-reporting): operation error IAM: "
        "ListAttachedRolePolicies, exceeded maximum number of attempts, 2, https response error StatusCode: 200, "
        "decomposing response: read tcp 127.0.0.1:50734->127.0.0.1:40363: use of closed network connection"
    )
    refused = (
        "Error: creating Security Group (tms-dev-cluster): api error InvalidGroup.Duplicate: "
        "The security group 'tms-dev-cluster' already exists"
    )
    assert only_transport_errors(f"aws_vpc.main: Creating...\n\n{closed}\n  with aws_iam_role.irsa_reporting,\n")
    assert not only_transport_errors(f"{closed}\n\n{refused}\n")  # one answer from the API: not retried
    assert not only_transport_errors("Apply complete! Resources: 1 added.\n")


CLOSED_CONNECTION = (
    "Error: reading ElastiCache Replication Group (tms-dev-cache): operation error ElastiCache: "
    "DescribeReplicationGroups, exceeded maximum number of attempts, 2, https response error StatusCode: 200, "
    "decomposing response: read tcp 127.0.0.1:39300->127.0.0.1:38489: use of closed network connection"
)


@pytest.mark.parametrize("verb", ["apply", "plan", "destroy"])
def test_apply_plan_and_destroy_run_once_more_after_a_dropped_connection_and_only_then(
    verb: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in terraform fails its first run the way the provider does when the connection to the emulator
    drops; the workspace runs the command once more and lists it. An error the API answered fails at once."""
    src = write_stack("database", tmp_path / "src")
    calls = tmp_path / "calls"
    fake = tmp_path / "terraform"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$1" >> "{calls}"\n'
        f'if [ "$(wc -l < "{calls}")" -eq 1 ]; then printf \'%s\\n\' "$FIRST_ERROR" >&2; exit 1; fi\n'
        'if [ "$1" = plan ]; then exit 2; fi\n'
    )
    fake.chmod(0o755)

    class FakeEmu:
        def env(self) -> dict[str, str]:
            return {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}

    def run(first_error: str, where: str) -> Any:
        calls.unlink(missing_ok=True)
        monkeypatch.setenv("FIRST_ERROR", first_error)
        return getattr(TerraformWorkspace(src, FakeEmu(), tmp_path / where, terraform=str(fake)), verb)()

    retried: list[str] = []  # this test's own, kept out of the session summary
    monkeypatch.setattr(workspace, "RETRIED_RUNS", retried)
    result = run(CLOSED_CONNECTION, "dropped")
    assert calls.read_text().split() == [verb, verb]
    assert result == (2 if verb == "plan" else None)
    assert len(retried) == 1 and CLOSED_CONNECTION in retried[0]

    with pytest.raises(workspace.TerraformError):
        run("Error: creating DB Instance (orders): api error InvalidParameterCombination: no", "answered")
    assert calls.read_text().split() == [verb]
    assert len(retried) == 1


def test_workspace_override_never_touches_source(tmp_path: Path) -> None:
    src = write_stack("database", tmp_path / "src")
    secrets_doc = STACKS["secrets"]()["main.tf.json"]
    (src / "secrets.tf.json").write_text(json.dumps(secrets_doc))
    doc = json.loads((src / "providers.tf.json").read_text())
    doc["provider"]["aws"] = [
        doc["provider"]["aws"],
        {"alias": "use1", "region": "us-east-1", "allowed_account_ids": ["1"]},
    ]
    doc["terraform"]["backend"] = {"s3": {"bucket": "b", "key": "k", "region": "eu-west-1"}}
    (src / "providers.tf.json").write_text(json.dumps(doc))
    before = {p.name: p.read_bytes() for p in src.iterdir()}

    class FakeEmu:
        def env(self) -> dict[str, str]:
            return {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}

    ws = TerraformWorkspace(src, FakeEmu(), tmp_path / "ws", teardown=True)
    override = json.loads((ws.dir / OVERRIDE_NAME).read_text())
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before
    assert override["terraform"]["backend"] == {"local": {"path": str(ws.state_path)}}
    providers = {p.get("alias"): p for p in override["provider"]["aws"]}
    assert set(providers) == {None, "use1"}
    assert all(p["s3_use_path_style"] and p["skip_credentials_validation"] for p in providers.values())
    assert providers["use1"]["allowed_account_ids"] is None
    resources = override["resource"]
    assert resources["aws_secretsmanager_secret"]["orders_db"] == {"recovery_window_in_days": 0}
    assert resources["aws_db_instance"]["orders"] == {"deletion_protection": False, "skip_final_snapshot": True}
    assert ws.env()["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"


def test_server_module_runs_until_sigterm() -> None:
    import shlex
    import ssl
    import urllib.error
    import urllib.request

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator.server", "--quiet"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        endpoint = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert endpoint.startswith("https://127.0.0.1:")
        exports: dict[str, str] = {}
        while "AWS_CA_BUNDLE" not in exports:
            line = proc.stderr.readline()  # type: ignore[union-attr]
            assert line, "no AWS_CA_BUNDLE export printed"
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                exports[name] = shlex.split(value)[0]
        assert exports["AWS_ENDPOINT_URL"] == endpoint
        context = ssl.create_default_context(cafile=exports["AWS_CA_BUNDLE"])
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10, context=context) as resp:
            assert resp.status == 200
        with pytest.raises(urllib.error.URLError):  # not trusted without the emulator's CA
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10, context=ssl.create_default_context())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert not Path(exports["AWS_CA_BUNDLE"]).exists(), "TLS files left behind"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- TLS and the TLS-only bucket policy ------------------------------------------
def test_secure_transport_condition_evaluation() -> None:
    """bucket_policy_permission on its own, with request contexts built by
    s3_request_context from fake requests (no server involved)."""
    from types import SimpleNamespace

    from moto.iam.access_control import PermissionResult as R

    from tests.emulator.patches import bucket_policy_permission, s3_request_context
    from tests.emulator.stacks import tls_only_policy

    https = s3_request_context(SimpleNamespace(scheme="https"))
    http = s3_request_context(SimpleNamespace(scheme="http"))
    in_process = s3_request_context(SimpleNamespace(url="https://s3.amazonaws.com/b/k"))
    assert https == in_process == {"aws:SecureTransport": True}
    assert http == {"aws:SecureTransport": False}
    assert s3_request_context(SimpleNamespace()) == {}

    arn = "arn:aws:s3:::b"

    def perm(
        policy: dict[str, Any], context: dict[str, Any] | None, action: str = "s3:PutObject", resource: str = f"{arn}/k"
    ) -> R:
        return bucket_policy_permission(json.dumps(policy), action, resource, context)

    def one(effect: str, condition: dict[str, Any]) -> dict[str, Any]:
        return {
            "Statement": [
                {"Effect": effect, "Principal": "*", "Action": "s3:*", "Resource": f"{arn}/*", "Condition": condition}
            ]
        }

    tls_only = tls_only_policy(arn)
    assert perm(tls_only, https) == R.NEUTRAL
    assert perm(tls_only, http) == R.DENIED
    assert perm(tls_only, http, "s3:GetObject") == R.DENIED
    assert perm(tls_only, https, "s3:DeleteObject") == R.NEUTRAL
    assert perm(tls_only, None) == R.DENIED  # scheme unknown: the Deny still applies
    # Value forms: a list (OR), a JSON boolean, BoolIfExists, Null.
    assert perm(one("Deny", {"Bool": {"aws:SecureTransport": ["false"]}}), https) == R.NEUTRAL
    assert perm(one("Deny", {"Bool": {"aws:securetransport": False}}), http) == R.DENIED
    assert perm(one("Deny", {"BoolIfExists": {"aws:SecureTransport": "false"}}), https) == R.NEUTRAL
    assert perm(one("Deny", {"Null": {"aws:SecureTransport": "true"}}), http) == R.NEUTRAL
    # Allow statements apply only when their condition holds.
    assert perm(one("Allow", {"Bool": {"aws:SecureTransport": "true"}}), https) == R.PERMITTED
    assert perm(one("Allow", {"Bool": {"aws:SecureTransport": "true"}}), http) == R.NEUTRAL
    # Conditions we cannot evaluate: a Deny still denies, an Allow grants nothing.
    vpce = {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}
    assert perm(one("Deny", vpce), https) == R.DENIED
    assert perm(one("Allow", vpce), https) == R.NEUTRAL
    # ... unless a condition we can evaluate is false (conditions are ANDed).
    assert perm(one("Deny", {**vpce, "Bool": {"aws:SecureTransport": "false"}}), https) == R.NEUTRAL
    assert perm(one("Deny", {**vpce, "Bool": {"aws:SecureTransport": "false"}}), http) == R.DENIED
    # Statements without conditions: moto's evaluation, unchanged.
    plain_deny = {"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{arn}/*"}}
    assert perm(plain_deny, https, "s3:GetObject") == R.DENIED
    assert perm(plain_deny, https, "s3:PutObject") == R.NEUTRAL


def test_tls_only_bucket_over_https_and_plain_http(server: Any) -> None:
    """End to end through the patched server: the module's HTTPS emulator and
    a second, plain-HTTP listener in the same process. moto's backends are
    process-global, so both listeners serve the same bucket; the only
    difference between their requests is the transport."""
    s3 = server.client("s3")
    assert server.endpoint.startswith("https://")
    assert server.env()["AWS_CA_BUNDLE"] == server.ca_bundle and Path(server.ca_bundle).is_file()
    assert s3.meta.endpoint_url == server.endpoint
    bucket = "fast-tls-only"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    from tests.emulator.stacks import tls_only_policy

    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(tls_only_policy(f"arn:aws:s3:::{bucket}")))

    s3.put_object(Bucket=bucket, Key="docs/a.txt", Body=b"over TLS")
    assert s3.get_object(Bucket=bucket, Key="docs/a.txt")["Body"].read() == b"over TLS"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["docs/a.txt"]

    with start_emulator(tls=False) as plain:
        assert plain.endpoint.startswith("http://") and "AWS_CA_BUNDLE" not in plain.env()
        http_s3 = plain.client("s3")
        for call in (
            lambda: http_s3.put_object(Bucket=bucket, Key="docs/b.txt", Body=b"x"),
            lambda: http_s3.get_object(Bucket=bucket, Key="docs/a.txt"),
        ):
            with pytest.raises(Exception) as err:
                call()
            assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # type: ignore[attr-defined]
        errors = http_s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "docs/a.txt"}]})
        assert [e["Code"] for e in errors["Errors"]] == ["AccessDenied"]

    assert s3.get_object(Bucket=bucket, Key="docs/a.txt")["Body"].read() == b"over TLS"
    assert not s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "docs/a.txt"}]}).get("Errors")
    s3.delete_bucket(Bucket=bucket)


def test_retried_write_is_answered_once(server: Any) -> None:
    """An SDK retry (same amz-sdk-invocation-id, attempt > 1) of a write whose
    first attempt succeeded gets the first answer back, instead of running the
    create twice and failing with AlreadyExists; a retry of an invocation the
    server never answered, or of a failed one, still runs for real."""
    cache = server.client("elasticache")
    headers: dict[str, str] = {}

    def set_retry_headers(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    cache.meta.events.register("before-send.elasticache.*", set_retry_headers)
    user = dict(
        UserId="fast-replay",
        UserName="fast-replay",
        Engine="redis",
        AccessString="on ~* +@all",
        NoPasswordRequired=True,
    )
    replayed_before = len(server.replayed)

    headers.update({"amz-sdk-invocation-id": "inv-1", "amz-sdk-request": "attempt=1; max=3"})
    first = cache.create_user(**user)
    headers["amz-sdk-request"] = "attempt=2; max=3"
    again = cache.create_user(**user)
    assert again["UserId"] == first["UserId"] == "fast-replay"
    assert again["ResponseMetadata"]["RequestId"] == first["ResponseMetadata"]["RequestId"]
    assert server.replayed[replayed_before:] == ["POST / CreateUser"]

    # A different invocation is a new create: the duplicate is refused as on AWS.
    headers.update({"amz-sdk-invocation-id": "inv-2", "amz-sdk-request": "attempt=2; max=3"})
    with pytest.raises(cache.exceptions.UserAlreadyExistsFault):
        cache.create_user(**user)
    # ...and a failed answer is never replayed: the retry runs again.
    with pytest.raises(cache.exceptions.UserAlreadyExistsFault):
        cache.create_user(**user)
    assert len(server.replayed) == replayed_before + 1
    headers.clear()
    cache.delete_user(UserId="fast-replay")


def test_patched_answers_match_aws(server: Any) -> None:
    """The patched calls, straight through boto3 (no terraform): a fast
    regression check of each patch in tests/emulator/patches.py."""
    ec2, kms, s3 = server.client("ec2"), server.client("kms"), server.client("s3")
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.99.{i}.0/24", AvailabilityZone=f"eu-west-1{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in ((1, "a"), (2, "b"))
    ]

    # EC2: description of a rule referencing a security group, and its update.
    a = ec2.create_security_group(GroupName="fast-a", Description="a", VpcId=vpc)["GroupId"]
    b = ec2.create_security_group(GroupName="fast-b", Description="b", VpcId=vpc)["GroupId"]
    (rule,) = ec2.authorize_security_group_ingress(
        GroupId=b,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 1,
                "ToPort": 2,
                "UserIdGroupPairs": [{"GroupId": a, "Description": "from a"}],
            }
        ],
    )["SecurityGroupRules"]
    assert rule["Description"] == "from a"
    ec2.modify_security_group_rules(
        GroupId=b,
        SecurityGroupRules=[
            {
                "SecurityGroupRuleId": rule["SecurityGroupRuleId"],
                "SecurityGroupRule": {
                    "IpProtocol": "tcp",
                    "FromPort": 1,
                    "ToPort": 2,
                    "ReferencedGroupId": a,
                    "Description": "from a, renamed",
                },
            }
        ],
    )
    (rule,) = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])[
        "SecurityGroupRules"
    ]
    assert rule["Description"] == "from a, renamed"
    perms = ec2.describe_security_groups(GroupIds=[b])["SecurityGroups"][0]["IpPermissions"]
    assert perms[0]["UserIdGroupPairs"][0]["Description"] == "from a, renamed"
    assert perms[0]["IpRanges"] == []

    # KMS: rotation period.
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=120)
    assert kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 120
    with pytest.raises(Exception) as err:
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=3000)
    assert _error_code(err.value) == "ValidationException"

    # S3: deleting every version of a key whose latest version is a delete marker.
    s3.create_bucket(Bucket="fast-versions", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_versioning(Bucket="fast-versions", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="fast-versions", Key="k", Body=b"1")
    s3.delete_object(Bucket="fast-versions", Key="k")
    listing = s3.list_object_versions(Bucket="fast-versions")
    objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in listing["Versions"] + listing["DeleteMarkers"]]
    assert not s3.delete_objects(Bucket="fast-versions", Delete={"Objects": objects}).get("Errors")
    s3.delete_bucket(Bucket="fast-versions")

    # RDS: user parameters, reset, unknown group.
    rds = server.client("rds")
    rds.create_db_parameter_group(DBParameterGroupName="fast-pg", DBParameterGroupFamily="postgres16", Description="d")
    rds.modify_db_parameter_group(
        DBParameterGroupName="fast-pg",
        Parameters=[{"ParameterName": n, "ParameterValue": "1", "ApplyMethod": "immediate"} for n in ("a", "b")],
    )
    rds.reset_db_parameter_group(
        DBParameterGroupName="fast-pg", Parameters=[{"ParameterName": "a", "ApplyMethod": "immediate"}]
    )
    params = rds.describe_db_parameters(DBParameterGroupName="fast-pg", Source="user")["Parameters"]
    assert [(p["ParameterName"], p["Source"]) for p in params] == [("b", "user")]
    assert _gone(lambda: rds.describe_db_parameter_groups(DBParameterGroupName="fast-none"), "DBParameterGroupNotFound")
    # RDS: turning on master-password management that is already on keeps the secret.
    rds.create_db_instance(
        DBInstanceIdentifier="fast-db",
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        MasterUsername="admin",
        ManageMasterUserPassword=True,
        AllocatedStorage=20,
    )

    def master_secret() -> str:
        (db,) = rds.describe_db_instances(DBInstanceIdentifier="fast-db")["DBInstances"]
        return str(db["MasterUserSecret"]["SecretArn"])

    secret = master_secret()
    rds.modify_db_instance(DBInstanceIdentifier="fast-db", ManageMasterUserPassword=True, ApplyImmediately=True)
    assert master_secret() == secret
    rds.delete_db_instance(DBInstanceIdentifier="fast-db", SkipFinalSnapshot=True)

    # ElastiCache: parameter group, members, in-use refusals, deletion.
    ec = server.client("elasticache")
    ec.create_cache_subnet_group(CacheSubnetGroupName="fast-sn", CacheSubnetGroupDescription="d", SubnetIds=subnets)
    arn = ec.create_cache_parameter_group(
        CacheParameterGroupName="fast-pg", Description="d", CacheParameterGroupFamily="redis7"
    )["CacheParameterGroup"]["ARN"]
    ec.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert ec.list_tags_for_resource(ResourceName=arn)["TagList"] == [{"Key": "k", "Value": "v"}]
    ec.modify_cache_parameter_group(
        CacheParameterGroupName="fast-pg", ParameterNameValues=[{"ParameterName": "timeout", "ParameterValue": "10"}]
    )
    rg = ec.create_replication_group(
        ReplicationGroupId="fast-rg",
        ReplicationGroupDescription="d",
        Engine="redis",
        CacheNodeType="cache.t4g.small",
        NumCacheClusters=3,
        CacheParameterGroupName="fast-pg",
        CacheSubnetGroupName="fast-sn",
    )["ReplicationGroup"]
    assert rg["MemberClusters"] == ["fast-rg-001", "fast-rg-002", "fast-rg-003"]
    member = ec.describe_cache_clusters(CacheClusterId="fast-rg-003")["CacheClusters"][0]
    assert member["CacheParameterGroup"]["CacheParameterGroupName"] == "fast-pg"
    assert _gone(
        lambda: ec.delete_cache_parameter_group(CacheParameterGroupName="fast-pg"), "InvalidCacheParameterGroupState"
    )
    assert _gone(lambda: ec.delete_cache_subnet_group(CacheSubnetGroupName="fast-sn"), "CacheSubnetGroupInUse")
    ec.delete_replication_group(ReplicationGroupId="fast-rg")
    assert _gone(lambda: ec.describe_replication_groups(ReplicationGroupId="fast-rg"), "ReplicationGroupNotFoundFault")
    assert _gone(lambda: ec.describe_cache_clusters(CacheClusterId="fast-rg-001"), "CacheClusterNotFound")
    ec.delete_cache_parameter_group(CacheParameterGroupName="fast-pg")
    ec.delete_cache_subnet_group(CacheSubnetGroupName="fast-sn")
    ec.create_user(
        UserId="fast-app",
        UserName="fast-app",
        Engine="redis",
        AccessString="on ~* +@all",
        AuthenticationMode={"Type": "iam"},
    )
    assert _gone(
        lambda: ec.create_user_group(UserGroupId="fast-ug", Engine="redis", UserIds=["fast-app"]), "DefaultUserRequired"
    )
    ec.create_user_group(UserGroupId="fast-ug", Engine="redis", UserIds=["default", "fast-app"])
    ec.delete_user_group(UserGroupId="fast-ug")
    assert _gone(lambda: ec.describe_user_groups(UserGroupId="fast-ug"), "UserGroupNotFound")

    # EKS: defaults, access entries, add-ons, updates, cluster security group.
    iam, eks = server.client("iam"), server.client("eks")
    role = iam.create_role(RoleName="fast-eks", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    cluster = eks.create_cluster(
        name="fast",
        roleArn=role,
        resourcesVpcConfig={"subnetIds": subnets},
        accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"},
    )["cluster"]
    assert cluster["upgradePolicy"] == {"supportType": "EXTENDED"}
    assert cluster["resourcesVpcConfig"]["vpcId"] == vpc
    creator = eks.list_access_entries(clusterName="fast")["accessEntries"]
    assert len(creator) == 1  # bootstrapClusterCreatorAdminPermissions defaults to true
    update = eks.update_cluster_config(name="fast", accessConfig={"authenticationMode": "API"})["update"]
    assert eks.describe_update(name="fast", updateId=update["id"])["update"]["status"] == "Successful"
    assert eks.describe_cluster(name="fast")["cluster"]["accessConfig"]["authenticationMode"] == "API"
    entry = eks.create_access_entry(clusterName="fast", principalArn=role)["accessEntry"]
    assert entry["username"] == "arn:aws:sts::123456789012:assumed-role/fast-eks/{{SessionName}}"
    addon = eks.create_addon(clusterName="fast", addonName="kube-proxy")["addon"]
    assert addon["status"] == "ACTIVE"
    nodegroup = eks.create_nodegroup(clusterName="fast", nodegroupName="ng", subnets=subnets, nodeRole=role)[
        "nodegroup"
    ]
    assert "remoteAccess" not in nodegroup and nodegroup["updateConfig"] == {"maxUnavailable": 1}
    eks.delete_addon(clusterName="fast", addonName="kube-proxy")
    eks.delete_nodegroup(clusterName="fast", nodegroupName="ng")
    eks.delete_cluster(name="fast")
    assert _gone(
        lambda: ec2.describe_security_groups(GroupIds=[cluster["resourcesVpcConfig"]["clusterSecurityGroupId"]])
    )


# -----------------------------------------------------------------------------
def _noop(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class Family:
    applied: Callable[[Any, TerraformWorkspace, Ctx], None]
    destroyed: Callable[[Any, Ctx], None]
    before_destroy: Callable[[Any, TerraformWorkspace, Ctx], None] = _noop
    teardown: bool = False
    # Apply again after the destroy: proves names are reusable (secrets).
    recreate: bool = False


FAMILIES: dict[str, Family] = {
    "network": Family(network_applied, network_destroyed),
    "storage": Family(storage_applied, storage_destroyed, before_destroy=storage_before_destroy),
    "database": Family(database_applied, database_destroyed, teardown=True),
    "cache": Family(cache_applied, cache_destroyed),
    "cluster": Family(cluster_applied, cluster_destroyed),
    "messaging": Family(messaging_applied, messaging_destroyed),
    "secrets": Family(secrets_applied, secrets_destroyed, recreate=True),
}
assert set(FAMILIES) == set(STACKS)


@dataclass
class Outcome:
    timings: dict[str, float] = field(default_factory=dict)


def run_lifecycle(name: str, emu: Any, tmp: Path) -> Outcome:
    family = FAMILIES[name]
    outcome = Outcome()
    ctx: Ctx = {}

    def step(label: str, fn: Callable[[], Any]) -> Any:
        start = time.monotonic()
        result = fn()
        outcome.timings[label] = round(time.monotonic() - start, 1)
        return result

    src = write_stack(name, tmp / "src")
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    ws = TerraformWorkspace(src, emu, tmp, teardown=family.teardown)
    step("init", ws.init)
    step("apply", ws.apply)
    family.applied(emu, ws, ctx)
    code = step("plan", ws.plan)
    assert code == 0, f"{name}: re-plan after apply shows changes:\n{ws.plan_text()}"
    family.before_destroy(emu, ws, ctx)
    step("destroy", ws.destroy)
    assert ws.resource_addresses() == [], f"{name}: state not empty after destroy"
    family.destroyed(emu, ctx)
    if family.recreate:
        step("re-apply", ws.apply)
        family.applied(emu, ws, ctx)
        step("re-destroy", ws.destroy)
        family.destroyed(emu, ctx)
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before, "source dir was modified"
    return outcome


@pytest.fixture(scope="module")
def server():
    with start_emulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def emulator(server: Any):
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH")
    return server


@pytest.fixture(scope="module")
def lifecycles(request: pytest.FixtureRequest, emulator: Any, tmp_path_factory: pytest.TempPathFactory):
    """Start the lifecycle of every family selected in this session, at once."""
    selected = sorted(
        {
            item.callspec.params["family"]
            for item in request.session.items
            if getattr(item, "originalname", None) == "test_family_lifecycle" and hasattr(item, "callspec")
        }
    ) or sorted(FAMILIES)
    pool = ThreadPoolExecutor(max_workers=len(selected), thread_name_prefix="tf")
    futures: dict[str, Future[Outcome]] = {
        name: pool.submit(run_lifecycle, name, emulator, tmp_path_factory.mktemp(name)) for name in selected
    }
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_lifecycle(lifecycles: dict[str, Future[Outcome]], family: str) -> None:
    """apply → boto3 checks → plan -detailed-exitcode == 0 → destroy → nothing left."""
    outcome = lifecycles[family].result(timeout=LIFECYCLE_TIMEOUT)
    print(f"{family}: {outcome.timings}")
