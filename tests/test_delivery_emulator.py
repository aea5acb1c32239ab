"""The bootstrap stack with its CI identity, applied on the emulator: IAM takes every policy document, and a re-plan is empty.

moto validates IAM policy grammar as AWS does (action and ARN formats,
condition operators: a malformed document is refused with
MalformedPolicyDocument), so this is where the 18 generated policies, the plan key and 5
trust policies meet an IAM API. moto does not evaluate web-identity trust or
condition keys at AssumeRoleWithWebIdentity; tests/test_delivery.py checks
who the trust policies admit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tmsc.load import load_platform
from tmsc.services.delivery import CI_PATH, SUBJECT_KEY

from .conftest import EXAMPLE_SPEC, OUT

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

REPOSITORY = "example-org/tms-platform"


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    from tests.emulator import TerraformWorkspace, start_emulator

    platform = load_platform(EXAMPLE_SPEC)
    with start_emulator(region=platform.region) as emulator:
        workspace = TerraformWorkspace(OUT / "bootstrap", emulator, tmp_path_factory.mktemp("bootstrap"), teardown=True)
        workspace.init()
        workspace.apply()
        yield emulator, workspace


def test_the_bootstrap_stack_applies_and_replans_empty(applied: tuple[Any, Any]) -> None:
    _, workspace = applied
    assert workspace.plan() == 0


def test_the_ci_roles_exist_with_their_trust_and_policies(applied: tuple[Any, Any]) -> None:
    emulator, workspace = applied
    iam = emulator.client("iam")
    roles = {r["RoleName"]: r for r in iam.list_roles(PathPrefix=CI_PATH)["Roles"]}
    subjects = {
        "tms-ci-pr-plan": f"repo:{REPOSITORY}:pull_request",
        "tms-ci-main-plan": f"repo:{REPOSITORY}:ref:refs/heads/main",
        **{f"tms-ci-apply-{env}": f"repo:{REPOSITORY}:environment:{env}" for env in ("dev", "staging", "prod")},
    }
    assert set(roles) == set(subjects)
    provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]
    for name, subject in subjects.items():
        document = roles[name]["AssumeRolePolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        (statement,) = document["Statement"]
        assert statement["Principal"] == {"Federated": provider_arn}
        assert statement["Condition"]["StringEquals"][SUBJECT_KEY] == subject
        attached = {p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}
        assert "tms-ci-read" in attached and not any("Administrator" in p for p in attached)
        assert not iam.list_role_policies(RoleName=name)["PolicyNames"]  # managed policies only
    outputs = workspace.output()
    assert outputs["ci_apply_role_arns"]["prod"] == f"arn:aws:iam::123456789012:role{CI_PATH}tms-ci-apply-prod"


def test_the_stored_policies_are_the_compiled_ones(applied: tuple[Any, Any]) -> None:
    emulator, _ = applied
    iam = emulator.client("iam")
    stored = {}
    for policy in iam.list_policies(Scope="Local", PathPrefix=CI_PATH)["Policies"]:
        version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        document = version["Document"]
        stored[policy["PolicyName"]] = json.loads(document) if isinstance(document, str) else document
    compiled = json.loads(Path(OUT / "bootstrap" / "delivery.tf.json").read_text())["resource"]["aws_iam_policy"]
    assert set(stored) == {body["name"] for body in compiled.values()}
    deny = [s for s in stored["tms-ci-read"]["Statement"] if s["Effect"] == "Deny"]
    assert deny and "arn:aws:iam::123456789012:role/tmsc-ci/*" in deny[0]["Resource"]
    state = {s["Sid"]: s for s in stored["tms-ci-apply-prod-state"]["Statement"]}
    assert state["StateObjects"]["Resource"] == ["arn:aws:s3:::tms-tfstate-eu-west-1/tms/prod/terraform.tfstate"]


def test_a_plan_sealed_with_the_plan_key_opens_for_its_environment_only(
    applied: tuple[Any, Any], tmp_path: Path
) -> None:
    """ci.py seal-plan / open-plan through the real AWS CLI against the emulator's KMS and the compiled plan key.

    moto checks the encryption context on Decrypt as KMS does; it does not evaluate key policies, so who may
    decrypt is shown from the compiled key policy in tests/test_pull_request_exposure.py, not here.
    """
    import os
    import shutil
    import subprocess
    import sys

    from tmsc.services.delivery import plan_key_alias

    from .conftest import REPO

    if shutil.which("aws") is None:
        pytest.skip("the AWS CLI is not installed (GitHub's runners have it)")
    emulator, _ = applied
    env = {**os.environ, **emulator.env()}
    ci = [sys.executable, str(REPO / ".github" / "scripts" / "ci.py")]
    plan = tmp_path / "tfplan"
    plan.write_bytes(b"a saved plan with a prior state " * 100)
    alias = plan_key_alias(load_platform(EXAMPLE_SPEC))
    sealed = tmp_path / "tfplan.sealed"
    seal = [*ci, "seal-plan", "--plan", str(plan), "--env", "prod", "--key", alias, "--out", str(sealed)]
    done = subprocess.run(seal, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert b"prior state" not in sealed.read_bytes()
    opened = tmp_path / "opened"
    done = subprocess.run(
        [*ci, "open-plan", "--sealed", str(sealed), "--env", "prod", "--out", str(opened)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert opened.read_bytes() == plan.read_bytes()
    # The encryption context names prod: KMS refuses the data key to anyone asking for it as dev's.
    header, _, body = sealed.read_bytes().partition(b"\n")
    relabelled = tmp_path / "relabelled.sealed"
    relabelled.write_bytes(header.replace(b'"environment": "prod"', b'"environment": "dev"') + b"\n" + body)
    refused = subprocess.run(
        [*ci, "open-plan", "--sealed", str(relabelled), "--env", "dev", "--out", str(tmp_path / "x")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0 and not (tmp_path / "x").exists(), refused.stdout
