"""`make demo` (tests/demo.py): the emulator's own messages go to its log file, not the screen."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.demo import logs_to
from tests.emulator import server
from tests.emulator.server import RetryReplay


def replayed_write(replay: RetryReplay) -> None:
    """A write answered 200, then its SDK retry (attempt 2 of the same invocation): replayed."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [b"<ok/>"]

    wrapped = replay.wrap(app)
    for attempt in (1, 2):
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/",
            "HTTP_AMZ_SDK_INVOCATION_ID": "invocation-1",
            "HTTP_AMZ_SDK_REQUEST": f"attempt={attempt}",
            "HTTP_X_AMZ_TARGET": "CreateUserGroup",
            "wsgi.input": io.BytesIO(b""),
        }
        assert wrapped(environ, lambda status, headers, exc_info=None: None) == [b"<ok/>"]


def test_a_replayed_retry_is_written_to_the_emulator_log_and_not_to_the_screen(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "REPLAYED", [])  # not a replay of the test session's emulators: kept off its summary
    log = tmp_path / "emulator.log"
    replay = RetryReplay()
    with logs_to(log):
        replayed_write(replay)
    assert replay.replayed == ["POST / CreateUserGroup"]
    assert capfd.readouterr() == ("", "")
    (line,) = log.read_text().splitlines()
    assert "WARNING tmsc.emulator: replayed the answer to a retried write (POST / CreateUserGroup)" in line


def test_the_log_routing_ends_with_the_demo(tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), logging.getLogger("tmsc.emulator").level
    with logs_to(tmp_path / "emulator.log"):
        assert len(root.handlers) == len(handlers) + 1
    assert root.handlers == handlers and logging.getLogger("tmsc.emulator").level == level
