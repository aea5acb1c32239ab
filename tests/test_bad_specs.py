"""Every spec in tests/bad_specs/ is refused cleanly: exit 2, file:line, the fix, out/ untouched.

Each corpus file starts with comment lines:

    # expect-line: N          the line a diagnostic must name as <file>:N: (or `none`: <file>: error:)
    # expect: <text>          substrings that must all appear in stderr (one or more)
    # xfail: <reason>         optional: a known bug in the message (strict xfail, flips when fixed)
    # xfail-exit: <reason>    optional: a known bug in the exit code (strict xfail, flips when fixed)

Every refusal must also carry a `fix:` line. A case marked xfail-exit is a
spec tmsc wrongly accepts (a known bug, reported); it compiles, so its out/
check is expected to fail too.

Files numbered 01-49, 70-89, 90-96 and 101-199 are spec/platform.yaml
with one small edit ("derived"); 50-69 are malformed documents written from scratch; from 200 on,
valid YAML that needs more than one edit of spec/platform.yaml to be refused (several accounts, say),
checked like the malformed ones. Cases too
big to commit are generated here, numbered 97-99 (a >1 MB file, a document of
60,000 values, a 900 kB key).

`tmsc compile` runs against a copy of an out/ directory compiled from
spec/platform.yaml, and the copy must be byte- and mtime-identical afterwards.
Every file is compiled and validated in-process through tmsc.cli.main, the
console script's own entry point. The malformed and generated files are also
compiled and validated as real subprocesses of the console script, as are a
few derived ones (compile only); those subprocesses all start together in one
session fixture, which keeps the suite fast. `make check` runs a sample of the
malformed ones as subprocesses (CHECK_LOOP_SUBPROCESSES). Where a case runs as a
subprocess, compile's results come from it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import pytest

from tmsc import cli

from .conftest import CHECK_LOOP

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "bad_specs"
GOOD_SPEC = ROOT / "spec" / "platform.yaml"
MIN_CORPUS = 60
DERIVED_NUMBERS = (
    range(1, 50),
    range(70, 97),
    range(101, 200),
)  # spec/platform.yaml with one edit; the rest are malformed
# Derived specs that also run as subprocesses: a model error, a derive refusal, a YAML-level error.
SUBPROCESS_DERIVED = {"08_rpo_below_log_shipping", "14_duplicate_key", "15_password_field"}
# `make check` runs the console script on these malformed cases only (every case still runs in process, and
# `make test` runs all of them as subprocesses too): a refusal of the bytes, of the YAML, of what composed,
# of the model, and the file over the size limit. The ~40 runs left out cost about 8 s of CPU (measured).
CHECK_LOOP_SUBPROCESSES = {
    "55_non_utf8",
    "50_not_yaml",
    "53_alias_bomb",
    "200_state_bucket_with_several_accounts",
    "99_huge_file",
}
# A guard against a hang, not a speed target (bench/ measures speed): the largest cases cost seconds
# of CPU, and under `make test` they share two cores with the emulator workers.
TIMEOUT = 600


# --------------------------------------------------------------------------- corpus


@attrs.frozen
class Case:
    name: str
    path: Path
    line: int | None
    expects: tuple[str, ...]
    xfail: str | None = None
    xfail_exit: str | None = None

    @property
    def malformed(self) -> bool:
        return malformed(self.name)

    @property
    def in_subprocess(self) -> bool:
        return in_subprocess(self.name)


def malformed(name: str) -> bool:
    number = re.match(r"(\d+)_", name)
    return number is None or not any(int(number.group(1)) in numbers for numbers in DERIVED_NUMBERS)


def in_subprocess(name: str) -> bool:
    """Whether the console script runs the case (compile; validate too when malformed)."""
    if name in SUBPROCESS_DERIVED:
        return True
    return malformed(name) and (not CHECK_LOOP or name in CHECK_LOOP_SUBPROCESSES)


def parse_header(path: Path) -> Case:
    line: int | str | None = "missing"
    expects: list[str] = []
    xfail = xfail_exit = None
    for raw in path.read_bytes().split(b"\n"):
        if not raw.startswith(b"#"):
            break
        text = raw.decode("ascii").rstrip("\r")
        if m := re.fullmatch(r"# expect-line: (\d+|none)", text):
            line = None if m.group(1) == "none" else int(m.group(1))
        elif m := re.fullmatch(r"# expect: (.+)", text):
            expects.append(m.group(1))
        elif m := re.fullmatch(r"# xfail: (.+)", text):
            xfail = m.group(1)
        elif m := re.fullmatch(r"# xfail-exit: (.+)", text):
            xfail_exit = m.group(1)
    if line == "missing" or not expects:
        raise ValueError(f"{path.name}: header needs '# expect-line: N|none' and at least one '# expect: ...'")
    assert not isinstance(line, str)
    return Case(path.stem, path, line, tuple(expects), xfail, xfail_exit)


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.yaml"))


CASES = [parse_header(p) for p in corpus_files()]
HUGE = "99_huge_file"  # generated at run time (> 1 MB), never committed
WIDE = "98_wide_document"
LONG_KEY = "97_long_key"
GENERATED = (HUGE, WIDE, LONG_KEY)


def generated_cases(directory: Path) -> list[Case]:
    """Cases too big to commit, written at run time."""
    huge = directory / f"{HUGE}.yaml"  # over load.MAX_SPEC_BYTES: the good spec padded with comment lines
    huge.write_bytes(GOOD_SPEC.read_bytes() + ("# " + "x" * 97 + "\n").encode() * 11_000)  # 1.1 MB
    wide = directory / f"{WIDE}.yaml"  # 700 kB, under the size limit, but 60,000 values: over load.MAX_NODES
    wide.write_text("platform: tms\nx:\n" + "".join(f"  k{i}: 1\n" for i in range(60_000)))
    long_key = directory / f"{LONG_KEY}.yaml"  # a 900 kB key: the message must not repeat it
    long_key.write_text("platform: tms\n? " + "b" * 900_000 + "\n: 1\n")
    return [
        Case(HUGE, huge, None, ("bytes; a spec may be at most 1000000", "split generated content out")),
        Case(WIDE, wide, 50_000, ("x.k49997", "the document holds more than 50000 values")),
        Case(LONG_KEY, long_key, 2, ("bbbbbbbbbb...(900000 characters)", "is not a known key here", "allowed keys:")),
    ]


def params(*, message: bool, exit_code: bool, only_subprocess: bool = False) -> list:
    """Corpus cases (plus the generated ones) as pytest params, with the strict xfails that apply.

    exit_code also covers the out/ check: a spec wrongly accepted is compiled, and writes.
    """
    out = []
    for case in CASES:
        if only_subprocess and not (case.malformed and case.in_subprocess):
            continue
        reasons = [r for r, use in ((case.xfail, message), (case.xfail_exit, exit_code)) if r and use]
        marks = [pytest.mark.xfail(strict=True, reason="; ".join(reasons))] if reasons else []
        out.append(pytest.param(case.name, id=case.name, marks=marks))
    out.extend(pytest.param(name, id=name) for name in GENERATED if in_subprocess(name) or not only_subprocess)
    return out


# --------------------------------------------------------------------------- running


@attrs.frozen
class Run:
    code: int
    stdout: str
    stderr: str
    out_before: dict[str, tuple[bytes, int]] | None = None
    out_after: dict[str, tuple[bytes, int]] | None = None


def tmsc_command() -> list[str]:
    script = Path(sys.executable).with_name("tmsc")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tmsc.cli"]


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file and directory under directory: relative path → (bytes, mtime_ns)."""
    state: dict[str, tuple[bytes, int]] = {}
    for path in sorted(directory.rglob("*")):
        data = path.read_bytes() if path.is_file() else b"<dir>"
        state[str(path.relative_to(directory))] = (data, path.lstat().st_mtime_ns)
    return state


