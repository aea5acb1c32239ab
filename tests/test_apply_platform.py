"""The compiled example, applied on the moto emulator and checked with boto3 against the seed's validation criteria.

For dev and prod: apply, check what the seed asks (EKS across the derived AZs,
PostgreSQL 16 with the derived Multi-AZ and retention, the attachments bucket
storing an uploaded file, the three connection secrets, IRSA roles trusting
the cluster's OIDC provider for exactly their service accounts, the broker's
deployment mode), re-plan with no changes, destroy and find nothing left.
Emulator gaps are fixed in tests/emulator/patches.py, each documented there
and in the README.

The plan made after the apply is scanned twice: for secret values (the leak
test) and by checkov --framework terraform_plan with the reviewed skips of
tests/checkov/skips.yaml (0 failed checks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tmsc.compile import CONTRACT_OUTPUTS
from tmsc.derive import plan_environment
from tmsc.load import load_platform

from .checkov import (
    failures,
    mismatch,
    pinned_version,
    plan_expected_failures,
    plan_skip_checks,
    require_checkov,
    results_by_check,
    scan_twice,
    write_line,
)
from .conftest import EXAMPLE_SPEC, OUT
from .emulator import TerraformError

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

PLATFORM = load_platform(EXAMPLE_SPEC)


class Applied:
    def __init__(self, env: str, emulator: Any, workspace: Any):
        self.env = env
        self.emulator = emulator
        self.workspace = workspace
        self.plan = plan_environment(PLATFORM, env)
        self.outputs = workspace.output()
        self._plan_json: str | None = None

    def plan_json(self) -> str:
        """`terraform show -json` of a fresh plan of the applied stack, made once (the leak and checkov scans share it)."""
        if self._plan_json is None:
            self.workspace.run("plan", "-input=false", "-no-color", "-lock=false", "-out=scan.plan")
            _, self._plan_json = self.workspace.run("show", "-json", "-no-color", "scan.plan", capture_stdout=True)
        return self._plan_json

    def client(self, service: str) -> Any:
        return self.emulator.client(service)


# Each environment on an emulator of its own (what one leaves, or fails to destroy, cannot reach the
# other's checks) and in an xdist group of its own: under `make test` the two applies run side by side.
@pytest.fixture(
    scope="module",
    params=[pytest.param(env, marks=pytest.mark.xdist_group(f"apply-{env}")) for env in ("dev", "prod")],
)
def applied(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Applied]:
    from tests.emulator import TerraformWorkspace, start_emulator

    env = request.param
    with start_emulator(region=PLATFORM.region) as emulator:
        workspace = TerraformWorkspace(OUT / env, emulator, tmp_path_factory.mktemp(env), teardown=True)
        workspace.init()
        workspace.apply()
        yield Applied(env, emulator, workspace)


def test_the_six_outputs_are_set(applied: Applied) -> None:
    for name in CONTRACT_OUTPUTS:
        assert applied.outputs.get(name), f"{applied.env}: output {name} is empty"
    assert applied.outputs["eks_cluster_name"] == f"tms-{applied.env}-cluster"


def test_network_spans_the_derived_zones(applied: Applied) -> None:
    ec2 = applied.client("ec2")
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"tms-{applied.env}"]}])["Vpcs"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    zones = set(applied.plan.availability_zone_ids.value)
    assert {s["AvailabilityZoneId"] for s in subnets} == zones
    assert len(subnets) == 3 * len(zones)
    nats = [
        n
        for n in ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NatGateways"]
        if n["State"] != "deleted"
    ]
    assert len(nats) == applied.plan.nat_gateways.value
    nat_zones = {next(s["AvailabilityZoneId"] for s in subnets if s["SubnetId"] == n["SubnetId"]) for n in nats}
    assert len(nat_zones) == len(nats)


def test_eks_runs_across_the_zones_with_irsa(applied: Applied) -> None:
    eks = applied.client("eks")
    cluster = eks.describe_cluster(name=applied.outputs["eks_cluster_name"])["cluster"]
    ec2 = applied.client("ec2")
    subnets = ec2.describe_subnets(SubnetIds=cluster["resourcesVpcConfig"]["subnetIds"])["Subnets"]
    assert {s["AvailabilityZoneId"] for s in subnets} == set(applied.plan.availability_zone_ids.value)
    assert cluster["identity"]["oidc"]["issuer"] == applied.outputs["eks_cluster_oidc_issuer_url"]
    assert cluster["upgradePolicy"]["supportType"] == applied.plan.cluster_upgrade_policy.value
    groups = eks.list_nodegroups(clusterName=cluster["name"])["nodegroups"]
    assert len(groups) == applied.plan.cluster_node_groups.value
    addons = set(eks.list_addons(clusterName=cluster["name"])["addons"])
    assert addons == {"coredns", "kube-proxy", "vpc-cni", "aws-ebs-csi-driver"}
    entries = eks.list_access_entries(clusterName=cluster["name"])["accessEntries"]
    assert any(e.endswith(":role/tms-platform-admin") for e in entries)


def test_irsa_roles_trust_exactly_their_service_accounts(applied: Applied) -> None:
    iam = applied.client("iam")
    issuer = applied.outputs["eks_cluster_oidc_issuer_url"].removeprefix("https://")
    providers = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    provider_arn = next(arn for arn in providers if arn.endswith(issuer))
    for name, workload in PLATFORM.workloads.items():
        role = iam.get_role(RoleName=f"tms-{applied.env}-{name}")["Role"]
        document = role["AssumeRolePolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        (statement,) = document["Statement"]
        assert statement["Principal"] == {"Federated": provider_arn}
        assert statement["Condition"]["StringEquals"] == {
            f"{issuer}:sub": f"system:serviceaccount:{workload.namespace}:{workload.service_account}",
            f"{issuer}:aud": "sts.amazonaws.com",
        }


def test_postgres_16_with_derived_availability_and_recovery(applied: Applied) -> None:
    rds = applied.client("rds")
    (db,) = rds.describe_db_instances(DBInstanceIdentifier=f"tms-{applied.env}-database")["DBInstances"]
    assert db["Engine"] == "postgres" and db["EngineVersion"].startswith("16")
    assert db["MultiAZ"] is applied.plan.database_multi_az.value
    assert db["BackupRetentionPeriod"] >= applied.plan.database_backup_retention_days.value >= 1
    assert db["StorageEncrypted"] is True and db["IAMDatabaseAuthenticationEnabled"] is True
    assert db["DeletionProtection"] is False  # switched off by the test override so the teardown can run
    parameters = rds.describe_db_parameters(DBParameterGroupName=f"tms-{applied.env}-database", Source="user")[
        "Parameters"
    ]
    assert {p["ParameterName"]: p["ParameterValue"] for p in parameters}["rds.force_ssl"] == "1"


def test_an_uploaded_attachment_lands_in_the_bucket(applied: Applied) -> None:
    s3 = applied.client("s3")
    bucket = applied.outputs["s3_bucket_name"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" and rule["BucketKeyEnabled"] is True
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    s3.put_object(Bucket=bucket, Key="attachments/pod-0001.pdf", Body=b"%PDF-1.7 proof of delivery")
    stored = s3.get_object(Bucket=bucket, Key="attachments/pod-0001.pdf")
    assert stored["Body"].read() == b"%PDF-1.7 proof of delivery" and stored["ServerSideEncryption"] == "aws:kms"


def test_regional_dr_copies_the_attachments_and_the_secrets_to_the_dr_region(applied: Applied) -> None:
    """prod names a DR region: the attachments replicate there under S3 RTC into a versioned bucket under a key of
    that region, and every secret has a replica there under the DR secrets key. dev names none: nothing of either."""
    s3 = applied.client("s3")
    bucket = applied.outputs["s3_bucket_name"]
    secrets = applied.client("secretsmanager")
    connection = [applied.outputs[o] for o in ("rds_endpoint_secret_arn", "redis_endpoint_secret_arn")]
    dr_region = applied.plan.attachments_replication.value
    if dr_region is None:
        with pytest.raises(s3.exceptions.ClientError, match="ReplicationConfigurationNotFoundError"):
            s3.get_bucket_replication(Bucket=bucket)
        assert all("ReplicationStatus" not in secrets.describe_secret(SecretId=arn) for arn in connection)
        return
    (rule,) = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    destination = rule["Destination"]
    assert destination["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
    assert destination["Metrics"] == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
    replica = destination["Bucket"].removeprefix("arn:aws:s3:::")
    assert replica.startswith("tms-prod-attachments-dr-") and replica != bucket
    dr_s3 = applied.emulator.client("s3", dr_region)
    assert dr_s3.get_bucket_location(Bucket=replica)["LocationConstraint"] == dr_region
    assert dr_s3.get_bucket_versioning(Bucket=replica)["Status"] == "Enabled"
    (sse,) = dr_s3.get_bucket_encryption(Bucket=replica)["ServerSideEncryptionConfiguration"]["Rules"]
    replica_key = sse["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert destination["EncryptionConfiguration"] == {"ReplicaKmsKeyID": replica_key}
    assert replica_key.startswith(f"arn:aws:kms:{dr_region}:")
    for arn in connection:
        (status,) = secrets.describe_secret(SecretId=arn)["ReplicationStatus"]
        assert status["Region"] == dr_region and status["Status"] == "InSync"
        assert status["KmsKeyId"].startswith(f"arn:aws:kms:{dr_region}:")


def test_secrets_manager_holds_the_three_connection_secrets(applied: Applied) -> None:
    secrets = applied.client("secretsmanager")
    for output, service in (
        ("rds_endpoint_secret_arn", "database"),
        ("redis_endpoint_secret_arn", "cache"),
        ("rabbitmq_endpoint_secret_arn", "messaging"),
    ):
        described = secrets.describe_secret(SecretId=applied.outputs[output])
        assert described["Name"] == f"tms/{applied.env}/{service}/connection"
        assert described["KmsKeyId"]
        value = json.loads(secrets.get_secret_value(SecretId=applied.outputs[output])["SecretString"])
        assert value["host"] and value["port"] in (5432, 6379, 5671)
    rds_value = json.loads(
        secrets.get_secret_value(SecretId=applied.outputs["rds_endpoint_secret_arn"])["SecretString"]
    )
    assert "password" not in rds_value and rds_value["password_secret_arn"].startswith("arn:aws:secretsmanager:")


def test_cache_and_broker_follow_the_derived_modes(applied: Applied) -> None:
    (group,) = applied.client("elasticache").describe_replication_groups(ReplicationGroupId=f"tms-{applied.env}-cache")[
        "ReplicationGroups"
    ]
    assert len(group["MemberClusters"]) == 1 + applied.plan.cache_replicas.value
    assert group["AutomaticFailover"] == ("enabled" if applied.plan.cache_automatic_failover.value else "disabled")
    assert group["TransitEncryptionEnabled"] is True and group["AtRestEncryptionEnabled"] is True
    mq = applied.client("mq")
    (summary,) = [b for b in mq.list_brokers()["BrokerSummaries"] if b["BrokerName"] == f"tms-{applied.env}-messaging"]
    broker = mq.describe_broker(BrokerId=summary["BrokerId"])
    assert broker["EngineType"].lower() == "rabbitmq" and broker["PubliclyAccessible"] is False
    assert broker["DeploymentMode"] == applied.plan.broker_deployment_mode.value


def test_the_broker_password_is_one_value_in_its_secret_and_the_broker_and_workloads_have_their_own(
    applied: Applied,
) -> None:
    secrets = applied.client("secretsmanager")
    stored = secrets.get_secret_value(SecretId=f"tms/{applied.env}/messaging/password")["SecretString"]
    connection = json.loads(
        secrets.get_secret_value(SecretId=applied.outputs["rabbitmq_endpoint_secret_arn"])["SecretString"]
    )
    (broker,) = [
        r
        for r in applied.workspace.read_state()["resources"]
        if r["mode"] == "managed" and r["type"] == "aws_mq_broker"
    ]
    (user,) = broker["instances"][0]["attributes"]["user"]
    assert len(stored) == 32 and stored.isalnum() and user["password"] == stored
    # The connection secret is the endpoint only: no administrator, no password.
    assert set(connection) == {"engine", "url", "host", "port", "vhost"}
    users = applied.outputs["rabbitmq_user_secret_arns"]
    assert sorted(users) == ["dispatch", "odoo", "tracking"]
    for workload, arn in users.items():
        value = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
        assert value["username"] == workload and len(value["password"]) == 32 and value["password"] != stored


# Where the RabbitMQ password may be, and nowhere else (README, "Secrets and state"): Amazon MQ
# takes it through a plain argument of the broker, which Terraform keeps in the state, and the
# broker reads it from its secret through a data source, whose result is in the state too.
BROKER_PASSWORD_HOLDERS = frozenset(
    {"aws_mq_broker.messaging", "data.aws_secretsmanager_secret_version.messaging_password"}
)


def _without_holders(value: Any) -> Any:
    """A plan JSON without the entries (prior state, planned values, changes) of the password's holders."""
    if isinstance(value, dict):
        if value.get("address") in BROKER_PASSWORD_HOLDERS:
            return None
        return {k: _without_holders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_holders(v) for v in value]
    return value


