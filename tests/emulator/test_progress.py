"""The apply progress `make demo` shows (tests/emulator/progress.py), fed from terraform's -json stream.

recorded/apply-ok.jsonl and recorded/apply-failed.jsonl are terraform 1.11.4's
own output (`terraform apply -json -auto-approve`) for the configurations in
OK_CONFIG and FAILED_CONFIG below (terraform_data needs no provider, so they
run anywhere); the larger streams are built from the same message shapes, as
the dev environment's apply on the emulator writes them (128 creates, four
data sources read, the database instance in flight for 80 s).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.progress import (
    ApplyFailed,
    ApplyProgress,
    ProgressLine,
    clock,
    follow,
    format_diagnostic,
    parse,
    replay,
)
from tests.emulator.workspace import RunningTerraform

RECORDED = Path(__file__).parent / "recorded"

OK_CONFIG = """
resource "terraform_data" "fast" {
  count = 2
  input = count.index
}
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 11"
  }
}
"""
FAILED_CONFIG = """
resource "terraform_data" "fast" {
  count = 2
  input = count.index
}
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 11"
  }
}
resource "terraform_data" "broken" {
  depends_on = [terraform_data.slow]
  provisioner "local-exec" {
    command = "echo no such thing >&2; exit 3"
  }
}
"""


def recorded(name: str) -> list[dict[str, Any]]:
    messages = [parse(line) for line in (RECORDED / name).read_text().splitlines()]
    assert None not in messages
    return [m for m in messages if m is not None]


def plain(tty: bool = False, **options: Any) -> tuple[io.StringIO, ProgressLine]:
    out = io.StringIO()
    return out, ProgressLine(out, tty=tty, **options)


# -- building streams ------------------------------------------------------------------------


def resource(address: str) -> dict[str, Any]:
    kind, _, name = address.removeprefix("data.").partition(".")
    return {
        "addr": address,
        "module": "",
        "resource": address,
        "implied_provider": "aws",
        "resource_type": kind,
        "resource_name": name,
        "resource_key": None,
    }


def msg(kind: str, at: float, **fields: Any) -> dict[str, Any]:
    return {"@level": "info", "@message": "", "@module": "terraform.ui", "type": kind, "at": at, **fields}


def planned(address: str, action: str = "create", at: float = 0.0) -> dict[str, Any]:
    return msg("planned_change", at, change={"resource": resource(address), "action": action})


def hook(kind: str, address: str, at: float, action: str = "create", **extra: Any) -> dict[str, Any]:
    return msg(kind, at, hook={"resource": resource(address), "action": action, **extra})


def summary(at: float, operation: str, add: int, change: int = 0, remove: int = 0) -> dict[str, Any]:
    changes = {"add": add, "change": change, "import": 0, "remove": remove, "operation": operation}
    return msg("change_summary", at, changes=changes)


def dev_like_stream() -> list[dict[str, Any]]:
    """128 creates in 120 s: planning until 12 s, most resources fast, the database from 35 s to 115 s."""
    names = [f"aws_thing.r{i:03d}" for i in range(127)] + ["aws_db_instance.database"]
    stream = [msg("version", 0.0, terraform="1.11.4", ui="1.2")]
    for i, data in enumerate(["data.aws_caller_identity.current", "data.aws_partition.current"]):
        stream += [hook("apply_start", data, 10.0 + i, "read"), hook("apply_complete", data, 10.5 + i, "read")]
    stream += [planned(name, at=11.9) for name in names]
    stream += [planned("data.aws_secretsmanager_secret_version.x", "read", 11.9), summary(12.0, "plan", 128)]
    for i, name in enumerate(names[:-1]):  # 127 resources between 12 s and 35 s
        start = 12.0 + i * 23.0 / 127
        stream += [hook("apply_start", name, start), hook("apply_complete", name, start + 0.1, elapsed_seconds=0)]
    database = names[-1]
    stream.append(hook("apply_start", database, 35.0))
    stream += [hook("apply_progress", database, 35.0 + s, elapsed_seconds=s) for s in range(10, 80, 10)]
    stream += [hook("apply_complete", database, 115.0, elapsed_seconds=80), summary(116.0, "apply", 128)]
    return stream


def by_at(message: dict[str, Any]) -> float:
    return float(message["at"])


# -- counting --------------------------------------------------------------------------------


def test_the_recorded_apply_counts_its_resources_and_ends_complete() -> None:
    out, display = plain()
    progress = replay(recorded("apply-ok.jsonl"), display)
    assert (progress.total, progress.done, progress.planned) == (3, 3, 3)
    assert progress.in_flight == {} and progress.errored == [] and progress.diagnostics == []
    assert progress.result == {"add": 3, "change": 0, "import": 0, "remove": 0, "operation": "apply"}
    assert progress.terraform_version == "1.11.4"
    assert out.getvalue().splitlines() == [
        "apply: started",
        "apply: created 0/3, 0s elapsed",
        "apply: created 1/3, 0s elapsed",
        "apply: created 2/3, waiting on terraform_data.slow (0s), 0s elapsed",
        "apply: created 3/3 in 11s",
    ]


def test_the_recorded_failure_names_what_errored_and_keeps_terraforms_diagnostic() -> None:
    out, display = plain()
    progress = replay(recorded("apply-failed.jsonl"), display)
    assert (progress.total, progress.done, progress.errored) == (4, 3, ["terraform_data.broken"])
    assert progress.result is None and progress.in_flight == {}
    assert out.getvalue().splitlines()[-1] == "apply: FAILED after 11s: created 3/4; errored: terraform_data.broken"
    (error,) = progress.errors()
    assert format_diagnostic(error) == [
        "Error: local-exec provisioner error",
        '  with terraform_data.broken, on main.tf line 12, in resource "terraform_data" "broken":',
        '  12: provisioner "local-exec" {',
        "  Error running command 'echo no such thing >&2; exit 3': exit status 3. Output: no such thing",
    ]


def test_data_sources_read_and_ephemeral_values_are_not_counted() -> None:
    progress = ApplyProgress()
    for message in [
        planned("data.aws_x.y", "read"),
        planned("aws_a.b"),
        summary(0, "plan", 1),
        hook("apply_start", "data.aws_x.y", 1, "read"),
        hook("apply_complete", "data.aws_x.y", 2, "read"),
        msg("ephemeral_op_start", 2, hook={"resource": resource("ephemeral.aws_p.q"), "action": "open"}),
        msg("ephemeral_op_complete", 3, hook={"resource": resource("ephemeral.aws_p.q"), "action": "open"}),
    ]:
        progress.feed(message, by_at(message))
    assert (progress.planned, progress.total, progress.done, progress.in_flight) == (1, 1, 0, {})


def test_a_replacement_is_a_delete_and_a_create_and_an_update_is_applied_not_created() -> None:
    progress = ApplyProgress()
    stream = [
        planned("aws_a.replaced", "replace"),
        planned("aws_b.updated", "update"),
        planned("aws_c.gone", "delete"),
        planned("aws_d.same", "no-op"),
        summary(0, "plan", add=1, change=1, remove=2),
        hook("apply_start", "aws_a.replaced", 1, "delete"),
        hook("apply_complete", "aws_a.replaced", 2, "delete"),
        hook("apply_start", "aws_a.replaced", 2, "create"),
        hook("apply_complete", "aws_a.replaced", 3, "create"),
        hook("apply_start", "aws_b.updated", 3, "update"),
        hook("apply_complete", "aws_b.updated", 4, "update"),
    ]
    for message in stream:
        progress.feed(message, by_at(message))
    assert (progress.planned, progress.total, progress.done) == (4, 4, 3)
    assert progress.status(4, 0) == "applied 3/4, 4s elapsed"


def test_what_is_waited_on_is_the_longest_running_and_a_missed_start_is_recovered() -> None:
    progress = ApplyProgress()
    for message in [
        summary(0, "plan", 3),
        hook("apply_start", "aws_a.quick", 50),
        hook("apply_progress", "aws_db_instance.database", 60, elapsed_seconds=40),  # its start was not read
        hook("apply_start", "aws_b.other", 55),
    ]:
        progress.feed(message, by_at(message))
    assert progress.waiting_on(61) == [("aws_db_instance.database", 41), ("aws_a.quick", 11), ("aws_b.other", 6)]
    assert progress.status(61, 0) == "created 0/3, waiting on aws_db_instance.database (41s) and 2 more, 1m01s elapsed"


def test_an_unknown_major_version_of_the_stream_is_refused() -> None:
    with pytest.raises(ValueError, match=r"machine-readable UI version '2\.0' is not supported"):
        ApplyProgress().feed(msg("version", 0, terraform="2.0.0", ui="2.0"), 0)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.9, "59s"), (60, "1m00s"), (187, "3m07s"), (3720, "1h02m"), (-1, "0s")]
)
def test_elapsed_times_read_like_terraforms(seconds: float, text: str) -> None:
    assert clock(seconds) == text


# -- showing ---------------------------------------------------------------------------------


def test_in_a_pipe_a_long_apply_prints_a_line_per_tenth_and_one_every_15_s_of_waiting() -> None:
    out, display = plain()
    progress = replay(dev_like_stream(), display, now=by_at)
    assert (progress.total, progress.done) == (128, 128)
    text = out.getvalue()
    assert "\r" not in text and "\x1b" not in text
    database = "waiting on aws_db_instance.database"
    assert text.splitlines() == [
        "apply: started",
        # The plan is known at 12 s; then a line as each further tenth is created.
        "apply: created 0/128, 12s elapsed",
        "apply: created 13/128, 14s elapsed",
        "apply: created 26/128, 16s elapsed",
        "apply: created 39/128, 18s elapsed",
        "apply: created 52/128, 21s elapsed",
        "apply: created 64/128, 23s elapsed",
        "apply: created 77/128, 25s elapsed",
        "apply: created 90/128, 28s elapsed",
        "apply: created 103/128, 30s elapsed",
        "apply: created 116/128, 32s elapsed",
        # The database's 80 s: a line after 15 s without one, saying what is waited on and for how long.
        f"apply: created 127/128, {database} (13s), 48s elapsed",
        f"apply: created 127/128, {database} (28s), 1m03s elapsed",
        f"apply: created 127/128, {database} (43s), 1m18s elapsed",
        f"apply: created 127/128, {database} (58s), 1m33s elapsed",
        f"apply: created 127/128, {database} (1m13s), 1m48s elapsed",
        "apply: created 128/128 in 1m56s",
    ]


def test_a_planning_that_takes_long_says_so_every_15_s() -> None:
    out, display = plain()
    replay(
        [msg("version", 0, terraform="1.11.4", ui="1.2"), summary(40, "plan", 1), summary(41, "apply", 1)],
        display,
        now=by_at,
    )
    assert out.getvalue().splitlines()[:4] == [
        "apply: started",
        "apply: planning, 15s elapsed",
        "apply: planning, 30s elapsed",
        "apply: created 0/1, 40s elapsed",
    ]


def test_on_a_terminal_one_line_is_rewritten_in_place_within_the_width() -> None:
    out, display = plain(tty=True, width=80)
    replay(dev_like_stream(), display, now=by_at)
    text = out.getvalue()
    head, _, live = text.partition("\n")
    assert head == "apply: started" and live.endswith("\x1b[K\n") and live.count("\n") == 1
    frames = [frame.removesuffix("\x1b[K") for frame in live.rstrip("\n").split("\r")]
    assert frames[0] == "" and all(len(frame) < 80 for frame in frames[1:])
    assert frames[-1] == "apply: created 128/128 in 1m56s"
    # Too long for 80 columns: the address loses its start, the times stay; they go up every second.
    waits = [f for f in frames if f.startswith("apply: created 127/128, waiting on ") and "database (" in f]
    assert "apply: created 127/128, waiting on …db_instance.database (1m19s), 1m54s elapsed" in waits
    assert len(waits) >= 75


def test_a_wide_terminal_shows_the_whole_status() -> None:
    out, display = plain(tty=True, width=200)
    replay(dev_like_stream(), display, now=by_at)
    assert "\rapply: created 127/128, waiting on aws_db_instance.database (40s), 1m15s elapsed\x1b[K" in out.getvalue()


def test_on_a_terminal_a_message_ends_the_rewritten_line_first() -> None:
    out, display = plain(tty=True, width=200)
    display.start(0.0)
    progress = ApplyProgress()
    display.update(progress, 1.0)
    display.message("something else")
    assert out.getvalue() == "apply: started\n\rapply: planning, 1s elapsed\x1b[K\nsomething else\n"


# -- following a real terraform --------------------------------------------------------------


def start_apply(directory: Path) -> RunningTerraform:
    """terraform apply -json in the background, as TerraformWorkspace.start_apply runs it."""
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    subprocess.run(
        ["terraform", "init", "-input=false", "-no-color"], cwd=directory, env=env, check=True, capture_output=True
    )
    command = ["terraform", "apply", "-input=false", "-no-color", "-auto-approve", "-json"]
    log_path = directory / "apply.log"
    log = open(log_path, "w")  # noqa: SIM115 -- closed by RunningTerraform.wait(), as in TerraformWorkspace.start()
    log.write("$ " + " ".join(command) + "\n")
    log.flush()
    proc = subprocess.Popen(command, cwd=directory, env=env, stdout=log, stderr=log, text=True, start_new_session=True)
    return RunningTerraform("apply", proc, log, log_path, 120.0)


needs_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")


@pytest.mark.terraform
@needs_terraform
def test_follow_shows_a_running_apply_and_returns_its_counts(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(OK_CONFIG.replace("sleep 11", "sleep 1"))
    out, display = plain()
    progress = follow(start_apply(tmp_path), display, timeout=120, interval=0.05)
    assert (progress.total, progress.done, progress.errored) == (3, 3, [])
    lines = out.getvalue().splitlines()
    assert lines[0] == f"apply: terraform apply -json, full log {tmp_path / 'apply.log'}"
    assert re.fullmatch(r"apply: created 3/3 in \ds", lines[-1]) and "\r" not in out.getvalue()
    assert json.loads((tmp_path / "apply.log").read_text().splitlines()[-1])["type"] == "outputs"  # the log is whole


@pytest.mark.terraform
@needs_terraform
def test_follow_raises_terraforms_diagnostics_with_the_logs_path(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(FAILED_CONFIG.replace("sleep 11", "sleep 1"))
    out, display = plain()
    with pytest.raises(ApplyFailed) as failed:
        follow(start_apply(tmp_path), display, timeout=120, interval=0.05)
    assert failed.value.returncode == 1 and failed.value.log_path == tmp_path / "apply.log"
    assert str(failed.value).splitlines() == [
        "terraform apply exited 1",
        "Error: local-exec provisioner error",
        '  with terraform_data.broken, on main.tf line 13, in resource "terraform_data" "broken":',
        '  13: provisioner "local-exec" {',
        "  Error running command 'echo no such thing >&2; exit 3': exit status 3. Output: no such thing",
        f"full log: {tmp_path / 'apply.log'}",
    ]
    assert out.getvalue().splitlines()[-1].startswith("apply: FAILED after ")