def run_subprocess(args: list[str]) -> Run:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.run(
        [*tmsc_command(), *args], cwd=ROOT, env=env, capture_output=True, text=True, errors="replace", timeout=TIMEOUT
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def run_in_process(args: list[str]) -> Run:
    """tmsc.cli.main exactly as the console script calls it; its SystemExit code (0 if it returns)."""
    saved = sys.argv
    sys.argv = ["tmsc", *args]
    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    return Run(code, stdout.getvalue(), stderr.getvalue())


class Runner:
    """Runs each (command, case) once per session; subprocess runs are started together up front."""

    def __init__(self, work: Path, good_out: Path, cases: dict[str, Case]):
        self.work = work
        self.good_out = good_out
        self.cases = cases
        self.results: dict[tuple[str, str], Run] = {}

    def compile(self, name: str, *, subprocess_: bool) -> Run:
        key = ("compile", name)
        if key not in self.results:
            case = self.cases[name]
            out = self.work / name / "out"
            shutil.copytree(self.good_out, out)  # compared against the copy itself, not the original
            before = snapshot(out)
            args = ["compile", str(case.path), "--out", str(out)]
            run = run_subprocess(args) if subprocess_ else run_in_process(args)
            self.results[key] = attrs.evolve(run, out_before=before, out_after=snapshot(out))
        return self.results[key]

    def validate(self, name: str, *, subprocess_: bool) -> Run:
        key = ("validate-subprocess" if subprocess_ else "validate", name)
        if key not in self.results:
            args = ["validate", str(self.cases[name].path)]
            self.results[key] = run_subprocess(args) if subprocess_ else run_in_process(args)
        return self.results[key]

    def prefetch_subprocesses(self) -> None:
        jobs = [(self.compile, c.name) for c in self.cases.values() if c.in_subprocess]
        jobs += [(self.validate, c.name) for c in self.cases.values() if c.malformed]
        with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) * 2) as pool:
            for future in [pool.submit(fn, name, subprocess_=True) for fn, name in jobs]:
                future.result()


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    work = tmp_path_factory.mktemp("bad_specs")
    good_out = work / "good" / "out"
    run = run_subprocess(["compile", str(GOOD_SPEC), "--out", str(good_out)])
    assert run.code == 0, run.stderr
    assert list(good_out.rglob("*.tf.json")), "compiling spec/platform.yaml wrote nothing"
    # A file tmsc does not own must survive a refused compile, too.
    (good_out / "dev" / ".terraform.lock.hcl").write_text("# not tmsc's\n")
    result = Runner(work, good_out, {c.name: c for c in CASES} | {c.name: c for c in generated_cases(work)})
    result.prefetch_subprocesses()
    return result