def test_no_secret_value_leaks_into_out_plan_state_or_logs(applied: Applied) -> None:
    """Every password readable from Secrets Manager is absent from out/, the logs, the plan JSON and the state.

    The one documented exception (README, "Secrets and state"): Amazon MQ has
    no write-only password argument, so the broker's password is in the state
    entries of the broker and of the data source that reads it back from its
    secret, and in the plan JSON's entries of those two (it embeds the prior
    state); nowhere else, and never in a log.
    """
    secrets = applied.client("secretsmanager")
    workspace = applied.workspace

    def read(arn: str) -> dict[str, Any]:
        return json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])

    database = read(applied.outputs["rds_endpoint_secret_arn"])
    values = {
        "postgres master password": read(database["password_secret_arn"])["password"],
        "rabbitmq password": secrets.get_secret_value(SecretId=applied.outputs["rabbitmq_admin_password_secret_arn"])[
            "SecretString"
        ],
    }
    # The workloads' broker passwords go only through write-only arguments: in no state, plan, log or file at all.
    values |= {
        f"rabbitmq password of {workload}": read(arn)["password"]
        for workload, arn in applied.outputs["rabbitmq_user_secret_arns"].items()
    }
    plan_json = applied.plan_json()
    artifacts = {
        "out/": "".join(p.read_text() for p in sorted(OUT.rglob("*.tf.json"))),
        "plan JSON": plan_json,
        "terraform logs": "".join(p.read_text(errors="replace") for p in sorted(workspace.log_dir.iterdir())),
        "state": workspace.state_path.read_text(),
    }
    state = workspace.read_state()
    leaks = []
    for label, value in values.items():
        assert len(value) >= 8, (
            label
        )  # long enough not to match by chance (moto's RDS-managed password is 9 characters)
        for where, text in artifacts.items():
            if value in text and not (label == "rabbitmq password" and where in ("state", "plan JSON")):
                leaks.append(f"the {label} appears in {where}")
    password = values["rabbitmq password"]
    if password in json.dumps(_without_holders(json.loads(plan_json))):
        leaks.append(
            "the rabbitmq password appears in the plan JSON outside the entries of "
            + ", ".join(sorted(BROKER_PASSWORD_HOLDERS))
        )
    holders = {
        ("data." if r["mode"] == "data" else "") + f"{r['type']}.{r['name']}"
        for r in state["resources"]
        if password in json.dumps(r)
    }
    if holders != BROKER_PASSWORD_HOLDERS:
        leaks.append(
            f"the rabbitmq password is held in the state by {sorted(holders)}, expected {sorted(BROKER_PASSWORD_HOLDERS)}"
        )
    for line in artifacts["terraform logs"].splitlines():
        if password in line:
            leaks.append(f"log line: {line.replace(password, '<rabbitmq password>')}")
    assert not leaks, "\n".join(leaks)


