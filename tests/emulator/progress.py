"""Progress of a terraform apply, read from its machine-readable UI (``terraform apply -json``).

    running = workspace.start_apply("-json")
    progress = follow(running, ProgressLine(sys.stdout), timeout=workspace.timeout)

Terraform writes one JSON message per line (Terraform's "Machine-readable UI"
reference, UI version 1.x): ``planned_change`` for each change of the plan,
``change_summary`` with the totals (``operation: plan``, then ``apply`` or
``destroy`` at the end), ``apply_start`` / ``apply_progress`` (every 10 s) /
``apply_complete`` / ``apply_errored`` for each resource instance, and
``diagnostic`` for each warning and error. ApplyProgress keeps the counts;
ProgressLine shows them: on a terminal one line rewritten in place, otherwise
(a pipe, a CI log) a few plain lines -- the start, every 10% done, at most 15 s
apart, and the end -- with no carriage return in them. follow() reads the
stream from the log file terraform writes (workspace.py keeps it, so the whole
run stays readable afterwards) while terraform runs.

It lives with the emulator harness because `make demo` is its only user: no
`tmsc` command runs terraform (the compiler writes files; `tmsc dr-drill`
talks to AWS through boto3 and shows its own progress, tmsc/drill.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .workspace import RunningTerraform, TerraformError

# Planned actions that apply as resource operations, and how many each one is
# (a replacement is a delete and a create; both are in change_summary's counts).
COUNTED_ACTIONS = {"create": 1, "update": 1, "delete": 1, "replace": 2}
# The hook actions that complete one of those operations (a data source's "read" is not one).
OPERATION_ACTIONS = frozenset({"create", "update", "delete"})
SUPPORTED_UI_MAJOR = "1"


def clock(seconds: float) -> str:
    """12s, 3m07s, 1h02m: elapsed time in the form terraform prints it."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def shown(path: str | os.PathLike[str]) -> str:
    """A path relative to the working directory when it lies below it, else as given."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def parse(line: str) -> dict[str, Any] | None:
    """One message of the stream, or None for a line that is not one (the log's command line, stderr)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) and "type" in message else None


def timestamp(message: dict[str, Any]) -> float:
    """The message's @timestamp as POSIX seconds (replaying a recorded stream at its own pace)."""
    text = str(message["@timestamp"]).replace("Z", "+00:00")
    return dt.datetime.fromisoformat(text).timestamp()


@dataclass
class InFlight:
    address: str
    action: str
    since: float  # clock time its apply_start was read


@dataclass
class ApplyProgress:
    """What a terraform -json stream has said so far. feed() each message with the time it was read."""

    planned: int = 0  # operations announced by planned_change so far
    total: int | None = None  # operations in the plan, from its change_summary
    done: int = 0
    in_flight: dict[str, InFlight] = field(default_factory=dict)
    errored: list[str] = field(default_factory=list)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None  # the final change_summary's "changes"
    result_message: str | None = None  # "Apply complete! Resources: ..."
    planned_actions: set[str] = field(default_factory=set)
    terraform_version: str | None = None

    def feed(self, message: dict[str, Any], now: float) -> None:
        kind = message.get("type")
        if kind == "version":
            ui = str(message.get("ui", ""))
            if ui.split(".")[0] != SUPPORTED_UI_MAJOR:
                raise ValueError(f"terraform's machine-readable UI version {ui!r} is not supported (1.x is)")
            self.terraform_version = message.get("terraform")
        elif kind == "planned_change":
            action = message["change"]["action"]
            if action in COUNTED_ACTIONS:
                self.planned += COUNTED_ACTIONS[action]
                self.planned_actions.add(action)
        elif kind == "change_summary":
            changes = message["changes"]
            if changes.get("operation") == "plan":
                self.total = int(changes.get("add", 0)) + int(changes.get("change", 0)) + int(changes.get("remove", 0))
            else:
                self.result = changes
                self.result_message = message.get("@message")
        elif kind in ("apply_start", "apply_progress"):
            hook = message["hook"]
            address = hook["resource"]["addr"]
            if address not in self.in_flight:
                # apply_progress of a start not seen: it began elapsed_seconds ago.
                since = now - float(hook.get("elapsed_seconds", 0))
                self.in_flight[address] = InFlight(address, hook.get("action", ""), since)
        elif kind == "apply_complete":
            hook = message["hook"]
            self.in_flight.pop(hook["resource"]["addr"], None)
            if hook.get("action") in OPERATION_ACTIONS:
                self.done += 1
        elif kind == "apply_errored":
            address = message["hook"]["resource"]["addr"]
            self.in_flight.pop(address, None)
            self.errored.append(address)
        elif kind == "diagnostic":
            self.diagnostics.append(message["diagnostic"])

    @property
    def verb(self) -> str:
        return "created" if self.planned_actions <= {"create"} else "applied"

    def waiting_on(self, now: float) -> list[tuple[str, float]]:
        """(address, seconds) of what is in flight, the longest-running first."""
        return sorted(
            ((f.address, now - f.since) for f in self.in_flight.values()), key=lambda item: (-item[1], item[0])
        )

    def errors(self) -> list[dict[str, Any]]:
        return [d for d in self.diagnostics if d.get("severity") == "error"]

    def warnings(self) -> list[dict[str, Any]]:
        return [d for d in self.diagnostics if d.get("severity") == "warning"]

    def status(self, now: float, started: float, width: int | None = None) -> str:
        """created 37/128, waiting on aws_db_instance.database (41s) and 2 more, 1m12s elapsed

        With ``width``: shorter than that, by dropping "and N more", then the start of
        the address (its end names the resource), then what is waited on, before cutting.
        """
        head = "planning" if self.total is None else f"{self.verb} {self.done}/{self.total}"
        tail = f"{clock(now - started)} elapsed"
        waiting = self.waiting_on(now)
        if not waiting:
            return f"{head}, {tail}"
        address, seconds = waiting[0]
        more = f" and {len(waiting) - 1} more" if len(waiting) > 1 else ""

        def text(address: str, more: str) -> str:
            return f"{head}, waiting on {address} ({clock(seconds)}){more}, {tail}"

        if width is None or len(text(address, more)) < width:
            return text(address, more)
        if len(text(address, "")) < width:
            return text(address, "")
        room = width - 1 - len(text("", ""))
        if room >= 8:
            return text("…" + address[-(room - 1) :], "")
        short = f"{head}, {tail}"  # too narrow to say what is waited on
        return short if len(short) < width else short[: width - 2] + "…"


def format_diagnostic(diagnostic: dict[str, Any]) -> list[str]:
    """A diagnostic as terraform's own text says it: severity and summary, where, then the detail."""
    severity = str(diagnostic.get("severity", "error")).capitalize()
    lines = [f"{severity}: {diagnostic.get('summary', '')}".rstrip()]
    where = []
    if diagnostic.get("address"):
        where.append(f"with {diagnostic['address']}")
    source = diagnostic.get("range") or {}
    if source.get("filename"):
        at = f"on {source['filename']}"
        if (source.get("start") or {}).get("line"):
            at += f" line {source['start']['line']}"
        context = (diagnostic.get("snippet") or {}).get("context")
        if context:
            at += f", in {context}"
        where.append(at)
    if where:
        lines.append("  " + ", ".join(where) + ":")
    code = (diagnostic.get("snippet") or {}).get("code")
    if code:
        lines.append(f"  {(diagnostic.get('snippet') or {}).get('start_line', '')}: {code.strip()}")
    detail = str(diagnostic.get("detail") or "").strip()
    lines += [f"  {line}".rstrip() for line in detail.splitlines()]
    return lines


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def _width(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 100
    return columns if columns > 0 else 100  # a pseudo-terminal nobody sized says 0


class ProgressLine:
    """Shows an ApplyProgress on ``stream``.

    On a terminal: one line, rewritten in place (carriage return, erase to the
    end), cut to the terminal's width so it never wraps, and ended when the
    apply ends. Anywhere else: plain lines only -- when the plan's total is
    known, at each further ``step`` percent done, after ``quiet`` seconds
    without a line, and at the end.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        label: str = "apply",
        tty: bool | None = None,
        width: int | None = None,
        step: int = 10,
        quiet: float = 15.0,
        redraw: float = 0.1,
    ):
        self.stream = stream
        self.label = label
        self.tty = _is_tty(stream) if tty is None else tty
        self.width = width
        self.step = step
        self.quiet = quiet
        self.redraw = redraw
        self.started: float | None = None
        self._last_line_at = 0.0
        self._last_steps = -1
        self._drawn = ""
        self._drawn_at = 0.0
        self._open = False  # a rewritten line is on screen, not yet ended

    def start(self, now: float, note: str = "") -> None:
        self.started = now
        self._last_line_at = now
        self.stream.write(f"{self.label}: {note or 'started'}\n")
        self.stream.flush()

    def update(self, progress: ApplyProgress, now: float) -> None:
        started = now if self.started is None else self.started
        if self.tty:
            width = (self.width or _width(self.stream)) - len(self.label) - 2
            text = f"{self.label}: {progress.status(now, started, width)}"
            if text != self._drawn and now - self._drawn_at >= self.redraw:
                self._draw(text, now)
            return
        text = f"{self.label}: {progress.status(now, started)}"
        if progress.total is None:
            steps = -1  # planning: no share done yet
        elif progress.done >= progress.total:
            steps = self._last_steps  # all done: the end line says so
        else:
            steps = progress.done * 100 // progress.total // self.step
        if steps > self._last_steps or now - self._last_line_at >= self.quiet:
            self._last_steps = max(steps, self._last_steps)
            self._line(text, now)

    def finish(self, progress: ApplyProgress, now: float, ok: bool) -> None:
        started = now if self.started is None else self.started
        took = clock(now - started)
        of = "?" if progress.total is None else str(progress.total)
        if ok:
            text = f"{self.label}: {progress.verb} {progress.done}/{of} in {took}"
            warnings = len(progress.warnings())
            if warnings:
                text += f" ({warnings} warning{'s' if warnings != 1 else ''}: see the log)"
        else:
            text = f"{self.label}: FAILED after {took}: {progress.verb} {progress.done}/{of}"
            if progress.errored:
                text += f"; errored: {', '.join(progress.errored)}"
        if self.tty:
            self._draw(text, now)
            self._end()
        else:
            self._line(text, now)

    def message(self, text: str) -> None:
        """A line of its own (ends a rewritten line first)."""
        self._end()
        self.stream.write(text + "\n")
        self.stream.flush()

    # -- output ------------------------------------------------------------
    def _draw(self, text: str, now: float) -> None:
        width = self.width or _width(self.stream)
        text_shown = text if len(text) < width else text[: width - 2] + "…"
        self.stream.write("\r" + text_shown + "\x1b[K")
        self.stream.flush()
        self._drawn, self._drawn_at, self._open = text, now, True

    def _end(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    def _line(self, text: str, now: float) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_line_at = now


def replay(
    messages: Iterable[dict[str, Any]],
    display: ProgressLine,
    now: Callable[[dict[str, Any]], float] = timestamp,
    tick: float = 1.0,
) -> ApplyProgress:
    """Feed a recorded stream to a display at the pace of its timestamps (tests), updating it every
    ``tick`` seconds in between as follow() does while terraform is silent."""
    progress = ApplyProgress()
    at = None
    for message in messages:
        at, last = now(message), at
        if last is None:
            display.start(at)
        else:
            idle = last + tick
            while idle < at:
                display.update(progress, idle)
                idle += tick
        progress.feed(message, at)
        display.update(progress, at)
    if at is not None:
        display.finish(progress, at, ok=progress.result is not None and not progress.errors())
    return progress


class ApplyFailed(TerraformError):
    """terraform apply -json failed: the message gives terraform's own diagnostics, then the log's path."""

    def __init__(self, returncode: int | None, log_path: Path, progress: ApplyProgress, other: list[str]):
        lines: list[str] = []
        for diagnostic in progress.errors():
            lines += format_diagnostic(diagnostic)
        if not lines:  # a crash or a timeout: what terraform printed outside the stream
            lines = other[-30:]
        super().__init__("apply", returncode, log_path, "\n".join(lines))
        status = "timed out" if returncode is None else f"exited {returncode}"
        self.args = (f"terraform apply {status}\n" + "\n".join(lines) + f"\nfull log: {shown(log_path)}",)


def follow(
    running: RunningTerraform,
    display: ProgressLine,
    *,
    timeout: float,
    clock_: Callable[[], float] = time.monotonic,
    interval: float = 0.2,
) -> ApplyProgress:
    """Show the progress of a ``terraform apply -json`` started in the background until it ends.

    Reads the stream from the command's log as terraform writes it. Returns the
    progress when terraform exits 0; raises ApplyFailed (with terraform's
    diagnostics) when it fails, and after stopping it when it runs past
    ``timeout`` seconds.
    """
    progress = ApplyProgress()
    other: list[str] = []
    start = clock_()
    display.start(start, f"terraform apply -json, full log {shown(running.log_path)}")
    pending = ""
    with open(running.log_path, errors="replace") as log:
        log.readline()  # the "$ terraform apply ..." line workspace.py writes first
        try:
            while True:
                chunk = log.read()
                exited = running.poll() is not None
                if chunk:
                    pending += chunk
                    *complete, pending = pending.split("\n")
                    for line in complete:
                        message = parse(line)
                        if message is None:
                            if line.strip():
                                other.append(line)
                            continue
                        progress.feed(message, clock_())
                        display.update(progress, clock_())
                    continue
                if exited:
                    break
                display.update(progress, clock_())
                if clock_() - start > timeout:
                    running.stop()
                    display.finish(progress, clock_(), ok=False)
                    raise ApplyFailed(None, running.log_path, progress, [*other, f"(stopped after {timeout:.0f} s)"])
                time.sleep(interval)
        except BaseException:
            running.stop()
            raise
    if pending.strip():
        message = parse(pending)
        if message is not None:
            progress.feed(message, clock_())
        else:
            other.append(pending)
    code = running.wait()
    ok = code == 0
    display.finish(progress, clock_(), ok=ok)
    if not ok:
        raise ApplyFailed(code, running.log_path, progress, other)
    return progress
