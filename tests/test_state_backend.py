"""The compiled S3 state backend under contention and faults, on the emulator.

out/bootstrap creates the state bucket and the DynamoDB lock table (applied
with local state, as it is meant to be); out/dev then keeps its own
``backend "s3"`` -- same bucket, key, table, ``use_lockfile`` and
``encrypt`` as compiled -- pointed at the emulator (TerraformWorkspace
``keep_s3_backend=True``). On that backend:

* two concurrent applies: exactly one proceeds, the other is refused with
  "Error acquiring the state lock"; the lock is seen held in both places the
  backend keeps it (the ``<key>.tflock`` object, written with S3's
  conditional ``If-None-Match: *``, and the table's ``LockID`` item, written
  with ``attribute_not_exists(LockID)``), and a lock in either place alone
  also refuses an apply;
* SIGINT midway: Terraform stops gracefully, persists the state, releases the
  lock, leaves nothing behind that the state does not know; a re-run
  converges;
* SIGKILL midway: the lock stays held; the re-run names its ID;
  ``terraform force-unlock -force <ID>`` releases it. What the killed run had
  created since its last state snapshot -- Terraform persists the state
  during an apply only at a resource completion at least 20 s after the
  previous snapshot (TF_STATE_PERSIST_INTERVAL can only lengthen that), and
  never records a create still in flight -- is orphaned. The test finds those
  orphans (listing the account with boto3 and comparing with the state),
  reports them, imports them, and only then expects the apply to converge with
  no orphans and no duplicates.

Each apply targets a realistic subset of the dev stack (the network and its
log key; then the connection secrets that need no endpoint; then the
PostgreSQL instance and what it needs) rather than the whole stack: one full
dev apply takes 3-4 minutes on the emulator and these tests need six applies.
The EKS cluster, cache and broker add nothing to how state is locked and
written.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import OUT
from .emulator import TerraformWorkspace
from .emulator.workspace import RunningTerraform

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

DEV = OUT / "dev"
BOOTSTRAP = OUT / "bootstrap"
REGION = "eu-west-1"


def _documents(stack: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(stack.glob("*.tf.json"))]


def _s3_backend(stack: Path) -> dict[str, Any]:
    (backend,) = [d["terraform"]["backend"]["s3"] for d in _documents(stack) if "backend" in d.get("terraform", {})]
    return backend


def _resources(stack: Path, file_name: str | None = None) -> dict[str, dict[str, Any]]:
    """{address: body} of a stack (or of one of its files)."""
    found: dict[str, dict[str, Any]] = {}
    paths = [stack / file_name] if file_name else sorted(stack.glob("*.tf.json"))
    for path in paths:
        for rtype, named in json.loads(path.read_text()).get("resource", {}).items():
            for name, body in named.items():
                if name != "//":
                    found[f"{rtype}.{name}"] = body
    return found


# The backend exactly as out/dev compiles it: everything below talks to it.
BACKEND = _s3_backend(DEV)
BUCKET, KEY, TABLE = BACKEND["bucket"], BACKEND["key"], BACKEND["dynamodb_table"]
LOCK_PATH = f"{BUCKET}/{KEY}"  # the table's LockID, and "Path" in the lock info
LOCKFILE_KEY = f"{KEY}.tflock"  # the S3-native lock object (use_lockfile)
DIGEST_ID = f"{LOCK_PATH}-md5"  # the table's item holding the state's MD5

# Bootstrap: only the state backend's part (state.tf.json). The CI identity
# (delivery.tf.json) is applied and checked in test_delivery_emulator.py, and
# the bucket's noncurrent-version lifecycle rule is left out because the
# provider spends ~55 s on the emulator waiting for it to read back, and it
# plays no part in locking or writing state.
BOOTSTRAP_TARGETS = sorted(
    a for a in _resources(BOOTSTRAP, "state.tf.json") if a != "aws_s3_bucket_lifecycle_configuration.state"
)

# Subset A: the network with its flow logs and the logs key (31 resources).
NETWORK = sorted([*_resources(DEV, "network.tf.json"), *_resources(DEV, "keys.tf.json")])
# Subset B adds the secrets key and the connection secrets. Their policies and
# versions that embed the cluster's roles or a database / cache / broker
# endpoint are left out (they would pull in those slow services).
SECRETS = [
    "aws_kms_key.secrets",
    "aws_kms_alias.secrets",
    "aws_secretsmanager_secret.cache",
    "aws_secretsmanager_secret.database",
    "aws_secretsmanager_secret.messaging",
    "aws_secretsmanager_secret.messaging_password",
    # Not its policy: the migration identity (an IRSA role) may read it, which pulls in the EKS cluster.
    "aws_secretsmanager_secret_version.messaging_password",
]
# Subset C adds the PostgreSQL instance (Terraform brings its subnet group,
# parameter group, security group, key, monitoring role and log groups along)
# and its key's alias. Its create takes over a minute on the emulator: a
# create reliably in flight when the apply is killed.
DATABASE = ["aws_db_instance.database", "aws_kms_alias.database"]
SUBSET_A = NETWORK
SUBSET_B = SUBSET_A + SECRETS
SUBSET_C = SUBSET_B + DATABASE

# The families a subset must not reach: each takes minutes on the emulator, and
# a subset that pulled one in would leave the kill tests waiting on it (an
# EKS cluster in flight when the SIGINT lands, for example) instead of on the
# database create they are timed against.
SLOW_FAMILIES = ("cluster.tf.json", "cache.tf.json", "messaging.tf.json")


def dependency_closure(addresses: list[str]) -> set[str]:
    """What `terraform apply -target=...` applies: the targets and every
    resource they reference or depend on, transitively (out/dev)."""
    known = _resources(DEV)
    reference = re.compile(r"\$\{([a-z0-9_]+\.[A-Za-z0-9_-]+)[.\[}]")
    closure, pending = set(), list(addresses)
    while pending:
        address = pending.pop()
        if address in closure or address not in known:
            continue
        closure.add(address)
        body = known[address]
        pending.extend(reference.findall(json.dumps(body)))
        pending.extend(body.get("depends_on", []))
    return closure


SECRETS_KEY_DESCRIPTION = _resources(DEV)["aws_kms_key.secrets"]["description"]
DATABASE_IDENTIFIER = _resources(DEV)["aws_db_instance.database"]["identifier"]

LOCK_ERROR = "Error acquiring the state lock"


def targets(addresses: list[str]) -> list[str]:
    known = _resources(DEV)
    missing = [a for a in addresses if a not in known]
    assert not missing, f"out/dev no longer declares {missing}: update the subsets in this test"
    return [f"-target={a}" for a in addresses]


def wait_for(what: str, probe: Callable[[], Any], timeout: float, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def lock_id_named_in(text: str) -> str:
    """The ID in the "Lock Info:" block Terraform prints with a lock error."""
    match = re.search(r"Lock Info:\s*\n\s*ID:\s+(\S+)", text)
    assert match, f"no lock ID in:\n{text[-2000:]}"
    return match.group(1)


# -----------------------------------------------------------------------------
# The backend, seen with boto3
# -----------------------------------------------------------------------------
class Backend:
    """The state bucket and lock table as the S3 backend uses them."""

    def __init__(self, emulator: Any):
        self.s3 = emulator.client("s3")
        self.dynamodb = emulator.client("dynamodb")

    def _object(self, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def lockfile(self) -> dict[str, Any] | None:
        """The lock info in ``<key>.tflock`` (None: not locked by file)."""
        raw = self._object(LOCKFILE_KEY)
        return json.loads(raw) if raw is not None else None

    def _item(self, lock_id: str) -> dict[str, Any] | None:
        return self.dynamodb.get_item(TableName=TABLE, Key={"LockID": {"S": lock_id}}, ConsistentRead=True).get("Item")

    def table_lock(self) -> dict[str, Any] | None:
        """The lock info in the table's LockID item (None: not locked there)."""
        item = self._item(LOCK_PATH)
        return json.loads(item["Info"]["S"]) if item else None

    def digest(self) -> str | None:
        item = self._item(DIGEST_ID)
        return item["Digest"]["S"] if item else None

    def state_bytes(self) -> bytes | None:
        return self._object(KEY)

    def state(self) -> dict[str, Any]:
        raw = self.state_bytes()
        return json.loads(raw) if raw is not None else {}

    def both_locks(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        file_lock, table_lock = self.lockfile(), self.table_lock()
        return (file_lock, table_lock) if file_lock and table_lock else None

    def plant_lockfile(self, info: dict[str, Any]) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=LOCKFILE_KEY, Body=json.dumps(info).encode())

    def plant_table_lock(self, info: dict[str, Any]) -> None:
        self.dynamodb.put_item(TableName=TABLE, Item={"LockID": {"S": LOCK_PATH}, "Info": {"S": json.dumps(info)}})

    def remove_locks(self) -> None:
        self.s3.delete_object(Bucket=BUCKET, Key=LOCKFILE_KEY)
        self.dynamodb.delete_item(TableName=TABLE, Key={"LockID": {"S": LOCK_PATH}})


