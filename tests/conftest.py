from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from . import scheduling

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_SPEC = REPO / "spec" / "platform.yaml"

# Raising an environment of the example to 99.9% takes what that target derives and AWS enforces (issue 10):
# dev pins mq.t3.micro, which Amazon MQ runs for single-instance brokers only, and three NAT gateways instead of
# one take the account's Elastic IPs past AWS's default quota of 5 (dev 1 + staging 1 + prod 3 fill it exactly).
RAISED_ELASTIC_IPS = """raised_quotas:
  - quota: elastic_ips
    value: 10
    reason: Service Quotas request for the account, approved

"""


def raised(text: str, old: str = "target_percent: 99.0", new: str = "target_percent: 99.9") -> str:
    """The example's text with one environment's target raised (dev's by default), its broker pin moved to a type
    that runs a cluster and the Elastic IP quota it then needs declared."""
    assert old in text, old
    text = text.replace(old, new, 1)
    if old == "target_percent: 99.0":  # dev's: the only environment that pins its broker
        text = text.replace("broker_instance_type: mq.t3.micro", "broker_instance_type: mq.m7g.large", 1)
    return text.replace("\nservices:\n", "\n" + RAISED_ELASTIC_IPS + "services:\n", 1)


OUT = REPO / "out"

settings.register_profile("default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# `make check`, the loop run on every change: every property still runs, on fewer examples.
settings.register_profile("check", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
settings.load_profile(PROFILE)
# `make check`: the loop run on every change (the Makefile sets the profile).
CHECK_LOOP = PROFILE == "check"


def examples(full: int) -> int:
    """The example count of a property that sets its own: as written, except a fifth of it (at least 2) in `make check`.

    The profiles above scale the properties that take the profile's count; this
    scales the others the same way (the check profile's 20 is a fifth of the default's 100).
    """
    return max(2, full // 5) if CHECK_LOOP else full


@pytest.fixture(scope="session")
def example_spec() -> Path:
    return EXAMPLE_SPEC


@pytest.fixture(scope="session")
def example_stacks() -> dict[str, dict[str, str]]:
    from tmsc.pipeline import build

    return build(EXAMPLE_SPEC)


# tryfirst: xdist's worker reads the groups in a collection hook of its own, which would otherwise run
# before this one and see none of the marks added here.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test` runs `--dist loadgroup`), keep each module on one worker.

    Modules share expensive module- and session-scoped fixtures (an emulator and what is applied on
    it, checkov's scans, compiled platforms); split across workers, each worker would set them up
    again. A test that carries its own `xdist_group` mark keeps it: test_apply_platform applies dev
    and prod in groups of their own, so the two applies run side by side. Each worker is a process
    of its own, with its own emulator, ports, scratch directories and Terraform plugin cache.
    Groups are then ordered longest first (tests/scheduling.py).
    """
    groups = []
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if mark is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
            mark = item.get_closest_marker("xdist_group")
        assert mark is not None
        groups.append(mark.kwargs.get("name", mark.args[0] if mark.args else "default"))
    # On an xdist worker --dist reads "no" and `loadgroup` says what the controller runs; a serial run
    # keeps each module's tests together.
    if getattr(config.option, "loadgroup", False) or config.getvalue("dist") == "loadgroup":
        items[:] = scheduling.longest_first(items, groups, scheduling.recorded_seconds())


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-group-durations",
        metavar="PATH",
        help="write the seconds each xdist group took to PATH (tests/scheduling.py; make test writes them to build/)",
    )


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--record-group-durations")
    if path and not hasattr(config, "workerinput"):  # the xdist controller, or a run without xdist
        config.pluginmanager.register(scheduling.GroupDurations(Path(path)), "tmsc-group-durations")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Under --dist loadgroup, refuse to run unless every test a worker collected carries its group in its id
    (`<test>@<group>`), which is what the controller schedules by. Without it (pytest and pytest-xdist out of
    step: see the pin in pyproject.toml) each module's tests are spread over every worker, each worker sets the
    module's emulator fixtures up again, and a test no longer runs after the one before it in its module."""
    if node.config.getvalue("dist") != "loadgroup":
        return
    ungrouped = [nodeid for nodeid in ids if nodeid.rfind("@") < nodeid.rfind("::")]
    if ungrouped:
        pytest.exit(
            f"pytest-xdist did not put {len(ungrouped)} of {len(ids)} tests in their xdist_group (first: "
            f"{ungrouped[0]}): this pytest and this pytest-xdist do not work together; install the versions "
            "pinned in pyproject.toml",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its emulator notes to the controller, which prints the summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["emulator_replayed"] = _noted_here("tests.emulator.server", "REPLAYED")
        workeroutput["emulator_retried_runs"] = _noted_here("tests.emulator.workspace", "RETRIED_RUNS")


_NOTED_ON_WORKERS: dict[str, list[str]] = {"emulator_replayed": [], "emulator_retried_runs": []}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    for key, notes in _NOTED_ON_WORKERS.items():
        notes.extend(getattr(node, "workeroutput", {}).get(key, []))


def _noted_here(module: str, name: str) -> list[str]:
    import sys

    return list(getattr(sys.modules.get(module), name, []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List what the emulator's harness absorbed, so that it never passes unseen: the writes the
    emulator answered from their first attempt (tests/emulator/server.py, RetryReplay: each is an
    answer the provider never read and asked for again, which moto would have run twice), and the
    terraform commands run once more after failing on the connection alone (tests/emulator/workspace.py)."""
    sections = (
        (
            "retried write(s) answered from their first attempt",
            "tests.emulator.server",
            "REPLAYED",
            "emulator_replayed",
        ),
        (
            "terraform apply, plan or destroy run again after a connection failure",
            "tests.emulator.workspace",
            "RETRIED_RUNS",
            "emulator_retried_runs",
        ),
    )
    for title, module, name, key in sections:
        noted = _noted_here(module, name) + _NOTED_ON_WORKERS[key]
        if noted:
            terminalreporter.write_sep("-", f"emulator: {len(noted)} {title}")
            for label in noted:
                terminalreporter.write_line(f"  {label}")
