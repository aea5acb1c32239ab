"""checkov over the compiled stacks, with the one reviewed list of checks deliberately not met (skips.yaml).

Reused by every scan of the same platform: out/<stack> (tests/test_checkov.py,
--framework terraform_json) and the plan JSON of an emulator apply
(tests/test_apply_platform.py, --framework terraform_plan).
`skip_checks(stack)` is what to pass to `--skip-check`,
`expected_failures(stack)` the (check, resource address) pairs an unskipped
scan must report, no more and no fewer; `plan_skip_checks` and
`plan_expected_failures` are the same for a plan JSON, after the reviewed
plan_differences of skips.yaml. `run_checkov_scans` runs several scans
from one import of checkov (tests/checkov/batch.py), `scan_twice` the two of
one target, and `mismatch` says what differs from the reviewed list.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
SKIPS_FILE = Path(__file__).with_name("skips.yaml")
CHECKOV_VARIABLE = "TMSC_CHECKOV"  # path of the checkov executable, if not the Makefile's venv
DEFAULT_CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
BATCH = Path(__file__).with_name("batch.py")
CHECK_ID = re.compile(r"^CKV2?_AWS_\d+$")
ADDRESS = re.compile(r"^aws_[a-z0-9_]+\.[A-Za-z0-9_-]+$")
K = TypeVar("K")


@attrs.frozen
class Skip:
    check: str
    stacks: tuple[str, ...]
    resources: tuple[str, ...]
    reason: str


@attrs.frozen
class PlanDifference:
    """Where a plan JSON's findings differ from out/'s: `fails` there only, or a skip whose finding it `passes`."""

    check: str
    stacks: tuple[str, ...]
    resources: tuple[str, ...]
    plan: str
    reason: str


@attrs.frozen
class ParseError:
    file: str
    stacks: tuple[str, ...]
    reason: str


@cache
def _document() -> dict[str, Any]:
    return yaml.safe_load(SKIPS_FILE.read_text())


def skips() -> list[Skip]:
    return [
        Skip(
            str(entry.get("check", "")),
            tuple(entry.get("stacks") or ()),
            tuple(entry.get("resources") or ()),
            " ".join(str(entry.get("reason") or "").split()),
        )
        for entry in _document().get("skips") or []
    ]


def plan_differences() -> list[PlanDifference]:
    return [
        PlanDifference(
            str(entry.get("check", "")),
            tuple(entry.get("stacks") or ()),
            tuple(entry.get("resources") or ()),
            str(entry.get("plan", "")),
            " ".join(str(entry.get("reason") or "").split()),
        )
        for entry in _document().get("plan_differences") or []
    ]


def known_parse_errors() -> list[ParseError]:
    return [
        ParseError(str(e.get("file", "")), tuple(e.get("stacks") or ()), " ".join(str(e.get("reason") or "").split()))
        for e in _document().get("parse_errors") or []
    ]


def skip_checks(stack: str) -> list[str]:
    """Check ids to pass to checkov --skip-check for one stack."""
    return sorted({s.check for s in skips() if stack in s.stacks})


def expected_failures(stack: str) -> set[tuple[str, str]]:
    """(check id, resource address) an unskipped scan of the stack reports: exactly the skipped ones."""
    return {(s.check, resource) for s in skips() if stack in s.stacks for resource in s.resources}


def _plan_difference(stack: str, effect: str) -> set[tuple[str, str]]:
    return {
        (d.check, resource)
        for d in plan_differences()
        if stack in d.stacks and d.plan == effect
        for resource in d.resources
    }


def plan_expected_failures(stack: str) -> set[tuple[str, str]]:
    """(check id, resource address) an unskipped scan of an applied stack's plan JSON reports."""
    return (expected_failures(stack) - _plan_difference(stack, "passes")) | _plan_difference(stack, "fails")


def plan_skip_checks(stack: str) -> list[str]:
    """Check ids to pass to --skip-check for an applied stack's plan JSON."""
    return sorted({check for check, _ in plan_expected_failures(stack)})


