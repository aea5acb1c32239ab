"""`tmsc diff BASE HEAD` (issue 13, item 1): what a spec change does, before any plan runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tmsc.diff import (
    DATA_HOLDING,
    MAY_REPLACE,
    ResourceChange,
    _resource_changes,
    diff_specs,
    markdown_report,
    read_side,
    text_report,
)

from .conftest import EXAMPLE_SPEC, REPO, raised

TMSC = [sys.executable, "-m", "tmsc.cli"]


def edited(tmp_path: Path, old: str, new: str, name: str = "head.yaml") -> Path:
    text = EXAMPLE_SPEC.read_text()
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def dev_raised(tmp_path: Path, name: str = "head.yaml") -> Path:
    """dev raised to 99.9%, with what that takes (conftest.raised)."""
    path = tmp_path / name
    path.write_text(raised(EXAMPLE_SPEC.read_text()))
    return path


def changes_of(tmp_path: Path, old: str, new: str) -> dict[str, dict[str, ResourceChange]]:
    diff = diff_specs(read_side(str(EXAMPLE_SPEC)), read_side(str(edited(tmp_path, old, new))))
    return {s.name: {r.address: r for r in s.resources} for s in diff.stacks}


def test_the_same_spec_changes_nothing() -> None:
    side = read_side(str(EXAMPLE_SPEC))
    diff = diff_specs(side, side)
    assert all(s.empty for s in diff.stacks) and not diff.warnings
    assert "no change to any environment" in text_report(diff)


def test_raising_dev_to_999_names_the_broker_replacement_before_any_plan(tmp_path: Path) -> None:
    head = dev_raised(tmp_path)
    diff = diff_specs(read_side(str(EXAMPLE_SPEC)), read_side(str(head)))
    (dev,) = [s for s in diff.stacks if not s.empty]
    assert dev.name == "dev"
    assert ("availability.target_percent", "99", "99.9") in dev.requirements
    modes = [s for s in dev.settings if s.setting == "broker.deployment_mode"]
    assert len(modes) == 1
    mode = modes[0]
    assert (mode.before, mode.after) == ('"SINGLE_INSTANCE"', '"CLUSTER_MULTI_AZ"')
    assert "availability 99% ≤ 99.5%" in mode.reason_before and "availability 99.9% > 99.5%" in mode.reason_after
    broker = {r.address: r for r in dev.resources}["aws_mq_broker.messaging"]
    assert broker.action == "change" and {"deployment_mode", "subnet_ids"} <= set(broker.attributes)
    assert any(
        "may replace this message broker" in w and "deployment_mode and subnet_ids" in w for w in broker.warnings
    )
    assert any("a second rabbitmq service beside this one" in n for n in broker.notes)
    # The database goes Multi-AZ in place: a change, and no warning.
    database = {r.address: r for r in dev.resources}["aws_db_instance.database"]
    assert "multi_az" in database.attributes and not database.warnings
    assert [address for address, _ in dev.warnings] == ["aws_mq_broker.messaging"]
    text = text_report(diff)
    assert "WARNING aws_mq_broker.messaging: may replace" in text and "1 warning" in text
    markdown = markdown_report(diff)
    assert "> [!WARNING]" in markdown and "| `broker.deployment_mode` |" in markdown


def test_a_protected_broker_is_named_as_forbidden_by_prevent_destroy(tmp_path: Path) -> None:
    broker = changes_of(tmp_path, "target_percent: 99.5", "target_percent: 99.9")["staging"]["aws_mq_broker.messaging"]
    assert any("prevent_destroy forbids it" in w for w in broker.warnings)


def test_removing_an_environment_destroys_its_data_stores(tmp_path: Path) -> None:
    text = EXAMPLE_SPEC.read_text()
    start = text.index("  staging:\n")
    head = tmp_path / "head.yaml"
    head.write_text(text[:start] + text[text.index("  prod:\n") :])
    diff = diff_specs(read_side(str(EXAMPLE_SPEC)), read_side(str(head)))
    staging = next(s for s in diff.stacks if s.name == "staging")
    assert staging.status == "removed"
    destroyed = {address for address, warning in staging.warnings if warning.startswith("destroys this")}
    for address in ("aws_db_instance.database", "aws_mq_broker.messaging", "aws_s3_bucket.attachments"):
        assert address in destroyed
    assert all(r.action == "remove" for r in staging.resources)


def test_renaming_a_service_replaces_its_data_store(tmp_path: Path) -> None:
    stacks = changes_of(tmp_path, "  attachments:\n    kind: bucket", "  files:\n    kind: bucket")
    dev = stacks["dev"]
    assert dev["aws_s3_bucket.attachments"].action == "remove"
    assert dev["aws_s3_bucket.files"].action == "add"
    assert any(w.startswith("destroys this bucket") for w in dev["aws_s3_bucket.attachments"].warnings)


def test_an_in_place_change_of_a_data_store_warns_of_nothing(tmp_path: Path) -> None:
    dev = changes_of(tmp_path, "cache_node_type: cache.t4g.small", "cache_node_type: cache.t4g.medium")["dev"]
    cache = dev["aws_elasticache_replication_group.cache"]
    assert cache.attributes == ("node_type",) and not cache.warnings


def test_a_replaced_key_cascades_to_what_a_new_key_forces_anew() -> None:
    before: dict[str, dict[str, Any]] = {
        "aws_kms_key.data": {"key_usage": "ENCRYPT_DECRYPT"},
        "aws_db_instance.database": {"kms_key_id": "${aws_kms_key.data.arn}", "multi_az": False},
        "aws_cloudwatch_log_group.x": {"kms_key_id": "${aws_kms_key.data.arn}"},
    }
    after = {**before, "aws_kms_key.data": {"key_usage": "SIGN_VERIFY"}}
    found = {r.address: r for r in _resource_changes("dev", before, after)}
    assert any("may replace this KMS key" in w for w in found["aws_kms_key.data"].warnings)
    assert found["aws_db_instance.database"].attributes == ("kms_key_id",)
    assert any("may replace this database" in w for w in found["aws_db_instance.database"].warnings)
    assert "aws_cloudwatch_log_group.x" not in found  # not a force-new argument there: no change predicted


def test_the_replacement_table_covers_only_data_holding_types() -> None:
    assert set(MAY_REPLACE) <= set(DATA_HOLDING)


def test_ignored_attributes_are_no_change() -> None:
    before = {"aws_mq_broker.b": {"user": [{"username": "a"}], "lifecycle": {"ignore_changes": ["user"]}}}
    after = {"aws_mq_broker.b": {"user": [{"username": "b"}], "lifecycle": {"ignore_changes": ["user"]}}}
    assert list(_resource_changes("dev", before, after)) == []


# --------------------------------------------------------------------------- the command


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TMSC, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_diff_of_git_revisions(tmp_path: Path) -> None:
    """git:REV:PATH reads the spec as of a revision: the pull-request workflow compares the base branch's spec."""
    (tmp_path / "spec").mkdir()
    spec = tmp_path / "spec" / "platform.yaml"
    spec.write_text(EXAMPLE_SPEC.read_text())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], cwd=tmp_path, check=True)
    spec.write_text(raised(EXAMPLE_SPEC.read_text()))
    result = run("diff", "git:HEAD:spec/platform.yaml", "spec/platform.yaml", "--markdown", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "#### dev" in result.stdout and "aws_mq_broker.messaging" in result.stdout
    missing = run("diff", "git:no-such-branch:spec/platform.yaml", "spec/platform.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and "git cannot show it" in missing.stderr and "fix:" in missing.stderr


def test_diff_refuses_a_wrong_spec_and_an_unknown_environment(tmp_path: Path) -> None:
    bad = edited(tmp_path, "target_percent: 99.0", "target_percent: high")
    result = run("diff", str(EXAMPLE_SPEC), str(bad))
    assert result.returncode == 2 and f"{bad}:" in result.stderr and "is not a number" in result.stderr
    result = run("diff", str(EXAMPLE_SPEC), str(EXAMPLE_SPEC), "--env", "qa")
    assert result.returncode == 2 and "no environment named 'qa'" in result.stderr


def test_compile_does_not_import_diff() -> None:
    """`tmsc compile` stays as light as it was: diff's modules load only for `tmsc diff`."""
    code = (
        "import sys, tempfile; from tmsc import cli; "
        f"sys.argv = ['tmsc', 'compile', {str(EXAMPLE_SPEC)!r}, '--out', tempfile.mkdtemp()]; "
        "import contextlib\n"
        "with contextlib.suppress(SystemExit): cli.main()\n"
        "assert 'tmsc.diff' not in sys.modules, 'compile imported tmsc.diff'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("markdown", [False, True])
def test_the_command_prints_the_report(tmp_path: Path, markdown: bool) -> None:
    head = dev_raised(tmp_path)
    result = run("diff", str(EXAMPLE_SPEC), str(head), *(["--markdown"] if markdown else []))
    assert result.returncode == 0, result.stderr
    assert ("### `tmsc diff`" in result.stdout) == markdown
    assert "aws_mq_broker.messaging" in result.stdout


def test_the_pull_request_workflow_posts_the_diff(tmp_path: Path) -> None:
    """ci.py spec-diff writes the comment section the pull-request workflow's diff job uploads."""
    (tmp_path / "spec").mkdir()
    spec = tmp_path / "spec" / "platform.yaml"
    spec.write_text(EXAMPLE_SPEC.read_text())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], cwd=tmp_path, check=True)
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    spec.write_text(raised(EXAMPLE_SPEC.read_text()))
    (tmp_path / "spec" / "new.yaml").write_text(EXAMPLE_SPEC.read_text())
    out = tmp_path / "00-tmsc-diff.md"
    script = REPO / ".github" / "scripts" / "ci.py"
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            "spec-diff",
            "--base",
            base,
            "--specs",
            "spec/platform.yaml spec/new.yaml",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    body = out.read_text()
    assert "#### dev" in body and ":warning: `aws_mq_broker.messaging`" in body
    assert "### `spec/new.yaml` is new in this pull request" in body
    workflow = (REPO / ".github" / "workflows" / "pull-request.yml").read_text()
    assert "ci.py spec-diff" in workflow and "name: plan-00-tmsc-diff" in workflow


def test_the_readme_shows_what_diff_prints_and_the_acknowledgement(tmp_path: Path) -> None:
    """README, "Editing the spec": each line of the example is a line `tmsc diff` prints for that edit."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Editing the spec") :]
    start = section.index("   $ tmsc diff git:main:spec/platform.yaml spec/platform.yaml --env dev\n")
    block = section[start : section.index("   ```", start)].splitlines()[1:]
    head = dev_raised(tmp_path)
    printed = text_report(diff_specs(read_side(str(EXAMPLE_SPEC)), read_side(str(head)), "dev")).splitlines()
    shown = [line.removeprefix("   ") for line in block if line.strip() != "…"]
    assert len(shown) >= 10
    for line in shown:
        assert line in printed, f"README shows {line!r}, tmsc diff does not print it"
    assert "acknowledged_replacements:\n         - resource: aws_mq_broker.messaging\n" in section
    ack = section[section.index("   ```yaml\n") + 11 : section.index("   ```\n", section.index("   ```yaml\n"))]
    example = EXAMPLE_SPEC.read_text().replace(
        "      cidr: 10.10.0.0/16\n",
        "      cidr: 10.10.0.0/16\n"
        + "\n".join(
            line.removeprefix("   ")
            for line in ack.splitlines()
            if "acknowledged" in line or "  - " in line or "reason" in line
        )
        + "\n",
        1,
    )
    from tmsc.load import load_spec_text

    (entry,) = load_spec_text(example, "spec.yaml").platform.environments["dev"].acknowledged_replacements
    assert entry.resource == "aws_mq_broker.messaging"


def test_explain_says_the_brokers_migration_path() -> None:
    result = run("explain", str(EXAMPLE_SPEC), "--env", "staging")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "broker.deployment_mode" in line)
    assert "↳ changing it replaces the broker" in lines[at + 1] and "drain the old broker" in lines[at + 1]
    assert lines[at + 1].startswith("staging ")