# The Kubernetes side: before the re-plan and destroy tests below, while the stack is applied.


def test_rendered_manifests_validate_and_name_only_what_exists(applied: Applied, tmp_path: Path) -> None:
    """terraform output -json → tmsc kubernetes → every manifest valid, every ARN and secret in it real."""
    import kubernetes_validate  # type: ignore[import-untyped]
    import yaml

    from tmsc.kubernetes import documents, output_values

    from .crds.schemas import CustomResources
    from .test_kubernetes import CUSTOM_KINDS

    raw = applied.workspace.output(raw=True)
    values = output_values(PLATFORM, applied.env, raw, "terraform output -json")
    docs = documents(PLATFORM, applied.env, values)
    version = f"{PLATFORM.services['cluster'].version}.0"  # type: ignore[union-attr]
    # The custom resources against their CRDs' schemas where the install step has fetched them (make test).
    resources = CustomResources()
    custom = [d for d in docs if d["kind"] in CUSTOM_KINDS and (d["apiVersion"], d["kind"]) in resources.sources]
    for doc, errors in zip(custom, resources.errors(custom), strict=True):
        assert not errors, f"{doc['kind']} {doc['metadata']['name']}: {errors}"
    for doc in docs:
        if doc["kind"] not in CUSTOM_KINDS:
            kubernetes_validate.validate(doc, version, strict=True)
    text = yaml.safe_dump(docs)
    iam, secrets = applied.client("iam"), applied.client("secretsmanager")
    role_arns = {
        d["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] for d in docs if d["kind"] == "ServiceAccount"
    }
    assert len(role_arns) == len(PLATFORM.workloads) + 4
    for arn in sorted(role_arns):
        role = iam.get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]
        assert role["Arn"] == arn
    secret_refs = {
        d["remoteRef"]["key"] for doc in docs if doc["kind"] == "ExternalSecret" for d in doc["spec"]["data"]
    }
    for arn in sorted(secret_refs):
        assert secrets.describe_secret(SecretId=arn)["ARN"] == arn
    (binding,) = [d for d in docs if d["kind"] == "TargetGroupBinding"]
    groups = applied.client("elbv2").describe_target_groups(TargetGroupArns=[binding["spec"]["targetGroupARN"]])
    assert groups["TargetGroups"][0]["TargetType"] == "ip"
    assert applied.client("ec2").describe_vpcs(VpcIds=[values["vpc_id"]])["Vpcs"]
    # Every ARN-looking string in the manifests is one of those checked above.
    arns = set(re.findall(r"arn:aws:[a-z0-9-]+:[^\s'\"]*", text))
    assert arns <= role_arns | secret_refs | {binding["spec"]["targetGroupARN"]}, arns - role_arns - secret_refs