# --------------------------------------------------------------------------- running checkov


def checkov_executable() -> Path:
    return Path(os.environ.get(CHECKOV_VARIABLE) or DEFAULT_CHECKOV)


def pinned_version() -> str:
    """The version the Makefile installs into .venv-checkov: the figures in the tests are for it."""
    match = re.search(r"^CHECKOV_VERSION\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert match, "the Makefile pins no CHECKOV_VERSION"
    return match.group(1)


@attrs.frozen
class Scan:
    """One checkov run: a directory of *.tf.json files (or, with framework="terraform_plan", a plan JSON file)."""

    target: Path
    skip: tuple[str, ...] = ()
    framework: str = "terraform_json"

    @property
    def directory(self) -> Path:
        return self.target if self.target.is_dir() else self.target.parent

    @property
    def arguments(self) -> list[str]:
        arguments = ["--framework", self.framework, "--skip-download", "--compact", "-o", "json"]
        arguments += ["-d", str(self.target)] if self.target.is_dir() else ["-f", str(self.target)]
        if self.skip:
            arguments += ["--skip-check", ",".join(self.skip)]
        return arguments


def _checkov_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "CKV_", "PRISMA_"))}
    env.update({"LOG_LEVEL": "CRITICAL", "CHECKOV_EXPERIMENTAL_TERRAFORM_MANAGED_MODULES": "False"})
    return env


def _checkov_python() -> Path | None:
    """The interpreter of a pip-installed checkov (its script's #! line); None for any other kind of executable."""
    with checkov_executable().open("rb") as script:
        first = script.readline()
    interpreter = Path(first.removeprefix(b"#!").strip().decode(errors="replace"))
    if first.startswith(b"#!") and interpreter.name.startswith("python") and interpreter.is_file():
        return interpreter
    return None


def _report(stdout: str, code: int, stderr: str, framework: str) -> dict[str, Any]:
    # 0: no failed check, 1: some failed; anything else (or no JSON) is checkov itself failing.
    assert code in (0, 1), f"checkov exited {code}:\n{stderr[-3000:]}"
    report = json.loads(stdout)
    if isinstance(report, list):  # one entry per framework; we run one
        (report,) = [r for r in report if r.get("check_type") == framework]
    if "results" not in report:  # checkov found nothing to scan: a bare summary
        report = {
            "check_type": framework,
            "results": {"passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": []},
            "summary": report,
        }
    return report


def run_checkov_scans(scans: Mapping[K, Scan], parallel: int = os.cpu_count() or 2) -> dict[K, dict[str, Any]]:
    """checkov's JSON report of each scan.

    A pip-installed checkov (the Makefile's) runs all the scans from one import
    (tests/checkov/batch.py): a fresh checkov process per scan spends about 3 s of
    CPU importing before it reads a file, three quarters of a stack's scan. Any
    other executable named by TMSC_CHECKOV runs once per scan.
    """
    keys = list(scans)
    python = _checkov_python()
    with tempfile.TemporaryDirectory(prefix="tmsc-checkov-") as work:
        outputs = [(Path(work) / f"{i}.out", Path(work) / f"{i}.err") for i in range(len(keys))]
        if python is None:
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                codes = list(pool.map(lambda i: _run_alone(scans[keys[i]], *outputs[i]), range(len(keys))))
        else:
            jobs = [
                {"argv": scans[key].arguments, "cwd": str(scans[key].directory), "stdout": str(out), "stderr": str(err)}
                for key, (out, err) in zip(keys, outputs, strict=True)
            ]
            (Path(work) / "jobs.json").write_text(json.dumps(jobs))
            proc = subprocess.run(
                [str(python), str(BATCH), str(Path(work) / "jobs.json"), str(parallel)],
                capture_output=True,
                text=True,
                env=_checkov_environment(),
                timeout=600,
            )
            assert proc.returncode == 0, f"tests/checkov/batch.py exited {proc.returncode}:\n{proc.stderr[-3000:]}"
            codes = json.loads(proc.stdout)["codes"]
        return {
            key: _report(out.read_text(), code, err.read_text(), scans[key].framework)
            for key, code, (out, err) in zip(keys, codes, outputs, strict=True)
        }