def assert_sound_state(backend: Backend, lineage: str | None = None) -> dict[str, Any]:
    """The state object is whole: JSON of format 4 with a serial and a UUID
    lineage (the same one as before, if given), and the MD5 the backend
    recorded in the table is this object's (a reader would refuse it
    otherwise)."""
    raw = backend.state_bytes()
    assert raw is not None, f"no state object at s3://{BUCKET}/{KEY}"
    state = json.loads(raw)
    assert state["version"] == 4
    assert isinstance(state["serial"], int) and state["serial"] >= 1
    uuid.UUID(state["lineage"])
    if lineage is not None:
        assert state["lineage"] == lineage, "the state was replaced by another lineage"
    assert backend.digest() == hashlib.md5(raw).hexdigest()
    return state


def assert_unlocked(backend: Backend) -> None:
    assert backend.lockfile() is None, f"s3://{BUCKET}/{LOCKFILE_KEY} still held"
    assert backend.table_lock() is None, f"{TABLE}[{LOCK_PATH}] still held"


# -----------------------------------------------------------------------------
# What exists in the account, against what the state knows
# -----------------------------------------------------------------------------
# The attribute of a state instance that names its object as listed below
# (default: "id").
STATE_KEY_ATTRIBUTE = {"aws_db_instance": "identifier"}


