"""`make demo`: apply a compiled environment on the local AWS emulator and print its outputs.

    python -m tests.demo [--env dev]

Starts the patched moto server on 127.0.0.1, applies out/<env> in a scratch
copy (the compiled files are never changed: a test-only override points them
at the emulator and a local state file), prints the outputs, and stops the
emulator. Nothing reaches AWS; no credentials are needed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.emulator import TerraformError, TerraformWorkspace, start_emulator
from tmsc.compile import CONTRACT_OUTPUTS
from tmsc.load import load_platform

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="dev", help="environment under out/ to apply (default: dev)")
    parser.add_argument("--spec", default=str(REPO / "spec" / "platform.yaml"))
    args = parser.parse_args(argv)
    stack = REPO / "out" / args.env
    if not stack.is_dir():
        print(f"no compiled environment at {stack}: run `tmsc compile {args.spec}` first", file=sys.stderr)
        return 2
    platform = load_platform(args.spec)
    started = time.monotonic()
    with (
        start_emulator(region=platform.region) as emulator,
        tempfile.TemporaryDirectory(prefix="tmsc-demo-") as scratch,
    ):
        print(
            f"emulator on {emulator.endpoint}; applying out/{args.env} (a few minutes: RDS and ElastiCache waits dominate)"
        )
        workspace = TerraformWorkspace(stack, emulator, scratch)
        try:
            workspace.init()
            workspace.apply()
        except TerraformError as error:
            print(error, file=sys.stderr)
            return 1
        outputs = workspace.output()
        resources = len(workspace.resource_addresses())
        print(f"\napplied {resources} resources in {time.monotonic() - started:.0f} s\n")
        width = max(len(name) for name in outputs)
        for name in CONTRACT_OUTPUTS:
            print(f"{name:<{width}}  {outputs[name]}")
        print()
        for name in sorted(set(outputs) - set(CONTRACT_OUTPUTS)):
            print(f"{name:<{width}}  {outputs[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
