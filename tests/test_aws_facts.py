"""The AWS facts tmsc knows (tmsc/data/*.json): zone IDs by region and the version calendars, and the rules that read them."""

from __future__ import annotations

import copy
import datetime
import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tmsc import derive, facts
from tmsc.derive import Infeasible, plan_platform, version_findings
from tmsc.explain import explain_lines
from tmsc.model import Platform

from .conftest import examples
from .stackview import compile_views
from .strategies import spec_documents

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = yaml.safe_load((REPO / "spec" / "platform.yaml").read_text())
ZONES = facts.zones()
VERSIONS = facts.versions()
ZONE_ID = re.compile(r"^[a-z]{2,6}[0-9]-az[0-9]{1,2}$")


def example(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE)
    doc.update(changes)
    return doc


# --------------------------------------------------------------------------- the tables themselves


def test_tables_are_dated_and_sourced() -> None:
    for name in ("zones.json", "versions.json"):
        data = json.loads((facts.DATA / name).read_text())
        datetime.date.fromisoformat(data["as_of"])
    for region in ZONES.regions.values():
        assert region.source.startswith("https://docs.aws.amazon.com/"), region.name
        assert region.zone_ids and all(ZONE_ID.match(z) for z in region.zone_ids), region.name
        prefix = {z.split("-")[0] for z in region.zone_ids}
        assert len(prefix) == 1, f"{region.name}: zone IDs of one region share their prefix"
        assert set(region.eks_refused) <= set(region.zone_ids) | {"cac1-az3"}, region.name
    for calendar in (VERSIONS.eks, VERSIONS.postgres, VERSIONS.rabbitmq, *VERSIONS.elasticache.values()):
        assert calendar.source.startswith("https://"), calendar.engine
        assert any(s.status(VERSIONS.as_of) == "standard" for s in calendar.versions.values()), calendar.engine


def test_eks_facts_of_the_issue() -> None:
    eks = VERSIONS.eks.versions
    assert eks["1.31"].end_of_extended_support == datetime.date(2026, 11, 26)
    assert eks["1.34"].end_of_standard_support == datetime.date(2026, 12, 2)
    assert eks["1.35"].end_of_standard_support == datetime.date(2027, 3, 27)
    assert ZONES.regions["us-east-1"].eks_refused == ("use1-az3",)
    assert ZONES.regions["eu-west-1"].zone_ids == ("euw1-az1", "euw1-az2", "euw1-az3")
    assert VERSIONS.postgres_family["16"] == "postgres16"


# --------------------------------------------------------------------------- version boundaries


@pytest.mark.parametrize(
    ("on", "status"),
    [
        ("2026-12-01", "standard"),  # the day before 1.34's end of standard support
        ("2026-12-02", "extended"),  # its end of standard support: extended support from this day
        ("2027-12-01", "extended"),
        ("2027-12-02", "ended"),  # its end of extended support
    ],
)
def test_eks_boundary_dates(on: str, status: str) -> None:
    assert VERSIONS.eks.versions["1.34"].status(datetime.date.fromisoformat(on)) == status


def test_a_version_without_extended_support_ends_at_its_end_of_support() -> None:
    rabbit = VERSIONS.rabbitmq.versions["3.12"]
    assert rabbit.status(datetime.date(2025, 3, 16)) == "standard"
    assert rabbit.status(datetime.date(2025, 3, 17)) == "ended"
    minor = VERSIONS.postgres_minors["16"].versions["16.5"]
    assert minor.status(datetime.date(2026, 5, 30)) == "standard"
    assert minor.status(datetime.date(2026, 5, 31)) == "ended"