def _tags(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


def _is_dev(tags: dict[str, str]) -> bool:
    # The provider's default_tags put these on everything the stack creates.
    return tags.get("environment") == "dev" and tags.get("platform") == "tms"


def inventory(emulator: Any) -> dict[str, dict[str, str]]:
    """Every standalone object of tms-dev in the account: {type: {key: name}}.

    ``key`` is what the state calls the object (see STATE_KEY_ATTRIBUTE) and
    also what ``terraform import`` takes; ``name`` is what the configuration
    calls it (a Name tag, a name, a description), to match an orphan to the
    address that would create it again. Objects that only exist inside another
    (routes, associations, inline and attached policies, secret versions and
    policies) are not listed: they go with their parent.
    """
    ec2 = emulator.client("ec2")
    found: dict[str, dict[str, str]] = {}

    vpcs = {v["VpcId"]: _tags(v.get("Tags")) for v in ec2.describe_vpcs()["Vpcs"]}
    vpcs = {vid: tags for vid, tags in vpcs.items() if _is_dev(tags)}
    found["aws_vpc"] = {vid: tags.get("Name", "") for vid, tags in vpcs.items()}
    in_vpcs = [{"Name": "vpc-id", "Values": sorted(vpcs) or ["none"]}]
    found["aws_subnet"] = {
        s["SubnetId"]: _tags(s.get("Tags")).get("Name", "") for s in ec2.describe_subnets(Filters=in_vpcs)["Subnets"]
    }
    found["aws_internet_gateway"] = {
        g["InternetGatewayId"]: _tags(g.get("Tags")).get("Name", "")
        for g in ec2.describe_internet_gateways()["InternetGateways"]
        if _is_dev(_tags(g.get("Tags")))
    }
    found["aws_route_table"] = {
        t["RouteTableId"]: _tags(t.get("Tags")).get("Name", "")
        for t in ec2.describe_route_tables(Filters=in_vpcs)["RouteTables"]
        if not any(a.get("Main") for a in t.get("Associations", []))
    }  # the VPC's own
    found["aws_eip"] = {
        a["AllocationId"]: _tags(a.get("Tags")).get("Name", "")
        for a in ec2.describe_addresses()["Addresses"]
        if _is_dev(_tags(a.get("Tags")))
    }
    found["aws_nat_gateway"] = {
        n["NatGatewayId"]: _tags(n.get("Tags")).get("Name", "")
        for n in ec2.describe_nat_gateways(Filters=in_vpcs)["NatGateways"]
        if n["State"] not in ("deleting", "deleted")
    }
    found["aws_vpc_endpoint"] = {
        e["VpcEndpointId"]: e["ServiceName"]
        for e in ec2.describe_vpc_endpoints(Filters=in_vpcs)["VpcEndpoints"]
        if e["State"].lower() not in ("deleting", "deleted")
    }
    found["aws_flow_log"] = {
        f["FlowLogId"]: f["ResourceId"] for f in ec2.describe_flow_logs()["FlowLogs"] if f["ResourceId"] in vpcs
    }
    # A VPC's "default" group is adopted by aws_default_security_group, not created.
    found["aws_security_group"] = {
        g["GroupId"]: g["GroupName"]
        for g in ec2.describe_security_groups(Filters=in_vpcs)["SecurityGroups"]
        if g["GroupName"] != "default"
    }

    kms = emulator.client("kms")
    keys: dict[str, str] = {}
    for page in kms.get_paginator("list_keys").paginate():
        for key in page["Keys"]:
            meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if meta["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion"):
                continue  # what destroying a key does: it is gone for Terraform
            tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])}
            if _is_dev(tags):
                keys[key["KeyId"]] = meta.get("Description", "")
    found["aws_kms_key"] = keys
    found["aws_kms_alias"] = {
        a["AliasName"]: a["AliasName"]
        for page in kms.get_paginator("list_aliases").paginate()
        for a in page["Aliases"]
        if a["AliasName"].startswith("alias/tms-dev-")
    }

    iam = emulator.client("iam")
    found["aws_iam_role"] = {
        r["RoleName"]: r["RoleName"]
        for page in iam.get_paginator("list_roles").paginate()
        for r in page["Roles"]
        if r["RoleName"].startswith("tms-dev-")
    }
    secrets = emulator.client("secretsmanager")
    # RDS's own managed master-password secret ("rds!db-...") belongs to the instance.
    found["aws_secretsmanager_secret"] = {
        s["ARN"]: s["Name"]
        for page in secrets.get_paginator("list_secrets").paginate()
        for s in page["SecretList"]
        if s["Name"].startswith("tms/dev/")
    }
    logs = emulator.client("logs")
    found["aws_cloudwatch_log_group"] = {
        g["logGroupName"]: g["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate()
        for g in page["logGroups"]
        if "tms-dev" in g["logGroupName"]
    }
    rds = emulator.client("rds")
    found["aws_db_instance"] = {
        d["DBInstanceIdentifier"]: d["DBInstanceIdentifier"]
        for d in rds.describe_db_instances()["DBInstances"]
        if d["DBInstanceIdentifier"].startswith("tms-dev-")
    }
    found["aws_db_subnet_group"] = {
        g["DBSubnetGroupName"]: g["DBSubnetGroupName"]
        for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]
        if g["DBSubnetGroupName"].startswith("tms-dev-")
    }
    found["aws_db_parameter_group"] = {
        g["DBParameterGroupName"]: g["DBParameterGroupName"]
        for g in rds.describe_db_parameter_groups()["DBParameterGroups"]
        if g["DBParameterGroupName"].startswith("tms-dev-")
    }
    return found


