"""parliament over every emitted policy: the findings, counted and compared with the reviewed list.

Run as a module for the figures: `.venv/bin/python -m tests.iam.lint` prints the
findings of the example by severity and issue.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path
from typing import Any

import attrs
import yaml

from tests.iam.emitted import EmittedPolicy

REVIEWED = Path(__file__).with_name("parliament_reviewed.yaml")
SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")
BLOCKING = {"MEDIUM", "HIGH", "CRITICAL"}


@attrs.frozen
class Finding:
    stack: str
    address: str
    issue: str
    severity: str
    detail: str

    def key(self) -> tuple[str, str]:
        """How the reviewed file names a finding: the policy's address and parliament's issue (stack-independent)."""
        return (self.address, self.issue)


def lint(policy: EmittedPolicy) -> list[Finding]:
    import parliament

    analyzed = parliament.analyze_policy_string(policy.text, ignore_private_auditors=True)
    found = []
    for finding in analyzed.findings:
        parliament.enhance_finding(finding)
        found.append(Finding(policy.stack, policy.address, finding.issue, finding.severity, str(finding.detail)))
    return found


def reviewed() -> dict[tuple[str, str, str], dict[str, Any]]:
    entries = yaml.safe_load(REVIEWED.read_text()) or []
    found = {(entry["policy"], entry["issue"], entry["detail"]): entry for entry in entries}
    assert len(found) == len(entries), "an entry of parliament_reviewed.yaml is listed twice"
    return found


def figures(findings: list[Finding]) -> dict[str, collections.Counter[str]]:
    by_severity: collections.Counter[str] = collections.Counter(f.severity for f in findings)
    by_issue: collections.Counter[str] = collections.Counter(f"{f.severity} {f.issue}" for f in findings)
    return {"severity": by_severity, "issue": by_issue}


def main() -> int:
    from tests.conftest import EXAMPLE_SPEC
    from tests.iam.emitted import emitted_policies
    from tests.stackview import compile_views
    from tmsc.load import load_platform

    platform = load_platform(EXAMPLE_SPEC)
    policies = list(emitted_policies(compile_views(platform), platform.region))
    findings = [f for p in policies for f in lint(p)]
    counted = figures(findings)
    print(f"{len(policies)} policy documents, {len(findings)} findings")
    for severity in reversed(SEVERITIES):
        print(f"  {severity}: {counted['severity'][severity]}")
    for issue, count in sorted(counted["issue"].items()):
        print(f"  {count:4d}  {issue}")
    if "-v" in sys.argv:
        for f in findings:
            print(f"{f.severity:8} {f.stack:10} {f.address:60} {f.issue} {f.detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
