#!/usr/bin/env python3
"""How fast is `tmsc compile`, next to the floor and to the tools users would otherwise pick?

    python bench/compile_bench.py [--quick] [--with-cdktf] [--runs N] [--no-hypothesis]

Measures, in one run on this machine, whole-process wall time (median of N runs
after one warm-up, with min-max), CPU time (user+sys) and peak RSS of:

  - `tmsc compile spec/platform.yaml --out <fresh dir>` (every environment and
    bootstrap), counting the resources it emits;
  - the import floor: `python -c 'import pydantic, attrs, yaml, typer'`, the
    floor of what compile imports (`from pydantic import BaseModel, ...; import
    attrs, orjson, tmsc.yamlfast`), compile's own imports with the model built (as
    tmsc.cli prepares them), and `python -c pass`;
  - `tmsc compile --env dev` (one environment; the shared bootstrap stack is
    always written too) and `tmsc validate` (the pre-commit check);
  - equal work: troposphere and python-terrascript programs that build the
    example's own resources (bench/equivalents/generate.py writes them from a
    fresh `tmsc compile`, with each library's classes and references);
  - the same 55-resource AWS stack (bench/equivalents/) written with troposphere
    (CloudFormation) and with python-terrascript, each installed by this script
    into its own venv under bench/.venvs/;
  - with --with-cdktf, CDK for Terraform (Python) synthesizing that stack, both
    through `cdktf synth` (npm cdktf-cli) and by running the app directly;
  - scaling: specs generated from the example with 1, 3, 10, 50 environments
    and 1-4x the workloads (each adds an IRSA role, its policy and an output),
    with the time per emitted resource;
  - the in-process Hypothesis throughput (bench/hypothesis_rate.py);
  - where valgrind is installed, the instructions each of the main commands
    executes (callgrind: the same on a loaded machine as on an idle one).

The runs of the different commands are interleaved (one of each in a shuffled
order, then the next round), so that load from other users of the machine
falls on all of them alike. Peak RSS is that of the largest process (/usr/bin/time -v, or
getrusage in a fresh wrapper process); for cdktf, whose CLI runs node, python
and the jsii node runtime at once, the sampled sum over the process tree is
shown too.

Child processes get the environment of this script without
PYTHONDONTWRITEBYTECODE and with PYTHONPYCACHEPREFIX=bench/.pycache, so that
every tool runs with compiled bytecode, as on a user's machine (the warm-up
writes it).

Prints the tables and writes them to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENVS = BENCH / ".venvs"
EQUIVALENTS = BENCH / "equivalents"
EXAMPLE = REPO / "spec" / "platform.yaml"
RESULTS = BENCH / "RESULTS.md"
TIME = Path("/usr/bin/time")

TROPOSPHERE = "troposphere==4.11.1"
TERRASCRIPT = "terrascript==0.9.0"  # python-terrascript's PyPI name; 0.9.0 is its last release
CDKTF = ("cdktf==0.21.0", "cdktf-cdktf-provider-aws==21.22.1")
CDKTF_CLI = "cdktf-cli@0.21.0"
VALGRIND = shutil.which("valgrind")

# What tmsc.model imports from pydantic: the machinery every model build needs.
PYDANTIC_ONLY = "python -c 'from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator'"

# What `tmsc compile` imports before it compiles, prepared as the command prepares it (tmsc.cli.main).
COMPILE_IMPORTS = (
    "import gc; gc.disable(); import tmsc.cli as cli; cli._without_pydantic_plugins(); "
    "import tmsc.pipeline, tmsc.compile, tmsc.render, tmsc.write; gc.freeze()"
)


# --------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_kb: int
    tree_rss_kb: int | None = None


@dataclass
class Case:
    name: str
    command: Callable[[Path], list[str]]  # scratch dir → argv
    cwd: Path = REPO
    env: dict[str, str] | None = None
    count: Callable[[Path, str], int | None] | None = None  # (scratch dir, stdout) → resources
    sample_tree: bool = False
    relative_to: Case | None = None  # the tmsc runs this case's ratio is taken against (default: the main ones)
    samples: list[Sample] = field(default_factory=list)
    resources: int | None = None
    error: str | None = None

    def median(self, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in self.samples)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(BENCH / ".pycache")
    env.update(extra or {})
    return env


def tree_rss_kb(root: int) -> int:
    """Sum of VmRSS over root and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                ppid = vm = 0
                for line in handle:
                    if line.startswith("PPid:"):
                        ppid = int(line.split()[1])
                    elif line.startswith("VmRSS:"):
                        vm = int(line.split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = vm
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_once(case: Case, scratch: Path) -> tuple[Sample, str]:
    argv = case.command(scratch)
    stats_file = scratch / "rusage.txt"
    if TIME.exists():
        wrapped = [str(TIME), "-v", "-o", str(stats_file), *argv]
    else:  # a fresh wrapper whose only child is the command: its RUSAGE_CHILDREN is that child's
        wrapper = (
            "import json, resource, subprocess, sys\n"
            "code = subprocess.call(sys.argv[2:])\n"
            "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "open(sys.argv[1], 'w').write(json.dumps([code, u.ru_maxrss, u.ru_utime + u.ru_stime]))\n"
            "sys.exit(code)\n"
        )
        wrapped = [sys.executable, "-c", wrapper, str(stats_file), *argv]
    peak_tree = 0
    start = time.perf_counter()
    proc = subprocess.Popen(
        wrapped, cwd=case.cwd, env=case.env or child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sampler = None
    if case.sample_tree:
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not done.wait(0.1):
                peak_tree = max(peak_tree, tree_rss_kb(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    if sampler is not None:
        done.set()
        sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{stderr[-3000:]}")
    text = stats_file.read_text()
    if TIME.exists():

        def stat(pattern: str) -> str:
            match = re.search(pattern, text)
            if match is None:
                raise RuntimeError(f"{TIME} wrote no {pattern!r}:\n{text[-3000:]}")
            return match.group(1)

        rss = int(stat(r"Maximum resident set size \(kbytes\): (\d+)"))
        cpu = float(stat(r"User time \(seconds\): ([\d.]+)")) + float(stat(r"System time \(seconds\): ([\d.]+)"))
    else:
        _, rss, cpu = json.loads(text)
    return Sample(wall, cpu, rss, peak_tree or None), stdout


def measure(cases: list[Case], runs: int, work: Path, label: str) -> None:
    """One warm-up of each case, then `runs` rounds of one run of each (interleaved, in a shuffled order)."""
    live = list(cases)
    order = random.Random(label)
    for round_ in range(runs + 1):
        this_round = list(live)
        if round_:
            order.shuffle(this_round)
        for case in this_round:
            scratch = Path(tempfile.mkdtemp(dir=work))
            try:
                sample, stdout = run_once(case, scratch)
                if round_ == 0:
                    if case.count is not None:
                        case.resources = case.count(scratch, stdout)
                else:
                    case.samples.append(sample)
            except Exception as exc:  # report and go on with the other cases
                case.error = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                print(f"  ! {case.name}: {exc}", file=sys.stderr)
                live.remove(case)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        print(f"  {label}: {'warm-up' if round_ == 0 else f'round {round_}/{runs}'} done", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- counting what was emitted


def count_tf_json(directory: Path) -> int:
    total = 0
    for path in directory.rglob("*.tf.json"):
        total += sum(len(blocks) for blocks in json.loads(path.read_text()).get("resource", {}).values())
    return total


SUMMARIES: dict[str, dict] = {}  # what the generated equivalents print beside their count


def count_printed(_: Path, stdout: str) -> int | None:
    found = re.search(r"resources=(\d+)", stdout)
    summary = re.search(r"resources=\d+ (\{.*\})\s*$", stdout)
    if summary:
        SUMMARIES[stdout.split()[0]] = json.loads(summary.group(1))
    return int(found.group(1)) if found else None


# --------------------------------------------------------------------------- equal work


def generate_equivalents(tmsc: Path, troposphere: Path, terrascript: Path, work: Path) -> dict[str, Path]:
    """The troposphere and python-terrascript programs that build the example's resources, written by
    bench/equivalents/generate.py (each with its library's venv) from a fresh compile of the example."""
    compiled = work / "example-out"
    subprocess.run([str(tmsc), "compile", str(EXAMPLE), "--out", str(compiled)], check=True, capture_output=True)
    programs = {}
    for library, python in (("troposphere", troposphere), ("terrascript", terrascript)):
        program = work / "generated" / f"{library}_example.py"
        subprocess.run(
            [str(python), str(EQUIVALENTS / "generate.py"), library, str(compiled), str(program)],
            check=True,
            env=child_env(),
        )
        programs[library] = program
    return programs


# --------------------------------------------------------------------------- instructions (callgrind)


def instructions(case: Case, work: Path) -> int | None:
    """Instructions the case's command executes, counted by callgrind (independent of the machine's load)."""
    if VALGRIND is None:
        return None
    scratch = Path(tempfile.mkdtemp(dir=work))
    try:
        proc = subprocess.run(
            [VALGRIND, "--tool=callgrind", f"--callgrind-out-file={scratch / 'callgrind.out'}", *case.command(scratch)],
            cwd=case.cwd,
            # A fixed hash seed: string hashing changes dict and set work by a few million instructions from run to run.
            env={**(case.env or child_env()), "PYTHONHASHSEED": "0"},
            capture_output=True,
            text=True,
        )
        found = re.search(r"Collected : (\d+)", proc.stderr)
        return int(found.group(1)) if proc.returncode == 0 and found else None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# --------------------------------------------------------------------------- installing the other tools


def venv_python(name: str) -> Path:
    return VENVS / name / "bin" / "python"


def base_python() -> str:
    """The interpreter behind the repository's venv, so every tool runs on the same CPython."""
    repo_python = REPO / ".venv" / "bin" / "python"
    if repo_python.exists():
        return subprocess.run(
            [str(repo_python), "-c", "import sys; print(sys._base_executable)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    return sys.executable


def ensure_venv(name: str, requirements: tuple[str, ...]) -> Path:
    """bench/.venvs/<name> with exactly these requirements (re-created when they change)."""
    directory = VENVS / name
    stamp = directory / ".bench-requirements"
    wanted = "\n".join(requirements)
    if stamp.exists() and stamp.read_text() == wanted and venv_python(name).exists():
        return venv_python(name)
    print(f"  installing {' '.join(requirements)} into {directory.relative_to(REPO)} ...", file=sys.stderr, flush=True)
    shutil.rmtree(directory, ignore_errors=True)
    subprocess.run([base_python(), "-m", "venv", str(directory)], check=True)
    subprocess.run(
        [str(venv_python(name)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
        check=True,
    )
    stamp.write_text(wanted)
    return venv_python(name)


def ensure_cdktf_cli() -> Path:
    prefix = VENVS / "cdktf" / "node"
    binary = prefix / "node_modules" / ".bin" / "cdktf"
    stamp = prefix / ".bench-requirements"
    if binary.exists() and stamp.exists() and stamp.read_text() == CDKTF_CLI:
        return binary
    if shutil.which("npm") is None:
        raise RuntimeError("npm is not installed")
    print(f"  installing {CDKTF_CLI} (npm) into {prefix.relative_to(REPO)} ...", file=sys.stderr, flush=True)
    prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error", CDKTF_CLI],
        check=True,
    )
    stamp.write_text(CDKTF_CLI)
    return binary


# --------------------------------------------------------------------------- generated specs for scaling


def scaled_spec(environments: int, workload_factor: int, directory: Path) -> Path:
    """The example with `environments` environments (its dev/staging/prod bodies in turn, each with
    its own /16) and `workload_factor` copies of each of its workloads."""
    import yaml  # the repository's venv has it; this script runs with any Python that does

    doc = yaml.safe_load(EXAMPLE.read_text())
    bodies = [body for _, body in sorted(doc["environments"].items())]
    envs = {}
    for i in range(environments):
        body = json.loads(json.dumps(bodies[i % len(bodies)]))
        body["network"]["cidr"] = f"10.{i + 1}.0.0/16"
        envs[f"e{i + 1}"] = body
    doc["environments"] = envs
    workloads = {}
    for copy in range(workload_factor):
        for name, body in doc.get("workloads", {}).items():
            clone = dict(body)
            if copy:
                name = f"{name}{copy + 1}"
                clone["service_account"] = f"{body['service_account']}{copy + 1}"
                if clone.get("attachments_prefix"):
                    clone["attachments_prefix"] = f"{name}/"
            workloads[name] = clone
    doc["workloads"] = workloads
    path = directory / f"platform-{environments}env-{workload_factor}x.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# --------------------------------------------------------------------------- reporting


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def main_table(cases: list[Case], reference: Case) -> list[str]:
    rows = [
        "| command | resources | wall median (s) | wall min-max (s) | CPU median (s) | peak RSS median (MB) | ms / resource | wall vs tmsc |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        base = case.relative_to or reference
        ref = base.median("wall") if base.samples else None
        if not case.samples:
            rows.append(f"| {case.name} | | not measured: {case.error or 'skipped'} | | | | | |")
            continue
        wall = case.median("wall")
        walls = [s.wall for s in case.samples]
        rss = statistics.median(s.rss_kb for s in case.samples) / 1024
        tree = [s.tree_rss_kb for s in case.samples if s.tree_rss_kb]
        rss_text = f"{rss:.0f}" + (f" (tree {statistics.median(tree) / 1024:.0f})" if tree else "")
        per = f"{wall / case.resources * 1000:.2f}" if case.resources else ""
        ratio = f"{wall / ref:.2f}x" if ref else ""
        rows.append(
            f"| {case.name} | {case.resources if case.resources is not None else ''} | {fmt_s(wall)} | {fmt_s(min(walls))}-{fmt_s(max(walls))} "
            f"| {case.median('cpu'):.2f} | {rss_text} | {per} | {ratio} |"
        )
    return rows


def scaling_table(cases: list[tuple[int, int, Case]], reference: Case | None) -> list[str]:
    rows = [
        "| environments | workloads | resources | wall median (s) | wall min-max (s) | CPU median (s) | peak RSS (MB) | ms / resource | wall vs 3 env 1x |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ref = reference.median("wall") if reference and reference.samples else None
    for envs, factor, case in cases:
        if not case.samples:
            rows.append(f"| {envs} | {factor}x | | not measured: {case.error} | | | | | |")
            continue
        wall = case.median("wall")
        walls = [s.wall for s in case.samples]
        assert case.resources is not None, case.name  # counted with the samples
        rows.append(
            f"| {envs} | {factor}x | {case.resources} | {fmt_s(wall)} | {fmt_s(min(walls))}-{fmt_s(max(walls))} | {case.median('cpu'):.2f} "
            f"| {statistics.median(s.rss_kb for s in case.samples) / 1024:.0f} | {wall / case.resources * 1000:.3f} | {f'{wall / ref:.2f}x' if ref else ''} |"
        )
    return rows


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 runs, fewer scaling points, 100 Hypothesis examples")
    parser.add_argument(
        "--with-cdktf", action="store_true", help="also CDK for Terraform (installs ~1 GB; a minute per synth)"
    )
    parser.add_argument(
        "--runs", type=int, help="measured runs per command after the warm-up (default 7, --quick 5; at least 5)"
    )
    parser.add_argument("--cdktf-runs", type=int, default=5, help="measured cdktf runs (default 5)")
    parser.add_argument("--no-hypothesis", action="store_true", help="skip the Hypothesis throughput measurement")
    parser.add_argument("--no-callgrind", action="store_true", help="skip counting instructions with valgrind")
    parser.add_argument("--output", type=Path, default=RESULTS, help="markdown report (default bench/RESULTS.md)")
    args = parser.parse_args()
    runs = max(5, args.runs or (5 if args.quick else 7))
    started = time.time()
    load_before = os.getloadavg()

    repo_python = REPO / ".venv" / "bin" / "python"
    tmsc = REPO / ".venv" / "bin" / "tmsc"
    if not tmsc.exists():
        print("no .venv/bin/tmsc: run `make venv` first", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="tmsc-bench-"))
    specs = work / "specs"
    specs.mkdir()
    try:
        print("setting up", file=sys.stderr, flush=True)
        troposphere = ensure_venv("troposphere", (TROPOSPHERE,))
        terrascript = ensure_venv("terrascript", (TERRASCRIPT,))
        full = generate_equivalents(tmsc, troposphere, terrascript, work)

        tmsc_case = Case(
            "tmsc compile spec/platform.yaml (all environments + bootstrap)",
            lambda d: [str(tmsc), "compile", str(EXAMPLE), "--out", str(d / "out")],
            count=lambda d, _: count_tf_json(d / "out"),
        )
        one_env_case = Case(
            "tmsc compile spec/platform.yaml --env dev (one environment + the shared bootstrap)",
            lambda d: [str(tmsc), "compile", str(EXAMPLE), "--out", str(d / "out"), "--env", "dev"],
            count=lambda d, _: count_tf_json(d / "out"),
        )
        validate_case = Case(
            "tmsc validate spec/platform.yaml (the pre-commit check)", lambda d: [str(tmsc), "validate", str(EXAMPLE)]
        )
        troposphere_full = Case(
            "troposphere: the example's resources (equal work; CloudFormation folds some, see below)",
            lambda d: [str(troposphere), str(full["troposphere"]), str(d / "out")],
            count=count_printed,
        )
        terrascript_full = Case(
            "python-terrascript: the example's resources (equal work)",
            lambda d: [str(terrascript), str(full["terrascript"]), str(d / "out")],
            count=count_printed,
        )
        cases = [
            tmsc_case,
            troposphere_full,
            terrascript_full,
            one_env_case,
            validate_case,
            Case("python -c pass", lambda d: [str(repo_python), "-c", "pass"]),
            Case(
                "python -c 'import pydantic, attrs, yaml, typer'",
                lambda d: [str(repo_python), "-c", "import pydantic, attrs, yaml, typer"],
            ),
            # `import pydantic` alone is lazy; defining a model loads pydantic.main and its
            # schema machinery, so this is the true floor of what compile imports.
            # PyYAML as tmsc imports it (tmsc.yamlfast: the pure-Python reader's pattern compiled on first use).
            Case(
                "python -c 'from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator; "
                "import attrs, orjson, tmsc.yamlfast' (compile's dependency floor)",
                lambda d: [
                    str(repo_python),
                    "-c",
                    "from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator; "
                    "import attrs, orjson, tmsc.yamlfast",
                ],
            ),
            # The floor plus tmsc's own modules and the model's validators, prepared as the
            # command prepares them: what is left between this row and tmsc compile is the compile itself.
            Case(
                "python -c 'import tmsc.pipeline, tmsc.compile, tmsc.render, tmsc.write' (compile's imports, model built)",
                lambda d: [str(repo_python), "-c", COMPILE_IMPORTS],
            ),
            Case(
                "troposphere: the 55-resource hand-written stack as CloudFormation",
                lambda d: [str(troposphere), str(EQUIVALENTS / "troposphere_stack.py"), str(d / "out")],
                count=count_printed,
            ),
            Case(
                "python-terrascript: the 55-resource hand-written stack as Terraform JSON",
                lambda d: [str(terrascript), str(EQUIVALENTS / "terrascript_stack.py"), str(d / "out")],
                count=count_printed,
            ),
        ]
        print(f"measuring {len(cases)} commands, {runs} runs each after a warm-up", file=sys.stderr, flush=True)
        measure(cases, runs, work, "main")

        counted: dict[str, int | None] = {}
        if VALGRIND and not args.no_callgrind:
            print("counting instructions (callgrind)", file=sys.stderr, flush=True)
            for case in cases:
                counted[case.name] = instructions(case, work)
            pydantic_only = Case(
                PYDANTIC_ONLY, lambda d: [str(repo_python), "-c", PYDANTIC_ONLY.removeprefix("python -c ").strip("'")]
            )
            counted[PYDANTIC_ONLY] = instructions(pydantic_only, work)

        cdktf_cases: list[Case] = []
        cdktf_note = "not run (pass --with-cdktf)"
        if args.with_cdktf:
            try:
                cdktf_python = ensure_venv("cdktf", CDKTF)
                cdktf_cli = ensure_cdktf_cli()
                env = child_env(
                    {
                        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
                        "CHECKPOINT_DISABLE": "1",
                        "CI": "1",
                        "SYNTH_HCL_OUTPUT": "false",
                    }
                )
                project = work / "cdktf-project"
                project.mkdir()
                (project / "cdktf.json").write_text(
                    json.dumps(
                        {
                            "language": "python",
                            "app": f"{cdktf_python} {EQUIVALENTS / 'cdktf_stack.py'}",
                            "terraformProviders": [],
                            "terraformModules": [],
                            "sendCrashReports": "false",
                            "projectId": "00000000-0000-0000-0000-000000000000",
                        }
                    )
                )
                count_cdk = lambda d, _: count_tf_json_cdk(d / "out")  # noqa: E731
                beside = Case(
                    "tmsc compile spec/platform.yaml, interleaved with the cdktf runs",
                    tmsc_case.command,
                    count=tmsc_case.count,
                )
                beside.relative_to = beside
                cdktf_cases = [
                    beside,
                    Case(
                        "cdktf synth (CLI) of the 55-resource stack",
                        lambda d: [str(cdktf_cli), "synth", "--output", str(d / "out")],
                        cwd=project,
                        env=env,
                        count=count_cdk,
                        sample_tree=True,
                        relative_to=beside,
                    ),
                    Case(
                        "cdktf app run directly (python cdktf_stack.py) of the same stack",
                        lambda d: [str(cdktf_python), str(EQUIVALENTS / "cdktf_stack.py"), str(d / "out")],
                        env=env,
                        count=count_cdk,
                        sample_tree=True,
                        relative_to=beside,
                    ),
                ]
                print(
                    f"measuring cdktf, {args.cdktf_runs} runs each after a warm-up (about a minute a run)",
                    file=sys.stderr,
                    flush=True,
                )
                measure(cdktf_cases, max(5, args.cdktf_runs), work, "cdktf")
                cdktf_note = "measured"
            except Exception as exc:  # no npm, no registry, synth refusing offline: say so, invent nothing
                cdktf_note = f"could not be measured here: {exc}"
                print(f"  ! cdktf: {exc}", file=sys.stderr)

        print("measuring scaling", file=sys.stderr, flush=True)
        points = (
            [(1, 1), (3, 1), (50, 1), (3, 4)]
            if args.quick
            else [(1, 1), (3, 1), (10, 1), (50, 1), (3, 2), (3, 3), (3, 4), (50, 4)]
        )
        scaling = []
        for envs, factor in points:
            spec = scaled_spec(envs, factor, specs)

            def compile_scaled(d: Path, spec: Path = spec) -> list[str]:
                return [str(tmsc), "compile", str(spec), "--out", str(d / "out")]

            scaling.append(
                (
                    envs,
                    factor,
                    Case(
                        f"{envs} env {factor}x",
                        compile_scaled,
                        count=lambda d, _: count_tf_json(d / "out"),
                    ),
                )
            )
        measure([c for _, _, c in scaling], runs, work, "scaling")

        hypothesis: dict | None = None
        if not args.no_hypothesis:
            print("measuring Hypothesis throughput", file=sys.stderr, flush=True)
            proc = subprocess.run(
                [
                    str(repo_python),
                    str(BENCH / "hypothesis_rate.py"),
                    "--examples",
                    "100" if args.quick else "200",
                    "--json",
                ],
                cwd=REPO,
                env=child_env(),
                capture_output=True,
                text=True,
            )
            if proc.returncode == 0:
                hypothesis = json.loads(proc.stdout.strip().splitlines()[-1])
            else:
                print(f"  ! hypothesis_rate.py: {proc.stderr[-2000:]}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # ----------------------------------------------------------------------- report
    all_cases = cases + cdktf_cases
    troposphere_case = next(c for c in cases if c.name.startswith("troposphere: the 55"))
    floor_case = next(c for c in cases if "dependency floor" in c.name)
    imports_case = next(c for c in cases if "model built" in c.name)
    tm = tmsc_case.median("wall") if tmsc_case.samples else None
    equal = [c for c in (troposphere_full, terrascript_full) if c.samples]
    three = next((c for e, f, c in scaling if (e, f) == (3, 1)), None)
    fifty = next((c for e, f, c in scaling if (e, f) == (50, 1)), None)
    synth = cdktf_cases[1] if cdktf_cases and cdktf_cases[1].samples else None
    tmsc_beside_cdktf = cdktf_cases[0] if cdktf_cases and cdktf_cases[0].samples else None
    targets = [
        *[
            (
                f"equal work: tmsc compile <= 1.5x {c.name.split(':')[0]} building the example's resources (wall medians)",
                f"{tm / c.median('wall'):.2f}x ({fmt_s(tm)} s vs {fmt_s(c.median('wall'))} s)",
                verdict(tm / c.median("wall") <= 1.5),
            )
            for c in equal
            if tm
        ],
        (
            "tmsc compile of the example faster than troposphere generating its 55-resource stack",
            f"{fmt_s(tm)} s vs {fmt_s(troposphere_case.median('wall'))} s" if tm and troposphere_case.samples else "",
            verdict(tm < troposphere_case.median("wall") if tm and troposphere_case.samples else None),
        ),
        (
            ">= 100x faster than cdktf synth (tmsc runs interleaved with the synths)",
            f"{synth.median('wall') / tmsc_beside_cdktf.median('wall'):.0f}x ({fmt_s(synth.median('wall'))} s vs {fmt_s(tmsc_beside_cdktf.median('wall'))} s)"
            if synth and tmsc_beside_cdktf
            else cdktf_note,
            verdict(
                synth.median("wall") / tmsc_beside_cdktf.median("wall") >= 100 if synth and tmsc_beside_cdktf else None
            ),
        ),
        (
            "peak RSS <= 100 MB",
            f"{statistics.median(s.rss_kb for s in tmsc_case.samples) / 1024:.0f} MB (example); "
            f"{max(max(s.rss_kb for s in c.samples) for _, _, c in scaling if c.samples) / 1024:.0f} MB (largest scaling run)"
            if tmsc_case.samples
            else "",
            verdict(
                all(s.rss_kb <= 100 * 1024 for c in [tmsc_case] + [c for _, _, c in scaling] for s in c.samples)
                if tmsc_case.samples
                else None
            ),
        ),
        (
            "50 environments <= 10x the time of 3",
            f"{fifty.median('wall') / three.median('wall'):.2f}x ({fifty.resources} vs {three.resources} resources)"
            if fifty and three and fifty.samples and three.samples
            else "",
            verdict(
                fifty.median("wall") / three.median("wall") <= 10
                if fifty and three and fifty.samples and three.samples
                else None
            ),
        ),
    ]
    if hypothesis:
        targets.append(
            (
                ">= 1,000 platform examples per minute (in-process: generate, validate, compile, render, read back)",
                f"{hypothesis['examples_per_minute']:.0f} / min of wall time, {hypothesis['examples_per_cpu_minute']:.0f} / CPU-minute",
                verdict(hypothesis["examples_per_minute"] >= 1000),
            )
        )

    versions = tool_versions(troposphere, terrascript)
    lines = [
        "# tmsc compile benchmark",
        "",
        f"Generated by `python bench/compile_bench.py{' --quick' if args.quick else ''}{' --with-cdktf' if args.with_cdktf else ''}` "
        f"on {datetime.date.today().isoformat()}: {os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        "(the machine is shared: medians, and runs interleaved across commands in a shuffled order). "
        f"{runs} measured runs per command after one warm-up; wall time is the whole process, "
        "peak RSS the largest process's maximum resident set; CPU is user+sys. Versions: " + versions + ".",
        "",
        "## The example and the alternatives",
        "",
        *main_table(all_cases, tmsc_case),
        "",
        "tmsc validates the spec, derives every setting from its requirements, checks every reference and writes one file per "
        "service family and stack (each fsync'ed, then renamed into place); troposphere and terrascript write one file per "
        "stack and check nothing beyond troposphere's property types. `--env dev` compiles and writes one environment and the "
        "bootstrap stack (shared by all environments, so always written); `validate` loads, validates and derives, and writes "
        "nothing.",
        "",
        *equal_work_section(tmsc_case, equal, counted),
        f"CDK for Terraform: {cdktf_note}."
        if not cdktf_cases
        else "CDK for Terraform: `cdktf synth` runs node (the CLI), which runs the Python app, which runs the jsii node runtime; "
        "'tree' is the sampled sum of their resident sets. Their runs were interleaved with runs of tmsc compile (the row above "
        "them), against which their ratios are taken."
        + (
            f" 100x the synth's median is a compile of at most {fmt_s(synth.median('wall') / 100)} s on the machine as "
            f"loaded during those runs; tmsc took {fmt_s(tmsc_beside_cdktf.median('wall'))} s there and "
            f"{fmt_s(tmsc_case.median('wall'))} s in the runs above (its CPU time: "
            f"{tmsc_beside_cdktf.median('cpu'):.2f} s and {tmsc_case.median('cpu'):.2f} s)."
            if synth and tmsc_beside_cdktf and tmsc_case.samples
            else ""
        ),
        "",
        *where_the_time_goes(tmsc_case, floor_case, imports_case, troposphere_full),
        "",
        *instruction_table(cases, tmsc_case, counted),
        *instruction_split(tmsc_case, floor_case, imports_case, counted, cases),
        "## Scaling: environments x workloads",
        "",
        "Specs generated from the example: N environments (its dev, staging and prod in turn, each with its own /16) and k copies "
        "of each of its workloads (k x 3 workloads: each adds an IRSA role, its policy, the attachment and an output per environment). "
        "The model takes exactly one service of each kind, so the services themselves cannot be multiplied.",
        "",
        *scaling_table(scaling, three),
        "",
        "## Targets (issues 6 and 14)",
        "",
        "| target | measured | |",
        "|---|---|---|",
        *[f"| {name} | {value} | {result} |" for name, value, result in targets],
        "",
    ]
    if hypothesis:
        lines += [
            "## Hypothesis throughput",
            "",
            f"`python bench/hypothesis_rate.py --examples {hypothesis['examples']}`: {hypothesis['examples']} generated platforms "
            f"(tests/strategies.py, up to 4 environments) in {hypothesis['seconds']:.1f} s = **{hypothesis['examples_per_minute']:.0f} examples/min** "
            f"({hypothesis['examples_per_cpu_minute']:.0f} per CPU-minute: {hypothesis['cpu_seconds']:.1f} s of CPU). "
            "Per example (ms): "
            + ", ".join(f"{k} {v:.1f}" for k, v in hypothesis["per_example_ms"].items())
            + ". `--suite` runs the Hypothesis tests themselves under pytest and counts their examples.",
            "",
        ]
    lines.append(f"Total benchmark time: {time.time() - started:.0f} s.")
    text = "\n".join(lines) + "\n"
    args.output.write_text(text)
    print(text)
    return 0


def equal_work_section(tmsc_case: Case, equal: list[Case], counted: dict[str, int | None]) -> list[str]:
    """tmsc against the generated troposphere and terrascript programs, whole run and per resource."""
    if not (tmsc_case.samples and equal):
        return []
    rows = [
        "## Equal work: the example's resources with each library",
        "",
        "bench/equivalents/generate.py reads a fresh `tmsc compile` of the example and writes, for each library, the program a "
        "user of it would write for the same stacks: one constructor of the library's classes per resource, references as the "
        "library makes them, policies as dicts. The table compares whole runs (interleaved with each other) and per resource.",
        "",
        "| command | resources | wall median (s) | CPU median (s) | instructions (M) | ms / resource (wall) | tmsc ÷ this (wall) | tmsc ÷ this (instructions) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    tm, ti = tmsc_case.median("wall"), counted.get(tmsc_case.name)
    for case in [tmsc_case, *equal]:
        wall, ins = case.median("wall"), counted.get(case.name)
        rows.append(
            f"| {case.name} | {case.resources or ''} | {fmt_s(wall)} | {case.median('cpu'):.2f} | "
            f"{f'{ins / 1e6:.0f}' if ins else ''} | {f'{wall / case.resources * 1000:.2f}' if case.resources else ''} | "
            f"{tm / wall:.2f}x | {f'{ti / ins:.2f}x' if ti and ins else ''} |"
        )
    rows += [""]
    troposphere = next((c for c in equal if c.name.startswith("troposphere")), None)
    if troposphere is not None:
        found = next((v for v in SUMMARIES.values() if "folded_into_properties" in v), {})
        if found:
            rows.append(
                "What differs with troposphere (CloudFormation), as the generated program reports it: "
                f"folded into a property of the resource they configure (no CloudFormation resource of their own): "
                f"{', '.join(f'{k} x{v}' for k, v in sorted(found.get('folded_into_properties', {}).items()))}; "
                f"left out (no CloudFormation equivalent; the partition, account and region are pseudo-parameters): "
                f"{', '.join(f'{k} x{v}' for k, v in sorted(found.get('left_out', {}).items()))}; "
                f"added (CloudFormation needs it, Terraform does not): "
                f"{', '.join(f'{k} x{v}' for k, v in sorted(found.get('added', {}).items()))}. "
                f"{found.get('arguments_carried')} Terraform arguments became CloudFormation properties, "
                f"{found.get('arguments_dropped')} have none (skip_final_snapshot, force_destroy, recovery_window_in_days...). "
                "So the CloudFormation templates hold fewer resources for the same stacks: compare whole runs."
            )
    terrascript = next((c for c in equal if c.name.startswith("python-terrascript")), None)
    if terrascript is not None:
        rows.append(
            "\npython-terrascript writes every resource, data source, output, provider and backend of the compiled example "
            "(the same Terraform JSON, less tmsc's `//` comments); it has no ephemeral blocks (0.9.0 predates them: the three "
            "`aws_secretsmanager_random_password` are left out)."
        )
    rows.append("")
    return rows


def instruction_table(cases: list[Case], tmsc_case: Case, counted: dict[str, int | None]) -> list[str]:
    """Instructions per command (callgrind): what stands between tmsc and the other tools, free of the machine's load."""
    if not any(counted.values()):
        return []
    ref = counted.get(tmsc_case.name)
    rows = [
        "Instructions executed (callgrind, one run each; unlike times they do not depend on the machine's load):",
        "",
        "| command | instructions (M) | vs tmsc compile |",
        "|---|---:|---:|",
    ]
    for case in cases:
        ins = counted.get(case.name)
        if ins:
            rows.append(f"| {case.name} | {ins / 1e6:.0f} | {f'{ins / ref:.2f}x' if ref else ''} |")
    return [*rows, ""]


def instruction_split(
    tmsc_case: Case, floor: Case, imports: Case, counted: dict[str, int | None], cases: list[Case]
) -> list[str]:
    """tmsc compile's instructions, layer by layer: what a faster compile would have to remove."""
    bare = next((c for c in cases if c.name == "python -c pass"), None)
    parts = [
        counted.get(n) for n in (bare.name if bare else "", PYDANTIC_ONLY, floor.name, imports.name, tmsc_case.name)
    ]
    if not all(parts):
        return []
    python, pydantic, deps, imported, total = (p or 0 for p in parts)

    def share(value: int) -> str:
        return f"{value / 1e6:.0f} M ({value / total:.0%})"

    pydantic_import = PYDANTIC_ONLY.removeprefix("python -c ").strip("'")
    return [
        f"tmsc compile's {total / 1e6:.0f} M instructions, layer by layer: the interpreter's start {share(python)}; pydantic's "
        f"model machinery (`{pydantic_import}`) {share(pydantic - python)}; attrs, orjson and PyYAML "
        f"{share(deps - pydantic)}; tmsc's modules and the model's validators {share(imported - deps)}; the compile itself "
        f"(read, validate, derive, emit, render, write) {share(total - imported)}. The first three, "
        f"{share(deps)}, are there before tmsc's own code runs.",
        "",
    ]


def count_tf_json_cdk(directory: Path) -> int:
    return sum(
        sum(len(blocks) for blocks in json.loads(path.read_text()).get("resource", {}).values())
        for path in directory.rglob("cdk.tf.json")
    )


def where_the_time_goes(tmsc_case: Case, floor: Case, imports: Case, troposphere: Case) -> list[str]:
    """tmsc's time split into dependency floor, its own imports and model, and the compile itself.

    In CPU time (user+sys, medians): each of these is one single-threaded
    process, and CPU time, unlike wall time, does not grow when other work
    shares the machine, so the differences between nested commands stay
    meaningful.
    """
    if not (tmsc_case.samples and floor.samples and imports.samples and troposphere.samples):
        return []
    total, base, loaded, tropo = (c.median("cpu") for c in (tmsc_case, floor, imports, troposphere))
    return [
        f"Where tmsc's time goes (CPU medians): {fmt_s(total)} s in all; {fmt_s(base)} s importing its dependencies "
        f"(pydantic's model machinery, attrs, PyYAML, orjson), {fmt_s(max(loaded - base, 0.0))} s more importing tmsc and "
        f"building the model's validators, {fmt_s(max(total - loaded, 0.0))} s loading, validating, deriving, rendering and "
        f"writing. troposphere's whole run building the same resources takes {fmt_s(tropo)} s: tmsc's dependency floor alone is {base / tropo:.2f}x that.",
    ]


def tool_versions(troposphere: Path, terrascript: Path) -> str:
    def version(python: Path, dist: str) -> str:
        proc = subprocess.run(
            [str(python), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
            capture_output=True,
            text=True,
        )
        return proc.stdout.strip() or "?"

    repo_python = REPO / ".venv" / "bin" / "python"
    parts = [
        f"pydantic {version(repo_python, 'pydantic')}",
        f"typer {version(repo_python, 'typer')}",
        f"orjson {version(repo_python, 'orjson')}",
        f"troposphere {version(troposphere, 'troposphere')}",
        f"terrascript {version(terrascript, 'terrascript')}",
    ]
    if venv_python("cdktf").exists():
        parts.append(
            f"cdktf {version(venv_python('cdktf'), 'cdktf')}, cdktf-cdktf-provider-aws {version(venv_python('cdktf'), 'cdktf-cdktf-provider-aws')}"
        )
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
