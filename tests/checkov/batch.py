"""Runs several checkov scans from one import of checkov: run by checkov's own interpreter, not the suite's.

    <checkov's python> batch.py JOBS_JSON PARALLEL

JOBS_JSON is a list of {"argv", "cwd", "stdout", "stderr"}: checkov's command-line
arguments, the directory to run in and the files its output goes to. Starting
checkov costs about 3 s of CPU, nearly all of it importing; a scan of one of our
stacks under 1 s. So this process imports checkov once and forks one child per
scan, PARALLEL at a time. Each child is a fresh copy of the process as it stood
after the import: it runs what checkov's console script runs (`Checkov(argv).run()`
with SyntaxWarnings silenced, the script's exit code), and no scan sees another's
state. Prints {"codes": [exit code of each job]} when all have ended.

Standalone on purpose: it runs in checkov's virtual environment, which holds
none of the suite's packages.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import warnings


def scan(job: dict) -> int:
    """In the forked child: checkov's console script, with stdout and stderr going to the job's files."""
    os.chdir(job["cwd"])
    for stream, path in ((1, job["stdout"]), (2, job["stderr"])):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(descriptor, stream)
        os.close(descriptor)
    sys.argv = ["checkov", *job["argv"]]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=SyntaxWarning)
            # Checkov's argv default is bound when checkov.main is imported: pass it.
            code = Checkov(job["argv"]).run()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # what the console script would print before dying
        traceback.print_exc()
        code = 70  # neither 0 nor 1: the caller reports checkov itself failing
    sys.stdout.flush()
    sys.stderr.flush()
    return code or 0


def main() -> None:
    with open(sys.argv[1]) as file:
        jobs = json.load(file)
    parallel = max(1, int(sys.argv[2]))
    codes: list[int | None] = [None] * len(jobs)
    running: dict[int, int] = {}  # pid → job index
    pending = list(enumerate(jobs))
    while pending or running:
        while pending and len(running) < parallel:
            index, job = pending.pop(0)
            pid = os.fork()
            if pid == 0:
                os._exit(scan(job))
            running[pid] = index
        pid, status = os.wait()
        codes[running.pop(pid)] = os.waitstatus_to_exitcode(status)
    print(json.dumps({"codes": codes}))


if __name__ == "__main__":
    from checkov.main import Checkov  # type: ignore[import-not-found]  # the import every child shares

    main()