def compile_run(runner: Runner, name: str) -> Run:
    return runner.compile(name, subprocess_=runner.cases[name].in_subprocess)


# --------------------------------------------------------------------------- assertions


def assert_refused_cleanly(case: Case, run: Run) -> None:
    err = run.stderr
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    if case.line is None:
        assert f"{case.path}: error:" in err, f"expected a line-less diagnostic for {case.path}:\n{err}"
    else:
        assert f"{case.path}:{case.line}:" in err, f"expected '{case.path}:{case.line}:' in stderr:\n{err}"
    for expected in case.expects:
        assert expected in err, f"expected {expected!r} in stderr:\n{err}"
    assert "\n    fix: " in err, f"no fix: line in stderr:\n{err}"
    assert len(err) < 20_000, f"{len(err)} characters of diagnostics"
    assert "nothing was written" in err, err
    assert run.stdout.strip() == "", f"a refused spec printed to stdout:\n{run.stdout}"


def assert_exit_2(run: Run) -> None:
    assert run.code == 2, f"exit code {run.code}, expected 2; stderr:\n{run.stderr}"


# --------------------------------------------------------------------------- tests


def test_corpus_is_large_enough() -> None:
    files = corpus_files()
    assert len(files) >= MIN_CORPUS, f"only {len(files)} bad specs in {CORPUS}; keep at least {MIN_CORPUS}"