def findings_on(monkeypatch: pytest.MonkeyPatch, on: str, **services: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(refusal messages, warning messages) of the example with changed services, on another table date."""
    table = attrs.evolve(VERSIONS, as_of=datetime.date.fromisoformat(on))
    monkeypatch.setattr(facts, "versions", lambda: table)
    doc = example()
    for name, fields in services.items():
        doc["services"][name].update(fields)
    refusals, warnings = version_findings(Platform.model_validate(doc))
    return [f"{r.message} / {r.hint}" for r in refusals], [f"{w.message} / {w.hint}" for w in warnings]


def test_the_rule_reads_the_table_date_not_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    assert findings_on(monkeypatch, "2026-12-01", cluster={"version": "1.34"}) == ([], [])
    refusals, (warning,) = findings_on(monkeypatch, "2026-12-02", cluster={"version": "1.34"})
    assert not refusals
    assert "left standard support on 2026-12-02" in warning and "$0.60 per cluster hour" in warning
    assert "upgrade to 1.35" in warning
    refusals, warnings = findings_on(monkeypatch, "2026-11-25", cluster={"version": "1.31"})
    assert not refusals and len(warnings) == 1
    (refusal,), warnings = findings_on(monkeypatch, "2026-11-26", cluster={"version": "1.31"})
    assert "reached end of support on 2026-11-26" in refusal and "use 1.35" in refusal and not warnings


def test_postgres_minor_and_major(monkeypatch: pytest.MonkeyPatch) -> None:
    assert findings_on(monkeypatch, "2026-12-02", database={"engine_version": "16.11"}) == ([], [])
    (refusal,), _ = findings_on(monkeypatch, "2026-12-02", database={"engine_version": "16.3"})
    assert "not a version AWS offers" in refusal and "use 16.11" in refusal
    _, warnings = findings_on(monkeypatch, "2029-02-28", database={"engine_version": "16"})
    (warning,) = [w for w in warnings if "PostgreSQL" in w]
    assert "extended support until 2032-02-29" in warning and "per vCPU hour" in warning


def test_rabbitmq_4_is_accepted_and_3_12_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert findings_on(monkeypatch, "2026-12-02", messaging={"engine_version": "4.2"}) == ([], [])
    (refusal,), _ = findings_on(monkeypatch, "2026-12-02", messaging={"engine_version": "3.12.13"})
    assert "reached end of support on 2025-03-17" in refusal and "4.2 runs on mq.m7g" in refusal


def test_the_example_runs_versions_in_standard_support() -> None:
    assert version_findings(Platform.model_validate(EXAMPLE)) == ([], [])


def test_upgrade_policy_follows_the_purpose_and_is_explained() -> None:
    plans = plan_platform(Platform.model_validate(EXAMPLE))
    assert {name: plan.cluster_upgrade_policy.value for name, plan in plans.items()} == {
        "dev": "STANDARD",
        "staging": "STANDARD",
        "prod": "EXTENDED",
    }
    lines = list(explain_lines(plans.values()))
    assert any("cluster.upgrade_policy" in line and "production" in line for line in lines)
    prod = compile_views(Platform.model_validate(EXAMPLE))["prod"]
    (cluster,) = prod.of("aws_eks_cluster").values()
    assert cluster["upgrade_policy"] == {"support_type": "EXTENDED"}


# --------------------------------------------------------------------------- zones


def test_adding_a_zone_moves_no_existing_subnet() -> None:
    doc = example()
    doc["environments"]["staging"]["availability"]["target_percent"] = 99.5
    two = plan_platform(Platform.model_validate(doc))["staging"]
    doc["environments"]["staging"]["availability"]["target_percent"] = 99.9
    three = plan_platform(Platform.model_validate(doc))["staging"]
    assert three.availability_zone_ids.value[:2] == two.availability_zone_ids.value
    for tier in ("public", "private", "database"):
        assert getattr(three.subnets.value, tier)[:2] == getattr(two.subnets.value, tier)


def test_pinned_zone_ids_are_used_in_their_order() -> None:
    doc = example()
    doc["environments"]["prod"]["availability_zone_ids"] = ["euw1-az3", "euw1-az1", "euw1-az2"]
    plan = plan_platform(Platform.model_validate(doc))["prod"]
    assert plan.availability_zone_ids.value == ("euw1-az3", "euw1-az1", "euw1-az2")
    assert "pinned" in plan.availability_zone_ids.reason


def test_the_derived_zones_never_include_one_eks_refuses() -> None:
    doc = example(region="us-east-1")
    plans = plan_platform(Platform.model_validate(doc))
    assert plans["prod"].availability_zone_ids.value == ("use1-az1", "use1-az2", "use1-az4")


def test_no_zone_name_anywhere_in_out() -> None:
    names = re.compile(r'"[a-z]{2}-[a-z]+-[0-9][a-f]"')
    for path in (REPO / "out").rglob("*.tf.json"):
        assert not names.search(path.read_text()), f"{path}: an AZ name (letters are mapped per account)"


def _required_zones(target: float) -> int:
    return derive.HA_AZ_COUNT if target > derive.SINGLE_AZ_SLA_PERCENT else derive.BASE_AZ_COUNT


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    region=st.sampled_from(sorted(ZONES.regions)),
    targets=st.lists(st.sampled_from([95.0, 99.0, 99.5, 99.6, 99.9]), min_size=3, max_size=3),
)
def test_a_platform_compiles_iff_its_region_has_the_zones_its_targets_derive(region: str, targets: list[float]) -> None:
    doc = example(region=region)
    dr = "eu-west-1" if region != "eu-west-1" else "eu-central-1"
    doc["environments"]["prod"]["recovery"]["cross_region_backup_region"] = dr
    # dev pins mq.t3.micro, which runs single-instance brokers only (tests/test_sizes.py): here the broker size
    # follows the plan, so that a target alone decides whether the platform compiles.
    doc["environments"]["dev"]["sizing"].pop("broker_instance_type")
    for env, target in zip(sorted(doc["environments"]), targets, strict=True):
        doc["environments"][env]["availability"]["target_percent"] = target
    platform = Platform.model_validate(doc)
    accepted = ZONES.regions[region].eks_zone_ids
    feasible = all(len(accepted) >= _required_zones(t) for t in targets)
    try:
        plan_platform(platform)
    except Infeasible as exc:
        assert not feasible, exc
        assert all(r.path[-1] == "target_percent" for r in exc.refusals)
        return
    assert feasible
    for name, view in compile_views(platform).items():
        for address, subnet in view.of("aws_subnet").items():
            zone = subnet["availability_zone_id"]
            assert zone in ZONES.regions[region].zone_ids, f"{name}: {address} in {zone}, not a zone of {region}"
            assert zone not in ZONES.regions[region].eks_refused, f"{name}: {address} in {zone}, which EKS refuses"
            assert "availability_zone" not in subnet


def test_every_subnet_in_out_uses_a_zone_id_of_its_region_that_eks_accepts() -> None:
    """The committed out/: every subnet sits in a zone ID of the spec's region from the table, never one EKS refuses."""
    region = ZONES.regions[EXAMPLE["region"]]
    seen = 0
    for path in sorted((REPO / "out").glob("*/network.tf.json")):
        for address, subnet in json.loads(path.read_text()).get("resource", {}).get("aws_subnet", {}).items():
            seen += 1
            zone = subnet["availability_zone_id"]
            assert zone in region.eks_zone_ids, f"{path}: aws_subnet.{address} in {zone}"
            assert "availability_zone" not in subnet, f"{path}: aws_subnet.{address} names an AZ"
    assert seen >= 3 * 3, "every environment has subnets"


@st.composite
def platforms_anywhere(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, list[str] | None]]:
    """A generated platform (tests/strategies.py) moved to any region of the zone table, each environment
    with zone IDs pinned half of the time: drawn from the region's zones (EKS-refused ones included), in any
    order and count (2 or 3, what the model takes), or now and then from another region."""
    doc = draw(spec_documents(max_environments=3))
    region = draw(st.sampled_from(sorted(ZONES.regions)))
    doc["region"] = region
    pins: dict[str, list[str] | None] = {}
    for name, env in doc["environments"].items():
        if env["recovery"].get("cross_region_backup_region") == region:
            env["recovery"]["cross_region_backup_region"] = "eu-west-1" if region != "eu-west-1" else "eu-central-1"
        pinned: list[str] | None = None
        if draw(st.booleans()):
            pool = list(ZONES.regions[region].zone_ids) + list(ZONES.regions[region].eks_refused)
            if draw(st.integers(0, 5)) == 0:
                pool.append(draw(st.sampled_from(ZONES.regions[draw(st.sampled_from(sorted(ZONES.regions)))].zone_ids)))
            pinned = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=3))  # the model takes 2 or 3
            env["availability_zone_ids"] = pinned
        pins[name] = pinned
    return doc, pins


