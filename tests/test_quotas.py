"""A quota budget per account and region (issue 10, item 5): counted from the plans, held to the compiled blocks.

The example fills the account's Elastic IPs exactly (dev 1 + staging 1 + prod 3 = AWS's default 5): one more NAT
gateway anywhere and `tmsc validate` refuses, naming the quota, the count and the fix, until the spec declares the
raised quota. Environments in other accounts count against their own account's quotas.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tmsc import quotas
from tmsc.diagnostics import SpecError
from tmsc.pipeline import build, check

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "spec" / "platform.yaml"
REASON = "Service Quotas request 1234, approved 2026-11-30"


def example_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return doc


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def refusal(tmp_path: Path, doc: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        check(write(tmp_path, doc))
    return "\n".join(d.render() for d in info.value.diagnostics)


def test_the_counts_are_what_the_compiled_stacks_create() -> None:
    checked = check(EXAMPLE)
    stacks = build(EXAMPLE)
    kinds = {
        "elastic_ips": "aws_eip",
        "vpcs": "aws_vpc",
        "internet_gateways": "aws_internet_gateway",
        "eks_clusters": "aws_eks_cluster",
    }
    for name, plan in checked.plans.items():
        resources: dict[str, dict[str, Any]] = {}
        for text in stacks[name].values():
            for kind, blocks in json.loads(text).get("resource", {}).items():
                resources.setdefault(kind, {}).update(blocks)
        used = quotas.consumption(plan)
        for quota, kind in kinds.items():
            assert used[(quota, None)] == len(resources.get(kind, {})), (name, quota)
        nat_zones = sorted(_zone(n, resources) for n in resources["aws_nat_gateway"].values())
        assert nat_zones == sorted(zone for (quota, zone) in used if quota == "nat_gateways_per_az" and zone), name


def _zone(nat: dict[str, Any], resources: dict[str, dict[str, Any]]) -> str:
    """The zone ID of the subnet a NAT gateway is in (subnet_id is a ${aws_subnet.<name>.id} reference)."""
    name = nat["subnet_id"].removeprefix("${aws_subnet.").removesuffix(".id}")
    zone: str = resources["aws_subnet"][name]["availability_zone_id"]
    return zone


def test_the_example_fills_the_elastic_ip_quota_exactly() -> None:
    (eips,) = [
        u for u in quotas.budget(check(EXAMPLE).spec.platform, check(EXAMPLE).plans) if u.quota.key == "elastic_ips"
    ]
    assert (eips.count, eips.limit, eips.raised) == (5, 5, None)
    assert eips.by_environment == (("dev", 1), ("prod", 3), ("staging", 1))


def test_one_elastic_ip_over_the_default_is_refused_with_the_quota_the_count_and_the_fix(tmp_path: Path) -> None:
    doc = example_doc()
    doc["environments"]["staging"]["availability"]["target_percent"] = 99.9  # 1 → 3 NAT gateways: 7 Elastic IPs
    text = refusal(tmp_path, doc)
    assert "error: environments.staging: Elastic IP addresses per Region" in text
    assert "would use 7 (dev 1, prod 3, staging 3" in text and "AWS's default quota is 5" in text
    assert "Service Quotas ec2/L-0263D0A3" in text and "raised_quotas" in text and "another account" in text
    assert f"{tmp_path / 'platform.yaml'}:" in text


def test_a_declared_raise_lets_it_through_and_one_too_low_is_refused_at_its_value(tmp_path: Path) -> None:
    doc = example_doc()
    doc["environments"]["staging"]["availability"]["target_percent"] = 99.9
    doc["raised_quotas"] = [{"quota": "elastic_ips", "value": 7, "reason": REASON}]
    checked = check(write(tmp_path, doc))
    (eips,) = [u for u in quotas.budget(checked.spec.platform, checked.plans) if u.quota.key == "elastic_ips"]
    assert (eips.count, eips.limit, eips.raised) == (7, 7, 0)
    doc["raised_quotas"][0]["value"] = 6
    text = refusal(tmp_path, doc)
    assert "error: raised_quotas[0].value: Elastic IP addresses per Region" in text
    assert "the quota declared in raised_quotas is 6" in text


def test_nat_gateways_are_counted_per_zone(tmp_path: Path) -> None:
    """Six highly available environments put six NAT gateways into each zone: the per-AZ quota of 5 refuses."""
    doc = example_doc()
    base = doc["environments"]["prod"]
    doc["environments"] = {
        f"env{i}": {**base, "network": {"cidr": f"10.{40 + i}.0.0/16"}, "recovery": {**base["recovery"]}}
        for i in range(6)
    }
    doc["raised_quotas"] = [
        {"quota": "elastic_ips", "value": 18, "reason": REASON},
        {"quota": "vpcs", "value": 6, "reason": REASON},
        {"quota": "internet_gateways", "value": 6, "reason": REASON},
    ]
    text = refusal(tmp_path, doc)
    for zone in ("euw1-az1", "euw1-az2", "euw1-az3"):
        assert (
            f"NAT gateways per Availability Zone: the environments in the platform's account, eu-west-1 zone {zone} would use 6"
            in text
        )
    assert "error: environments.env5:" in text  # the sixth environment takes each zone past 5


def test_raised_quota_declarations_that_cannot_apply_are_refused(tmp_path: Path) -> None:
    doc = example_doc()
    doc["raised_quotas"] = [
        {"quota": "vpcs", "value": 10, "reason": REASON},
        {"quota": "vpcs", "value": 12, "reason": REASON},
    ]
    assert "error: raised_quotas[1]: vpcs is declared twice" in refusal(tmp_path, doc)
    doc["raised_quotas"] = [{"quota": "vpcs", "value": 10, "reason": REASON, "aws_account_id": "123456789012"}]
    assert "no environment is in account 123456789012" in refusal(tmp_path, doc)


def test_environments_of_other_accounts_count_against_their_own(tmp_path: Path) -> None:
    """With prod in an account of its own, staging at 99.9% fits the default quotas of dev's and staging's account."""
    doc = example_doc()
    doc["environments"]["staging"]["availability"]["target_percent"] = 99.9
    assert "would use 7" in refusal(tmp_path, doc)
    for name, account in (("dev", "111111111111"), ("staging", "111111111111"), ("prod", "222222222222")):
        doc["environments"][name]["aws_account_id"] = account
    checked = check(write(tmp_path, doc))
    used = {
        (u.account, u.count)
        for u in quotas.budget(checked.spec.platform, checked.plans)
        if u.quota.key == "elastic_ips"
    }
    assert used == {("111111111111", 4), ("222222222222", 3)}
    doc["raised_quotas"] = [{"quota": "vpcs", "value": 10, "reason": REASON}]
    text = refusal(tmp_path, doc)
    assert "every environment names its account, so a raised quota without aws_account_id applies to none" in text
    doc["raised_quotas"] = [{"quota": "elastic_ips", "value": 3, "reason": REASON, "aws_account_id": "111111111111"}]
    text = refusal(tmp_path, doc)
    assert (
        "error: raised_quotas[0].value: Elastic IP addresses per Region: the environments in account 111111111111"
        in text
    )


def test_explain_prints_the_budget(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tmsc.cli import main

    monkeypatch.setattr("sys.argv", ["tmsc", "explain", str(EXAMPLE)])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code in (0, None)
    printed = capsys.readouterr().out
    assert (
        "quota  Elastic IP addresses per Region in the platform's account, eu-west-1: 5 of 5 "
        "(AWS default; dev 1, prod 3, staging 1)"
    ) in printed
