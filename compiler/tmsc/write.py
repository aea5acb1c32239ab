"""Write rendered stacks into out/ as one transaction: all files change, or none.

Every new file is first written beside its target; only when all are on disk
are they renamed into place (a rename within a directory is atomic) and the
files of removed stacks deleted. A failure before the renames removes the
temporary files and leaves out/ byte for byte as it was. Files tmsc does not
own (.terraform/, lock files, local state) are never touched.

Each temporary file is fsync'ed before any rename, so a crash cannot leave a
renamed but empty file. The writes and fsyncs run on a few threads: one fsync
after another waits for a journal commit each, which on a busy disk made
writing the example's 40 files take 45-135 ms, against 15-30 ms when the
fsyncs run concurrently and share commits (on an idle disk both take ~15 ms).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

GENERATED_SUFFIX = ".tf.json"
TEMP_SUFFIX = ".tmsc-tmp"


def _generated_files(directory: Path) -> set[str]:
    if not directory.is_dir():
        return set()
    return {p.name for p in directory.iterdir() if p.is_file() and p.name.endswith(GENERATED_SUFFIX)}


def write_stacks(out: Path, stacks: Mapping[str, Mapping[str, str]], prune: bool) -> list[Path]:
    """stacks: stack name → file name → text. With prune, stacks under out/ not named are removed.

    Returns the paths that changed (written or removed).
    """
    out = Path(out)
    writes: dict[Path, bytes] = {}
    removals: list[Path] = []
    for stack, files in stacks.items():
        directory = out / stack
        for name, text in files.items():
            target = directory / name
            data = text.encode("utf-8")
            if not (target.is_file() and target.read_bytes() == data):
                writes[target] = data
        removals.extend(directory / stale for stale in sorted(_generated_files(directory) - set(files)))
    if prune and out.is_dir():
        for directory in sorted(p for p in out.iterdir() if p.is_dir() and p.name not in stacks):
            removals.extend(directory / stale for stale in sorted(_generated_files(directory)))

    temps: dict[Path, Path] = {}
    created_dirs: list[Path] = []
    try:
        for target in writes:
            if not target.parent.is_dir():
                missing = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
                target.parent.mkdir(parents=True, exist_ok=True)
                created_dirs.extend(reversed(missing))
        _write_temporaries(writes, temps)
    except BaseException:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        for directory in reversed(created_dirs):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    for target in writes:
        os.replace(temps[target], target)
    for stale in removals:
        stale.unlink()
        with contextlib.suppress(OSError):
            stale.parent.rmdir()  # only if nothing else (e.g. .terraform/) lives there
    return sorted([*writes, *removals])


WRITER_THREADS = 8


def _write_temporaries(writes: Mapping[Path, bytes], temps: dict[Path, Path]) -> None:
    """Write and fsync each target's temporary file; temps gets every temporary file opened.

    After the first failure no further file is started; the error of the
    earliest failed target (in the order of writes) is raised once all threads stop.
    """
    items = list(writes.items())

    def write_one(target: Path, data: bytes) -> None:
        temp = target.with_name(target.name + TEMP_SUFFIX)
        temps[target] = temp
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    if len(items) <= 1:
        for target, data in items:
            write_one(target, data)
        return
    lock = threading.Lock()
    indices = iter(range(len(items)))
    errors: dict[int, BaseException] = {}
    stop: list[bool] = []

    def worker() -> None:
        while True:
            with lock:
                index = None if errors or stop else next(indices, None)
            if index is None:
                return
            try:
                write_one(*items[index])
            except BaseException as exc:
                with lock:
                    errors[index] = exc
                return

    threads = [
        threading.Thread(target=worker, name=f"tmsc-write-{i}", daemon=True)
        for i in range(min(WRITER_THREADS, len(items)))
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:  # e.g. Ctrl-C while waiting: let the writers stop before the caller cleans up
        stop.append(True)
        for thread in threads:
            thread.join()
        raise
    if errors:
        raise errors[min(errors)]


def replace_directory(target: Path, files: dict[str, str]) -> None:
    """Write the files into a new directory beside target, then swap it in: target holds all of them or is as before."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        old = target.with_name(f".{target.name}-old")
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
