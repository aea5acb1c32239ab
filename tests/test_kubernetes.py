"""tmsc kubernetes: the manifests the Kubernetes repository applies, checked against what Kubernetes and the
controllers accept and against the IAM roles the compiled Terraform gives each workload.

- Every manifest validates against the Kubernetes API schemas of the cluster version the spec pins
  (kubernetes-validate, offline); the custom resources against the schemas of their CRDs, fetched from package registries by the install
  step (tests/crds/, see its README), and broken copies of them rejected.
- Properties over generated platforms: no workload's role or manifest references the database's master
  credential or the broker's administrator; the secrets a workload's ExternalSecret reads are exactly the
  secrets its role may read.
- Bad outputs (missing, of another environment, not JSON): exit 2, the target directory as it was.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from tmsc.kubernetes import OutputsError, documents, output_values, render
from tmsc.load import load_platform
from tmsc.model import Platform, database_user
from tmsc.services.identity import MIGRATION

from .conftest import EXAMPLE_SPEC, REPO, examples
from .crds.schemas import CustomResources
from .stackview import StackView, as_list, compile_views, statements
from .strategies import spec_documents

TMSC = [sys.executable, "-m", "tmsc.cli"]
CUSTOM_KINDS = {"ExternalSecret", "SecretStore", "ClusterSecretStore", "TargetGroupBinding"}
# The custom resources tmsc renders, with the API version of each.
CUSTOM_API_VERSIONS = {
    "ExternalSecret": "external-secrets.io/v1",
    "SecretStore": "external-secrets.io/v1",
    "TargetGroupBinding": "elbv2.k8s.aws/v1beta1",
}


def synthetic_outputs(view: StackView) -> dict[str, Any]:
    """`terraform output -json` of the stack with each value replaced by a stand-in naming its expression:
    `arn:test:${aws_secretsmanager_secret.database.arn}` — so a manifest's value names the Terraform object."""

    def stand_in(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: stand_in(v) for k, v in value.items()}
        return f"arn:test:{value}"

    raw = {
        name: {"sensitive": False, "type": "string", "value": stand_in(o["value"])} for name, o in view.outputs.items()
    }
    return raw


def outputs_for(platform: Platform, env: str) -> tuple[StackView, dict[str, Any]]:
    view = compile_views(platform)[env]
    raw = synthetic_outputs(view)
    cluster = next(name for name, s in platform.services.items() if s.kind == "eks")
    raw["eks_cluster_name"]["value"] = f"{platform.platform}-{env}-{cluster}"
    return view, raw


@pytest.fixture(scope="module")
def example() -> tuple[Platform, StackView, dict[str, Any]]:
    platform = load_platform(EXAMPLE_SPEC)
    view, raw = outputs_for(platform, "dev")
    return platform, view, raw


# --------------------------------------------------------------------------- least privilege, as properties


def role_secrets(view: StackView, workload: str) -> set[str]:
    """Stand-ins of every secret the workload's IAM role may GetSecretValue."""
    block = view.of("aws_iam_role_policy").get(f"irsa_{workload}")
    if block is None:  # a workload that reads nothing and holds no prefix has a role without a policy
        return set()
    policy = json.loads(block["policy"])
    found: set[str] = set()
    for statement in statements(policy):
        if statement["Effect"] == "Allow" and "secretsmanager:GetSecretValue" in as_list(statement["Action"]):
            found |= {f"arn:test:{r}" for r in as_list(statement["Resource"])}
    return found


def workload_documents(platform: Platform, docs: list[dict[str, Any]], workload: str) -> list[dict[str, Any]]:
    w = platform.workloads[workload]
    return [d for d in docs if d["metadata"].get("namespace") == w.namespace and workload in d["metadata"]["name"]]