def state_keys(state: dict[str, Any]) -> dict[str, set[str]]:
    """{type: keys of its managed instances} (tainted ones included: the
    state still tracks them, the next apply replaces them)."""
    keys: dict[str, set[str]] = {}
    for res in state.get("resources", []):
        if res.get("mode") != "managed":
            continue
        attribute = STATE_KEY_ATTRIBUTE.get(res["type"], "id")
        for inst in res.get("instances", []):
            value = (inst.get("attributes") or {}).get(attribute)
            if value:
                keys.setdefault(res["type"], set()).add(value)
    return keys


def compare(emulator: Any, state: dict[str, Any]) -> tuple[dict[str, dict[str, str]], dict[str, set[str]]]:
    """(orphans, dangling): objects of tms-dev the state does not know, and
    state entries (of the listed types) with no object behind them."""
    listed = inventory(emulator)
    known = state_keys(state)
    orphans = {t: {k: n for k, n in objs.items() if k not in known.get(t, set())} for t, objs in listed.items()}
    dangling = {t: known.get(t, set()) - set(objs) for t, objs in listed.items()}
    return ({t: o for t, o in orphans.items() if o}, {t: d for t, d in dangling.items() if d})


def managed_addresses(state: dict[str, Any]) -> set[str]:
    return {f"{r['type']}.{r['name']}" for r in state.get("resources", []) if r.get("mode") == "managed"}


# -----------------------------------------------------------------------------
# Matching a planned create to an object a killed run left behind
# -----------------------------------------------------------------------------
def _name_tag(after: dict[str, Any]) -> str | None:
    return (after.get("tags") or {}).get("Name")


