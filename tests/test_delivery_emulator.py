"""The bootstrap stack with its CI identity, applied on the emulator: IAM takes every policy document, and a re-plan is empty.

moto validates IAM policy grammar as AWS does (action and ARN formats,
condition operators: a malformed document is refused with
MalformedPolicyDocument), so this is where the 17 generated policies and 5
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