def check_least_privilege(platform: Platform, view: StackView, raw: dict[str, Any], env: str) -> None:
    values = output_values(platform, env, raw, "synthetic")
    docs = documents(platform, env, values)
    database = next((n for n, s in platform.services.items() if s.kind == "postgres"), None)
    broker = next(n for n, s in platform.services.items() if s.kind == "rabbitmq")
    master_secret = values["rds_master_secret_arn"]
    admin_password = values["rabbitmq_admin_password_secret_arn"]
    master_user = platform.services[database].master_username  # type: ignore[union-attr, index]
    broker_admin = platform.services[broker].username  # type: ignore[union-attr]
    for name, workload in platform.workloads.items():
        policy_text = view.of("aws_iam_role_policy").get(f"irsa_{name}", {}).get("policy", "{}")
        assert "master_user_secret" not in policy_text and f"{broker}_password" not in policy_text, name
        mine = [d for d in docs if d["metadata"].get("namespace") == workload.namespace]
        external = [d for d in mine if d["kind"] == "ExternalSecret" and d["metadata"]["name"] == f"{name}-connection"]
        text = yaml.safe_dump(external + workload_documents(platform, docs, name))
        assert master_secret not in text and admin_password not in text, name
        assert not re.search(rf"\b{re.escape(master_user)}\b", text), name
        for document in external:
            for literal in document["spec"]["target"].get("template", {}).get("data", {}).values():
                assert literal != broker_admin and literal != master_user, name
        read = {d["remoteRef"]["key"] for e in external for d in e["spec"]["data"]}
        assert read == role_secrets(view, name), (
            f"{name}: ExternalSecret reads {read}, its role may read {role_secrets(view, name)}"
        )
        # Every key of every secret it reads lands in the Secret: nothing it may read is left out.
        if workload.reads:
            assert external, f"{name} reads {workload.reads} but has no ExternalSecret"
            store = external[0]["spec"]["secretStoreRef"]
            stores = [d for d in mine if d["kind"] == "SecretStore" and d["metadata"]["name"] == store["name"]]
            assert (
                stores[0]["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"]["name"]
                == workload.service_account
            )
        if database is not None and database in workload.reads:
            [statement] = [s for s in statements(json.loads(policy_text)) if "rds-db:connect" in as_list(s["Action"])]
            assert statement["Resource"].endswith(
                f":dbuser:${{aws_db_instance.{database}.resource_id}}/{database_user(name)}"
            ), statement
        else:
            assert "rds-db:connect" not in policy_text
    # The migration identity reads what no workload does, from its own namespace.
    namespace = MIGRATION[0]
    migration_text = yaml.safe_dump([d for d in docs if d["metadata"].get("namespace") == namespace])
    assert master_secret in migration_text and admin_password in migration_text
    assert all(w.namespace != namespace for w in platform.workloads.values())


def test_example_workloads_read_exactly_their_own_secrets(example: tuple[Platform, StackView, dict[str, Any]]) -> None:
    platform, view, raw = example
    check_least_privilege(platform, view, raw, "dev")


