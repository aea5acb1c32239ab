"""Every message as good as the best one (issue 13, item 6).

A near-miss key is one error that names the key meant; a value of the wrong
type or range names the value written, what the key takes and a value that fits.
"""

from __future__ import annotations

import pytest

from tmsc.diagnostics import Diagnostic, SpecError
from tmsc.load import load_spec_text

from .conftest import EXAMPLE_SPEC


def refusal(old: str, new: str) -> list[Diagnostic]:
    text = EXAMPLE_SPEC.read_text()
    assert text.count(old) >= 1, old
    with pytest.raises(SpecError) as refused:
        load_spec_text(text.replace(old, new, 1), "spec/platform.yaml")
    return list(refused.value.diagnostics)


@pytest.mark.parametrize(
    ("old", "new", "path", "meant"),
    [
        ("rpo_minutes: 60", "rpo_minuts: 60", "environments.dev.recovery.rpo_minuts", "rpo_minutes"),
        ("    purpose: preproduction", "    purpse: preproduction", "environments.staging.purpse", "purpose"),
        ("    kind: eks\n", "    knd: eks\n", "services.cluster.knd", "kind"),
        ("      cidr: 10.20.0.0/16", "      cdir: 10.20.0.0/16", "environments.staging.network.cdir", "cidr"),
    ],
)
def test_a_misspelt_required_key_is_one_error(old: str, new: str, path: str, meant: str) -> None:
    (diagnostic,) = refusal(old, new)
    assert diagnostic.path == path
    assert f"did you mean {meant!r}?" in diagnostic.message
    assert diagnostic.hint == f"rename it to {meant!r}"


def test_a_missing_key_and_an_unrelated_unknown_one_are_two_errors_in_line_order() -> None:
    diagnostics = refusal("      rpo_minutes: 60\n", "      colour: blue\n")
    assert [d.path for d in diagnostics] == [
        "environments.dev.recovery.rpo_minutes",
        "environments.dev.recovery.colour",
    ]
    assert diagnostics[0].line is not None and diagnostics[1].line is not None
    assert diagnostics[0].line <= diagnostics[1].line


@pytest.mark.parametrize(
    ("old", "new", "message", "fix"),
    [
        (
            "database_storage_gib: 100",
            "database_storage_gib: 100GB",
            'the text "100GB" is not a whole number',
            "write the number alone, without a unit: database_storage_gib: 100 (allocated RDS storage in GiB)",
        ),
        (
            "target_percent: 99.0",
            "target_percent: 99.0%",
            'the text "99.0%" is not a number',
            "write the number alone, without a unit: target_percent: 99.0",
        ),
        (
            "target_percent: 99.0",
            "target_percent: high",
            'the text "high" is not a number',
            "write a number, e.g. target_percent: 99.9 (uptime target in percent during the business hours)",
        ),
        (
            "rpo_minutes: 60",
            "rpo_minutes: true",
            "the boolean true is not a whole number",
            "e.g. rpo_minutes: 1 (recovery point objective",
        ),
        (
            "database_storage_gib: 100",
            "database_storage_gib: 100.5",
            "the number 100.5 is not a whole number",
            "e.g. database_storage_gib: 50 (allocated RDS storage in GiB)",
        ),
        ("rpo_minutes: 60", "rpo_minutes: 60.0", "60.0 is not a whole number", "write rpo_minutes: 60"),
        (
            "    network:\n      cidr: 10.10.0.0/16",
            "    network: 10.10.0.0/16",
            'the text "10.10.0.0/16" is not a mapping of keys',
            "network: {cidr: 10.10.0.0/16}",
        ),
        (
            "jwt_audience: [tms-api]",
            "jwt_audience: tms-api",
            'the text "tms-api" is not a list',
            "jwt_audience: [tms-api]",
        ),
        (
            "days: mon-sat",
            "days: Mon-Sat",
            "'Mon-Sat' is not one of 'mon-fri', 'mon-sat' or 'mon-sun'",
            "days: mon-sat",
        ),
        (
            '    engine_version: "3.13"\n',
            '    engine_version: "3.13"\n    maintenance_day: Sunday\n    maintenance_time: "02:00"\n',
            "'Sunday' is not one of 'MONDAY'",
            "maintenance_day: SUNDAY",
        ),
        ("purpose: production", "purpose: prod", "'prod' is not one of 'development'", "purpose: production"),
        (
            "database_storage_gib: 100",
            "database_storage_gib: 10",
            "10 is out of range: it should be greater than or equal to 20",
            "set database_storage_gib ≥ 20 (allocated RDS storage in GiB)",
        ),
        (
            "region: eu-west-1",
            "region: europe-west1",
            "'europe-west1' does not have the form this key takes",
            "AWS region, e.g. eu-west-1",
        ),
    ],
)
def test_a_wrong_value_names_itself_what_fits_and_an_example(old: str, new: str, message: str, fix: str) -> None:
    (diagnostic,) = refusal(old, new)
    assert message in diagnostic.message, diagnostic.render()
    assert fix in (diagnostic.hint or ""), diagnostic.render()