def _run_alone(scan: Scan, stdout: Path, stderr: Path) -> int:
    with stdout.open("w") as out, stderr.open("w") as err:
        command = [str(checkov_executable()), *scan.arguments]
        env = _checkov_environment()
        return subprocess.run(command, stdout=out, stderr=err, env=env, timeout=600, cwd=scan.directory).returncode


def run_checkov(target: Path, skip: Sequence[str] = (), framework: str = "terraform_json") -> dict[str, Any]:
    """checkov's JSON report of one directory of *.tf.json files (or a plan JSON file)."""
    return run_checkov_scans({0: Scan(target, tuple(skip), framework)})[0]


def resource_address(record: dict[str, Any], directory: Path) -> str:
    """The Terraform address of a result.

    For plain resource checks checkov 3.3.30 reports terraform_json resources as
    "resource.<name>", without the type; the type is the key one level up from
    the block at file_line_range[0] (the files are rendered two spaces per level).
    """
    resource = record["resource"]
    if not resource.startswith("resource."):  # graph checks, and every check on plan JSON, name the address
        return resource
    name = resource.removeprefix("resource.")
    lines = (directory / record["file_path"].lstrip("/")).read_text().splitlines()
    start = record["file_line_range"][0] - 1
    assert lines[start].strip().startswith(json.dumps(name)), (record["file_path"], lines[start])
    indent = len(lines[start]) - len(lines[start].lstrip())
    for line in reversed(lines[:start]):
        if len(line) - len(line.lstrip()) < indent:
            return f"{json.loads(line.strip().removesuffix('{').strip().removesuffix(':'))}.{name}"
    raise AssertionError(f"no resource type above line {start + 1} of {record['file_path']}")


def failures(report: dict[str, Any], directory: Path) -> set[tuple[str, str]]:
    return {(r["check_id"], resource_address(r, directory)) for r in report["results"]["failed_checks"]}


def require_checkov() -> Path:
    """The checkov executable; the test is skipped without it (failed in CI, where `make test` installs it)."""
    executable = checkov_executable()
    if not executable.is_file():
        message = f"checkov is not installed at {executable}: run `make checkov` (or set {CHECKOV_VARIABLE})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return executable


def scan_twice(
    target: Path, skip: list[str], framework: str = "terraform_json"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(report without skips, report with `--skip-check skip`) of one target, the two scans run side by side."""
    reports = run_checkov_scans(
        {"unskipped": Scan(target, (), framework), "skipped": Scan(target, tuple(skip), framework)}
    )
    return reports["unskipped"], reports["skipped"]


def mismatch(
    found: set[tuple[str, str]], expected: set[tuple[str, str]], names: dict[str, str], what: str
) -> list[str]:
    """Why the failures an unskipped scan found are not exactly the reviewed ones; [] when they are."""
    problems = []
    new = sorted(found - expected)
    stale = sorted(expected - found)
    if new:
        problems.append(
            f"{what}: checks failing without a skip (fix the compiler, or add them to tests/checkov/skips.yaml with a reason):"
        )
        problems += [f"  {check} {resource}: {names.get(check, '')}" for check, resource in new]
    if stale:
        problems.append(f"{what}: skips whose check no longer fails (remove them from tests/checkov/skips.yaml):")
        problems += [f"  {check} {resource}" for check, resource in stale]
    return problems


def results_by_check(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(check id, resource, file) of every passed and failed result."""
    return {
        (r["check_id"], r["resource"], r["file_path"])
        for kind in ("passed_checks", "failed_checks")
        for r in report["results"][kind]
    }


def write_line(request: pytest.FixtureRequest, text: str) -> None:
    """A line in pytest's terminal output, even under output capture (the checkov figures)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(text)
