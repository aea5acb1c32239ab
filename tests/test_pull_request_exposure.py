"""No pull request reaches a production secret: not through a role it can assume, not through what its runs upload.

A pull request edits its own workflow files, so anything a token of a `pull_request` run can do, the author of a
same-repository pull request can do. This module reads what the compiler emits — every role's trust policy and the
policies attached to it, the secrets' own policies, the plan key's policy — and the workflow files, and shows:

- the only role a `pull_request` token can assume is the pull-request plan role, and an account holding only
  production environments has none;
- that role reaches no production secret value (GetSecretValue on the secret ARN, and the secret's policy), no
  production state object, and no KMS key that decrypts either (its policy's resource-tag conditions evaluated
  against the production keys' tags), in any account; while it does reach the non-production ones, so the
  evaluator is shown to find what is there;
- the pull-request workflow runs in no GitHub Environment, assumes only that role and uploads only markdown;
  the apply workflow uploads a saved plan only sealed with the plan key, whose policy lets only the apply role
  of the plan's environment decrypt.

The policy evaluator over-approximates: Deny statements are ignored and every condition it does not model is
taken as met, so "not reachable" here is at least as strong as IAM's answer.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tmsc.derive import plan_platform
from tmsc.load import load_platform
from tmsc.model import Platform
from tmsc.services.delivery import PLAN_CONTEXT_KEY, plan_key_alias
from tmsc.services.providers import account_of, accounts, bootstrap_stack, state_bucket_name, state_key

from .conftest import EXAMPLE_SPEC, REPO, examples
from .stackview import StackView, as_list, compile_views, statements
from .strategies import spec_documents

ACCOUNTS_SPEC = REPO / "spec" / "examples" / "one-account-per-environment.yaml"
WORKFLOWS = REPO / ".github" / "workflows"
CI_SCRIPT = REPO / ".github" / "scripts" / "ci.py"
SHARED_ACCOUNT = "123456789012"  # stands in for ${data.aws_caller_identity.current.account_id} when the spec names none
FAKE_KEY_ID = "0f0e0d0c-0b0a-0908-0706-050403020100"


# --------------------------------------------------------------------------- what a template means in one account


def resolve(value: Any, account: str, bucket: str) -> Any:
    """The compiled policy with the account, partition and state bucket filled in, as IAM would see it."""
    if isinstance(value, str):
        return (
            value.replace("${data.aws_caller_identity.current.account_id}", account)
            .replace("${data.aws_partition.current.partition}", "aws")
            .replace("${aws_s3_bucket.state.arn}", f"arn:aws:s3:::{bucket}")
        )
    if isinstance(value, list):
        return [resolve(v, account, bucket) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, account, bucket) for k, v in value.items()}
    return value


def wildcard(pattern: str, text: str, case: bool = True) -> bool:
    """IAM's matching: `*` any run of characters (slashes included), `?` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, 0 if case else re.IGNORECASE) is not None


def _conditions_may_hold(condition: dict[str, Any], tags: dict[str, str]) -> bool:
    """Resource-tag conditions checked against the target's tags; any other condition is taken as met."""
    for operator, pairs in condition.items():
        for key, expected in pairs.items():
            if not key.startswith("aws:ResourceTag/"):
                continue
            actual = tags.get(key.removeprefix("aws:ResourceTag/"))
            if operator == "StringEquals" and actual not in as_list(expected):
                return False
            if operator == "StringLike" and not any(actual and wildcard(e, actual) for e in as_list(expected)):
                return False
            if operator == "Null" and (str(expected).lower() == "true") != (actual is None):
                return False
    return True


def allows(policy_statements: list[dict[str, Any]], action: str, resource: str, tags: dict[str, str]) -> bool:
    for statement in policy_statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = as_list(statement.get("Action", [])) if "Action" in statement else ["*"]  # NotAction: assume it
        resources = as_list(statement.get("Resource", [])) if "Resource" in statement else ["*"]
        if not any(wildcard(a, action, case=False) for a in actions):
            continue
        if not any(wildcard(r, resource) for r in resources):
            continue
        if _conditions_may_hold(statement.get("Condition", {}), tags):
            return True
    return False


# --------------------------------------------------------------------------- who a pull request can be


def trust_admits(trust: dict[str, Any], claims: dict[str, str]) -> bool:
    """Would STS accept a GitHub token with these claims? StringEquals/StringLike modelled; anything else refuses."""
    for statement in statements(trust):
        if statement.get("Effect") != "Allow" or "sts:AssumeRoleWithWebIdentity" not in as_list(statement["Action"]):
            continue
        if all(
            _claim_condition(operator, key, expected, claims)
            for operator, pairs in statement.get("Condition", {}).items()
            for key, expected in pairs.items()
        ):
            return True
    return False


