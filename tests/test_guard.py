"""`tmsc guard PLAN_JSON` (issue 13, item 2) on synthetic plans in Terraform's JSON format.

tests/test_guard_emulator.py runs it on a real plan of the emulator.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tmsc.diagnostics import SpecError
from tmsc.diff import DATA_HOLDING
from tmsc.load import load_spec_text
from tmsc.model import STATEFUL_RESOURCE_TYPES

from .conftest import EXAMPLE_SPEC, REPO, raised

TMSC = [sys.executable, "-m", "tmsc.cli"]

ACKNOWLEDGED = """    acknowledged_replacements:
      - resource: aws_mq_broker.messaging
        reason: dev queues are disposable; the cluster broker replaces the single node
"""


def change(
    address: str, actions: list[str], replace_paths: list[list[Any]] | None = None, reason: str | None = None
) -> dict[str, Any]:
    kind, name = address.split(".")[-2:]
    body: dict[str, Any] = {
        "address": address,
        "mode": "data" if address.startswith("data.") else "managed",
        "type": kind,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": actions, "before": {}, "after": {}, "after_unknown": {}},
    }
    if replace_paths is not None:
        body["change"]["replace_paths"] = replace_paths
    if reason is not None:
        body["action_reason"] = reason
    return body


def plan_file(tmp_path: Path, *changes: dict[str, Any], **extra: Any) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(
        json.dumps({"format_version": "1.2", "terraform_version": "1.11.4", "resource_changes": list(changes), **extra})
    )
    return path


def spec_file(tmp_path: Path, acknowledged: bool) -> Path:
    text = EXAMPLE_SPEC.read_text()
    if acknowledged:
        text = text.replace(
            "    network:\n      cidr: 10.10.0.0/16\n", "    network:\n      cidr: 10.10.0.0/16\n" + ACKNOWLEDGED, 1
        )
    path = tmp_path / "platform.yaml"
    path.write_text(text)
    return path


def guard(
    tmp_path: Path, plan: Path, *, acknowledged: bool = False, env: str = "dev"
) -> subprocess.CompletedProcess[str]:
    spec = spec_file(tmp_path, acknowledged)
    return subprocess.run(
        [*TMSC, "guard", str(plan), "--env", env, "--spec", str(spec)], capture_output=True, text=True, timeout=120
    )


BROKER_REPLACED = change(
    "aws_mq_broker.messaging",
    ["delete", "create"],
    [["deployment_mode"], ["subnet_ids"]],
    "replace_because_cannot_update",
)


def test_a_broker_replacement_is_refused_naming_address_action_and_attributes(tmp_path: Path) -> None:
    result = guard(tmp_path, plan_file(tmp_path, BROKER_REPLACED, change("aws_subnet.private_az3", ["create"])))
    assert result.returncode == 2, result.stdout + result.stderr
    err = result.stderr
    assert "aws_mq_broker.messaging: replace (destroy, then create) forced by deployment_mode, subnet_ids" in err
    assert "the provider cannot update these in place" in err and "message broker" in err
    assert "fix: avoid it:" in err and "acknowledged_replacements: [{resource: aws_mq_broker.messaging" in err
    assert "1 of 1 deletion(s) or replacement(s) of data stores not acknowledged" in err


def test_an_acknowledged_replacement_passes_with_its_reason(tmp_path: Path) -> None:
    result = guard(tmp_path, plan_file(tmp_path, BROKER_REPLACED), acknowledged=True)
    assert result.returncode == 0, result.stderr
    assert "acknowledged: aws_mq_broker.messaging: replace" in result.stdout
    assert "reason: dev queues are disposable" in result.stdout
    assert "each acknowledged in the spec" in result.stdout


def test_an_acknowledgement_is_for_its_environment_only(tmp_path: Path) -> None:
    result = guard(tmp_path, plan_file(tmp_path, BROKER_REPLACED), acknowledged=True, env="staging")
    assert result.returncode == 2 and "aws_mq_broker.messaging" in result.stderr


@pytest.mark.parametrize(
    ("rc", "action"),
    [
        (change("aws_s3_bucket.attachments", ["delete"], None, "delete_because_no_resource_config"), "delete"),
        (
            change("aws_db_instance.database", ["create", "delete"], [["kms_key_id"]], "replace_because_cannot_update"),
            "replace (create, then destroy) forced by kms_key_id",
        ),
        (
            change("aws_kms_key.secrets", ["delete", "create"], [], "replace_by_request"),
            "replace (destroy, then create) (-replace asked for it)",
        ),
        (
            change(
                "module.data.aws_elasticache_replication_group.cache",
                ["delete", "create"],
                [["encryption_options", 0, "kms_key_id"]],
            ),
            "replace (destroy, then create) forced by encryption_options[0].kms_key_id",
        ),
        (change("aws_dynamodb_table.locks", ["delete"], None, "delete_because_no_resource_config"), "delete"),
    ],
)
def test_each_stateful_deletion_or_replacement_is_refused(tmp_path: Path, rc: dict[str, Any], action: str) -> None:
    result = guard(tmp_path, plan_file(tmp_path, rc))
    assert result.returncode == 2, result.stdout
    assert f"{rc['address']}: {action}" in result.stderr


def test_what_holds_no_data_or_changes_in_place_passes(tmp_path: Path) -> None:
    plan = plan_file(
        tmp_path,
        change("aws_subnet.private_az1", ["delete", "create"], [["availability_zone_id"]]),
        change("aws_db_instance.database", ["update"]),
        change("aws_mq_broker.messaging", ["no-op"]),
        change("data.aws_secretsmanager_secret_version.messaging_password", ["read"]),
        change("aws_security_group.database", ["delete"]),
    )
    result = guard(tmp_path, plan)
    assert result.returncode == 0, result.stderr
    assert "deletes and replaces no data store" in result.stdout


def test_an_unused_acknowledgement_is_noted(tmp_path: Path) -> None:
    result = guard(tmp_path, plan_file(tmp_path), acknowledged=True)
    assert result.returncode == 0 and "remove the entry once its replacement is applied" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        (json.dumps({"resource_changes": []}), "not a Terraform plan in JSON"),
        (json.dumps({"format_version": "1.2", "terraform_version": "1.11.4", "errored": True}), "the plan errored"),
    ],
)
def test_what_is_not_a_readable_plan_is_refused(tmp_path: Path, content: str, message: str) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(content)
    result = guard(tmp_path, plan)
    assert result.returncode == 2 and message in result.stderr


def test_an_unknown_environment_is_refused(tmp_path: Path) -> None:
    result = guard(tmp_path, plan_file(tmp_path), env="qa")
    assert result.returncode == 2 and "no environment named 'qa'" in result.stderr


# --------------------------------------------------------------------------- the acknowledgement in the model


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "      - resource: aws_subnet.private_az1\n        reason: subnets hold no data at all\n",
            "should match pattern",
        ),
        ("      - resource: aws_mq_broker.messaging\n        reason: ok\n", "at least 10 characters"),
        ("      - resource: aws_mq_broker.messaging\n", "required key 'reason' is missing"),
        (
            "      - {resource: aws_mq_broker.messaging, reason: first of two entries}\n"
            "      - {resource: aws_mq_broker.messaging, reason: second of two entries}\n",
            "aws_mq_broker.messaging is acknowledged twice",
        ),
    ],
)
def test_an_acknowledgement_is_validated(entry: str, expected: str) -> None:
    text = EXAMPLE_SPEC.read_text().replace(
        "    network:\n      cidr: 10.10.0.0/16\n",
        "    network:\n      cidr: 10.10.0.0/16\n    acknowledged_replacements:\n" + entry,
        1,
    )
    with pytest.raises(SpecError) as refused:
        load_spec_text(text, "spec.yaml")
    assert "environments.dev.acknowledged_replacements" in str(refused.value) and expected in str(refused.value)


def test_diff_and_guard_agree_on_what_holds_data() -> None:
    assert set(DATA_HOLDING) == set(STATEFUL_RESOURCE_TYPES)


# --------------------------------------------------------------------------- the workflows


def test_both_workflows_run_guard_after_every_plan() -> None:
    """The pull-request and apply workflows run `tmsc guard` on each plan they make, and fail on its refusal."""
    import yaml

    for name in ("pull-request.yml", "terraform-apply.yml"):
        workflow = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())
        planning = 0
        for job_name, job in workflow["jobs"].items():
            runs = [step.get("run", "") for step in job.get("steps", [])]
            plans = [i for i, run in enumerate(runs) if "terraform" in run and " plan " in run and "-out=tfplan" in run]
            for i in plans:
                planning += 1
                guards = [run for run in runs[i + 1 :] if ".venv/bin/tmsc guard" in run and "show -json tfplan" in run]
                assert guards, f"{name}:{job_name}: a plan without tmsc guard after it"
                assert any("make venv" in run for run in runs[:i]), f"{name}:{job_name}: no venv for tmsc"
        assert planning, f"{name}: no plan found"
    apply = (REPO / ".github" / "workflows" / "terraform-apply.yml").read_text()
    assert 'exit "$code"' in apply  # a refusal fails the plan job, and the apply job needs it
    pull_request = (REPO / ".github" / "workflows" / "pull-request.yml").read_text()
    assert 'test "$GUARD" = 0' in pull_request


def test_the_plan_summary_shows_a_refusal(tmp_path: Path) -> None:
    guard_text = tmp_path / "guard.txt"
    guard_text.write_text(
        "plan.json: error: aws_mq_broker.messaging: replace (destroy, then create) forced by deployment_mode\n"
        "guard: dev: 1 of 1 deletion(s) or replacement(s) of data stores not acknowledged; the plan must not be applied\n"
    )
    plan = tmp_path / "plan.txt"
    plan.write_text("Plan: 1 to add, 0 to change, 1 to destroy.\n")
    out = tmp_path / "plan-dev.md"
    script = REPO / ".github" / "scripts" / "ci.py"
    args = ["plan-summary", "--env", "dev", "--plan", str(plan), "--exitcode", "2", "--guard", str(guard_text)]
    result = subprocess.run([sys.executable, str(script), *args, "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    summary = out.read_text()
    assert "> [!CAUTION]" in summary and "forced by deployment_mode" in summary


# --------------------------------------------------------------------------- an acknowledgement lifts prevent_destroy


STAGING_ACKNOWLEDGED = """      cidr: 10.20.0.0/16
    acknowledged_replacements:
      - resource: aws_mq_broker.messaging
        reason: staging broker goes multi-AZ; its queues are drained first