def test_workload_roles_name_their_own_secrets_and_dbuser_only(applied: Applied) -> None:
    """What the emulator can say about the roles as applied: each workload's inline policy names exactly the
    secrets its ExternalSecret reads, rds-db:connect on its own dbuser of this instance's resource ID, and
    never the master credential or the broker administrator's password (moto does not evaluate IAM policies:
    who may actually read what is the plan-level property of tests/test_kubernetes.py)."""
    from tmsc.kubernetes import documents, output_values
    from tmsc.model import database_user

    values = output_values(PLATFORM, applied.env, applied.workspace.output(raw=True), "terraform output -json")
    docs = documents(PLATFORM, applied.env, values)
    iam, rds, cache = applied.client("iam"), applied.client("rds"), applied.client("elasticache")
    (instance,) = rds.describe_db_instances(DBInstanceIdentifier=f"tms-{applied.env}-database")["DBInstances"]
    (replication_group,) = cache.describe_replication_groups(ReplicationGroupId=f"tms-{applied.env}-cache")[
        "ReplicationGroups"
    ]
    group_arn = replication_group["ARN"]
    for name in PLATFORM.workloads:
        role = f"tms-{applied.env}-{name}"
        document = iam.get_role_policy(RoleName=role, PolicyName="least-privilege")["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        readable = {
            r
            for s in document["Statement"]
            if "secretsmanager:GetSecretValue" in s["Action"]
            for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        }
        (external,) = [
            d for d in docs if d["kind"] == "ExternalSecret" and d["metadata"]["name"] == f"{name}-connection"
        ]
        assert readable == {d["remoteRef"]["key"] for d in external["spec"]["data"]}, name
        assert (
            values["rds_master_secret_arn"] not in readable
            and values["rabbitmq_admin_password_secret_arn"] not in readable
        )
        connects = [s["Resource"] for s in document["Statement"] if s["Action"] == "rds-db:connect"]
        if "database" in PLATFORM.workloads[name].reads:
            assert connects == [
                f"arn:aws:rds-db:{PLATFORM.region}:{instance['DBInstanceArn'].split(':')[4]}:dbuser:"
                f"{instance['DbiResourceId']}/{database_user(name)}"
            ]
        else:
            assert connects == []
        # Redis: elasticache:Connect as its own user of this cache, a member of the cache's user group, whose
        # name is what the workload's Secret gives it.
        users = {u["UserId"]: u for u in cache.describe_users()["Users"]}
        (group,) = cache.describe_user_groups(UserGroupId=f"tms-{applied.env}-cache")["UserGroups"]
        cache_connects = [s["Resource"] for s in document["Statement"] if s["Action"] == "elasticache:Connect"]
        if "cache" in PLATFORM.workloads[name].reads:
            user_name = values["redis_usernames"][name]
            user = users[user_name]
            assert user["UserName"] == user_name and user["Authentication"]["Type"] == "iam"
            assert user_name in group["UserIds"]
            assert cache_connects == [[group_arn, user["ARN"]]]
            template = external["spec"]["target"]["template"]["data"]
            assert template["CACHE_USERNAME"] == user_name
        else:
            assert cache_connects == [] and name not in values["redis_usernames"]
    # The default user (switched off) and one user per reading workload: nobody else.
    assert sorted(group["UserIds"]) == sorted([f"tms-{applied.env}-cache-default", *values["redis_usernames"].values()])


