#!/usr/bin/env python3
"""Small steps of the delivery workflows, kept out of YAML so they can be tested (tests/test_delivery_workflows.py).

Standard library only: the jobs that call it have no virtual environment,
except `explain-diff` and `spec-diff`, which run tmsc and are called with .venv/bin/python.

    changed-specs   --base SHA --head SHA            GitHub step output: specs=<the spec files a pull request adds or changes>
    changed-stacks  --base SHA --head SHA            GitHub step outputs: environments=[...] whose out/ changed, bootstrap=true|false
    explain-diff    --base SHA --env ENV [--spec P]  unified diff of `tmsc explain` between the base and the working tree
    spec-diff       --base SHA --specs "P ..." --out F
                                                     `tmsc diff --markdown` of each spec between the base and the working tree
    plan-summary    --env ENV --plan F --exitcode N [--explain F] [--guard F] --out F
                                                     markdown section for the pull-request comment
    pr-comment      --dir D [--bootstrap true|false] --out F
                                                     the sticky pull-request comment from the sections in D
    drift-report    --dir D --out F                  {env: {"drift": bool, "summary": str}} from the drift artifacts
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SPEC_PATTERN = re.compile(r"^spec/.+\.ya?ml$")
STACK_PATTERN = re.compile(r"^out/([^/]+)/[^/]+\.tf\.json$")
BOOTSTRAP = "bootstrap"
COMMENT_MARKER = "<!-- tmsc-plan -->"
# A comment holds at most 65536 characters; each environment's plan gets a share.
MAX_PLAN_CHARS = 12000
PLAN_LINE = re.compile(r"^(Plan: .*|No changes\..*|Changes to Outputs:.*)$", re.MULTILINE)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def changed_files(base: str, head: str) -> list[str]:
    # Three dots: what the pull request changes since it branched, whatever landed on the base since.
    return [line for line in git("diff", "--name-only", "--diff-filter=d", f"{base}...{head}").splitlines() if line]


def deleted_or_changed(base: str, head: str) -> list[str]:
    return [line for line in git("diff", "--name-only", f"{base}...{head}").splitlines() if line]


def cmd_changed_specs(args: argparse.Namespace) -> int:
    specs = [path for path in changed_files(args.base, args.head) if SPEC_PATTERN.match(path) and " " not in path]
    print(f"specs={' '.join(specs)}")
    return 0


def cmd_changed_stacks(args: argparse.Namespace) -> int:
    stacks = sorted(
        {m.group(1) for path in deleted_or_changed(args.base, args.head) if (m := STACK_PATTERN.match(path))}
    )
    environments = [s for s in stacks if s != BOOTSTRAP]
    print(f"environments={json.dumps(environments)}")
    print(f"bootstrap={'true' if BOOTSTRAP in stacks else 'false'}")
    return 0


def explain(spec: Path, env: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "tmsc.cli", "explain", str(spec), "--env", env], capture_output=True, text=True
    )
    if result.returncode != 0:
        return [f"(tmsc explain failed: {line})" for line in result.stderr.splitlines()] or ["(tmsc explain failed)"]
    return result.stdout.splitlines()


def cmd_explain_diff(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        base_spec = Path(tmp) / "base.yaml"
        try:
            base_spec.write_text(git("show", f"{args.base}:{args.spec}"))
            base = explain(base_spec, args.env)
        except subprocess.CalledProcessError:
            base = []  # a new spec, or a new environment
        head = explain(Path(args.spec), args.env)
    diff = list(difflib.unified_diff(base, head, f"base/{args.spec}", f"head/{args.spec}", lineterm="", n=0))
    print("\n".join(diff) if diff else "(no derived setting changes)")
    return 0


def cmd_spec_diff(args: argparse.Namespace) -> int:
    """What each changed spec does, before any plan: a section of the pull-request comment."""
    parts = []
    for spec in args.specs.split():
        exists = subprocess.run(["git", "cat-file", "-e", f"{args.base}:{spec}"], capture_output=True).returncode == 0
        if not exists:
            parts.append(f"### `{spec}` is new in this pull request\n")
            continue
        result = subprocess.run(
            [sys.executable, "-m", "tmsc.cli", "diff", f"git:{args.base}:{spec}", spec, "--markdown"],
            capture_output=True,
            text=True,
        )
        if result.returncode == 0:
            parts.append(result.stdout)
        else:
            parts.append(f"### `tmsc diff` of `{spec}` failed\n\n{fence(result.stderr)}\n")
    Path(args.out).write_text("\n".join(parts) if parts else "No spec changed.\n")
    return 0


def summarize_plan(text: str, exitcode: int) -> str:
    if exitcode == 1:
        return "plan failed"
    lines = PLAN_LINE.findall(text)
    return "; ".join(lines) if lines else ("no changes" if exitcode == 0 else "changes")


def fence(text: str, lang: str = "") -> str:
    text = text.replace("```", "`\u200b``")
    return f"```{lang}\n{text.rstrip()}\n```"


def cmd_plan_summary(args: argparse.Namespace) -> int:
    plan = Path(args.plan).read_text(errors="replace") if Path(args.plan).is_file() else "(no plan output)"
    summary = summarize_plan(plan, args.exitcode)
    if len(plan) > MAX_PLAN_CHARS:
        plan = plan[:MAX_PLAN_CHARS] + f"\n… {len(plan) - MAX_PLAN_CHARS} more characters in the job log"
    parts = [f"### `{args.env}`: {summary}", ""]
    if args.explain and Path(args.explain).is_file():
        parts += [
            "<details><summary>tmsc explain: what the requirements now derive</summary>",
            "",
            fence(Path(args.explain).read_text(), "diff"),
            "</details>",
            "",
        ]
    guard = Path(args.guard).read_text(errors="replace") if args.guard and Path(args.guard).is_file() else None
    if guard is not None and "not acknowledged" in guard:
        parts += ["> [!CAUTION]", "> `tmsc guard` refuses this plan: it deletes or replaces a data store.", ""]
        parts += [fence(guard), ""]
    elif guard is not None:
        parts += ["<details><summary>tmsc guard</summary>", "", fence(guard), "</details>", ""]
    parts += ["<details><summary>terraform plan</summary>", "", fence(plan), "</details>", ""]
    Path(args.out).write_text("\n".join(parts))
    return 0


def cmd_pr_comment(args: argparse.Namespace) -> int:
    sections = sorted(Path(args.dir).rglob("*.md"))
    parts = [COMMENT_MARKER, "## tmsc: plan of this pull request", ""]
    if args.bootstrap == "true":
        parts += [
            "> **out/bootstrap/ changed.** The bootstrap stack (state bucket, lock table, CI roles) is applied by an",
            "> administrator, never by CI: see the README, *Bootstrap the state and go to a real AWS account*.",
            "",
        ]
    if not sections:
        parts.append("No environment's `out/` changed: nothing to plan.")
    parts += [section.read_text() for section in sections]
    Path(args.out).write_text("\n".join(parts) + "\n")
    return 0


def cmd_drift_report(args: argparse.Namespace) -> int:
    report: dict[str, dict[str, object]] = {}
    for result in sorted(Path(args.dir).rglob("result.json")):
        data = json.loads(result.read_text())
        plan_file = result.with_name("plan.txt")
        plan = plan_file.read_text(errors="replace") if plan_file.is_file() else ""
        if len(plan) > MAX_PLAN_CHARS:
            plan = plan[:MAX_PLAN_CHARS] + "\n… (truncated; see the job log)"
        report[data["environment"]] = {
            "drift": data["exitcode"] == 2,
            "failed": data["exitcode"] == 1,
            "summary": summarize_plan(plan, data["exitcode"]),
            "plan": fence(plan),
        }
    Path(args.out).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="ci.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = root.add_subparsers(dest="command", required=True)
    for name, handler in (("changed-specs", cmd_changed_specs), ("changed-stacks", cmd_changed_stacks)):
        p = sub.add_parser(name)
        p.add_argument("--base", required=True)
        p.add_argument("--head", required=True)
        p.set_defaults(handler=handler)
    p = sub.add_parser("explain-diff")
    p.add_argument("--base", required=True)
    p.add_argument("--env", required=True)
    p.add_argument("--spec", default="spec/platform.yaml")
    p.set_defaults(handler=cmd_explain_diff)
    p = sub.add_parser("spec-diff")
    p.add_argument("--base", required=True)
    p.add_argument("--specs", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(handler=cmd_spec_diff)
    p = sub.add_parser("plan-summary")
    p.add_argument("--env", required=True)
    p.add_argument("--plan", required=True)
    p.add_argument("--exitcode", type=int, required=True)
    p.add_argument("--explain")
    p.add_argument("--guard")
    p.add_argument("--out", required=True)
    p.set_defaults(handler=cmd_plan_summary)
    p = sub.add_parser("pr-comment")
    p.add_argument("--dir", required=True)
    p.add_argument("--bootstrap", choices=("true", "false"), default="false")
    p.add_argument("--out", required=True)
    p.set_defaults(handler=cmd_pr_comment)
    p = sub.add_parser("drift-report")
    p.add_argument("--dir", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(handler=cmd_drift_report)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