"""


def test_an_acknowledged_protected_broker_can_be_replaced(tmp_path: Path) -> None:
    """staging's broker carries prevent_destroy, which would fail the plan before guard sees it: the
    acknowledgement lifts it for that resource in that environment only, and says why in the output."""
    from tmsc.diff import diff_specs, read_side
    from tmsc.pipeline import build

    text = raised(EXAMPLE_SPEC.read_text(), "target_percent: 99.5")
    plain = tmp_path / "plain.yaml"
    plain.write_text(text)
    acknowledged = tmp_path / "acknowledged.yaml"
    acknowledged.write_text(text.replace("      cidr: 10.20.0.0/16\n", STAGING_ACKNOWLEDGED, 1))

    stacks = build(acknowledged)
    staging = json.loads(stacks["staging"]["messaging.tf.json"])["resource"]["aws_mq_broker"]["messaging"]
    assert "prevent_destroy" not in staging["lifecycle"]
    assert "prevent_destroy lifted: replacement acknowledged (staging broker goes multi-AZ" in staging["//"]
    prod = json.loads(stacks["prod"]["messaging.tf.json"])["resource"]["aws_mq_broker"]["messaging"]
    assert prod["lifecycle"]["prevent_destroy"] is True
    assert stacks["prod"] == build(plain)["prod"]

    base = read_side(str(EXAMPLE_SPEC))
    forbidden = diff_specs(base, read_side(str(plain)), "staging").warnings
    assert any("prevent_destroy forbids it" in w for _, _, w in forbidden)
    allowed = diff_specs(base, read_side(str(acknowledged)), "staging").warnings
    assert [w.split(":")[0] for _, _, w in allowed] == ["may replace this message broker (its queued messages)"]
