"""Writing out/ is all or nothing, and never touches files tmsc does not own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tmsc.write import write_stacks


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_writes_then_prunes_removed_stacks_and_files_but_keeps_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_stacks(out, {"dev": {"a.tf.json": "1\n", "b.tf.json": "2\n"}, "old": {"a.tf.json": "x\n"}}, prune=True)
    (out / "dev" / ".terraform.lock.hcl").write_text("lock")
    changed = write_stacks(out, {"dev": {"a.tf.json": "1\n"}}, prune=True)
    assert snapshot(out) == {"dev/.terraform.lock.hcl": b"lock", "dev/a.tf.json": b"1\n"}
    assert {p.name for p in changed} == {"b.tf.json", "a.tf.json"}
    assert not (out / "old").exists()


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_stacks(out, {"dev": {"a.tf.json": "1\n"}}, prune=True)
    os.utime(out / "dev" / "a.tf.json", ns=(1, 1))
    assert write_stacks(out, {"dev": {"a.tf.json": "1\n"}}, prune=True) == []
    assert (out / "dev" / "a.tf.json").stat().st_mtime_ns == 1


def test_a_failure_while_writing_leaves_out_exactly_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_stacks(out, {"dev": {"a.tf.json": "old\n"}, "prod": {"a.tf.json": "old\n"}}, prune=True)
    before = snapshot(out)
    calls = {"n": 0}
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr("tmsc.write.os.fsync", failing_fsync)  # the os module write_stacks calls
    with pytest.raises(OSError):
        write_stacks(
            out,
            {"dev": {"a.tf.json": "new\n"}, "prod": {"a.tf.json": "new\n"}, "qa": {"a.tf.json": "new\n"}},
            prune=True,
        )
    assert snapshot(out) == before
    assert not (out / "qa").exists()
