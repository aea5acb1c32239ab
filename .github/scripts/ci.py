#!/usr/bin/env python3
"""Small steps of the delivery workflows, kept out of YAML so they can be tested (tests/test_delivery_workflows.py).

Standard library only: the jobs that call it have no virtual environment,
except `explain-diff` and `spec-diff`, which run tmsc and are called with .venv/bin/python.
`seal-plan` and `open-plan` also run the AWS CLI and openssl (both on GitHub's runners).

    changed-specs   --base SHA --head SHA            GitHub step output: specs=<the spec files a pull request adds or changes>
    changed-stacks  --base SHA --head SHA            GitHub step outputs: environments=[...] whose out/ changed and that a
                                                     pull request may plan, after_merge=[...] changed but planned only after
                                                     the merge (production), bootstrap=true|false
    explain-diff    --base SHA --env ENV [--spec P]  unified diff of `tmsc explain` between the base and the working tree
    spec-diff       --base SHA --specs "P ..." --out F
                                                     `tmsc diff --markdown` of each spec between the base and the working tree
    plan-summary    --env ENV --plan F --exitcode N [--explain F] [--guard F] --out F
                                                     markdown section for the pull-request comment
    pr-comment      --dir D [--bootstrap true|false] [--after-merge JSON] --out F
                                                     the sticky pull-request comment from the sections in D
    role            --roles JSON --variable NAME --env ENV
                                                     GitHub step output: arn=<ENV's role ARN in the JSON map of NAME>
    seal-plan       --plan F --env ENV --key ALIAS --out F
                                                     encrypt a saved plan with a fresh KMS data key (encryption context
                                                     environment=ENV): only ENV's apply role can open it
    open-plan       --sealed F --env ENV --out F     decrypt and verify a sealed plan (with ENV's apply role)
    drift-report    --dir D --out F                  {env: {"drift": bool, "summary": str}} from the drift artifacts
"""

from __future__ import annotations

import argparse
import base64
import difflib
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SPEC_PATTERN = re.compile(r"^spec/.+\.ya?ml$")
STACK_PATTERN = re.compile(r"^out/([^/]+)/[^/]+\.tf\.json$")
BOOTSTRAP = "bootstrap"  # out/bootstrap/, or out/bootstrap-<account id>/ for each of several accounts
# The bootstrap output naming the environments the pull-request role may plan (their role ARN by environment).
PR_PLAN_OUTPUT = "ci_pr_plan_role_arns"
SEALED_FORMAT = "tmsc-sealed-plan-1"
PLAN_CONTEXT_KEY = "environment"  # compiler/tmsc/services/delivery.py PLAN_CONTEXT_KEY: the key policy's condition
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


def is_bootstrap(stack: str) -> bool:
    return stack == BOOTSTRAP or stack.startswith(f"{BOOTSTRAP}-")


def pull_request_environments(out: Path) -> set[str]:
    """The environments the compiled bootstrap stacks give a pull-request role (production has none).

    This only decides which plans a pull request attempts: what the role may read is decided by IAM, in the
    bootstrap stack an administrator applied, whatever a pull request changes here.
    """
    found: set[str] = set()
    for outputs in sorted(out.glob(f"{BOOTSTRAP}*/outputs.tf.json")):
        value = json.loads(outputs.read_text()).get("output", {}).get(PR_PLAN_OUTPUT, {}).get("value", {})
        found.update(value)
    return found


def cmd_changed_stacks(args: argparse.Namespace) -> int:
    stacks = sorted(
        {m.group(1) for path in deleted_or_changed(args.base, args.head) if (m := STACK_PATTERN.match(path))}
    )
    environments = [s for s in stacks if not is_bootstrap(s)]
    plannable = pull_request_environments(Path(args.out))
    print(f"environments={json.dumps([e for e in environments if e in plannable])}")
    print(f"after_merge={json.dumps([e for e in environments if e not in plannable])}")
    print(f"bootstrap={'true' if any(is_bootstrap(s) for s in stacks) else 'false'}")
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
    after_merge = json.loads(args.after_merge or "[]")
    for env in after_merge:
        parts += [
            f"### `{env}`: planned after the merge",
            "",
            f"No role a pull request can assume reads `{env}`'s state or secrets. What this pull request changes in "
            f"`{env}` is in the `tmsc diff` above; its Terraform plan is made after the merge, shown in the apply "
            f"run's summary, and applied only once the reviewers of the GitHub Environment `{env}` approve it.",
            "",
        ]
    if not sections and not after_merge:
        parts.append("No environment's `out/` changed: nothing to plan.")
    parts += [section.read_text() for section in sections]
    Path(args.out).write_text("\n".join(parts) + "\n")
    return 0


ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")


def cmd_role(args: argparse.Namespace) -> int:
    """The role of one environment from a repository variable mapping environments to role ARNs (several accounts,
    several roles): a missing or malformed entry fails here, naming the variable, rather than in STS."""
    try:
        roles = json.loads(args.roles) if args.roles.strip() else {}
    except json.JSONDecodeError as exc:
        raise SystemExit(f"the repository variable {args.variable} is not JSON ({exc})") from None
    arn = roles.get(args.env) if isinstance(roles, dict) else None
    if not isinstance(arn, str) or not ROLE_ARN.match(arn):
        raise SystemExit(
            f"the repository variable {args.variable} has no role ARN for {args.env}: set it from the bootstrap "
            f"output of the same name (README, 'Bootstrap the state and go to a real AWS account')"
        )
    print(f"arn={arn}")
    return 0


