"""The GitHub workflows and pre-commit hooks: linted, least-privileged, pinned, in step with the spec, and every command they run exists."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tmsc.load import load_platform
from tmsc.services.providers import REQUIRED_TERRAFORM

from .conftest import EXAMPLE_SPEC, REPO, raised

WORKFLOWS = REPO / ".github" / "workflows"
CI_SCRIPT = REPO / ".github" / "scripts" / "ci.py"
VENV_BIN = Path(sys.executable).parent
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
PURPOSE_ORDER = ("development", "preproduction", "production")
SHA_PIN = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<sha>[0-9a-f]{40})$")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def workflow(name: str) -> dict[str, Any]:
    return load_yaml(WORKFLOWS / name)


def triggers(doc: Mapping[Any, Any]) -> dict[str, Any]:
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert isinstance(on, dict), doc
    return on


def jobs(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return doc["jobs"]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def all_steps() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in WORKFLOW_FILES:
        for job_name, job in jobs(load_yaml(path)).items():
            for step in steps(job):
                yield path.name, job_name, step


def tool(name: str) -> Path:
    found = VENV_BIN / name
    if not found.exists():
        pytest.skip(
            f"{name} is not installed in this environment: `make venv` installs it (test extra of pyproject.toml)"
        )
    return found


def test_there_are_the_delivery_workflows() -> None:
    assert {p.name for p in WORKFLOW_FILES} == {"pull-request.yml", "apply.yml", "terraform-apply.yml", "drift.yml"}


# --------------------------------------------------------------------------- the linters


def test_workflows_and_hooks_pass_zizmor_even_pedantic() -> None:
    result = subprocess.run(
        [
            str(tool("zizmor")),
            "--offline",
            "--persona=pedantic",
            "--strict-collection",
            "--no-progress",
            ".github/workflows",
            ".pre-commit-config.yaml",
            ".pre-commit-hooks.yaml",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "No findings" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"])
def test_workflows_match_the_github_workflow_schema(schema: str) -> None:
    result = subprocess.run(
        [str(tool("check-jsonschema")), "--builtin-schema", schema, *map(str, WORKFLOW_FILES)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_spec_passes_check_jsonschema_with_the_committed_schema() -> None:
    result = subprocess.run(
        [str(tool("check-jsonschema")), "--schemafile", "spec/platform.schema.json", "spec/platform.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- least privilege


def test_every_action_is_pinned_by_a_full_commit_with_its_version() -> None:
    pins: dict[str, set[str]] = {}
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if not match:
                continue
            target, comment = match.groups()
            if target.startswith("$/"):
                assert (REPO / target[2:]).is_file(), f"{path.name}: {target}"
                continue
            pinned = SHA_PIN.match(target)
            assert pinned, f"{path.name}: {target} is not pinned by a full commit SHA"
            assert re.fullmatch(r"\s*#\s*v\d+\.\d+\.\d+", comment), (
                f"{path.name}: {target} lacks its '# vX.Y.Z' comment"
            )
            pins.setdefault(pinned["action"], set()).add(pinned["sha"] + comment.strip())
    assert all(len(versions) == 1 for versions in pins.values()), pins
    assert {
        "actions/checkout",
        "aws-actions/configure-aws-credentials",
        "hashicorp/setup-terraform",
        "actions/github-script",
    } <= set(pins)


def test_permissions_are_minimal_per_job() -> None:
    allowed = {"contents": {"read"}, "id-token": {"write"}, "pull-requests": {"write"}, "issues": {"write"}}
    for path in WORKFLOW_FILES:
        doc = load_yaml(path)
        assert doc["permissions"] == {}, f"{path.name}: the workflow grants nothing by default"
        for name, job in jobs(doc).items():
            permissions = job.get("permissions")
            assert isinstance(permissions, dict) and permissions, f"{path.name}:{name} declares its permissions"
            for scope, level in permissions.items():
                assert level in allowed.get(scope, set()), f"{path.name}:{name}: {scope}: {level}"
            uses = [step.get("uses", "") for step in steps(job)] + [job.get("uses", "")]
            assumes_role = any("configure-aws-credentials" in u or "terraform-apply.yml" in u for u in uses)
            assert ("id-token" in permissions) == assumes_role, (
                f"{path.name}:{name}: id-token only where a role is assumed"
            )
            writes_github = any("github-script" in u for u in uses)
            assert (("pull-requests" in permissions) or ("issues" in permissions)) == writes_github, (
                f"{path.name}:{name}"
            )
            assert not ({"id-token", "pull-requests", "issues"} <= set(permissions)), (
                "no job both holds AWS credentials and writes to GitHub"
            )


def test_no_long_lived_keys_and_no_expressions_in_scripts() -> None:
    for path in WORKFLOW_FILES:
        text = path.read_text()
        for forbidden in (
            "aws-access-key-id",
            "aws-secret-access-key",
            "AWS_SECRET_ACCESS_KEY",
            "secrets.",
            "pull_request_target",
            "write-all",
        ):
            assert forbidden not in text, f"{path.name}: {forbidden}"
    for name, job_name, step in all_steps():
        assert "${{" not in step.get("run", ""), (
            f"{name}:{job_name}: pass expressions through env:, never into a script"
        )
        assert "${{" not in step.get("with", {}).get("script", ""), f"{name}:{job_name}"
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, f"{name}:{job_name}: checkout keeps no token"


# --------------------------------------------------------------------------- in step with the spec and the bootstrap stack


def environments_in_apply_order() -> list[str]:
    platform = load_platform(EXAMPLE_SPEC)
    return sorted(
        platform.environments, key=lambda name: (PURPOSE_ORDER.index(platform.environments[name].purpose), name)
    )


def test_apply_runs_every_environment_in_order_with_prod_last() -> None:
    platform = load_platform(EXAMPLE_SPEC)
    order = environments_in_apply_order()
    assert order == ["dev", "staging", "prod"]
    apply = jobs(workflow("apply.yml"))
    chain, previous = [], None
    for name, job in apply.items():
        assert job["uses"] == "$/.github/workflows/terraform-apply.yml"
        assert job.get("needs") == previous if previous else "needs" not in job, f"{name} runs after {previous}"
        chain.append(job["with"]["environment"])
        previous = name
    assert chain == order
    assert platform.delivery is not None
    assert triggers(workflow("apply.yml"))["push"]["branches"] == [platform.delivery.default_branch]
    assert triggers(workflow("pull-request.yml"))["pull_request"]["branches"] == [platform.delivery.default_branch]
    drift = jobs(workflow("drift.yml"))["plan"]
    assert drift["strategy"]["matrix"]["environment"] == order


def test_one_concurrency_group_per_state_and_the_apply_runs_in_its_github_environment() -> None:
    called = workflow("terraform-apply.yml")
    assert set(triggers(called)) == {"workflow_call"}
    for name in ("plan", "apply"):
        job = jobs(called)[name]
        assert job["concurrency"] == {"group": "tfstate-${{ inputs.environment }}", "cancel-in-progress": False}
    apply = jobs(called)["apply"]
    assert apply["environment"] == "${{ inputs.environment }}"
    assert apply["needs"] == "plan" and apply["if"] == "needs.plan.outputs.changes == 'true'"
    runs = [step.get("run", "") for step in steps(apply)]
    assert any("apply" in r and r.rstrip().endswith("tfplan") for r in runs), "the apply applies the saved plan"
    for job in jobs(workflow("drift.yml")).values():
        assert "concurrency" not in job  # the workflow's own group, never a state's: a check must not displace an apply
    assert workflow("drift.yml")["concurrency"]["cancel-in-progress"] is False


def test_each_job_assumes_the_role_meant_for_it() -> None:
    # The variable each workflow reads → the bootstrap output it is set from (README, step 3). The plan roles are
    # maps by environment (one role per account; the maps of several accounts' bootstrap stacks merge), picked by
    # `ci.py role` in the step before; the apply role is one variable per GitHub Environment.
    expected = {
        ("pull-request.yml", "plan"): "vars.TMSC_PR_PLAN_ROLE_ARNS",
        ("terraform-apply.yml", "plan"): "vars.TMSC_MAIN_PLAN_ROLE_ARNS",
        ("terraform-apply.yml", "apply"): "vars.TMSC_APPLY_ROLE_ARN",
        ("drift.yml", "plan"): "vars.TMSC_MAIN_PLAN_ROLE_ARNS",
    }
    found = {}
    for name, job_name, step in all_steps():
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@"):
            role = step["with"]["role-to-assume"].strip("${} ")
            if role == "steps.role.outputs.arn":
                picker = next(s for s in steps(jobs(workflow(name))[job_name]) if s.get("id") == "role")
                variable = picker["env"]["ROLES"].strip("${} ")
                assert f"--variable {variable.removeprefix('vars.')} " in picker["run"]
                role = variable
            found[(name, job_name)] = role
            assert step["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
    assert found == expected
    boot = json.loads((REPO / "out" / "bootstrap" / "outputs.tf.json").read_text())["output"]
    assert {"ci_pr_plan_role_arns", "ci_main_plan_role_arns", "ci_apply_role_arns"} <= set(boot)
    readme = (REPO / "README.md").read_text()
    for variable in ("TMSC_PR_PLAN_ROLE_ARNS", "TMSC_MAIN_PLAN_ROLE_ARNS", "TMSC_APPLY_ROLE_ARN", "AWS_REGION"):
        assert variable in readme, f"the README tells how to set {variable}"


def test_terraform_is_one_version_the_stacks_accept() -> None:
    versions = {
        step["with"]["terraform_version"]
        for _, _, step in all_steps()
        if step.get("uses", "").startswith("hashicorp/setup-terraform@")
    }
    assert len(versions) == 1
    (version,) = versions
    minimum = tuple(int(x) for x in REQUIRED_TERRAFORM.removeprefix(">= ").split("."))
    assert tuple(int(x) for x in version.split("."))[: len(minimum)] >= minimum
    for _, _, step in all_steps():
        if step.get("uses", "").startswith("hashicorp/setup-terraform@"):
            assert step["with"]["terraform_wrapper"] is False  # exit codes (-detailed-exitcode) pass through unchanged


def test_plans_use_detailed_exit_codes() -> None:
    for name, job in (("pull-request.yml", "plan"), ("terraform-apply.yml", "plan"), ("drift.yml", "plan")):
        script = "\n".join(step.get("run", "") for step in steps(jobs(workflow(name))[job]))
        assert "-detailed-exitcode" in script and "-lock-timeout=" in script, name


# --------------------------------------------------------------------------- every command a workflow or hook runs exists

SHELL_BUILTINS = {"set", "cd", "echo", "printf", "test", "[", "true", "false", "exit", "export", "read", ":"}
KEYWORDS_BEFORE_COMMAND = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "fi", "done"}
SEPARATORS = {";", "&&", "||", "|", "(", ")", "&", "\n"}


def commands(script: str) -> Iterator[list[str]]:
    """The simple commands of a POSIX shell script, as word lists (enough shell for our scripts; `for` lists are skipped)."""
    script = script.replace("\\\n", " ")
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        skip_next = False
        for token in [*lexer, ";"]:
            if skip_next:
                skip_next = False
                continue
            if set(token) <= set("<>&") and token not in SEPARATORS:
                skip_next = True  # a redirection and its target
                continue
            if (
                token in SEPARATORS
                or (not words and token in KEYWORDS_BEFORE_COMMAND)
                or (words and token in {"then", "do", "fi", "done", "}"})
            ):
                if words and words[0] != "for":
                    yield words
                words = []
                continue
            if not words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", token):
                continue  # an assignment before (or instead of) a command
            if not words and token.startswith("$"):
                continue  # a command substitution's "$"; its command follows the "("
            words.append(token)


@cache
def makefile_targets() -> set[str]:
    return {
        m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.-]+):(?!=)", (REPO / "Makefile").read_text(), re.MULTILINE)
    } - {".PHONY"}


@cache
def tmsc_has(subcommand: str) -> bool:
    tmsc = VENV_BIN / "tmsc"
    return (
        subprocess.run([str(tmsc), subcommand, "--help"], capture_output=True, text=True, timeout=120).returncode == 0
    )


@cache
def ci_subcommands() -> set[str]:
    spec = importlib.util.spec_from_file_location("ci_script", CI_SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    subparsers = next(a for a in module.parser()._actions if a.dest == "command")
    return set(subparsers.choices)


@cache
def terraform_has(subcommand: str) -> bool:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH")
    return (
        subprocess.run(["terraform", subcommand, "-help"], capture_output=True, text=True, timeout=60).returncode == 0
    )


def check_command(words: list[str], where: str) -> None:
    program, args = words[0], words[1:]
    if program in SHELL_BUILTINS:
        return
    if program in ("sh", "bash") and args[:1] == ["-c"]:
        for inner in commands(args[1]):
            check_command(inner, where)
        return
    if program == "make":
        targets = [a for a in args if not a.startswith("-") and "=" not in a]
        assert targets and set(targets) <= makefile_targets(), f"{where}: make {targets}: no such target"
        return
    if Path(program).name == "tmsc":
        assert args and tmsc_has(args[0]), f"{where}: tmsc {args[:1]}: no such command"
        return
    if Path(program).name.startswith("python"):
        script = REPO / args[0]
        assert script.is_file(), f"{where}: {args[0]} does not exist"
        if script == CI_SCRIPT:
            assert args[1] in ci_subcommands(), f"{where}: ci.py {args[1]}: no such command"
        if "/" in program:
            assert (REPO / program).exists() or Path(program).exists(), f"{where}: {program}"
        return
    if program == "terraform":
        subcommand = next(a for a in args if not a.startswith("-"))
        assert terraform_has(subcommand), f"{where}: terraform {subcommand}"
        return
    if "/" in program:
        assert (REPO / program).exists(), f"{where}: {program} does not exist (after `make venv`)"
        return
    assert shutil.which(program), f"{where}: {program} is not a command here"


def test_the_shell_reader_finds_the_commands() -> None:
    script = 'set +e\nA=1 terraform -chdir="out/$E" plan > plan.log 2>&1\ncode=$?\nif [ "$code" -ne 1 ]; then make x; else cp a b; fi\n{ echo x; git log; } >> "$F"'
    assert [w[0] for w in commands(script)] == ["set", "terraform", "[", "make", "cp", "echo", "git"]


def test_every_command_a_workflow_runs_exists() -> None:
    seen = set()
    for name, job_name, step in all_steps():
        for words in commands(step.get("run", "")):
            check_command(words, f"{name}:{job_name}:{step.get('name', words[0])}")
            seen.add(Path(words[0]).name if "/" not in words[0] or words[0].startswith(".venv") else words[0])
    assert {"make", "terraform", "python3", "python"} <= seen


def test_every_command_a_hook_runs_exists() -> None:
    for path in (REPO / ".pre-commit-config.yaml", REPO / ".pre-commit-hooks.yaml"):
        doc = load_yaml(path)
        hooks = doc if isinstance(doc, list) else [h for repo in doc["repos"] for h in repo["hooks"]]
        for hook in hooks:
            for words in commands(hook["entry"] + " " + " ".join(shlex.quote(a) for a in hook.get("args", []))):
                check_command(words, f"{path.name}:{hook['id']}")


# --------------------------------------------------------------------------- pre-commit


def test_the_repositorys_own_hooks_are_local() -> None:
    config = load_yaml(REPO / ".pre-commit-config.yaml")
    assert config["repos"] and all(repo["repo"] == "local" for repo in config["repos"])
    ids = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"tmsc-validate", "out-in-sync", "schema-in-sync", "docs-in-sync", "workflows"} <= ids
    for repo in config["repos"]:
        for hook in repo["hooks"]:
            assert hook["language"] == "system" and {"id", "name", "entry"} <= set(hook)


def test_hooks_for_other_repositories() -> None:
    hooks = {hook["id"]: hook for hook in load_yaml(REPO / ".pre-commit-hooks.yaml")}
    assert set(hooks) == {"tmsc-validate", "tmsc-out-in-sync"}
    for hook in hooks.values():
        assert {"id", "name", "entry", "language"} <= set(hook) and hook["language"] == "python"
        assert re.compile(hook["files"]).search("spec/platform.yaml")
    assert hooks["tmsc-out-in-sync"]["pass_filenames"] is False


def _hook_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}


def test_the_validate_hook_passes_a_good_spec_and_fails_a_bad_one(tmp_path: Path) -> None:
    hook = next(h for h in load_yaml(REPO / ".pre-commit-hooks.yaml") if h["id"] == "tmsc-validate")
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE_SPEC.read_text().replace("target_percent: 99.9", "target_percent: 99.99"))

    def run(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*shlex.split(hook["entry"]), *files],
            cwd=REPO,
            env=_hook_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run(str(EXAMPLE_SPEC)).returncode == 0
    failed = run(str(EXAMPLE_SPEC), str(bad))
    assert failed.returncode == 2 and "99.99" in failed.stderr


def test_the_out_hook_rewrites_a_stale_out_and_then_passes(tmp_path: Path) -> None:
    hook = next(h for h in load_yaml(REPO / ".pre-commit-hooks.yaml") if h["id"] == "tmsc-out-in-sync")
    (tmp_path / "spec").mkdir()
    shutil.copy(EXAMPLE_SPEC, tmp_path / "spec" / "platform.yaml")
    command = [*shlex.split(hook["entry"]), *hook["args"]]
    assert subprocess.run(command, cwd=tmp_path, env=_hook_env(), capture_output=True, timeout=120).returncode == 0
    stale = tmp_path / "out" / "dev" / "network.tf.json"
    fresh = stale.read_text()
    stale.write_text("{}\n")
    subprocess.run(command, cwd=tmp_path, env=_hook_env(), capture_output=True, timeout=120)
    assert stale.read_text() == fresh  # pre-commit sees the file change and fails the commit until it is staged


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True, capture_output=True
    )


def test_the_out_hook_fails_until_out_is_staged_even_when_git_never_held_it(tmp_path: Path) -> None:
    """pre-commit sees only changes to tracked files: an out/ never added passed a hook that merely recompiled."""
    hook = next(h for h in load_yaml(REPO / ".pre-commit-hooks.yaml") if h["id"] == "tmsc-out-in-sync")
    (tmp_path / "spec").mkdir()
    shutil.copy(EXAMPLE_SPEC, tmp_path / "spec" / "platform.yaml")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "spec")
    _git(tmp_path, "commit", "-qm", "spec")
    command = [*shlex.split(hook["entry"]), *hook["args"]]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=tmp_path, env=_hook_env(), capture_output=True, text=True, timeout=120)

    never_added = run()
    assert never_added.returncode == 1 and "git add out" in never_added.stderr, never_added.stderr
    _git(tmp_path, "add", "out")
    assert run().returncode == 0  # staged as compiled: in sync, before any commit
    _git(tmp_path, "commit", "-qm", "out")
    (tmp_path / "out" / "dev" / "network.tf.json").write_text("{}\n")
    _git(tmp_path, "add", "out")  # a stale out/ staged: the hook recompiles it, and the index no longer agrees
    stale = run()
    assert stale.returncode == 1 and "out/dev/network.tf.json" in stale.stderr, stale.stderr
    _git(tmp_path, "add", "out")
    assert run().returncode == 0


def test_each_hook_reports_a_bad_spec_once(tmp_path: Path) -> None:
    """The validate hook prints the located error; the out/ and docs hooks, which need a valid spec, say so in one
    line each instead of printing it again (and the docs generator never ends in a traceback)."""
    infeasible = tmp_path / "platform.yaml"
    infeasible.write_text(EXAMPLE_SPEC.read_text().replace("rpo_minutes: 15", "rpo_minutes: 2", 1))
    env = _hook_env()

    validate = subprocess.run(
        ["tmsc", "validate", str(infeasible)], env=env, capture_output=True, text=True, timeout=120
    )
    assert validate.returncode == 2 and f"{infeasible}:" in validate.stderr and "rpo" in validate.stderr.lower()

    out_hook = subprocess.run(
        ["tmsc", "out-in-sync", str(infeasible), "--out", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out_hook.returncode == 2 and len(out_hook.stderr.strip().splitlines()) == 1, out_hook.stderr
    assert "tmsc validate" in out_hook.stderr and not (tmp_path / "out").exists()

    docs = [sys.executable, str(REPO / "docs" / "generate.py"), "--check", "--spec", str(infeasible)]
    deferred = subprocess.run([*docs, "--defer-spec-errors"], capture_output=True, text=True, timeout=120)
    assert deferred.returncode == 2 and len(deferred.stderr.strip().splitlines()) == 1, deferred.stderr
    located = subprocess.run(docs, capture_output=True, text=True, timeout=120)
    assert located.returncode == 2 and "Traceback" not in located.stderr
    assert f"{infeasible}:" in located.stderr and "rpo" in located.stderr.lower()


# --------------------------------------------------------------------------- .github/scripts/ci.py


def ci(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CI_SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_changed_specs_and_stacks(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    for path in (
        "spec/platform.yaml",
        "spec/platform.schema.json",
        "out/dev/network.tf.json",
        "out/prod/network.tf.json",
        "out/bootstrap/state.tf.json",
        "README.md",
    ):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("a\n")
    # The compiled bootstrap gives dev, and not prod, a pull-request role.
    outputs = {"output": {"ci_pr_plan_role_arns": {"value": {"dev": "${aws_iam_role.ci_pr_plan.arn}"}}}}
    (tmp_path / "out" / "bootstrap" / "outputs.tf.json").write_text(json.dumps(outputs))
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    base = git(tmp_path, "rev-parse", "HEAD")
    git(tmp_path, "checkout", "-q", "-b", "change")
    (tmp_path / "spec" / "platform.yaml").write_text("b\n")
    (tmp_path / "spec" / "platform.schema.json").write_text("b\n")
    (tmp_path / "out" / "prod" / "network.tf.json").write_text("b\n")
    (tmp_path / "out" / "dev" / "network.tf.json").write_text("b\n")
    (tmp_path / "out" / "bootstrap" / "state.tf.json").unlink()
    git(tmp_path, "commit", "-q", "-am", "change")
    head = git(tmp_path, "rev-parse", "HEAD")
    assert ci("changed-specs", "--base", base, "--head", head, cwd=tmp_path).stdout == "specs=spec/platform.yaml\n"
    assert (
        ci("changed-stacks", "--base", base, "--head", head, cwd=tmp_path).stdout
        == 'environments=["dev"]\nafter_merge=["prod"]\nbootstrap=true\n'
    )
    # Several accounts: out/bootstrap-<account id>/ is a bootstrap stack too.
    git(tmp_path, "mv", "out/bootstrap", "out/bootstrap-111111111111")
    git(tmp_path, "commit", "-q", "-m", "accounts")
    moved = ci("changed-stacks", "--base", head, "--head", "HEAD", cwd=tmp_path).stdout
    assert moved == "environments=[]\nafter_merge=[]\nbootstrap=true\n"


def test_plan_summary_and_the_pull_request_comment(tmp_path: Path) -> None:
    plan = tmp_path / "plan.txt"
    plan.write_text(
        "  # aws_db_instance.database will be updated in-place\n\nPlan: 0 to add, 1 to change, 0 to destroy.\n"
    )
    explain = tmp_path / "explain.diff"
    explain.write_text("-prod  database.multi_az = false\n+prod  database.multi_az = true\n")
    sections = tmp_path / "plans"
    sections.mkdir()
    assert (
        ci(
            "plan-summary",
            "--env",
            "prod",
            "--plan",
            str(plan),
            "--exitcode",
            "2",
            "--explain",
            str(explain),
            "--out",
            str(sections / "plan-prod.md"),
        ).returncode
        == 0
    )
    summary = (sections / "plan-prod.md").read_text()
    assert (
        summary.startswith("### `prod`: Plan: 0 to add, 1 to change, 0 to destroy.")
        and "+prod  database.multi_az = true" in summary
    )
    comment = tmp_path / "comment.md"
    assert (
        ci(
            "pr-comment",
            "--dir",
            str(sections),
            "--bootstrap",
            "true",
            "--after-merge",
            '["live"]',
            "--out",
            str(comment),
        ).returncode
        == 0
    )
    body = comment.read_text()
    assert body.startswith("<!-- tmsc-plan -->") and "out/bootstrap/ changed" in body and "### `prod`" in body
    assert "### `live`: planned after the merge" in body and "GitHub Environment `live`" in body
    assert len(body) < 65536


def test_drift_report(tmp_path: Path) -> None:
    for env, code, text in (
        ("dev", 0, "No changes. Your infrastructure matches the configuration."),
        ("prod", 2, "Plan: 0 to add, 1 to change, 0 to destroy."),
    ):
        folder = tmp_path / "drift" / env
        folder.mkdir(parents=True)
        (folder / "plan.txt").write_text(text + "\n")
        (folder / "result.json").write_text(json.dumps({"environment": env, "exitcode": code}))
    assert ci("drift-report", "--dir", str(tmp_path / "drift"), "--out", str(tmp_path / "drift.json")).returncode == 0
    report = json.loads((tmp_path / "drift.json").read_text())
    assert (
        report["dev"]["drift"] is False
        and report["prod"]["drift"] is True
        and report["prod"]["summary"].startswith("Plan: 0 to add, 1 to change")
    )


def test_explain_diff_against_a_base_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "spec").mkdir()
    spec = tmp_path / "spec" / "platform.yaml"
    spec.write_text(EXAMPLE_SPEC.read_text())
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    spec.write_text(raised(EXAMPLE_SPEC.read_text(), "target_percent: 99.5"))
    result = ci("explain-diff", "--base", "HEAD", "--env", "staging", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "-staging  database.multi_az = false" in result.stdout and "+staging  database.multi_az = true" in result.stdout
    )
    assert "(no derived setting changes)" in ci("explain-diff", "--base", "HEAD", "--env", "dev", cwd=tmp_path).stdout
