"""`make demo`: apply a compiled environment on the local AWS emulator and print its outputs.

    python -m tests.demo [--env dev]

Starts the patched moto server on 127.0.0.1, applies out/<env> in a scratch
copy (the compiled files are never changed: a test-only override points them
at the emulator and a local state file), prints the outputs, and stops the
emulator. Nothing reaches AWS; no credentials are needed.

The apply shows its progress (tests/emulator/progress.py): on a terminal one
line rewritten in place, in a pipe or a CI log a few plain lines. What the
run leaves is under build/demo/<env>/: terraform's logs (stack/.logs/, the
apply's as its -json stream) and the emulator's own log (emulator.log: the
retried writes it answered from their first attempt, and any warning of
moto's), which is kept off the screen.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.emulator import TerraformError, TerraformWorkspace, start_emulator
from tests.emulator.progress import ProgressLine, clock, follow, shown
from tmsc.compile import CONTRACT_OUTPUTS
from tmsc.kubernetes import output_values, render
from tmsc.load import load_platform
from tmsc.write import replace_directory

REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def logs_to(path: Path) -> Iterator[logging.Handler]:
    """Send every log record of this process to ``path`` instead of the screen.

    Without a handler of its own a warning (the emulator's "replayed the answer
    to a retried write", tests/emulator/server.py) goes to stderr through
    logging's last resort, in the middle of the progress line. The emulator's
    logger records everything here; other libraries their warnings.
    """
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root, emulator = logging.getLogger(), logging.getLogger("tmsc.emulator")
    saved_level = emulator.level
    root.addHandler(handler)
    emulator.setLevel(logging.DEBUG)
    logging.captureWarnings(True)
    try:
        yield handler
    finally:
        logging.captureWarnings(False)
        emulator.setLevel(saved_level)
        root.removeHandler(handler)
        handler.close()


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
    run_dir = REPO / "build" / "demo" / args.env
    run_dir.mkdir(parents=True, exist_ok=True)
    emulator_log = run_dir / "emulator.log"
    with logs_to(emulator_log), start_emulator(region=platform.region) as emulator:
        print(f"emulator on {emulator.endpoint}; its log: {shown(emulator_log)}", flush=True)
        workspace = TerraformWorkspace(stack, emulator, run_dir)
        display = ProgressLine(sys.stdout)
        try:
            display.message(f"init: terraform init in {shown(workspace.dir)}")
            workspace.init()
            running = workspace.start_apply("-json")
            follow(running, display, timeout=workspace.timeout)
        except TerraformError as error:
            print(error, file=sys.stderr)
            return 1
        outputs = workspace.output()
        resources = len(workspace.resource_addresses())
        print(f"\napplied {resources} resources in {clock(time.monotonic() - started)}\n")
        width = max(len(name) for name in outputs)
        for name in CONTRACT_OUTPUTS:
            print(f"{name:<{width}}  {outputs[name]}")
        print()
        for name in sorted(set(outputs) - set(CONTRACT_OUTPUTS)):
            print(f"{name:<{width}}  {outputs[name]}")
        replayed = len(emulator.replayed)
        print(f"\nlogs: terraform {shown(workspace.log_dir)}/, emulator {shown(emulator_log)}", end="")
        print(f" ({replayed} retried write{'s' if replayed != 1 else ''} replayed)" if replayed else "")
        # The consumer's side: the manifests of this environment, from its terraform output -json.
        outputs_file = run_dir / "outputs.json"
        outputs_file.write_text(json.dumps(workspace.output(raw=True), indent=2, sort_keys=True) + "\n")
        manifests = run_dir / "kubernetes"
        files = render(
            platform,
            args.env,
            output_values(platform, args.env, json.loads(outputs_file.read_text()), str(outputs_file)),
        )
        replace_directory(manifests, files)
        print(f"\nKubernetes manifests ({len(files)} files, tmsc kubernetes): {shown(manifests)}/")
        print(f"  from {shown(outputs_file)}; apply them in the order of the README's 'For the Kubernetes repository'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