def aws_json(*args: str) -> dict[str, str]:
    result = subprocess.run(["aws", *args, "--output", "json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"aws {args[0]} {args[1]} failed: {result.stderr.strip()}")
    return dict(json.loads(result.stdout))


def _subkeys(data_key: bytes) -> tuple[str, bytes]:
    """The cipher's passphrase and the MAC key, both derived from the KMS data key (never the key itself twice)."""
    cipher = hmac.new(data_key, b"tmsc-plan-cipher", hashlib.sha256).hexdigest()
    mac = hmac.new(data_key, b"tmsc-plan-mac", hashlib.sha256).digest()
    return cipher, mac


def _openssl(decrypt: bool, passphrase: str, source: Path, target: Path) -> None:
    # The passphrase goes in on stdin, never on the command line (other processes see argv).
    command = ["openssl", "enc", "-aes-256-ctr", "-pbkdf2", "-iter", "100000", "-pass", "stdin"]
    command += ["-d"] if decrypt else ["-salt"]
    command += ["-in", str(source), "-out", str(target)]
    result = subprocess.run(command, input=passphrase + "\n", capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"openssl failed: {result.stderr.strip()}")


def _mac(mac_key: bytes, header: dict[str, str], body: bytes) -> str:
    signed = json.dumps({k: v for k, v in header.items() if k != "mac"}, sort_keys=True).encode() + b"\n" + body
    return hmac.new(mac_key, signed, hashlib.sha256).hexdigest()


def cmd_seal_plan(args: argparse.Namespace) -> int:
    """Encrypt-then-MAC a saved plan under a fresh data key of the account's plan key.

    A saved plan holds the prior state, sensitive values in clear; the artifact that carries it from the plan
    job to the apply job can be downloaded by anyone who can read the run. The data key is released again only
    by KMS, and the key policy releases it only to the apply role of this environment (encryption context).
    """
    context = f"{PLAN_CONTEXT_KEY}={args.env}"
    key = aws_json(
        "kms", "generate-data-key", "--key-id", args.key, "--key-spec", "AES_256", "--encryption-context", context
    )
    cipher, mac_key = _subkeys(base64.b64decode(key["Plaintext"]))
    with tempfile.TemporaryDirectory() as tmp:
        body_path = Path(tmp) / "body"
        _openssl(False, cipher, Path(args.plan), body_path)
        body = body_path.read_bytes()
    header = {"format": SEALED_FORMAT, "environment": args.env, "key": key["CiphertextBlob"]}
    header["mac"] = _mac(mac_key, header, body)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(json.dumps(header, sort_keys=True).encode() + b"\n" + body)
    return 0


def cmd_open_plan(args: argparse.Namespace) -> int:
    raw = Path(args.sealed).read_bytes()
    first, _, body = raw.partition(b"\n")
    header = json.loads(first)
    if header.get("format") != SEALED_FORMAT or header.get("environment") != args.env:
        raise SystemExit(f"{args.sealed} is not a plan sealed for {args.env}")
    with tempfile.TemporaryDirectory() as tmp:
        blob = Path(tmp) / "key"
        blob.write_bytes(base64.b64decode(header["key"]))
        key = aws_json(
            "kms",
            "decrypt",
            "--ciphertext-blob",
            f"fileb://{blob}",
            "--encryption-context",
            f"{PLAN_CONTEXT_KEY}={args.env}",
        )
        cipher, mac_key = _subkeys(base64.b64decode(key["Plaintext"]))
        if not hmac.compare_digest(_mac(mac_key, header, body), header.get("mac", "")):
            raise SystemExit(f"{args.sealed} was changed after it was sealed: not applying it")
        body_path = Path(tmp) / "body"
        body_path.write_bytes(body)
        out = Path(args.out)
        _openssl(True, cipher, body_path, out)
        os.chmod(out, 0o600)
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
        if name == "changed-stacks":
            p.add_argument(
                "--out", default="out", help="the compiled out/ (its bootstrap outputs name what a PR plans)"
            )
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
    p.add_argument("--after-merge", default="[]", help="JSON list of changed environments planned only after the merge")
    p.add_argument("--out", required=True)
    p.set_defaults(handler=cmd_pr_comment)
    p = sub.add_parser("role")
    p.add_argument("--roles", required=True)
    p.add_argument("--variable", required=True)
    p.add_argument("--env", required=True)
    p.set_defaults(handler=cmd_role)
    p = sub.add_parser("seal-plan")
    p.add_argument("--plan", required=True)
    p.add_argument("--env", required=True)
    p.add_argument("--key", required=True, help="the plan key's alias, e.g. alias/tms-ci-plans")
    p.add_argument("--out", required=True)
    p.set_defaults(handler=cmd_seal_plan)
    p = sub.add_parser("open-plan")
    p.add_argument("--sealed", required=True)
    p.add_argument("--env", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(handler=cmd_open_plan)
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
