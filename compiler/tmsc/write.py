"""Write rendered stacks into out/ as one transaction: all files change, or none.

Every new file is first written beside its target; only when all are on disk
are they renamed into place (a rename within a directory is atomic) and the
files of removed stacks deleted. A failure before the renames removes the
temporary files and leaves out/ byte for byte as it was. Files tmsc does not
own (.terraform/, lock files, local state) are never touched.
"""

from __future__ import annotations

import os
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
        for target, data in writes.items():
            if not target.parent.is_dir():
                missing = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
                target.parent.mkdir(parents=True, exist_ok=True)
                created_dirs.extend(reversed(missing))
            temp = target.with_name(target.name + TEMP_SUFFIX)
            temps[target] = temp
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        for directory in reversed(created_dirs):
            try:
                directory.rmdir()
            except OSError:
                pass
        raise
    for target, temp in temps.items():
        os.replace(temp, target)
    for stale in removals:
        stale.unlink()
        try:
            stale.parent.rmdir()  # only if nothing else (e.g. .terraform/) lives there
        except OSError:
            pass
    return sorted([*writes, *removals])
