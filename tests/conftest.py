from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

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
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))


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
    """
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its emulator replays to the controller, which prints the summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["emulator_replayed"] = _replayed_here()


_REPLAYED_ON_WORKERS: list[str] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    _REPLAYED_ON_WORKERS.extend(getattr(node, "workeroutput", {}).get("emulator_replayed", []))


def _replayed_here() -> list[str]:
    import sys

    server = sys.modules.get("tests.emulator.server")
    return list(getattr(server, "REPLAYED", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the writes the emulator answered from their first attempt
    (tests/emulator/server.py, RetryReplay): each is an answer the provider
    never read and asked for again, which moto would have run twice."""
    replayed = _replayed_here() + _REPLAYED_ON_WORKERS
    if replayed:
        terminalreporter.write_sep("-", f"emulator: {len(replayed)} retried write(s) answered from their first attempt")
        for label in replayed:
            terminalreporter.write_line(f"  {label}")
