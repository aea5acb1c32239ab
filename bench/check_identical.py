#!/usr/bin/env python3
"""A refactor must not change a byte: compare against the code before it.

    python bench/check_identical.py --ref COMMIT [--examples N]

1. render_json (orjson where safe) against json.dumps(indent=2, sort_keys=True,
   ensure_ascii=False) on the documents of the example and of N generated
   platforms, and on awkward values: every Unicode code point in keys and
   values, floats around the exponent thresholds and random doubles, NaN and
   infinities, integers past 64 bits, tuples, non-string keys, subclasses,
   enums, deep nesting, a cycle (same text, or the same exception).
2. render.py at COMMIT against the current one: render_stack of the example
   and of N generated platforms, and the error (type and message) for broken
   stacks (dangling references in every kind of place, bare references,
   duplicate addresses, bad file names, unrenderable values).
3. cli.py, render.py and write.py at COMMIT against the current ones, each
   beside the rest of the current compiler: exit code, stdout, stderr and the
   files written, for the usual command lines, spec errors, usage errors and
   an internal error.

COMMIT is the last commit before the refactor under test (for the performance
work it was 5a5fe26; later features, such as ephemeral blocks, changed the
output on purpose, so there is no standing default). Exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import enum
import functools
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
FILES = ("cli.py", "render.py", "write.py")
PACKAGE = REPO / "compiler" / "tmsc"

failures: list[str] = []


def check(label: str, ok: bool, detail: str = "") -> None:
    if not ok:
        failures.append(f"{label}: {detail}")
        print(f"DIFFERENT  {label} {detail}"[:2000])


def outcome(function: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", function())
    except Exception as exc:
        return ("raised", f"{type(exc).__name__}: {exc}")


def reference_module(ref: str, name: str) -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{ref}:compiler/tmsc/{name}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType(f"reference_{name[:-3]}")
    exec(compile(source, f"{ref}:{name}", "exec"), module.__dict__)
    return module


def generated_platforms(count: int) -> list[Any]:
    from hypothesis import HealthCheck, Phase, given, settings

    from tests.strategies import spec_documents
    from tmsc.model import Platform

    found: list[Any] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(doc=spec_documents())
    def collect(doc: dict) -> None:
        found.append(Platform.model_validate(doc))

    collect()
    return found


# --------------------------------------------------------------------------- 1. render_json


def awkward_documents() -> list[Any]:
    rng = random.Random(6)
    every_char = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)

    class E(enum.Enum):
        A = 1

    docs: list[Any] = [
        {"k": every_char},
        {chr(c): c for c in rng.sample(range(0x110000), 20000) if not 0xD800 <= c <= 0xDFFF},
        {"s": '\x00\x1f\x7f\u2028\u2029"\\/\b\f\n\r\t', "e": "", "u": "ünïcødé ✓ 𝄞"},
        {"empty": {}, "list": [], "nested": [{}, [], [[]], {"a": {}}]},
        {"t": (1, "a", (2.5, None)), "b": [True, False, None]},
        {"ints": [0, -1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1]},
        {"big": 2**64},
        {"negbig": -(2**63) - 1},
        {"nan": float("nan")},
        {"inf": [float("inf"), float("-inf")]},
        {1: "int key"},
        {None: "none key", "a": 1},
        {"x": E.A},
        {"x": {1, 2}},
        {"x": b"bytes"},
        {"lone": "\ud800"},
    ]
    floats = [
        0.0,
        -0.0,
        1.0,
        0.1,
        1 / 3,
        99.9,
        1e15,
        1e16,
        1e17,
        1e21,
        1e22,
        1e-4,
        1e-5,
        1e-7,
        5e-324,
        1.7976931348623157e308,
        2.0**53,
    ]
    for edge in (1e-4, 1e16):
        x = edge
        for _ in range(50):
            x = math.nextafter(x, 0)
        for _ in range(100):
            floats += [x, -x]
            x = math.nextafter(x, math.inf)
    for _ in range(20000):
        floats.append(struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0])
        floats.append(round(rng.uniform(0, 100), 2))
        floats.append(rng.uniform(-1e6, 1e6))
    docs += [{"f": f} for f in floats]

    class Str(str):
        pass

    class Int(int):
        pass

    class Float(float):
        pass

    class Dict(dict):
        pass

    class IntEnum(enum.IntEnum):
        A = 7

    docs += [
        {"s": Str("x")},
        {Str("k"): 1},
        {"i": Int(5)},
        {"f": Float(2.5)},
        {"f": Float(1e-7)},
        Dict(a=1),
        {"e": IntEnum.A},
    ]
    deep: Any = "leaf"
    for _ in range(300):
        deep = {"d": [deep]}
    docs.append(deep)
    cycle: dict[str, Any] = {}
    cycle["self"] = [cycle]
    docs.append(cycle)
    return docs


def check_render_json(documents: list[Any]) -> None:
    from tmsc import render

    def reference(doc: Any) -> str:
        return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    for i, doc in enumerate(documents):
        mine, theirs = outcome(functools.partial(render.render_json, doc)), outcome(functools.partial(reference, doc))
        check(f"render_json document {i}", mine == theirs, f"{str(mine)[:200]} != {str(theirs)[:200]}")
    print(
        f"render_json: {len(documents)} documents compared with json.dumps (orjson {'present' if render.orjson else 'ABSENT'})"
    )


# --------------------------------------------------------------------------- 2. render.py before and after


def broken_stacks() -> list[Any]:
    from tmsc.ir import DataSource, File, JsonDocument, Output, Provider, Ref, Resource, Settings, Stack, Template

    vpc = Resource("aws_vpc", "main", {"cidr_block": "10.0.0.0/16"})
    gone = Ref("aws_vpc.gone", "id")

    def stack(*blocks: Any, files: tuple | None = None) -> Stack:
        return Stack("s", files if files is not None else (File("main.tf.json", tuple(blocks)),))

    class Odd:
        body: ClassVar[dict[str, Any]] = {"x": gone}  # a block of no known kind

    return [
        stack(vpc, Resource("aws_subnet", "a", {"vpc_id": gone})),
        stack(vpc, Resource("aws_subnet", "a", {"tags": {"Name": Template(("x-", gone))}})),
        stack(vpc, Resource("aws_subnet", "a", {"tags": {Template(("k-", gone)): "v"}})),
        stack(vpc, Resource("aws_iam_policy", "p", {"policy": JsonDocument({"Resource": [gone]})})),
        stack(
            vpc, Resource("aws_iam_policy", "p", {"policy": JsonDocument({"Condition": {Template(("k", gone)): "v"}})})
        ),
        stack(vpc, Resource("aws_subnet", "a", {"depends_on": [Ref("aws_vpc.gone")]})),
        stack(
            vpc, Resource("aws_subnet", "a", {"lifecycle": {"ignore_changes": [gone], "create_before_destroy": True}})
        ),
        stack(
            vpc, Resource("aws_subnet", "a", {"lifecycle": {"ignore_changes": ["tags"], Template(("k", gone)): True}})
        ),
        stack(vpc, Output("o", gone, "d")),
        stack(vpc, DataSource("aws_subnet", "d", {"vpc_id": gone})),
        stack(vpc, Provider("aws", {"region": gone})),
        stack(vpc, Settings({"backend": {"s3": {"bucket": gone}}})),
        stack(vpc, Odd()),
        stack(vpc, Resource("aws_subnet", "a", {"vpc_id": Ref("aws_vpc.main")})),  # bare ref outside depends_on
        stack(
            vpc,
            Resource("aws_subnet", "a", {"vpc_id": Ref("aws_vpc.main")}),
            Resource("aws_subnet", "b", {"vpc_id": gone}),
        ),
        stack(vpc, Resource("aws_subnet", "a", {"depends_on": [vpc.ref("id")]})),
        stack(vpc, Resource("aws_subnet", "a", {"depends_on": ["aws_vpc.main"]})),
        stack(vpc, Resource("aws_subnet", "a", {"x": object()})),
        stack(vpc, Resource("aws_subnet", "a", {"x": object(), "y": gone})),
        stack(vpc, Resource("aws_subnet", "a", {"policy": JsonDocument({"x": JsonDocument({"y": vpc.ref("arn")})})})),
        stack(vpc, Resource("aws_subnet", "a", {"policy": JsonDocument({"x": Ref("aws_vpc.main")})})),
        stack(vpc, vpc),
        stack(files=(File("a.tf.json", (vpc,)), File("a.tf.json", ()))),
        stack(files=(File("a_override.tf.json", ()),)),
        stack(files=(File("main.tf.json", (Settings({}), Settings({}))),)),
        stack(
            vpc,
            Resource(
                "aws_subnet",
                "a",
                # A key that is no string, on purpose: the two renderers must fail alike.
                {"vpc_id": vpc.ref(), 7: "int key", "depends_on": (vpc.bare,), "provider": "aws.dr"},  # type: ignore[dict-item]
            ),
        ),
        stack(
            vpc,
            Resource(
                "aws_subnet",
                "a",
                {"n": [1, 2.5, None, True, ("t", vpc.ref("arn"))], "s": "${x} %{y}"},
                because=("r1", "r2"),
            ),
        ),
    ]


def check_render_module(reference: types.ModuleType, platforms: list[Any]) -> None:
    from tmsc import render
    from tmsc.compile import compile_platform
    from tmsc.load import load_platform

    stacks = compile_platform(load_platform(REPO / "spec" / "platform.yaml"))
    for platform in platforms:
        stacks += compile_platform(platform)
    for i, stack in enumerate(stacks):
        check(f"render_stack of stack {i} ({stack.name})", render.render_stack(stack) == reference.render_stack(stack))
    broken = broken_stacks()
    for i, stack in enumerate(broken):
        mine, theirs = (
            outcome(functools.partial(render.render_stack, stack)),
            outcome(functools.partial(reference.render_stack, stack)),
        )
        check(f"broken stack {i}", mine == theirs, f"{mine} != {theirs}")
        mine, theirs = (
            outcome(functools.partial(render.stack_documents, stack)),
            outcome(functools.partial(reference.stack_documents, stack)),
        )
        check(f"broken stack {i} (stack_documents)", mine == theirs, f"{mine} != {theirs}")
    print(
        f"render.py: {len(stacks)} stacks (example + {len(platforms)} generated platforms) and {len(broken)} broken stacks compared"
    )


# --------------------------------------------------------------------------- 3. the command line before and after


def package_copy(root: Path, ref: str | None) -> Path:
    target = root / ("reference" if ref else "current") / "tmsc"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__"))
    if ref:
        for name in FILES:
            source = subprocess.run(
                ["git", "show", f"{ref}:compiler/tmsc/{name}"], cwd=REPO, capture_output=True, text=True, check=True
            ).stdout
            (target / name).write_text(source)
    return target.parent


def run_cli(path: Path, args: list[str], cwd: Path) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(path), "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv[0] = 'tmsc'; from tmsc.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    return proc.returncode, proc.stdout, proc.stderr


def snapshot(directory: Path) -> dict[str, bytes]:
    return (
        {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
        if directory.exists()
        else {}
    )


def check_cli(ref: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="tmsc-identical-"))
    try:
        packages = {"reference": package_copy(root, ref), "current": package_copy(root, None)}
        spec = "spec/platform.yaml"
        bad = sorted((REPO / "tests" / "bad_specs").glob("*.yaml"))
        blocker = root / "blocker"
        blocker.write_text("a file where the output directory should be")
        cases: list[tuple[str, list[str], str]] = [
            ("compile", ["compile", spec, "--out", "{out}"], "fresh"),
            ("compile again (nothing changes)", ["compile", spec, "--out", "{out}"], "compiled"),
            ("compile over a stale stack", ["compile", spec, "--out", "{out}"], "stale"),
            ("options first, --out=", ["compile", "--out={out}", spec], "fresh"),
            ("one environment", ["compile", spec, "--out", "{out}", "--env", "dev"], "compiled"),
            ("--env=", ["compile", spec, "--env=prod", "--out", "{out}"], "fresh"),
            ("unknown environment", ["compile", spec, "--out", "{out}", "--env", "qa"], "fresh"),
            ("missing spec argument", ["compile"], "fresh"),
            ("missing spec file", ["compile", "nope.yaml", "--out", "{out}"], "fresh"),
            ("unknown option", ["compile", spec, "--out", "{out}", "--bogus"], "fresh"),
            ("option twice", ["compile", spec, "--out", "{out}", "--out", "{out}"], "fresh"),
            ("extra argument", ["compile", spec, spec, "--out", "{out}"], "fresh"),
            ("-- separator", ["compile", "--out", "{out}", "--", spec], "fresh"),
            ("--out without value", ["compile", spec, "--out"], "fresh"),
            ("compile --help", ["compile", "--help"], "fresh"),
            ("--help", ["--help"], "fresh"),
            ("no arguments", [], "fresh"),
            ("validate", ["validate", spec], "fresh"),
            ("explain", ["explain", spec, "--env", "prod"], "fresh"),
            ("schema", ["schema"], "fresh"),
            ("output directory is a file", ["compile", spec, "--out", str(blocker)], "fresh"),
        ] + [(f"bad spec {p.name}", ["compile", str(p.relative_to(REPO)), "--out", "{out}"], "compiled") for p in bad]
        results: dict[str, list] = {"reference": [], "current": []}
        for which, path in packages.items():
            base = root / f"base-{which}"
            run_cli(path, ["compile", spec, "--out", str(base)], REPO)
            for i, (label, args, state) in enumerate(cases):
                out = root / f"{which}-{i}"
                if state in ("compiled", "stale"):
                    shutil.copytree(base, out)
                if state == "stale":
                    (out / "qa").mkdir()
                    (out / "qa" / "network.tf.json").write_text("{}\n")
                code, stdout, stderr = run_cli(path, [a.replace("{out}", str(out)) for a in args], REPO)
                stdout, stderr = stdout.replace(str(out), "<out>"), stderr.replace(str(out), "<out>")
                if label == "output directory is a file":  # the traceback differs by design: compare its last line
                    stderr = stderr.strip().splitlines()[-1]
                results[which].append((code, stdout, stderr, snapshot(out)))
        for (label, _, _), theirs, mine in zip(cases, results["reference"], results["current"], strict=True):
            check(
                f"cli: {label}",
                mine == theirs,
                f"exit {mine[0]} vs {theirs[0]}; stdout {mine[1][:300]!r} vs {theirs[1][:300]!r}; stderr {mine[2][-300:]!r} vs {theirs[2][-300:]!r}",
            )
        print(f"cli: {len(cases)} command lines compared (exit code, stdout, stderr, files written)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", required=True, help="the last commit before the refactor under test")
    parser.add_argument("--examples", type=int, default=200, help="generated platforms (default 200)")
    args = parser.parse_args()

    from tmsc.compile import compile_platform
    from tmsc.load import load_platform
    from tmsc.render import stack_documents

    platforms = generated_platforms(args.examples)
    documents = [
        doc
        for p in [load_platform(REPO / "spec" / "platform.yaml"), *platforms]
        for s in compile_platform(p)
        for doc in stack_documents(s).values()
    ]
    check_render_json(documents + awkward_documents())
    check_render_module(reference_module(args.ref, "render.py"), platforms)
    check_cli(args.ref)
    print(f"{len(failures)} differences" if failures else "identical")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