def test_checkov_finds_nothing_in_the_plan_json(
    applied: Applied, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """checkov --framework terraform_plan over the plan JSON: 0 failed checks with the reviewed skips.

    As for out/ (tests/test_checkov.py): unskipped, the failures must be exactly
    the reviewed ones for this environment (skips.yaml, after its
    plan_differences); with --skip-check of their ids, nothing fails and
    everything else is as before.
    """
    require_checkov()
    plan = tmp_path / f"{applied.env}.plan.json"
    plan.write_text(applied.plan_json())
    skip = plan_skip_checks(applied.env)
    unskipped, skipped = scan_twice(plan, skip, framework="terraform_plan")
    before, after = unskipped["summary"], skipped["summary"]
    expected = plan_expected_failures(applied.env)
    write_line(request, "")
    write_line(
        request,
        f"checkov {pinned_version()} --framework terraform_plan, plan JSON of {applied.env} on the emulator: "
        f"passed {before['passed']} failed {before['failed']}  →  with the skips: passed {after['passed']} failed {after['failed']} "
        f"skipped {len(expected)} (resource findings of {len(skip)} skipped check ids); parse errors {after['parsing_errors']}",
    )
    assert before["checkov_version"] == pinned_version()
    assert before["parsing_errors"] == 0 and after["parsing_errors"] == 0
    names = {r["check_id"]: r["check_name"] for r in unskipped["results"]["failed_checks"]}
    problems = mismatch(failures(unskipped, tmp_path), expected, names, f"plan JSON of {applied.env}")
    assert not problems, "\n".join(problems)
    failed = [(r["check_id"], r["resource"]) for r in skipped["results"]["failed_checks"]]
    assert after["failed"] == 0 and not failed, failed
    assert after["passed"] > 100, f"only {after['passed']} checks passed; did checkov read the plan?"
    assert results_by_check(skipped) == {x for x in results_by_check(unskipped) if x[0] not in set(skip)}


def test_a_second_plan_shows_no_changes(applied: Applied) -> None:
    assert applied.workspace.plan() == 0, applied.workspace.plan_text()


def test_destroy_leaves_nothing(applied: Applied) -> None:
    s3 = applied.client("s3")
    bucket = applied.outputs["s3_bucket_name"]
    try:
        applied.workspace.destroy()
    except TerraformError as error:
        # Emulator gap seen once in four destroys: moto answered RevokeSecurityGroupEgress with
        # InvalidPermission.NotFound for a rule it still listed. A second destroy refreshes the
        # rule away and converges; anything else is a real failure.
        if "InvalidPermission.NotFound" not in str(error):
            raise
        applied.workspace.destroy()
    assert applied.workspace.resource_addresses() == []
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert not applied.client("rds").describe_db_instances()["DBInstances"]
    assert not applied.client("eks").list_clusters()["clusters"]
    assert not [
        s
        for s in applied.client("secretsmanager").list_secrets()["SecretList"]
        if s["Name"].startswith(f"tms/{applied.env}/")
    ]
    assert not applied.client("elasticache").describe_replication_groups()["ReplicationGroups"]
    assert not [
        b
        for b in applied.client("mq").list_brokers()["BrokerSummaries"]
        if b["BrokerName"].startswith(f"tms-{applied.env}-")
    ]
    assert not applied.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"tms-{applied.env}"]}])[
        "Vpcs"
    ]
