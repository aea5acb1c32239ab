"""`tmsc dr-drill`'s progress (compiler/tmsc/drill.py, ProgressWriter): the time since the drill
started on every line, the step waited on and its deadline, in place on a terminal, plain in a pipe.

No AWS and no real waiting: a scripted RDS and a clock the drill's sleep advances.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any

from tmsc import drill
from tmsc.drill import ProgressWriter, WaitStatus, elapsed_text, wait_available

from .test_dr_drill import PLATFORM, FakeAws

UTC = dt.UTC
T0 = dt.datetime(2024, 7, 28, 10, 0, tzinfo=UTC)
DEADLINE = T0 + dt.timedelta(hours=4)


class Clock:
    """Seconds since T0; pause() is the only thing that moves it."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def pause(self, seconds: float) -> None:
        self.t += seconds

    def utc(self) -> dt.datetime:
        return T0 + dt.timedelta(seconds=self.t)


class ScriptedRds:
    """describe_db_instances answers the next status of the script, one per poll."""

    def __init__(self, statuses: list[str]):
        self.statuses = list(statuses)

    def describe_db_instances(self, DBInstanceIdentifier: str) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"DBInstances": [{"DBInstanceIdentifier": DBInstanceIdentifier, "DBInstanceStatus": status}]}


def wait(statuses: list[str], *, tty: bool, width: int = 200, **options: Any) -> tuple[str, Clock]:
    """wait_available through a ProgressWriter, polling every 30 s; what the writer wrote."""
    clock, out = Clock(), io.StringIO()
    writer = ProgressWriter(out, tty=tty, width=width, clock=clock, pause=clock.pause, now=clock.utc, **options)
    writer("restoring tms-prod-database as of 2024-07-28T09:55:00Z into tms-prod-database-r1")
    wait_available(ScriptedRds(statuses), "tms-prod-database-r1", DEADLINE, 30, clock.utc, writer.sleep, writer)
    writer.close()
    return out.getvalue(), clock


STATUSES = ["creating"] * 12 + ["backing-up"] * 3 + ["available"]  # 6 min creating, 1.5 min backing up


def test_in_a_pipe_each_status_is_a_line_with_the_elapsed_time_and_the_deadline() -> None:
    text, clock = wait(STATUSES, tty=False)
    assert clock.t == 450 and "\r" not in text and "\x1b" not in text
    waiting = "(waiting for available; deadline 14:00Z)"
    assert text.splitlines() == [
        "dr-drill: restoring tms-prod-database as of 2024-07-28T09:55:00Z into tms-prod-database-r1 [0s elapsed]",
        f"dr-drill: tms-prod-database-r1: creating {waiting} [0s elapsed]",
        f"dr-drill: tms-prod-database-r1: still creating {waiting} [5m00s elapsed]",  # a long wait says it goes on
        f"dr-drill: tms-prod-database-r1: backing-up {waiting} [6m00s elapsed]",
        "dr-drill: tms-prod-database-r1: available [7m30s elapsed]",
    ]


def test_on_a_terminal_the_waiting_line_is_rewritten_every_second() -> None:
    text, _ = wait(STATUSES, tty=True)
    lines = text.split("\n")
    assert lines[0].startswith("dr-drill: restoring ") and lines[-1] == ""
    # One line per status: while it lasts, rewritten in place with its time going up.
    creating, backing_up, available = lines[1:4]
    frames = [f.removesuffix("\x1b[K") for f in creating.split("\r")[1:]]
    assert frames[0] == "dr-drill: tms-prod-database-r1: creating (waiting for available; deadline 14:00Z) [0s elapsed]"
    assert [re.search(r"\[(\S+) elapsed\]$", f).group(1) for f in frames] == [elapsed_text(s) for s in range(361)]  # type: ignore[union-attr]
    assert backing_up.count("\r") == 91 and backing_up.endswith("[7m30s elapsed]\x1b[K")
    assert available == "dr-drill: tms-prod-database-r1: available [7m30s elapsed]"


def test_on_a_narrow_terminal_the_line_never_wraps_and_keeps_its_time() -> None:
    text, _ = wait(["creating"] * 3 + ["available"], tty=True, width=60)
    frames = [f.removesuffix("\x1b[K") for line in text.split("\n") for f in line.split("\r")[1:]]
    assert frames and all(len(f) < 60 and f.endswith(" elapsed]") for f in frames)
    assert frames[-1] == "dr-drill: tms-prod-database-r1: creating (… [1m30s elapsed]"


def test_the_second_wait_says_it_waits_for_the_new_settings_and_a_far_deadline_gives_its_date() -> None:
    clock, out = Clock(), io.StringIO()
    writer = ProgressWriter(out, tty=False, clock=clock, pause=clock.pause, now=clock.utc)
    writer(WaitStatus("tms-prod-database-r1", "modifying", "the new settings", T0 + dt.timedelta(days=1)))
    assert out.getvalue() == (
        "dr-drill: tms-prod-database-r1: modifying (waiting for the new settings; deadline 2024-07-29 10:00Z) [0s elapsed]\n"
    )


def test_a_wait_status_is_still_the_plain_message() -> None:
    status = WaitStatus("tms-prod-database-r1", "creating", "available", DEADLINE)
    assert status == "tms-prod-database-r1: creating" and status.endswith(": creating") and not status.over
    assert WaitStatus("x", "available", "available", DEADLINE).over


def test_the_command_prints_its_progress_with_times_and_ends_it_before_the_error() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = drill.drill_command(
        PLATFORM, "prod", timeout=0, poll_interval=0, clients=FakeAws(stuck_in="creating"), stdout=out, stderr=err
    )
    assert code == drill.EXIT_FAILED
    lines = err.getvalue().splitlines()
    assert re.fullmatch(
        r"dr-drill: restoring tms-prod-database as of 2024-07-28T10:00:00Z into tms-prod-database-r\d{14} \[0s elapsed\]",
        lines[0],
    )
    assert re.fullmatch(
        r"dr-drill: tms-prod-database-r\d{14}: creating \(waiting for available; deadline \d\d:\d\dZ\) \[0s elapsed\]",
        lines[1],
    )
    assert lines[2].startswith("error: the drill failed part way: ") and "\r" not in err.getvalue()


def test_json_output_stays_alone_on_stdout() -> None:
    out, err = io.StringIO(), io.StringIO()
    drill.drill_command(
        PLATFORM,
        "prod",
        timeout=0,
        poll_interval=0,
        clients=FakeAws(stuck_in="creating"),
        as_json=True,
        stdout=out,
        stderr=err,
    )
    assert json.loads(out.getvalue())["result"] == "failed" and "elapsed]" in err.getvalue()