# For each type: how the planned values name the object, in the terms of
# inventory(). A type missing here makes the SIGKILL test fail rather than
# guess whether it was orphaned.
PLANNED_NAME: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "aws_vpc": _name_tag,
    "aws_subnet": _name_tag,
    "aws_internet_gateway": _name_tag,
    "aws_route_table": _name_tag,
    "aws_eip": _name_tag,
    "aws_nat_gateway": _name_tag,
    "aws_vpc_endpoint": lambda a: a.get("service_name"),
    "aws_security_group": lambda a: a.get("name"),
    "aws_kms_key": lambda a: a.get("description"),
    "aws_kms_alias": lambda a: a.get("name"),
    "aws_iam_role": lambda a: a.get("name"),
    "aws_secretsmanager_secret": lambda a: a.get("name"),
    "aws_cloudwatch_log_group": lambda a: a.get("name"),
    "aws_db_instance": lambda a: a.get("identifier"),
    "aws_db_subnet_group": lambda a: a.get("name"),
    "aws_db_parameter_group": lambda a: a.get("name"),
}


def orphan_of_planned_create(
    emulator: Any, listed: dict[str, dict[str, str]], known: dict[str, set[str]], rtype: str, after: dict[str, Any]
) -> str | None:
    """The import ID of an existing object the state lacks that this planned
    create would make again (None: there is none)."""
    if rtype == "aws_iam_role_policy_attachment":
        # Not a standalone object: the attachment exists if the role has the policy.
        iam = emulator.client("iam")
        try:
            attached = iam.list_attached_role_policies(RoleName=after["role"])["AttachedPolicies"]
        except iam.exceptions.NoSuchEntityException:
            return None
        if any(p["PolicyArn"] == after["policy_arn"] for p in attached):
            return f"{after['role']}/{after['policy_arn']}"
        return None
    assert rtype in PLANNED_NAME, f"cannot tell whether a killed run orphaned a {rtype}: teach the test"
    name = PLANNED_NAME[rtype](after)
    assert name, f"a planned {rtype} has no name to look it up by: {after}"
    candidates = [k for k, n in listed.get(rtype, {}).items() if n == name and k not in known.get(rtype, set())]
    assert len(candidates) <= 1, f"{len(candidates)} untracked {rtype} named {name!r}: {candidates}"
    return candidates[0] if candidates else None


# -----------------------------------------------------------------------------
# Fixtures
# -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    from tests.emulator import start_emulator

    with start_emulator(region=REGION) as running:
        yield running