def test_corpus_files_are_well_formed() -> None:
    files = corpus_files()
    for path in files:
        assert re.fullmatch(r"\d{2,3}_[a-z0-9_]+\.yaml", path.name), path.name
        parse_header(path)  # raises on a missing expect-line or expect
        assert path.stat().st_size < 100_000, f"{path.name}: commit no big files; generate them in the test"
    numbers = [p.name.split("_", 1)[0] for p in files]
    assert len(set(numbers)) == len(numbers), "corpus numbers must be unique"
    names = {path.stem for path in files} | set(GENERATED)
    assert names >= (SUBPROCESS_DERIVED | CHECK_LOOP_SUBPROCESSES), "a case run as a subprocess is not in the corpus"
    assert all(malformed(name) for name in CHECK_LOOP_SUBPROCESSES)


def test_derived_specs_differ_little_from_platform_yaml() -> None:
    """Each derived spec is spec/platform.yaml with one small edit, not a drifted copy."""
    good_lines = GOOD_SPEC.read_text().splitlines()
    good_body = good_lines[next(i for i, line in enumerate(good_lines) if not line.startswith("#")) :]
    for case in CASES:
        if case.malformed:
            continue
        body = [line for line in case.path.read_text().splitlines() if not line.startswith("# ")]
        foreign = [line for line in body if line not in set(good_lines)]
        assert body != good_body, f"{case.name} is spec/platform.yaml unchanged"
        assert len(foreign) <= 2, f"{case.name}: {len(foreign)} lines not in spec/platform.yaml: {foreign}"


@pytest.mark.parametrize("name", params(message=True, exit_code=False))
def test_compile_refuses_cleanly(name: str, runner: Runner) -> None:
    assert_refused_cleanly(runner.cases[name], compile_run(runner, name))


@pytest.mark.parametrize("name", params(message=False, exit_code=True))
def test_compile_leaves_out_untouched(name: str, runner: Runner) -> None:
    run = compile_run(runner, name)
    assert run.out_before is not None and run.out_after is not None
    assert sorted(run.out_after) == sorted(run.out_before), "files were added to or removed from out/"
    changed = [path for path in run.out_before if run.out_after[path] != run.out_before[path]]
    assert not changed, f"a refused compile changed {changed}"


@pytest.mark.parametrize("name", params(message=False, exit_code=True))
def test_compile_exit_code_is_2(name: str, runner: Runner) -> None:
    assert_exit_2(compile_run(runner, name))


@pytest.mark.parametrize("name", params(message=True, exit_code=True))
def test_validate_refuses(name: str, runner: Runner) -> None:
    run = runner.validate(name, subprocess_=False)
    assert_refused_cleanly(runner.cases[name], run)
    assert_exit_2(run)


@pytest.mark.parametrize("name", params(message=True, exit_code=True, only_subprocess=True))
def test_validate_subprocess_refuses(name: str, runner: Runner) -> None:
    run = runner.validate(name, subprocess_=True)
    assert_refused_cleanly(runner.cases[name], run)
    assert_exit_2(run)


def test_out_snapshot_detects_a_write(runner: Runner) -> None:
    """The out/ check is not vacuous: a successful compile over a stale file changes the snapshot."""
    out = runner.work / "self-check" / "out"
    shutil.copytree(runner.good_out, out)
    stale = next(out.rglob("*.tf.json"))
    good_bytes = stale.read_bytes()
    stale.write_text("{}\n")
    before = snapshot(out)
    run = run_in_process(["compile", str(GOOD_SPEC), "--out", str(out)])
    assert run.code == 0, run.stderr
    after = snapshot(out)
    assert sorted(after) == sorted(before)
    changed = {p for p in before if after[p] != before[p]}
    assert str(stale.relative_to(out)) in changed and changed <= {
        str(stale.relative_to(out)),
        str(stale.parent.relative_to(out)),
    }
    assert stale.read_bytes() == good_bytes
