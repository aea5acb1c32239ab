"""checkov on every compiled stack: 0 failed checks, and every skip reviewed, reasoned and still needed.

Each out/<stack> is scanned with the pinned checkov (`make checkov` installs
it into .venv-checkov; TMSC_CHECKOV names another executable) twice:

- without skips: the failed (check, resource) pairs must equal the entries of
  tests/checkov/skips.yaml for that stack. A new failure means: fix the
  compiler, or add a skip with its reason. A listed pair that no longer fails
  means the skip is stale and must go;
- with `--skip-check` of the stack's skipped ids: 0 failed checks, and every
  other result as in the first scan. checkov does not list what --skip-check
  leaves out, so "skipped" in the figures the suite prints is the number of
  (check, resource) findings the skips cover, which the first scan proves.

checkov cannot parse providers.tf.json (see parse_errors in skips.yaml), so a
copy of each without its terraform block is scanned on its own.

The plan JSON of each emulator apply is scanned the same way, with the same
skips and their reviewed plan_differences, by tests/test_apply_platform.py;
the skips file's shape, plan_differences included, is checked here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from .checkov import (
    ADDRESS,
    CHECK_ID,
    Scan,
    expected_failures,
    failures,
    known_parse_errors,
    mismatch,
    pinned_version,
    plan_differences,
    plan_expected_failures,
    plan_skip_checks,
    require_checkov,
    results_by_check,
    run_checkov_scans,
    skip_checks,
    skips,
    write_line,
)
from .conftest import OUT

STACKS = sorted(p.name for p in OUT.iterdir() if p.is_dir())
PLACEHOLDERS = ("todo", "tbd", "fixme", "n/a", "none", "no reason")


# --------------------------------------------------------------------------- the skips file on its own


def test_every_skip_is_well_formed_and_has_a_reason() -> None:
    entries = skips()
    assert entries, "tests/checkov/skips.yaml lists no skip"
    seen: set[tuple[str, str, str]] = set()
    for entry in entries:
        where = f"skip {entry.check or '<no check>'}"
        assert CHECK_ID.match(entry.check), f"{where}: not a checkov AWS check id"
        assert entry.stacks and set(entry.stacks) <= set(STACKS), f"{where}: stacks {entry.stacks} not among {STACKS}"
        assert entry.resources, f"{where}: names no resource"
        for resource in entry.resources:
            assert ADDRESS.match(resource), f"{where}: {resource!r} is not a resource address"
        reason = entry.reason
        assert reason and len(reason) >= 60, f"{where}: a skip needs a reason that says why (got {reason!r})"
        assert reason.lower().strip(" .") not in PLACEHOLDERS, f"{where}: {reason!r} is no reason"
        for stack in entry.stacks:
            for resource in entry.resources:
                key = (entry.check, stack, resource)
                assert key not in seen, f"{where}: {stack} {resource} listed twice"
                seen.add(key)
    for error in known_parse_errors():
        assert error.file and error.stacks and len(error.reason) >= 60, (
            f"parse error entry {error} needs a file, stacks and a reason"
        )


def test_every_plan_difference_is_well_formed_and_has_a_reason() -> None:
    skipped = {(s.check, stack, resource) for s in skips() for stack in s.stacks for resource in s.resources}
    seen: set[tuple[str, str, str]] = set()
    for entry in plan_differences():
        where = f"plan difference {entry.check or '<no check>'}"
        assert CHECK_ID.match(entry.check), f"{where}: not a checkov AWS check id"
        assert entry.plan in ("fails", "passes"), f"{where}: plan is {entry.plan!r}, not 'fails' or 'passes'"
        assert entry.stacks and set(entry.stacks) <= set(STACKS), f"{where}: stacks {entry.stacks} not among {STACKS}"
        assert entry.resources and all(ADDRESS.match(r) for r in entry.resources), (
            f"{where}: resources {entry.resources}"
        )
        assert len(entry.reason) >= 60 and entry.reason.lower().strip(" .") not in PLACEHOLDERS, (
            f"{where}: a difference needs a reason that says why"
        )
        for stack in entry.stacks:
            for resource in entry.resources:
                key = (entry.check, stack, resource)
                assert key not in seen, f"{where}: {stack} {resource} listed twice"
                seen.add(key)
                # 'passes' lifts a skip of out/ for the plan; 'fails' adds one that out/ does not need.
                assert (key in skipped) is (entry.plan == "passes"), (
                    f"{where}: {stack} {resource} is {'not ' if entry.plan == 'passes' else ''}a skip of out/"
                )
    for stack in STACKS:
        assert set(plan_skip_checks(stack)) == {check for check, _ in plan_expected_failures(stack)}


# --------------------------------------------------------------------------- scanning


@pytest.fixture(scope="session")
def checkov() -> Path:
    return require_checkov()


@pytest.fixture(scope="session")
def scans(
    checkov: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[tuple[str, str], dict[str, Any]]:
    """(stack, 'unskipped' | 'skipped') → checkov's report; ('providers', 'unskipped') for the provider copies.

    Each stack is scanned from a copy, so that a concurrent `tmsc compile` cannot
    change the files between the two scans and the address lookup.
    """
    work = tmp_path_factory.mktemp("checkov")
    copies = {
        stack: shutil.copytree(OUT / stack, work / stack, ignore=shutil.ignore_patterns(".terraform*"))
        for stack in STACKS
    }
    providers = work / "providers"
    providers.mkdir()
    for stack, copy in copies.items():
        document = json.loads((copy / "providers.tf.json").read_text())
        document.pop("terraform", None)
        (providers / f"{stack}_providers.tf.json").write_text(json.dumps(document, indent=2) + "\n")
    jobs = {(stack, "unskipped"): Scan(copy) for stack, copy in copies.items()}
    jobs |= {(stack, "skipped"): Scan(copy, tuple(skip_checks(stack))) for stack, copy in copies.items()}
    jobs[("providers", "unskipped")] = Scan(providers)
    reports = run_checkov_scans(jobs)
    for key, scan in jobs.items():
        reports[key]["directory"] = scan.directory
    _print_figures(request, reports)
    return reports


def _print_figures(request: pytest.FixtureRequest, reports: dict[tuple[str, str], dict[str, Any]]) -> None:
    write_line(request, "")
    write_line(
        request,
        f"checkov {pinned_version()} --framework terraform_json (without skips → with the skips of tests/checkov/skips.yaml):",
    )
    for stack in STACKS:
        before, after = reports[(stack, "unskipped")]["summary"], reports[(stack, "skipped")]["summary"]
        write_line(
            request,
            f"checkov:   {stack:<10} passed {before['passed']:>3} failed {before['failed']:>2}  →  "
            f"passed {after['passed']:>3} failed {after['failed']:>2} skipped {len(expected_failures(stack)):>2}"
            f" (resource findings of {len(skip_checks(stack))} skipped check ids); files checkov cannot parse: {after['parsing_errors']}",
        )
    providers = reports[("providers", "unskipped")]["summary"]
    write_line(
        request,
        f"checkov:   provider blocks (copies without the terraform block): passed {providers['passed']} failed {providers['failed']}",
    )


def test_checkov_is_the_pinned_version(scans: dict[tuple[str, str], dict[str, Any]]) -> None:
    versions = {report["summary"].get("checkov_version") for report in scans.values()}
    assert versions == {pinned_version()}, (
        f"checkov {versions} ran, the Makefile pins {pinned_version()}: run `make checkov`"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_unskipped_failures_are_exactly_the_reviewed_skips(
    stack: str, scans: dict[tuple[str, str], dict[str, Any]]
) -> None:
    report = scans[(stack, "unskipped")]
    names = {r["check_id"]: r["check_name"] for r in report["results"]["failed_checks"]}
    problems = mismatch(failures(report, report["directory"]), expected_failures(stack), names, stack)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("stack", STACKS)
def test_no_check_fails_with_the_skips(stack: str, scans: dict[tuple[str, str], dict[str, Any]]) -> None:
    report = scans[(stack, "skipped")]
    summary = report["summary"]
    failed = [(r["check_id"], r["resource"]) for r in report["results"]["failed_checks"]]
    assert summary["failed"] == 0 and not failed, f"{stack}: {failed}"
    assert summary["passed"] > 50, f"{stack}: only {summary['passed']} checks passed; did checkov parse the stack?"
    # --skip-check means "do not run": checkov lists the skipped checks nowhere. Everything else ran as before.
    skipped = set(skip_checks(stack))
    unskipped = {x for x in results_by_check(scans[(stack, "unskipped")]) if x[0] not in skipped}
    assert results_by_check(report) == unskipped, (
        f"{stack}: the scan with skips differs from the one without beyond the skipped checks"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_known_files_fail_to_parse(stack: str, scans: dict[tuple[str, str], dict[str, Any]]) -> None:
    known = {e.file for e in known_parse_errors() if stack in e.stacks}
    for mode in ("unskipped", "skipped"):
        errors = {Path(p).name for p in scans[(stack, mode)]["results"].get("parsing_errors") or []}
        assert errors == known, f"{stack} ({mode}): checkov could not parse {sorted(errors)}; known: {sorted(known)}"


def test_provider_blocks_pass(scans: dict[tuple[str, str], dict[str, Any]]) -> None:
    report = scans[("providers", "unskipped")]
    summary = report["summary"]
    assert summary["parsing_errors"] == 0 and summary["failed"] == 0, report["results"]["failed_checks"]
    passed = [r for r in report["results"]["passed_checks"] if r["resource"].startswith("provider.")]
    assert len(passed) >= len(STACKS), f"only {len(passed)} provider checks ran"