@settings(
    max_examples=int(os.environ.get("TMSC_K8S_EXAMPLES") or examples(25)),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(spec_documents(max_environments=2))
def test_generated_workloads_read_exactly_their_own_secrets(document: dict[str, Any]) -> None:
    platform = Platform.model_validate(document)
    env = sorted(platform.environments)[0]
    view, raw = outputs_for(platform, env)
    check_least_privilege(platform, view, raw, env)


def test_rendering_is_deterministic_and_one_file_per_kind_per_namespace(
    example: tuple[Platform, StackView, dict[str, Any]],
) -> None:
    platform, _, raw = example
    values = output_values(platform, "dev", raw, "synthetic")
    first = render(platform, "dev", values)
    assert first == render(platform, "dev", dict(reversed(list(values.items()))))
    for path, text in first.items():
        if path.startswith("helm/"):
            continue
        namespace, file = path.split("/")
        docs = list(yaml.safe_load_all(text))
        assert {d["kind"] for d in docs} == {file.removesuffix(".yaml")}, path
        assert {d["metadata"].get("namespace", "_cluster") for d in docs} == {namespace}, path
        assert [d["metadata"]["name"] for d in docs] == sorted(d["metadata"]["name"] for d in docs)


def test_helm_values_name_the_cluster_region_vpc_and_service_accounts(
    example: tuple[Platform, StackView, dict[str, Any]],
) -> None:
    platform, _, raw = example
    files = render(platform, "dev", output_values(platform, "dev", raw, "synthetic"))
    lbc = yaml.safe_load(files["helm/aws-load-balancer-controller.values.yaml"])
    assert lbc["clusterName"] == "tms-dev-cluster" and lbc["region"] == "eu-west-1"
    assert lbc["vpcId"] == "arn:test:${aws_vpc.main.id}" and lbc["serviceAccount"] == {
        "create": False,
        "name": "aws-load-balancer-controller",
    }
    autoscaler = yaml.safe_load(files["helm/cluster-autoscaler.values.yaml"])
    assert autoscaler["autoDiscovery"]["clusterName"] == "tms-dev-cluster"
    accounts = list(yaml.safe_load_all(files["kube-system/ServiceAccount.yaml"]))
    assert {a["metadata"]["name"]: a["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] for a in accounts} == {
        "aws-load-balancer-controller": "arn:test:${aws_iam_role.irsa_load_balancer_controller.arn}",
        "cluster-autoscaler": "arn:test:${aws_iam_role.irsa_cluster_autoscaler.arn}",
    }


def test_target_group_binding_points_the_api_target_group_at_the_serving_workload(
    example: tuple[Platform, StackView, dict[str, Any]],
) -> None:
    platform, _, raw = example
    files = render(platform, "dev", output_values(platform, "dev", raw, "synthetic"))
    [binding] = yaml.safe_load_all(files["tms/TargetGroupBinding.yaml"])
    assert binding["spec"] == {
        "serviceRef": {"name": "odoo", "port": 8080},
        "targetGroupARN": "arn:test:${aws_lb_target_group.api.arn}",
        "targetType": "ip",
    }


# --------------------------------------------------------------------------- schemas


def all_documents(files: dict[str, str]) -> list[dict[str, Any]]:
    return [d for path, text in files.items() if not path.startswith("helm/") for d in yaml.safe_load_all(text)]


def test_every_manifest_validates_against_the_pinned_kubernetes_version(
    example: tuple[Platform, StackView, dict[str, Any]],
) -> None:
    import kubernetes_validate  # type: ignore[import-untyped]

    platform, _, raw = example
    version = platform.services["cluster"].version  # type: ignore[union-attr]
    assert f"{version}.0" in kubernetes_validate.utils.all_versions(), (
        f"kubernetes-validate has no schemas of Kubernetes {version}"
    )
    checked = 0
    for doc in all_documents(render(platform, "dev", output_values(platform, "dev", raw, "synthetic"))):
        if doc["kind"] in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(doc, f"{version}.0", strict=True)
        checked += 1
    assert checked >= 10


@pytest.fixture(scope="module")
def custom_resources() -> CustomResources:
    return CustomResources()


def custom_documents(example: tuple[Platform, StackView, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    platform, _, raw = example
    docs = all_documents(render(platform, "dev", output_values(platform, "dev", raw, "synthetic")))
    assert {d["kind"] for d in docs} & CUSTOM_KINDS == set(CUSTOM_API_VERSIONS), "a custom kind rendered or gone"
    assert all(d["apiVersion"] == CUSTOM_API_VERSIONS[d["kind"]] for d in docs if d["kind"] in CUSTOM_KINDS)
    return [d for d in docs if d["kind"] == kind]


def require_schema(custom_resources: CustomResources, kind: str) -> None:
    reason = custom_resources.missing({(CUSTOM_API_VERSIONS[kind], kind)})
    if reason and os.environ.get("CI"):
        pytest.fail(f"{reason}; CI runs the install step (make test), so this is a failure there")
    if reason:
        pytest.skip(reason)


@pytest.mark.parametrize("kind", sorted(CUSTOM_API_VERSIONS))
def test_custom_resources_validate_against_their_crds(
    example: tuple[Platform, StackView, dict[str, Any]], custom_resources: CustomResources, kind: str
) -> None:
    require_schema(custom_resources, kind)
    docs = custom_documents(example, kind)
    assert docs
    for doc, errors in zip(docs, custom_resources.errors(docs), strict=True):
        assert not errors, (
            f"{kind} {doc['metadata']['name']} against {custom_resources.sources[(doc['apiVersion'], kind)]}: {errors}"
        )


# Each change breaks a rendered document of its kind the way a bug in the renderer could, and the schema must
# name the field it broke: an unknown field (a misspelt or misplaced key), a wrong type, a value outside an
# enum, a required field left out.
BROKEN: dict[str, list[tuple[str, Any, str]]] = {
    "ExternalSecret": [
        ("unknown field under spec", lambda d: d["spec"].update(refreshIntervall="1h"), "/spec/refreshIntervall"),
        (
            "unknown field under a remoteRef",
            lambda d: d["spec"]["data"][0]["remoteRef"].update(name="x"),
            "/spec/data/0/remoteRef/name",
        ),
        ("wrong type", lambda d: d["spec"].update(refreshInterval=3600), "/spec/refreshInterval"),
        (
            "outside the enum",
            lambda d: d["spec"]["target"].update(creationPolicy="Always"),
            "/spec/target/creationPolicy",
        ),
        ("required left out", lambda d: d["spec"]["data"][0]["remoteRef"].pop("key"), "/spec/data/0/remoteRef"),
    ],
    "SecretStore": [
        (
            "unknown field under spec.provider.aws",
            lambda d: d["spec"]["provider"]["aws"].update(regions=["eu-west-1"]),
            "/spec/provider/aws/regions",
        ),
        (
            "wrong type",
            lambda d: d["spec"]["provider"]["aws"].update(region=["eu-west-1"]),
            "/spec/provider/aws/region",
        ),
        ("outside the enum", lambda d: d["spec"]["provider"]["aws"].update(service="S3"), "/spec/provider/aws/service"),
        ("required left out", lambda d: d["spec"]["provider"]["aws"].pop("region"), "/spec/provider/aws"),
    ],
    "TargetGroupBinding": [
        ("unknown field under spec", lambda d: d["spec"].update(targetGroupArn="arn"), "/spec/targetGroupArn"),
        ("wrong type", lambda d: d["spec"]["serviceRef"].update(port=8080.5), "/spec/serviceRef/port"),
        ("outside the enum", lambda d: d["spec"].update(targetType="pod"), "/spec/targetType"),
        ("required left out", lambda d: d["spec"]["serviceRef"].pop("name"), "/spec/serviceRef"),
    ],
}


@pytest.mark.parametrize("kind", sorted(CUSTOM_API_VERSIONS))
def test_the_crd_schemas_reject_broken_documents(
    example: tuple[Platform, StackView, dict[str, Any]], custom_resources: CustomResources, kind: str
) -> None:
    """The check above can fail: each broken copy of a rendered document is rejected, at the field broken and
    nowhere else."""
    require_schema(custom_resources, kind)
    original = custom_documents(example, kind)[0]
    broken = []
    for _, change, _ in BROKEN[kind]:
        doc = json.loads(json.dumps(original))
        change(doc)
        broken.append(doc)
    for (what, _, path), errors in zip(BROKEN[kind], custom_resources.errors(broken), strict=True):
        assert errors and all(e.startswith(f"{path}:") for e in errors), f"{kind}, {what}: at {path}? {errors}"


# --------------------------------------------------------------------------- the command


def run(*args: str, cwd: Path = REPO, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TMSC, *args], cwd=cwd, capture_output=True, text=True, timeout=120, input=stdin)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw.pop("migration_role_arn"), "lacks the output migration_role_arn"),
        (lambda raw: raw["eks_cluster_name"].update(value="tms-prod-cluster"), "not 'tms-dev-cluster'"),
        (lambda raw: raw.update(vpc_id="vpc-1"), "not the output of `terraform output -json`"),
    ],
)
def test_wrong_outputs_exit_2_and_leave_the_directory_as_it_was(
    example: tuple[Platform, StackView, dict[str, Any]], tmp_path: Path, change: Any, message: str
) -> None:
    _, _, raw = example
    broken = json.loads(json.dumps(raw))
    change(broken)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(broken))
    target = tmp_path / "k8s"
    target.mkdir()
    (target / "keep.yaml").write_text("kept\n")
    result = run("kubernetes", str(EXAMPLE_SPEC), "--env", "dev", "--outputs", str(outputs), "--out", str(target))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "fix:" in result.stderr
    assert [p.name for p in target.iterdir()] == ["keep.yaml"]