@pytest.fixture(scope="module")
def bootstrap(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> TerraformWorkspace:
    # Local state, as bootstrap is applied for real; teardown=True lifts
    # prevent_destroy / deletion protection in case someone destroys it (the
    # emulator, and everything in it, goes away with this module anyway).
    workspace = TerraformWorkspace(BOOTSTRAP, emulator, tmp_path_factory.mktemp("bootstrap"), teardown=True)
    workspace.init()
    workspace.apply(*[f"-target={a}" for a in BOOTSTRAP_TARGETS])
    return workspace


@pytest.fixture(scope="module")
def backend(emulator: Any, bootstrap: TerraformWorkspace) -> Backend:
    return Backend(emulator)


@pytest.fixture(scope="module")
def started() -> Iterator[list[RunningTerraform]]:
    """Every background terraform a test starts: killed (with its plugins) and
    reaped at the end of the module whatever happened."""
    runs: list[RunningTerraform] = []
    yield runs
    for run in runs:
        run.stop()


def dev_workspace(emulator: Any, tmp_path_factory: pytest.TempPathFactory, name: str) -> TerraformWorkspace:
    workspace = TerraformWorkspace(DEV, emulator, tmp_path_factory.mktemp(name), keep_s3_backend=True)
    workspace.init()
    return workspace


@pytest.fixture(scope="module")
def dev(emulator: Any, backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> TerraformWorkspace:
    """out/dev with its S3 backend: one operator's working copy."""
    return dev_workspace(emulator, tmp_path_factory, "dev")


# -----------------------------------------------------------------------------
# Tests
# -----------------------------------------------------------------------------
def test_the_subsets_stay_clear_of_the_slow_families() -> None:
    slow = {a for name in SLOW_FAMILIES for a in _resources(DEV, name)}
    assert slow, "out/dev no longer has these files: update SLOW_FAMILIES"
    for subset in (SUBSET_A, SUBSET_B, SUBSET_C):
        assert not dependency_closure(subset) & slow, sorted(dependency_closure(subset) & slow)
    # The closure finds what -target pulls in: the secret policy that names the migration role reaches
    # the cluster (its OIDC provider), which is why subset B leaves it out.
    assert dependency_closure(["aws_secretsmanager_secret_policy.messaging_password"]) & slow


def test_each_environment_locks_with_both_mechanisms_in_the_bootstrap_bucket_and_table() -> None:
    state = _resources(BOOTSTRAP, "state.tf.json")
    bucket = state["aws_s3_bucket.state"]["bucket"]
    table = state["aws_dynamodb_table.locks"]["name"]
    assert state["aws_dynamodb_table.locks"]["hash_key"] == "LockID"  # what the S3 backend writes
    keys = set()
    for env in ("dev", "staging", "prod"):
        config = _s3_backend(OUT / env)
        assert config["bucket"] == bucket and config["dynamodb_table"] == table
        assert config["use_lockfile"] is True and config["encrypt"] is True
        keys.add(config["key"])
    assert len(keys) == 3, "two environments would share one state and one lock"


def test_the_workspace_runs_the_compiled_backend_pointed_at_the_emulator(
    emulator: Any, dev: TerraformWorkspace
) -> None:
    """What these tests exercise is the backend as compiled: every argument
    of out/dev's backend "s3" reaches `terraform init` unchanged; only how to
    reach the emulator is added."""
    assert dev.backend_config is not None
    for arg, value in BACKEND.items():
        assert dev.backend_config[arg] == value, arg
    assert set(dev.backend_config["endpoints"].values()) == {emulator.endpoint}
    # The backend configuration `terraform init` recorded for the working copy.
    initialised = json.loads((dev.dir / ".terraform" / "terraform.tfstate").read_text())["backend"]
    assert initialised["type"] == "s3"
    for arg, value in BACKEND.items():
        assert initialised["config"][arg] == value, arg


def test_two_concurrent_applies_one_proceeds_the_other_hits_the_lock(
    emulator: Any,
    backend: Backend,
    dev: TerraformWorkspace,
    started: list[RunningTerraform],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Two operators (two working copies, as on two CI runners) apply the same
    # state at once.
    other = dev_workspace(emulator, tmp_path_factory, "dev-other-operator")
    assert backend.state_bytes() is None and backend.lockfile() is None
    runs = [dev.start_apply(*targets(SUBSET_A)), other.start_apply(*targets(SUBSET_A))]
    started.extend(runs)

    # While the winner works, its lock is in both places, under one ID.
    file_lock, table_lock = wait_for("the lock to be held", backend.both_locks, timeout=120)
    assert file_lock["ID"] == table_lock["ID"]
    assert file_lock["Path"] == table_lock["Path"] == LOCK_PATH
    assert file_lock["Operation"] == table_lock["Operation"] == "OperationTypeApply"

    codes = [run.wait(timeout=600) for run in runs]
    assert sorted(codes) == [0, 1], [run.log_text()[-3000:] for run in runs]
    winner, loser = (runs[0], runs[1]) if codes[0] == 0 else (runs[1], runs[0])
    refused = loser.log_text()
    assert LOCK_ERROR in refused
    assert lock_id_named_in(refused) == file_lock["ID"]
    # Refused by the first lock the backend takes: the conditional write of the
    # lock object (If-None-Match: *), which S3 answers 412.
    assert "PreconditionFailed" in refused
    assert "Creating..." not in refused and "Plan:" not in refused
    assert "Apply complete!" in winner.log_text()
    print(
        f"\nlock: {'first' if winner is runs[0] else 'second'} apply won; the other was refused:\n"
        + refused[refused.index(LOCK_ERROR) : refused.index("Lock Info:")].strip()
    )

    assert_unlocked(backend)
    state = assert_sound_state(backend)
    assert set(SUBSET_A) <= managed_addresses(state)
    # encrypt = true: the backend asks for server-side encryption of the object.
    encryption = backend.s3.head_object(Bucket=BUCKET, Key=KEY).get("ServerSideEncryption")
    assert encryption in ("AES256", "aws:kms"), encryption
    print(f"state object: serial {state['serial']}, server-side encryption {encryption}")
    assert dev.plan(*targets(SUBSET_A)) == 0, dev.plan_text()
    orphans, dangling = compare(emulator, state)
    assert not orphans and not dangling, (orphans, dangling)
    assert len(inventory(emulator)["aws_vpc"]) == 1


@pytest.mark.parametrize("held_in", ["lockfile", "table"])
def test_a_lock_held_in_either_place_alone_refuses_an_apply(
    backend: Backend, dev: TerraformWorkspace, held_in: str
) -> None:
    """Both locks are enforced: a lock object alone (a run using only
    use_lockfile) or a table item alone (a run using only dynamodb_table,
    e.g. an older Terraform) keeps this apply out."""
    before = backend.state_bytes()
    info = {
        "ID": str(uuid.uuid4()),
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": f"test@{held_in}",
        "Version": "1.11.4",
        "Created": "2025-01-01T00:00:00Z",
        "Path": LOCK_PATH,
    }
    try:
        if held_in == "lockfile":
            backend.plant_lockfile(info)
        else:
            backend.plant_table_lock(info)
        # Were the lock ignored, this apply would go ahead (exit 0: nothing to change).
        dev.run("apply", "-input=false", "-no-color", "-auto-approve", *targets(SUBSET_A), ok_codes=(1,))
        refused = dev.plan_text()
        assert LOCK_ERROR in refused and lock_id_named_in(refused) == info["ID"]
        if held_in == "lockfile":
            assert "PreconditionFailed" in refused
            assert backend.table_lock() is None  # never reached the table
        else:
            assert "ConditionalCheckFailed" in refused
            # The run had taken the lock object first; it gave it back.
            assert backend.lockfile() is None
    finally:
        backend.remove_locks()
    assert backend.state_bytes() == before


def kms_key_descriptions(kms: Any) -> set[str]:
    """Descriptions of the KMS keys not pending deletion (cheap to poll)."""
    found = set()
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta["KeyState"] != "PendingDeletion":
            found.add(meta.get("Description", ""))
    return found


def test_sigint_stops_gracefully_keeps_state_and_releases_the_lock(
    emulator: Any, backend: Backend, dev: TerraformWorkspace, started: list[RunningTerraform]
) -> None:
    if not set(SUBSET_A) <= managed_addresses(backend.state()):
        dev.apply(*targets(SUBSET_A))  # run alone, this test starts by applying subset A
    before = assert_sound_state(backend)
    kms = emulator.client("kms")

    def secrets_key_created() -> bool:
        return SECRETS_KEY_DESCRIPTION in kms_key_descriptions(kms)

    run = dev.start_apply(*targets(SUBSET_B))
    started.append(run)
    # Interrupt once CreateKey for the secrets key has landed: the provider is
    # then waiting on that key (~13 s on the emulator) and the four secrets,
    # which need it, have not started.
    wait_for("the secrets key's CreateKey", secrets_key_created, timeout=300)
    assert run.poll() is None, "the apply finished before it could be interrupted"
    interrupted_at = time.monotonic()
    run.interrupt()
    code = run.wait(timeout=300)
    stopped_after = time.monotonic() - interrupted_at
    text = run.log_text()
    assert "Interrupt received" in text and "Gracefully shutting down" in text, text[-3000:]
    assert code in (0, 1), text[-3000:]  # an orderly exit, not a crash or a kill

    assert_unlocked(backend)
    state = assert_sound_state(backend, lineage=before["lineage"])
    assert state["serial"] > before["serial"]
    orphans, dangling = compare(emulator, state)
    assert not orphans, f"SIGINT left objects the state does not know: {orphans}"
    assert not dangling, dangling
    # Interrupted midway for real: what needed the key never started.
    assert not inventory(emulator)["aws_secretsmanager_secret"]
    key_states = [
        ("tainted" if i.get("status") == "tainted" else "created")
        for r in state["resources"]
        if f"{r['type']}.{r['name']}" == "aws_kms_key.secrets"
        for i in r["instances"]
    ]

    started_at = time.monotonic()
    dev.apply(*targets(SUBSET_B))
    assert dev.plan(*targets(SUBSET_B)) == 0, dev.plan_text()
    state = assert_sound_state(backend, lineage=before["lineage"])
    orphans, dangling = compare(emulator, state)
    assert not orphans and not dangling, (orphans, dangling)
    assert list(inventory(emulator)["aws_kms_key"].values()).count(SECRETS_KEY_DESCRIPTION) == 1
    print(
        f"\nSIGINT: exit {code} {stopped_after:.0f}s after the signal; secrets key in state: {key_states or 'no'};"
        f" re-run converged in {time.monotonic() - started_at:.0f}s"
    )


def test_sigkill_leaves_the_lock_force_unlock_and_importing_the_orphans_converge(
    emulator: Any, backend: Backend, dev: TerraformWorkspace, started: list[RunningTerraform]
) -> None:
    if not set(SUBSET_B) <= managed_addresses(backend.state()):
        dev.apply(*targets(SUBSET_B))  # run alone, this test starts by applying subset B
    before = assert_sound_state(backend)
    rds = emulator.client("rds")

    def database_create_landed() -> bool:
        return any(d["DBInstanceIdentifier"] == DATABASE_IDENTIFIER for d in rds.describe_db_instances()["DBInstances"])

    run = dev.start_apply(*targets(SUBSET_C))
    started.append(run)
    # The kill moment: CreateDBInstance has landed and the provider is waiting
    # for the instance (over a minute on the emulator). A runner dying while a
    # create is in flight is the ordinary case, not a contrived one; the
    # resources the run completed earlier are lost to the state or not
    # depending on whether a snapshot was persisted since, which the test
    # measures rather than assumes.
    wait_for("CreateDBInstance", database_create_landed, timeout=300)
    assert run.poll() is None, "the apply finished before it could be killed"
    run.kill()
    killed_at = time.monotonic()
    assert run.wait(timeout=60) == -9
    killed_log = run.log_text()
    completed = set(re.findall(r"^(\S+): Creation complete", killed_log, re.M))

    # The lock outlives the process, in both places.
    file_lock, table_lock = backend.both_locks() or (None, None)
    assert file_lock and table_lock and file_lock["ID"] == table_lock["ID"], (file_lock, table_lock)
    lock_id = file_lock["ID"]
    # The last snapshot the run persisted is intact.
    state = assert_sound_state(backend, lineage=before["lineage"])
    persisted_midway = state["serial"] > before["serial"]

    orphans, dangling = compare(emulator, state)
    assert not dangling, dangling
    # The instance whose create was in flight is in the account, not in the state.
    assert DATABASE_IDENTIFIER in orphans.get("aws_db_instance", {}), orphans
    lost = completed - managed_addresses(state)
    if not persisted_midway:
        # The state in the bucket is the last snapshot; with none taken since
        # the run began, every create it completed is missing from it.
        assert lost == completed, (lost, completed)

    # The next run is refused, and says by which lock.
    dev.run("apply", "-input=false", "-no-color", "-auto-approve", *targets(SUBSET_C), ok_codes=(1,))
    refused = dev.plan_text()
    assert LOCK_ERROR in refused and lock_id_named_in(refused) == lock_id
    dev.force_unlock(lock_id)
    assert_unlocked(backend)

    # Recovery: every create the plan now wants whose object the killed run
    # already made is imported, not made again (which would fail on a taken
    # name, or duplicate an unnamed object such as a key or a VPC).
    dev.run("plan", "-input=false", "-no-color", "-lock=false", "-out=recovery.tfplan", *targets(SUBSET_C))
    _, shown = dev.run("show", "-json", "-no-color", "recovery.tfplan", capture_stdout=True)
    listed = inventory(emulator)
    known = state_keys(state)  # force-unlock changed the lock, not the state
    imports = {}
    for change in json.loads(shown).get("resource_changes", []):
        if change["mode"] == "managed" and change["change"]["actions"] == ["create"]:
            import_id = orphan_of_planned_create(emulator, listed, known, change["type"], change["change"]["after"])
            if import_id is not None:
                imports[change["address"]] = import_id
    imported_keys = {(a.split(".")[0], i) for a, i in imports.items()}
    assert {(t, k) for t, objs in orphans.items() for k in objs} <= imported_keys, (
        "an orphan no planned create accounts for",
        orphans,
        imports,
    )
    assert lost <= set(imports), ("a create the killed run completed is neither in the state nor found", lost, imports)
    orphans_file = dev.dir / "recovery_imports.tf.json"
    orphans_file.write_text(json.dumps({"import": [{"to": a, "id": i} for a, i in sorted(imports.items())]}, indent=2))
    try:
        dev.apply(*targets(SUBSET_C))
    finally:
        orphans_file.unlink()
    assert dev.plan(*targets(SUBSET_C)) == 0, dev.plan_text()
    converged_after = time.monotonic() - killed_at

    state = assert_sound_state(backend, lineage=before["lineage"])
    assert set(SUBSET_C) <= managed_addresses(state)
    orphans_after, dangling = compare(emulator, state)
    assert not orphans_after and not dangling, (orphans_after, dangling)
    listed = inventory(emulator)
    assert list(listed["aws_vpc"].values()) == ["tms-dev"]
    assert list(listed["aws_db_instance"]) == [DATABASE_IDENTIFIER]
    for rtype in (
        "aws_subnet",
        "aws_security_group",
        "aws_kms_key",
        "aws_kms_alias",
        "aws_iam_role",
        "aws_secretsmanager_secret",
        "aws_cloudwatch_log_group",
    ):
        names = list(listed[rtype].values())
        assert len(names) == len(set(names)), f"duplicate {rtype}: {names}"
    print(
        f"\nSIGKILL: lock {lock_id} left held; intermediate snapshot persisted before the kill: "
        f"{persisted_midway}; {len(completed)} creates completed, {len(lost)} of them not in the state; "
        f"orphans: {sum(len(o) for o in orphans.values())} {sorted(imports)}; converged "
        f"{converged_after:.0f}s after the kill"
    )
