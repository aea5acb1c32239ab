"""What the pre-commit hooks need beyond compiling: whether out/ is what git has staged.

pre-commit fails a hook that changes tracked files, but it cannot see a file the
index has never held: a repository whose out/ was never added passes a hook that
only recompiles. `unstaged` names every file under out/ that the index lacks or
holds differently, so the hook fails until out/ is staged as compiled.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def unstaged(directory: Path) -> list[str] | None:
    """Paths under directory (relative to the repository) whose working copy the git index lacks or holds
    differently; None when directory is not inside a git work tree."""
    directory = Path(directory)
    probe = directory if directory.is_dir() else directory.parent
    try:
        inside = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"], cwd=probe, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:  # no git on PATH: nothing to compare with
        return None
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return None
    status = subprocess.run(
        ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "."],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
    )
    found = []
    for entry in status.stdout.split("\0"):
        if len(entry) < 4:
            continue
        index, worktree, path = entry[0], entry[1], entry[3:]
        # "??": untracked; a second column other than blank: the working copy differs from the index.
        # A staged change ("M ", "A ") is what the commit will hold, so it is in sync.
        if (index, worktree) == ("?", "?") or worktree != " ":
            found.append(path)
    return found
