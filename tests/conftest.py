from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_SPEC = REPO / "spec" / "platform.yaml"
OUT = REPO / "out"

settings.register_profile("default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))


@pytest.fixture(scope="session")
def example_spec() -> Path:
    return EXAMPLE_SPEC


@pytest.fixture(scope="session")
def example_stacks() -> dict[str, dict[str, str]]:
    from tmsc.pipeline import build

    return build(EXAMPLE_SPEC)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the writes the emulator answered from their first attempt
    (tests/emulator/server.py, RetryReplay): each is an answer the provider
    never read and asked for again, which moto would have run twice."""
    import sys

    server = sys.modules.get("tests.emulator.server")
    replayed = getattr(server, "REPLAYED", None)
    if replayed:
        terminalreporter.write_sep("-", f"emulator: {len(replayed)} retried write(s) answered from their first attempt")
        for label in replayed:
            terminalreporter.write_line(f"  {label}")
