"""parliament (IAM action database, offline) over every policy the stacks emit: nothing MEDIUM or above but what
tests/iam/parliament_reviewed.yaml reviews, for the example and for generated platforms."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings

from tmsc.load import load_platform
from tmsc.model import Platform

from .conftest import EXAMPLE_SPEC, examples
from .iam.emitted import emitted_policies
from .iam.lint import BLOCKING, Finding, lint, reviewed
from .stackview import compile_views
from .strategies import spec_documents

pytest.importorskip("parliament")


def _unreviewed(findings: list[Finding], entries: list[dict[str, Any]]) -> tuple[list[Finding], set[int]]:
    used: set[int] = set()
    left = []
    for finding in findings:
        if finding.severity not in BLOCKING:
            continue
        matches = [
            i
            for i, entry in enumerate(entries)
            if fnmatch.fnmatchcase(finding.address, entry["policy"])
            and entry["issue"] == finding.issue
            and entry["detail"] in finding.detail
        ]
        if matches:
            used.update(matches)
        else:
            left.append(finding)
    return left, used


def _findings(platform: Platform) -> list[Finding]:
    return [f for p in emitted_policies(compile_views(platform), platform.region) for f in lint(p)]


def test_the_reviewed_file_gives_each_entry_a_reason() -> None:
    for entry in reviewed().values():
        assert set(entry) == {"policy", "issue", "detail", "reason"}, entry
        assert len(entry["reason"]) > 40, entry


def test_parliament_finds_nothing_unreviewed_in_the_example() -> None:
    entries = list(reviewed().values())
    left, used = _unreviewed(_findings(load_platform(EXAMPLE_SPEC)), entries)
    assert not left, "\n".join(f"{f.stack} {f.address} {f.severity} {f.issue}: {f.detail[:300]}" for f in left)
    stale = [entries[i] for i in range(len(entries)) if i not in used]
    assert not stale, f"reviewed entries that match no finding any more: {stale}"


def test_parliament_is_the_linter_it_claims_to_be() -> None:
    """A policy with a wrong resource type and a condition key the action ignores is caught."""
    from .iam.emitted import IDENTITY, EmittedPolicy

    broken = EmittedPolicy(
        "t",
        "aws_iam_policy.broken",
        IDENTITY,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:sqs:eu-west-1:123456789012:q"},
                {
                    "Effect": "Allow",
                    "Action": "iam:UpdateAssumeRolePolicy",
                    "Resource": "arn:aws:iam::123456789012:role/x",
                    "Condition": {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/b"}},
                },
            ],
        },
    )
    issues = {f.issue for f in lint(broken)}
    assert {"RESOURCE_MISMATCH", "UNKNOWN_CONDITION_FOR_ACTION"} <= issues


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=spec_documents(max_environments=3))
def test_parliament_finds_nothing_unreviewed_in_generated_platforms(doc: dict[str, Any]) -> None:
    assume("tfstate" not in doc["environments"])  # refused with a delivery section
    platform = Platform.model_validate(
        {**doc, "delivery": {"github_repository": "example-org/tms-platform", "default_branch": "main"}}
    )
    left, _ = _unreviewed(_findings(platform), list(reviewed().values()))
    assert not left, "\n".join(f"{f.stack} {f.address} {f.severity} {f.issue}: {f.detail[:300]}" for f in left)
