#!/usr/bin/env python3
"""Hypothesis examples per minute: how fast generated platforms go through the compiler.

    python bench/hypothesis_rate.py [--examples N] [--json]   in-process, with a breakdown
    python bench/hypothesis_rate.py --suite                   the Hypothesis tests under pytest

In-process, one @given over tests/strategies.spec_documents() (the strategy the
property tests use) validates, compiles and renders each platform, as
tests/test_properties.compile_documents does, and reads the result back as
tests/stackview.StackView does; the time not spent in those steps is
Hypothesis generating the example and running its engine.

--suite runs every test module with a @given under pytest with
--hypothesis-show-statistics and counts the passing examples Hypothesis reports.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def in_process(examples: int) -> dict:
    sys.path.insert(0, str(REPO))
    from hypothesis import HealthCheck, Phase, given, settings

    from tests.stackview import StackView
    from tests.strategies import spec_documents
    from tmsc.compile import compile_platform
    from tmsc.model import Platform
    from tmsc.render import render_stack

    spent = {"validate": 0.0, "compile": 0.0, "render": 0.0, "read back (json.loads)": 0.0}
    count = 0

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(doc=spec_documents())
    def run(doc: dict) -> None:
        nonlocal count
        a = time.perf_counter()
        platform = Platform.model_validate(doc)
        b = time.perf_counter()
        stacks = compile_platform(platform)
        c = time.perf_counter()
        rendered = {s.name: render_stack(s) for s in stacks}
        d = time.perf_counter()
        for name, files in rendered.items():
            StackView(name, files)
        e = time.perf_counter()
        spent["validate"] += b - a
        spent["compile"] += c - b
        spent["render"] += d - c
        spent["read back (json.loads)"] += e - d
        count += 1

    start, start_cpu = time.perf_counter(), time.process_time()
    run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    per = {k: v / count * 1000 for k, v in spent.items()}
    per["Hypothesis (generate + engine)"] = (seconds - sum(spent.values())) / count * 1000
    return {
        "examples": count,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "examples_per_minute": count / seconds * 60,
        "examples_per_cpu_minute": count / cpu * 60,  # what an otherwise idle core would do
        "per_example_ms": per,
    }


def suite(pythonpath: str | None = None) -> dict:
    modules = sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").glob("test_*.py") if "@given" in p.read_text())
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--hypothesis-show-statistics",
            "--hypothesis-seed=0",
            *modules,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-2000:], file=sys.stderr)
    per_module: dict[str, dict[str, float]] = {}
    # "tests/x.py::test_y:" then its phases: "- during generate phase (1.23 seconds):" ... "- 100 passing, 0 failing ..."
    for block in re.split(r"\n(?=tests/\S+::\S+:)", proc.stdout):
        head = re.match(r"(tests/\S+?)::", block)
        if not head:
            continue
        stats = per_module.setdefault(head.group(1), {"examples": 0, "seconds": 0.0})
        stats["examples"] += sum(int(n) for n in re.findall(r"- (\d+) passing", block))
        stats["seconds"] += sum(float(x) for x in re.findall(r"during \w+ phase \(([\d.]+) seconds\)", block))
    examples = sum(m["examples"] for m in per_module.values())
    inside = sum(m["seconds"] for m in per_module.values())
    return {
        "modules": modules,
        "exit_code": proc.returncode,
        "examples": examples,
        "seconds": seconds,
        "hypothesis_seconds": inside,
        "examples_per_minute": examples / seconds * 60,
        "examples_per_minute_in_hypothesis": examples / inside * 60 if inside else None,
        "per_module": {
            k: {**v, "per_minute": v["examples"] / v["seconds"] * 60 if v["seconds"] else None}
            for k, v in per_module.items()
        },
        "summary": proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--suite", action="store_true", help="run the Hypothesis tests under pytest instead")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument(
        "--pythonpath", help="with --suite: put this first on PYTHONPATH (e.g. a copy of the compiler to compare)"
    )
    args = parser.parse_args()
    result = suite(args.pythonpath) if args.suite else in_process(args.examples)
    if args.json:
        print(json.dumps(result))
    elif args.suite:
        print(
            f"{result['examples']} passing examples in {result['seconds']:.1f} s of pytest: "
            f"{result['examples_per_minute']:.0f}/min overall, {result['examples_per_minute_in_hypothesis'] or 0:.0f}/min inside Hypothesis's phases; "
            f"{result['summary']}"
        )
        for module, stats in sorted(result["per_module"].items()):
            print(
                f"  {module}: {stats['examples']:.0f} examples in {stats['seconds']:.1f} s = {stats['per_minute'] or 0:.0f}/min"
            )
    else:
        print(
            f"{result['examples']} examples in {result['seconds']:.1f} s = {result['examples_per_minute']:.0f} examples/min "
            f"({result['examples_per_cpu_minute']:.0f} per CPU-minute); per example (ms): "
            + ", ".join(f"{k} {v:.2f}" for k, v in result["per_example_ms"].items())
        )
    return 0 if result.get("exit_code", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
