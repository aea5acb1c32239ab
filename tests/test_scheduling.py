"""The order `make test` hands its xdist groups out in (tests/scheduling.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from . import scheduling
from .conftest import REPO


def pytest_on_one_worker(*arguments: str) -> subprocess.CompletedProcess[str]:
    """pytest run from the repository on one xdist worker under --dist loadgroup, as make test runs; it must pass."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "1", "--dist", "loadgroup", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc


def test_group_of_reads_the_loadgroup_suffix_and_falls_back_to_the_module() -> None:
    assert scheduling.group_of("tests/test_a.py::test_x[1]@apply-dev") == "apply-dev"
    assert scheduling.group_of("tests/test_a.py::test_x@tests/test_a.py") == "tests/test_a.py"
    assert scheduling.group_of("tests/test_a.py::test_x[user@example]") == "tests/test_a.py"
    assert scheduling.group_of("tests/test_a.py::test_x") == "tests/test_a.py"


def test_longest_first_orders_groups_by_recorded_seconds_then_size_and_keeps_each_group_in_order() -> None:
    items = ["a1", "b1", "a2", "c1", "d1", "d2", "d3", "e1"]
    groups = ["a", "b", "a", "c", "d", "d", "d", "e"]
    seconds = {"c": 300.0, "b": 20.0, "a": 20.0}
    ordered = scheduling.longest_first(items, groups, seconds)
    # c longest; a and b tie on seconds, a has more tests; d and e have no figure: after, larger first.
    assert ordered == ["c1", "a1", "a2", "b1", "d1", "d2", "d3", "e1"]


def test_without_figures_the_order_is_pytest_xdists() -> None:
    """No recorded seconds: larger groups first, as --loadscope-reorder would have it; ties keep collection order."""
    items = ["x1", "y1", "y2", "z1"]
    groups = ["x", "y", "y", "z"]
    assert scheduling.longest_first(items, groups, {}) == ["y1", "y2", "x1", "z1"]


def test_the_kept_figures_are_well_formed() -> None:
    document = json.loads(scheduling.DURATIONS.read_text())
    assert document["about"] == scheduling.ABOUT
    seconds = document["seconds"]
    assert seconds and all(isinstance(s, int) and s >= 0 for s in seconds.values())
    assert list(seconds.values()) == sorted(seconds.values(), reverse=True)


def test_a_recorded_run_reads_back_in_the_kept_form(tmp_path: Path) -> None:
    """A run with --record-group-durations writes what recorded_seconds reads: one entry per xdist group, in seconds."""
    record = tmp_path / "durations.json"
    module = tmp_path / "test_two_groups.py"
    module.write_text(
        "import time, pytest\n"
        "@pytest.mark.xdist_group('slow')\n"
        "def test_slow():\n    time.sleep(1.2)\n"
        "def test_quick():\n    pass\n"
    )
    # The suite's own conftest (for the option) on a module outside it: run from the repository, rootdir there.
    pytest_on_one_worker(
        "-q", "--confcutdir", str(REPO), "-p", "tests.conftest", "--record-group-durations", str(record), str(module)
    )
    seconds = scheduling.recorded_seconds(record)
    # The other group is the module's, as pytest names it from its rootdir.
    assert len(seconds) == 2 and "slow" in seconds, seconds
    (other,) = set(seconds) - {"slow"}
    assert other.endswith(module.name), seconds
    assert seconds["slow"] >= 1
    assert json.loads(record.read_text())["about"] == scheduling.ABOUT


def test_a_worker_receives_the_recorded_longest_group_first() -> None:
    """Under --dist loadgroup --no-loadscope-reorder (make test), the one worker of `-n 1` runs the group with
    the larger recorded figure first, whatever the command line's order: what xdist's workers collect is the
    order, and on a worker --dist reads "no"."""
    kept = scheduling.recorded_seconds()
    modules = [group for group in kept if group.endswith(".py") and (REPO / group).is_file()]
    quick = [group for group in modules if 0 < kept[group] <= 2]
    idle = [group for group in modules if kept[group] == 0]
    assert quick and idle, "no quick modules with distinct figures in tests/group_durations.json"
    longer, shorter = max(quick, key=lambda group: kept[group]), idle[0]
    proc = pytest_on_one_worker("-v", "--no-loadscope-reorder", shorter, longer)
    # "[gw0] [ 50%] PASSED tests/test_x.py::test_y", in the order the worker ran them
    ran = [line.split()[-1] for line in proc.stdout.splitlines() if line.startswith("[gw0] ") and " PASSED " in line]
    assert ran and scheduling.group_of(ran[0]) == longer, (longer, ran[:3])