def _zones_feasible(region: facts.Region, target: float, pinned: list[str] | None) -> bool:
    """What the zone table says of one environment, independently of derive.py: does it get its zones?"""
    needed = _required_zones(target)
    if pinned is None:
        return len(region.eks_zone_ids) >= needed
    return len(pinned) == needed and len(set(pinned)) == needed and all(z in region.eks_zone_ids for z in pinned)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=platforms_anywhere())
def test_any_platform_compiles_iff_its_region_has_the_zones_it_derives_and_uses_only_those(
    case: tuple[dict[str, Any], dict[str, list[str] | None]],
) -> None:
    doc, pins = case
    platform = Platform.model_validate(doc)
    region = ZONES.regions[platform.region]
    feasible = {
        name: _zones_feasible(region, env.availability.target_percent, pins[name])
        for name, env in platform.environments.items()
    }
    event("pinned" if any(pins.values()) else "derived")
    try:
        views = compile_views(platform)
    except Infeasible as exc:
        event("refused")
        refused = {str(r.path[1]) for r in exc.refusals}
        assert refused == {name for name, ok in feasible.items() if not ok}, exc
        for refusal in exc.refusals:
            assert refusal.path[2] in ("availability_zone_ids", "availability"), refusal
            assert refusal.hint, refusal
        return
    assert all(feasible.values()), feasible
    event("compiled")
    for name, env in platform.environments.items():
        zones = [subnet["availability_zone_id"] for subnet in views[name].of("aws_subnet").values()]
        assert zones and all(zone in region.eks_zone_ids for zone in zones), (name, zones)
        expected = pins[name] or list(region.eks_zone_ids[: _required_zones(env.availability.target_percent)])
        assert sorted(set(zones)) == sorted(expected), (name, zones, expected)
