"""`tmsc diff` and `tmsc guard` on the emulator (issue 13: how it must be proven).

dev is applied at 99.0% (the broker and what it needs: `-target` pulls in its
dependencies; the rest of the stack adds minutes and nothing to this check),
then edited to 99.9%. Before any plan, `tmsc diff` names the broker's
replacement. Terraform's plan of the edit replaces the broker, forced by
`deployment_mode` (and `subnet_ids`): `tmsc guard` refuses it, naming both.
With the replacement acknowledged in the spec, guard lets the same plan
through; the plan applies, and the next plan shows no changes.

The diff's prediction is compared with the plan: every data store the diff
says may be replaced is replaced in the plan, and every data store the plan
replaces, the diff named (among the resources the targeted plan holds).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tmsc.diff import diff_specs, read_side
from tmsc.guard import findings, guard
from tmsc.load import load_spec
from tmsc.pipeline import build

from .conftest import EXAMPLE_SPEC, raised

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

BROKER = "aws_mq_broker.messaging"
TARGET = f"-target={BROKER}"
ACKNOWLEDGEMENT = """    acknowledged_replacements:
      - resource: aws_mq_broker.messaging
        reason: dev queues are disposable; the cluster broker replaces the single node
"""


def write_spec(path: Path, *, target: str, acknowledged: bool = False) -> Path:
    text = EXAMPLE_SPEC.read_text()
    text = raised(text) if target == "99.9" else text.replace("target_percent: 99.0", f"target_percent: {target}", 1)
    if acknowledged:
        text = text.replace("      cidr: 10.10.0.0/16\n", "      cidr: 10.10.0.0/16\n" + ACKNOWLEDGEMENT, 1)
    path.write_text(text)
    return path


def compile_dev(spec: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in build(spec, "dev")["dev"].items():
        (out / name).write_text(text)
    return out


def switch_config(workspace: Any, compiled: Path) -> None:
    """Point the workspace (and its state) at another compile of the same stack."""
    from tests.emulator.workspace import OVERRIDE_NAME, PROVIDER_NAME

    for old in workspace.dir.glob("*.tf.json"):
        if old.name not in (OVERRIDE_NAME, PROVIDER_NAME) and not (compiled / old.name).exists():
            old.unlink()
    for new in compiled.glob("*.tf.json"):
        shutil.copyfile(new, workspace.dir / new.name)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    from tests.emulator import start_emulator

    with start_emulator(region=load_spec(EXAMPLE_SPEC).platform.region) as running:
        yield running


def test_the_broker_replacement_is_named_by_diff_refused_by_guard_and_passes_acknowledged(
    emulator: Any, tmp_path: Path
) -> None:
    from tests.emulator import TerraformWorkspace

    base = write_spec(tmp_path / "base.yaml", target="99.0")
    head = write_spec(tmp_path / "head.yaml", target="99.9")
    acknowledged = write_spec(tmp_path / "acknowledged.yaml", target="99.9", acknowledged=True)

    # Before any plan: tmsc diff names the replacement.
    predicted = diff_specs(read_side(str(base)), read_side(str(head)), "dev")
    predicted_replaced = {address for _, address, w in predicted.warnings if w.startswith("may replace")}
    assert BROKER in predicted_replaced

    workspace = TerraformWorkspace(compile_dev(base, tmp_path / "out-base"), emulator, tmp_path / "ws", teardown=True)
    workspace.init()
    workspace.apply(TARGET)
    assert workspace.plan(TARGET) == 0, workspace.plan_text()

    switch_config(workspace, compile_dev(head, tmp_path / "out-head"))
    assert workspace.plan(TARGET, "-out=edit.tfplan") == 2, workspace.plan_text()
    _, plan_text = workspace.run("show", "-json", "-no-color", "edit.tfplan", capture_stdout=True)
    plan_json = tmp_path / "plan.json"
    plan_json.write_text(plan_text)
    plan = json.loads(plan_text)

    # Terraform's own word: the broker is replaced, deployment_mode forces it.
    (broker,) = [c for c in plan["resource_changes"] if c["address"] == BROKER]
    assert "delete" in broker["change"]["actions"] and "create" in broker["change"]["actions"]
    assert ["deployment_mode"] in broker["change"]["replace_paths"]

    found, errors = guard(plan_json, load_spec(head), "dev")
    assert [f.address for f in found] == [BROKER]
    (error,) = errors
    assert error.message.startswith(f"{BROKER}: replace (destroy, then create) forced by ")
    assert "deployment_mode" in error.message and "acknowledged_replacements" in (error.hint or "")

    # The diff and the plan agree on which data stores are replaced (among those the targeted plan holds).
    planned = {c["address"] for c in plan["resource_changes"]}
    plan_replaced = {f.address for f in findings(plan, {})}
    assert plan_replaced == predicted_replaced & planned

    # Acknowledged: the same plan passes, applies, and the stack converges.
    found, errors = guard(plan_json, load_spec(acknowledged), "dev")
    assert [f.acknowledged for f in found] == ["dev queues are disposable; the cluster broker replaces the single node"]
    assert errors == []
    workspace.apply("edit.tfplan")
    assert workspace.plan(TARGET) == 0, workspace.plan_text()
    mq = emulator.client("mq")
    brokers = [b for b in mq.list_brokers()["BrokerSummaries"] if b["BrokerName"] == "tms-dev-messaging"]
    assert [b["DeploymentMode"] for b in brokers] == ["CLUSTER_MULTI_AZ"]
    workspace.destroy(TARGET)
