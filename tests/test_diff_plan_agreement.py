"""`tmsc diff` against Terraform's plan, over generated edits (issue 13: how it must be proven).

dev is applied once on the emulator (its data stores and what they need: `-target` pulls in their
dependencies). Hypothesis then draws edits of dev's spec (availability, recovery, sizes, engine and
database settings) and, for each, compares two answers to "which data stores does this edit replace?":

- the diff's, computed from the two specs alone before any plan runs (`may replace` warnings);
- Terraform's, from `terraform plan` of the edited configuration against the applied state.

They must name the same data stores, both ways. Where the emulator plans unfaithfully the comparison
would say so by failing; none is known today (the broker, the database, the cache and the bucket all
converge to "no changes" after apply, which the fixture checks first).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from tmsc.diagnostics import SpecError
from tmsc.diff import diff_specs, read_side
from tmsc.guard import findings
from tmsc.load import load_spec
from tmsc.model import STATEFUL_RESOURCE_TYPES
from tmsc.pipeline import build

from .conftest import EXAMPLE_SPEC, RAISED_ELASTIC_IPS
from .test_guard_emulator import switch_config

pytestmark = [pytest.mark.emulator, pytest.mark.terraform]

# The data stores of dev whose replacement an edit can force. Their keys and secrets come with them
# (dependencies of a targeted plan), so a replaced key or secret is compared as well.
DATA_STORES = (
    "aws_db_instance.database",
    "aws_elasticache_replication_group.cache",
    "aws_mq_broker.messaging",
    "aws_s3_bucket.attachments",
)
TARGETS = tuple(f"-target={address}" for address in DATA_STORES)


def replace_once(text: str, old: str, new: str) -> str:
    assert old in text, f"the example no longer holds {old!r}: update the edit vocabulary"
    return text.replace(old, new, 1)


# Each edit: (what the example says for dev, the values an edit may put there). Every line below is
# dev's (the first occurrence in the file), or a service's, which dev compiles too.
EDITS: dict[str, tuple[str, list[str]]] = {
    "target_percent": ("target_percent: 99.0", ["target_percent: 99.5", "target_percent: 99.9"]),
    "rpo_minutes": ("rpo_minutes: 60", ["rpo_minutes: 15", "rpo_minutes: 5"]),
    "database_instance_class": ("database_instance_class: db.t4g.medium", ["database_instance_class: db.t4g.large"]),
    "cache_node_type": ("cache_node_type: cache.t4g.small", ["cache_node_type: cache.t4g.medium"]),
    "broker_instance_type": ("broker_instance_type: mq.t3.micro", ["broker_instance_type: mq.m7g.large"]),
    "database_name": ("database_name: tms", ["database_name: tmsdata"]),
    "noncurrent_version_days": ("noncurrent_version_days: 90", ["noncurrent_version_days: 30"]),
}


@st.composite
def edits(draw: st.DrawFn) -> dict[str, str]:
    """One to three of the edits above, each with one of its new values."""
    keys = draw(st.lists(st.sampled_from(sorted(EDITS)), min_size=1, max_size=3, unique=True))
    return {key: draw(st.sampled_from(EDITS[key][1])) for key in keys}


# Edits that must replace a data store (checked below); they must also compile.
ANCHORS = (
    {"target_percent": "target_percent: 99.9", "broker_instance_type": "broker_instance_type: mq.m7g.large"},
    {"database_name": "database_name: tmsdata"},
)


def edited_spec(edit: dict[str, str], path: Path) -> Path:
    text = EXAMPLE_SPEC.read_text()
    for key, new in edit.items():
        text = replace_once(text, EDITS[key][0], new)
    # A highly available dev needs a NAT gateway per zone: the Elastic IPs that takes are declared, as a
    # reviewed quota raise would be (quotas change no resource, so the diff and the plan ignore them).
    text = text.replace("\nservices:\n", "\n" + RAISED_ELASTIC_IPS + "services:\n", 1)
    path.write_text(text)
    return path


def compile_dev(spec: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.tf.json"):
        old.unlink()
    for name, text in build(spec, "dev")["dev"].items():
        (out / name).write_text(text)
    return out


@pytest.fixture(scope="module")
def applied_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    from tests.emulator import TerraformWorkspace, start_emulator

    scratch = tmp_path_factory.mktemp("diff-plan")
    base = scratch / "base.yaml"
    base.write_text(EXAMPLE_SPEC.read_text())
    with start_emulator(region=load_spec(EXAMPLE_SPEC).platform.region) as emulator:
        workspace = TerraformWorkspace(compile_dev(base, scratch / "out-base"), emulator, scratch / "ws", teardown=True)
        workspace.init()
        workspace.apply(*TARGETS)
        # The emulator must plan the unedited configuration as converged, or no comparison means anything.
        assert workspace.plan(*TARGETS) == 0, workspace.plan_text()
        yield workspace, base
        switch_config(workspace, compile_dev(base, scratch / "out-base"))
        workspace.destroy(*TARGETS)


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(edit=edits())
# Always among the edits: one that replaces the broker (its deployment mode) and one that replaces the
# database (its name), so that the comparison never passes on empty sets alone.
@example(edit=ANCHORS[0])
@example(edit=ANCHORS[1])
def test_the_replacements_diff_names_are_those_terraform_plans(
    applied_dev: tuple[Any, Path], tmp_path_factory: pytest.TempPathFactory, edit: dict[str, str]
) -> None:
    workspace, base = applied_dev
    scratch = tmp_path_factory.mktemp("edit")
    head = edited_spec(edit, scratch / "head.yaml")
    try:
        predicted = diff_specs(read_side(str(base)), read_side(str(head)), "dev")
    except SpecError:
        assert edit not in ANCHORS, f"the anchor edit {edit} no longer compiles: update ANCHORS"
        assume(False)  # an edit tmsc refuses (e.g. a size AWS does not offer for the derived topology)
    predicted_replaced = {
        address
        for _, address, warning in predicted.warnings
        if warning.startswith("may replace") and address.split(".")[0] in STATEFUL_RESOURCE_TYPES
    }

    switch_config(workspace, compile_dev(head, scratch / "out"))
    workspace.plan(*TARGETS, "-out=edit.tfplan")
    _, plan_text = workspace.run("show", "-json", "-no-color", "edit.tfplan", capture_stdout=True)
    plan = json.loads(plan_text)
    planned = {change["address"] for change in plan["resource_changes"]}
    plan_replaced = {finding.address for finding in findings(plan, {})}

    event(f"the plan replaces {len(plan_replaced)} data store(s)")
    # Anchors that need neither side: the provider documents db_name and deployment_mode as forcing a new
    # resource, so these edits must show up as replacements, or the comparison below proves nothing.
    if "database_name" in edit:
        assert "aws_db_instance.database" in plan_replaced
    if edit.get("target_percent") == "target_percent: 99.9":
        assert "aws_mq_broker.messaging" in plan_replaced
    # Compared among the resources the targeted plan holds: the diff sees the whole stack.
    assert plan_replaced == predicted_replaced & planned, (
        f"edit {edit}: the plan replaces {sorted(plan_replaced)}, the diff predicted "
        f"{sorted(predicted_replaced & planned)}"
    )