def _claim_condition(operator: str, key: str, expected: Any, claims: dict[str, str]) -> bool:
    value = claims.get(key.rsplit(":", 1)[-1])
    if value is None or operator not in ("StringEquals", "StringLike"):
        return False
    if operator == "StringEquals":
        return value in as_list(expected)
    return any(wildcard(e, value) for e in as_list(expected))


def pull_request_claims(platform: Platform) -> dict[str, str]:
    assert platform.delivery is not None
    return {"sub": f"repo:{platform.delivery.github_repository}:pull_request", "aud": "sts.amazonaws.com"}


def role_statements(view: StackView, role: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to (or inline in) a role of the stack."""
    found: list[dict[str, Any]] = []
    for attachment in view.of("aws_iam_role_policy_attachment").values():
        if attachment["role"] == f"${{aws_iam_role.{role}.name}}":
            policy_name = attachment["policy_arn"].removeprefix("${aws_iam_policy.").removesuffix(".arn}")
            found += statements(json.loads(view.of("aws_iam_policy")[policy_name]["policy"]))
    for inline in view.of("aws_iam_role_policy").values():
        if inline["role"] == f"${{aws_iam_role.{role}.name}}":
            found += statements(json.loads(inline["policy"]))
    return found


def roles_a_pull_request_assumes(platform: Platform, view: StackView) -> list[str]:
    claims = pull_request_claims(platform)
    return sorted(
        name
        for name, role in view.of("aws_iam_role").items()
        if trust_admits(json.loads(role["assume_role_policy"]), claims)
    )


# --------------------------------------------------------------------------- what production holds


def account_id(platform: Platform, stack: str) -> str:
    return account_of(platform, stack) or SHARED_ACCOUNT


def secret_targets(platform: Platform, views: dict[str, StackView], env: str) -> list[tuple[str, dict[str, str]]]:
    """(ARN, tags) of every secret the environment's stack creates, as AWS names them (a random suffix)."""
    account = account_id(platform, env)
    tags = {"platform": platform.platform, "environment": env}
    compiled = [
        (f"arn:aws:secretsmanager:{platform.region}:{account}:secret:{body['name']}-AbCdEf", tags)
        for body in views[env].of("aws_secretsmanager_secret").values()
    ]
    # The master password RDS keeps in a secret of its own (manage_master_user_password), named by RDS.
    managed = f"arn:aws:secretsmanager:{platform.region}:{account}:secret:rds!db-{FAKE_KEY_ID}-AbCdEf"
    assert compiled
    return [*compiled, (managed, {})]


def state_target(platform: Platform, env: str) -> str:
    return f"arn:aws:s3:::{state_bucket_name(platform, account_of(platform, env))}/{state_key(platform, env)}"


def key_targets(platform: Platform, env: str) -> list[tuple[str, dict[str, str]]]:
    """A key of the environment in each of its regions, tagged as the provider's default tags tag it."""
    account = account_id(platform, env)
    tags = {"platform": platform.platform, "environment": env}
    dr = plan_platform(platform)[env].database_cross_region_backup.value
    return [
        (f"arn:aws:kms:{region}:{account}:key/{FAKE_KEY_ID}", tags)
        for region in sorted({platform.region, dr or platform.region})
    ]


def protected(platform: Platform) -> list[str]:
    return sorted(n for n, p in plan_platform(platform).items() if not p.pull_request_plans.value)


def exposure(platform: Platform, views: dict[str, StackView], role_view: StackView, role: str, env: str) -> list[str]:
    """What of `env` the role reaches: a list of findings, empty when nothing."""
    account = account_id(platform, role_view.name)
    bucket = state_bucket_name(platform, account_of(platform, role_view.name))
    granted = resolve(role_statements(role_view, role), account, bucket)
    found = []
    for arn, tags in secret_targets(platform, views, env):
        if allows(granted, "secretsmanager:GetSecretValue", arn, tags):
            found.append(f"GetSecretValue {arn}")
    for action in ("s3:GetObject", "s3:GetObjectVersion"):
        if allows(granted, action, state_target(platform, env), {}):
            found.append(f"{action} {state_target(platform, env)}")
    for arn, tags in key_targets(platform, env):
        if allows(granted, "kms:Decrypt", arn, tags):
            found.append(f"kms:Decrypt {arn} (tags {tags})")
    return found


def secret_policy_admits(platform: Platform, views: dict[str, StackView], env: str, role_arn: str) -> list[str]:
    """The secrets of `env` whose own policy does not deny GetSecretValue to role_arn."""
    account = account_id(platform, env)
    admitted = []
    for name, body in views[env].of("aws_secretsmanager_secret_policy").items():
        document = resolve(json.loads(body["policy"]), account, "")
        for statement in statements(document):
            if statement["Effect"] == "Deny" and "secretsmanager:GetSecretValue" in as_list(statement["Action"]):
                allowed = as_list(statement["Condition"]["StringNotEquals"]["aws:PrincipalArn"])
                if role_arn in allowed:
                    admitted.append(name)
    return admitted


def check_platform(platform: Platform) -> None:
    views = compile_views(platform)
    unreviewed_envs = [env for env in platform.environments if env not in protected(platform)]
    for account, environments in accounts(platform).items():
        view = views[bootstrap_stack(platform, account)]
        assumed = roles_a_pull_request_assumes(platform, view)
        plannable = [env for env in environments if env in unreviewed_envs]
        assert assumed == (["ci_pr_plan"] if plannable else []), (view.name, assumed)
        for role in assumed:
            for env in platform.environments:
                found = exposure(platform, views, view, role, env)
                if env in protected(platform):
                    assert found == [], f"{view.name}: {role} reaches production {env}: {found}"
                elif env in environments:
                    # The evaluator finds what is there: the role does read its own environments.
                    assert any("GetSecretValue" in f for f in found) and any("s3:GetObject " in f for f in found), (
                        env,
                        found,
                    )
            arn = f"arn:aws:iam::{account or SHARED_ACCOUNT}:role/tmsc-ci/{view.of('aws_iam_role')[role]['name']}"
            for env in protected(platform):
                assert secret_policy_admits(platform, views, env, arn) == [], (env, arn)
            for env in plannable:
                assert secret_policy_admits(platform, views, env, arn), f"{env}'s secrets should admit {arn}"
        check_plan_key(platform, view, environments)


def check_plan_key(platform: Platform, view: StackView, environments: tuple[str, ...]) -> None:
    """Only the apply role of a plan's environment decrypts it; no IAM policy can add anyone (no account delegation)."""
    key = view.of("aws_kms_key")["ci_plans"]
    assert view.of("aws_kms_alias")["ci_plans"]["name"] == plan_key_alias(platform)
    decrypters: dict[str, list[str]] = {}
    for statement in statements(json.loads(key["policy"])):
        actions = as_list(statement["Action"])
        principal = as_list(statement["Principal"]["AWS"])
        assert not any(wildcard(a, "kms:CreateGrant", case=False) for a in actions), statement
        if any(wildcard(a, "kms:Decrypt", case=False) for a in actions):
            assert principal != [] and not any(p.endswith(":root") or p == "*" for p in principal), statement
            context = statement["Condition"]["StringEquals"][f"kms:EncryptionContext:{PLAN_CONTEXT_KEY}"]
            for p in principal:
                decrypters.setdefault(p, []).extend(as_list(context))
    assert decrypters == {f"${{aws_iam_role.ci_apply_{env.replace('-', '_')}.arn}}": [env] for env in environments}, (
        decrypters
    )


# --------------------------------------------------------------------------- the compiled platforms


@pytest.mark.parametrize("spec", [EXAMPLE_SPEC, ACCOUNTS_SPEC], ids=["one-account", "account-per-environment"])
def test_no_role_a_pull_request_assumes_reaches_production(spec: Path) -> None:
    platform = load_platform(spec)
    assert protected(platform) == ["prod"]
    check_platform(platform)


def test_an_account_holding_only_production_has_no_pull_request_role() -> None:
    platform = load_platform(ACCOUNTS_SPEC)
    views = compile_views(platform)
    prod_boot = views[bootstrap_stack(platform, platform.environments["prod"].aws_account_id)]
    assert "ci_pr_plan" not in prod_boot.of("aws_iam_role")
    assert prod_boot.outputs["ci_pr_plan_role_arns"]["value"] == {}


def test_the_checker_sees_a_pull_request_role_that_reads_production() -> None:
    """Give the pull-request role production's secrets and state, as main had it: the check must fail."""
    platform = load_platform(EXAMPLE_SPEC)
    views = compile_views(platform)
    boot = views["bootstrap"]
    main_state = boot.of("aws_iam_policy")["ci_main_plan_state"]
    boot.resources["aws_iam_role_policy_attachment"]["leak"] = {
        "role": "${aws_iam_role.ci_pr_plan.name}",
        "policy_arn": "${aws_iam_policy.ci_main_plan_state.arn}",
    }
    assert main_state
    found = exposure(platform, views, boot, "ci_pr_plan", "prod")
    assert any("tms/prod/messaging/password" in f for f in found)
    assert any("tms/prod/terraform.tfstate" in f for f in found)
    assert any("kms:Decrypt" in f for f in found)


@settings(max_examples=examples(15), deadline=None)
@given(doc=spec_documents(max_environments=3), split=st.booleans(), data=st.data())
def test_generated_platforms_keep_production_from_pull_requests(doc: dict[str, Any], split: bool, data: Any) -> None:
    doc["delivery"] = {"github_repository": "some-org/some-repo"}
    if split:
        doc.get("state", {}).pop("bucket", None)  # several accounts: each names its own bucket
        for i, env in enumerate(sorted(doc["environments"])):
            doc["environments"][env]["aws_account_id"] = f"{100000000000 + i * data.draw(st.sampled_from([0, 1])):012d}"
    platform = Platform.model_validate(doc)
    check_platform(platform)


# --------------------------------------------------------------------------- the workflows


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def uploads(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for job_name, job in doc["jobs"].items():
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/upload-artifact@"):
                for path in filter(None, map(str.strip, str(step["with"]["path"]).splitlines())):
                    yield job_name, path


def roles_assumed(job: dict[str, Any]) -> list[str]:
    return [
        step["env"]["ROLES"]
        for step in job.get("steps", [])
        if step.get("id") == "role" and "ci.py role" in step.get("run", "")
    ]


def test_the_pull_request_workflow_holds_only_the_pull_request_role_and_uploads_only_summaries() -> None:
    doc = workflow("pull-request.yml")
    triggers = doc["on"] if "on" in doc else doc[True]  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"pull_request"}
    for name, job in doc["jobs"].items():
        # A job naming a GitHub Environment gets that environment's subject (an apply role's): none may.
        assert "environment" not in job, name
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@"):
                assert step["with"]["role-to-assume"] == "${{ steps.role.outputs.arn }}", name
        assert roles_assumed(job) in ([], ["${{ vars.TMSC_PR_PLAN_ROLE_ARNS }}"]), name
    paths = [path for _, path in uploads(doc)]
    assert paths and all(path.endswith(".md") for path in paths), paths
    plan = "\n".join(step.get("run", "") for step in doc["jobs"]["plan"]["steps"])
    # The JSON plan (prior state, sensitive values in clear) lives in the runner's temp and is removed.
    assert 'show -json tfplan > "$RUNNER_TEMP/plan.json"' in plan and 'rm -f "$RUNNER_TEMP/plan.json"' in plan


def test_no_workflow_uploads_a_plan_or_state_in_clear() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job, upload in uploads(yaml.safe_load(path.read_text())):
            assert not re.search(r"(^|/)tfplan$|\.tfstate|\.terraform/|plan\.json", upload), (path.name, job, upload)
            if "tfplan" in upload:
                assert upload.endswith(".sealed"), (path.name, job, upload)


def test_the_apply_workflow_seals_the_plan_before_uploading_and_opens_it_with_the_apply_role() -> None:
    jobs = workflow("terraform-apply.yml")["jobs"]
    plan_steps = jobs["plan"]["steps"]
    seal = next(i for i, s in enumerate(plan_steps) if "ci.py seal-plan" in s.get("run", ""))
    upload = next(i for i, s in enumerate(plan_steps) if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert seal < upload and 'rm -f "out/$ENVIRONMENT/tfplan"' in plan_steps[seal]["run"]
    assert plan_steps[seal]["env"]["PLAN_KEY"] == plan_key_alias(load_platform(EXAMPLE_SPEC))
    apply_steps = jobs["apply"]["steps"]
    assert jobs["apply"]["environment"] == "${{ inputs.environment }}"
    credentials = next(i for i, s in enumerate(apply_steps) if "configure-aws-credentials" in s.get("uses", ""))
    opened = next(i for i, s in enumerate(apply_steps) if "ci.py open-plan" in s.get("run", ""))
    assert apply_steps[credentials]["with"]["role-to-assume"] == "${{ vars.TMSC_APPLY_ROLE_ARN }}"
    assert credentials < opened
    assert not any("open-plan" in s.get("run", "") for s in plan_steps)


# --------------------------------------------------------------------------- seal-plan and open-plan


FAKE_AWS = r'''#!/usr/bin/env python3
"""Stands in for `aws kms generate-data-key` / `aws kms decrypt`: one data key, released only for the context it was
made with (as KMS does with an encryption context)."""
import base64, json, os, sys
args = sys.argv[1:]
def opt(name):
    return args[args.index(name) + 1]
key = bytes(range(32))
if args[:2] == ["kms", "generate-data-key"]:
    blob = json.dumps({"context": opt("--encryption-context"), "key": base64.b64encode(key).decode()}).encode()
    print(json.dumps({"Plaintext": base64.b64encode(key).decode(), "CiphertextBlob": base64.b64encode(blob).decode()}))
elif args[:2] == ["kms", "decrypt"]:
    if os.environ.get("FAKE_AWS_DENY"):
        sys.exit("An error occurred (AccessDeniedException) when calling the Decrypt operation")
    blob = json.loads(open(opt("--ciphertext-blob").removeprefix("fileb://"), "rb").read())
    if blob["context"] != opt("--encryption-context"):
        sys.exit("An error occurred (InvalidCiphertextException) when calling the Decrypt operation")
    print(json.dumps({"Plaintext": blob["key"]}))
else:
    sys.exit(f"unexpected: {args}")
'''


def run_ci(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        [sys.executable, str(CI_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": path, **env},
    )


@pytest.fixture
def fake_aws(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    aws = tmp_path / "bin" / "aws"
    aws.write_text(FAKE_AWS.replace("#!/usr/bin/env python3", f"#!{sys.executable}", 1))
    aws.chmod(aws.stat().st_mode | stat.S_IEXEC)
    return tmp_path


def test_a_sealed_plan_opens_only_for_its_environment_and_only_unchanged(fake_aws: Path) -> None:
    tmp = fake_aws
    secret = b"rabbitmq-password-" + base64.b16encode(os.urandom(16))
    plan = tmp / "tfplan"
    plan.write_bytes(b"PK\x03\x04 a saved plan holding " + secret + b" in its prior state" * 50)
    sealed = tmp / "sealed" / "tfplan.sealed"
    done = run_ci(
        tmp, "seal-plan", "--plan", str(plan), "--env", "prod", "--key", "alias/tms-ci-plans", "--out", str(sealed)
    )
    assert done.returncode == 0, done.stderr
    assert secret not in sealed.read_bytes() and b"saved plan" not in sealed.read_bytes()

    opened = tmp / "opened"
    done = run_ci(tmp, "open-plan", "--sealed", str(sealed), "--env", "prod", "--out", str(opened))
    assert done.returncode == 0, done.stderr
    assert opened.read_bytes() == plan.read_bytes()

    # Sealed for prod: dev's apply job cannot open it, and a denied Decrypt (any other role) stops it.
    assert run_ci(tmp, "open-plan", "--sealed", str(sealed), "--env", "dev", "--out", str(tmp / "x")).returncode != 0
    denied = run_ci(
        tmp, "open-plan", "--sealed", str(sealed), "--env", "prod", "--out", str(tmp / "y"), FAKE_AWS_DENY="1"
    )
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr and not (tmp / "y").exists()

    # A changed byte is refused before anything is decrypted into place.
    tampered = tmp / "tampered.sealed"
    raw = bytearray(sealed.read_bytes())
    raw[-10] ^= 1
    tampered.write_bytes(bytes(raw))
    refused = run_ci(tmp, "open-plan", "--sealed", str(tampered), "--env", "prod", "--out", str(tmp / "z"))
    assert refused.returncode != 0 and "changed after it was sealed" in refused.stderr and not (tmp / "z").exists()


def test_the_role_step_names_the_variable_when_an_environment_is_missing(tmp_path: Path) -> None:
    roles = json.dumps({"dev": "arn:aws:iam::111111111111:role/tmsc-ci/tms-ci-pr-plan"})
    done = run_ci(tmp_path, "role", "--roles", roles, "--variable", "TMSC_PR_PLAN_ROLE_ARNS", "--env", "dev")
    assert done.returncode == 0 and done.stdout == "arn=arn:aws:iam::111111111111:role/tmsc-ci/tms-ci-pr-plan\n"
    missing = run_ci(tmp_path, "role", "--roles", roles, "--variable", "TMSC_PR_PLAN_ROLE_ARNS", "--env", "prod")
    assert missing.returncode != 0 and "TMSC_PR_PLAN_ROLE_ARNS has no role ARN for prod" in missing.stderr
