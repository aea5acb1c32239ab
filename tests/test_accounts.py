"""One AWS account per environment: each stack refuses every other account, and state, locks and CI roles stay in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tmsc.compile import compile_platform
from tmsc.load import load_platform
from tmsc.model import Platform
from tmsc.render import render_stack
from tmsc.services.providers import accounts, bootstrap_stack, state_bucket_name

from .conftest import EXAMPLE_SPEC, REPO
from .stackview import StackView, compile_views, statements
from .tf import terraform

ACCOUNTS_SPEC = REPO / "spec" / "examples" / "one-account-per-environment.yaml"
ACCOUNT_OF = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}


@pytest.fixture(scope="module")
def platform() -> Platform:
    return load_platform(ACCOUNTS_SPEC)


@pytest.fixture(scope="module")
def views(platform: Platform) -> dict[str, StackView]:
    return compile_views(platform)


def providers(view: StackView) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for document in view.documents.values():
        for body in document.get("provider", {}).get("aws", []):
            found.append(body)
    return found


def backend(view: StackView) -> dict[str, Any] | None:
    for document in view.documents.values():
        if "backend" in document.get("terraform", {}):
            return dict(document["terraform"]["backend"]["s3"])
    return None


def test_the_example_names_one_account_per_environment(platform: Platform) -> None:
    assert {name: env.aws_account_id for name, env in platform.environments.items()} == ACCOUNT_OF
    assert accounts(platform) == {account: (env,) for env, account in ACCOUNT_OF.items()}
    # Apart from the accounts and its opening comment, it is spec/platform.yaml.
    example = yaml.safe_load(ACCOUNTS_SPEC.read_text())
    for env in example["environments"].values():
        env.pop("aws_account_id")
    assert example == yaml.safe_load(EXAMPLE_SPEC.read_text())


def test_every_provider_of_every_stack_allows_only_its_account(platform: Platform, views: dict[str, StackView]) -> None:
    assert set(views) == {*ACCOUNT_OF, *(f"bootstrap-{account}" for account in ACCOUNT_OF.values())}
    for name, view in views.items():
        account = ACCOUNT_OF.get(name) or name.removeprefix("bootstrap-")
        found = providers(view)
        assert found and all(p["allowed_account_ids"] == [account] for p in found), (name, found)
    assert len(providers(views["prod"])) == 2  # the DR region's provider too


def test_state_and_locks_stay_in_the_environments_account(platform: Platform, views: dict[str, StackView]) -> None:
    for env, account in ACCOUNT_OF.items():
        state = backend(views[env])
        assert state is not None
        bucket = f"tms-tfstate-{account}-eu-west-1"
        assert state["bucket"] == bucket == state_bucket_name(platform, account)
        boot = views[bootstrap_stack(platform, account)]
        assert boot.of("aws_s3_bucket")["state"]["bucket"] == bucket
        # The CI roles of that account are those of its environment, and their state scopes name its bucket.
        roles = set(boot.of("aws_iam_role"))
        assert f"ci_apply_{env}" in roles and not any(f"ci_apply_{o}" in roles for o in ACCOUNT_OF if o != env)
        for policy in boot.of("aws_iam_policy").values():
            for statement in statements(json.loads(policy["policy"])):
                if statement["Sid"] == "StateLockTable":
                    keys = statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]
                    assert all(key.startswith(f"{bucket}/tms/{env}/") for key in keys), keys
    # Production's account holds no role a pull request can assume; dev's and staging's each have one.
    assert "ci_pr_plan" not in views["bootstrap-333333333333"].of("aws_iam_role")
    assert {"ci_pr_plan", "ci_main_plan"} <= set(views["bootstrap-111111111111"].of("aws_iam_role"))


def test_one_named_account_keeps_one_bootstrap_stack_and_its_names() -> None:
    document = yaml.safe_load(EXAMPLE_SPEC.read_text())
    for env in document["environments"].values():
        env["aws_account_id"] = "444444444444"
    views = compile_views(document)
    assert set(views) == {"bootstrap", "dev", "staging", "prod"}
    for view in views.values():
        assert all(p["allowed_account_ids"] == ["444444444444"] for p in providers(view))
    dev = backend(views["dev"])
    assert dev is not None and dev["bucket"] == "tms-tfstate-eu-west-1"


def test_without_accounts_the_providers_name_none() -> None:
    views = compile_views(load_platform(EXAMPLE_SPEC))
    assert all("allowed_account_ids" not in p for view in views.values() for p in providers(view))


@pytest.mark.terraform
# An xdist group per stack, as in test_terraform.py: terraform validate is this module's cost.
@pytest.mark.parametrize(
    "stack",
    [
        pytest.param(stack, marks=pytest.mark.xdist_group(f"accounts-validate-{stack}"))
        for stack in ("prod", "bootstrap-333333333333")
    ],
)
def test_the_account_stacks_are_valid_terraform(platform: Platform, stack: str, tmp_path: Path) -> None:
    (compiled,) = [s for s in compile_platform(platform) if s.name == stack]
    for name, text in render_stack(compiled).items():
        (tmp_path / name).write_text(text)
    init = terraform(["init", "-backend=false", "-no-color"], tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    result = terraform(["validate", "-json", "-no-color"], tmp_path)
    report = json.loads(result.stdout)
    assert report["valid"] and report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=2)
