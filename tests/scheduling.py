"""The order in which `make test` hands its xdist groups to the workers: longest first.

`--dist loadgroup` keeps each group (a module, or a group a test names) on one
worker and hands groups out in the order of its work queue. pytest-xdist orders
that queue by the number of tests in a group, which puts the bad-input corpus
(hundreds of quick tests) first and the emulator modules (a few tests of
minutes each) last, so a four-minute module could start when the other
workers were nearly done. Ordered longest first (`make test` passes
`--no-loadscope-reorder`, so the collection order below is the queue), the
run ends close to the total divided by the workers.

The lengths are those of an earlier run on this machine, kept in
tests/group_durations.json. `make test` records the run's own into
build/test-group-durations.json, in the same form: copy it over the kept one
when modules have grown or shrunk. A stale or missing figure changes only the
order, never what runs; a group with none goes after those with one, larger
groups first, as pytest-xdist would order them.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")
DURATIONS = Path(__file__).with_name("group_durations.json")
ABOUT = (
    "Seconds each xdist group took in one make test run (setup, call and teardown of its tests), the order in which "
    "tests/scheduling.py hands groups to the workers: longest first. Refresh by copying build/test-group-durations.json."
)


def group_of(nodeid: str) -> str:
    """The xdist group of a test id: its `@group` suffix under --dist loadgroup, otherwise its module."""
    at = nodeid.rfind("@")  # after the test's name and its parameters: an id may hold an @ of its own
    return nodeid[at + 1 :] if at > max(nodeid.rfind("::"), nodeid.rfind("]")) else nodeid.split("::", 1)[0]


def recorded_seconds(path: Path = DURATIONS) -> dict[str, float]:
    if not path.is_file():
        return {}
    return {str(group): float(seconds) for group, seconds in json.loads(path.read_text())["seconds"].items()}


def longest_first(items: Sequence[T], groups: Sequence[str], seconds: dict[str, float]) -> list[T]:
    """items (each in groups[i]) reordered group by group: by recorded seconds, then by size; stable within a group."""
    size = Counter(groups)
    first_seen = {group: index for index, group in reversed(list(enumerate(groups)))}

    def key(index: int) -> tuple[float, int, int, int]:
        group = groups[index]
        return (-seconds.get(group, 0.0), -size[group], first_seen[group], index)

    return [items[index] for index in sorted(range(len(items)), key=key)]


class GroupDurations:
    """Sums the duration of every phase of every test per group (on the xdist controller) and writes them."""

    def __init__(self, path: Path):
        self.path = path
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[group_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ordered = sorted(self.seconds.items(), key=lambda item: (-item[1], item[0]))
        document = {"about": ABOUT, "seconds": {group: round(seconds) for group, seconds in ordered}}
        self.path.write_text(json.dumps(document, indent=2) + "\n")
