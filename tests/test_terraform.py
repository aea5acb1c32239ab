"""The compiled example is valid Terraform for the real hashicorp/aws provider."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import OUT
from .tf import terraform

STACKS = sorted(p.name for p in OUT.iterdir() if p.is_dir())

pytestmark = pytest.mark.terraform


# Each stack in an xdist group of its own: the validations share no fixture and each takes ~3 s of CPU
# (terraform loads the provider's schema in every process), so spread over the workers they keep the one
# that draws them, late in the run, from finishing long after the others.
@pytest.mark.parametrize(
    "stack", [pytest.param(stack, marks=pytest.mark.xdist_group(f"terraform-validate-{stack}")) for stack in STACKS]
)
def test_terraform_validate(stack: str, tmp_path: Path) -> None:
    work = tmp_path / stack
    work.mkdir()
    for source in (OUT / stack).glob("*.tf.json"):
        shutil.copy(source, work / source.name)
    init = terraform(["init", "-backend=false", "-no-color"], work)
    assert init.returncode == 0, init.stdout + init.stderr
    result = terraform(["validate", "-json", "-no-color"], work)
    report = json.loads(result.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    assert report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=2)


def test_every_stack_is_checked() -> None:
    assert {"bootstrap", "dev", "staging", "prod"} <= set(STACKS)