def test_unknown_environment_missing_file_and_not_json_exit_2(tmp_path: Path) -> None:
    missing = run("kubernetes", str(EXAMPLE_SPEC), "--env", "dev", "--outputs", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    (tmp_path / "bad.json").write_text("{not json")
    bad = run("kubernetes", str(EXAMPLE_SPEC), "--env", "dev", "--outputs", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and "not JSON" in bad.stderr
    (tmp_path / "ok.json").write_text("{}")
    unknown = run("kubernetes", str(EXAMPLE_SPEC), "--env", "qa", "--outputs", str(tmp_path / "ok.json"))
    assert unknown.returncode == 2 and "no environment named 'qa'" in unknown.stderr


def test_the_command_writes_what_render_returns(
    example: tuple[Platform, StackView, dict[str, Any]], tmp_path: Path
) -> None:
    platform, _, raw = example
    target = tmp_path / "k8s"
    result = run(
        "kubernetes", str(EXAMPLE_SPEC), "--env", "dev", "--outputs", "-", "--out", str(target), stdin=json.dumps(raw)
    )
    assert result.returncode == 0, result.stderr
    expected = render(platform, "dev", output_values(platform, "dev", raw, "synthetic"))
    written = {str(p.relative_to(target)): p.read_text() for p in target.rglob("*") if p.is_file()}
    assert written == expected


def test_output_values_refuses_an_unknown_environment(example: tuple[Platform, StackView, dict[str, Any]]) -> None:
    platform, _, raw = example
    with pytest.raises(OutputsError, match="no environment named 'qa'"):
        output_values(platform, "qa", raw, "x")
