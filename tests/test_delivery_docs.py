"""What the README and docs/ show of the spec and the rules is generated, and current; the spec names its schema for editors."""

from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET
from functools import cache
from types import ModuleType

from tmsc.derive import plan_platform
from tmsc.load import load_platform

from .conftest import EXAMPLE_SPEC, REPO

MODELINE = "# yaml-language-server: $schema=./platform.schema.json"


@cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", REPO / "docs" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_spec_names_its_schema_for_editors() -> None:
    first = EXAMPLE_SPEC.read_text().splitlines()[0]
    assert first == MODELINE
    assert (EXAMPLE_SPEC.parent / first.split("$schema=")[1]).resolve() == (
        REPO / "spec" / "platform.schema.json"
    ).resolve()


def test_readme_and_architecture_are_current() -> None:
    for path, text in generator().outputs().items():
        assert path.read_text() == text, f"{path.relative_to(REPO)} is stale: run `make docs` and commit it"


def test_the_readme_regions_are_marked_and_hold_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    names = [m.group("name") for m in generator().REGION.finditer(readme)]
    assert sorted(names) == ["ci-roles", "nfr-derivations"]
    plans = plan_platform(load_platform(EXAMPLE_SPEC))
    table = next(m.group("body") for m in generator().REGION.finditer(readme) if m.group("name") == "nfr-derivations")
    for setting, _ in next(iter(plans.values())).decisions():
        assert f"| `{setting}` |" in table


def test_the_drivers_are_what_the_rules_say() -> None:
    drivers = generator().drivers(load_platform(EXAMPLE_SPEC))
    assert drivers["database.multi_az"] == ["availability"]
    assert drivers["data.deletion_protection"] == ["purpose"]
    assert drivers["logs.retention_days"] == ["purpose"]
    assert drivers["database.backup_retention_days"] == ["purpose", "availability"]
    assert drivers["database.cross_region_backup_region"] == ["regional DR"]
    assert "VPC CIDR" in drivers["network.subnets"]
    assert not any("RTO" in d for d in drivers.values())  # RTO only refuses: it shapes no setting
    assert drivers["database.backup_window"] == ["business hours"]
    assert drivers["broker.maintenance_window"] == ["business hours"]
    assert drivers["availability.downtime_budget_minutes_per_week"] == ["availability", "business hours"]


def test_every_limit_of_the_rules_is_listed_as_a_refusal() -> None:
    rows = generator().refusals(load_platform(EXAMPLE_SPEC))
    assert [asked for asked, _, _ in rows] == [
        "availability 99.95%",
        "RPO 1 minute",
        "RPO 1 minute",  # prod asks for regional DR: PITR's 5 minutes, then S3 RTC's 15
        "RPO 10 minutes with regional DR",
        "RTO 30 minutes",
        "a /24 VPC",
        "regional DR in eu-west-1",
        "an mq.t3.micro broker",
        "business hours round the clock",
    ]
    assert all(why and fix for _, why, fix in rows)


def test_the_architecture_picture_is_drawn_from_the_spec() -> None:
    svg = (REPO / "docs" / "architecture.svg").read_text()
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "href" not in svg and "<script" not in svg  # self-contained and inert
    platform = load_platform(EXAMPLE_SPEC)
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for name in [*platform.environments, *platform.services, *platform.workloads]:
        assert re.search(rf"\b{re.escape(name)}\b", texts), name
    assert "CLUSTER_MULTI_AZ" in texts and "SINGLE_INSTANCE" in texts
    assert "![" in (REPO / "README.md").read_text() and "docs/architecture.svg" in (REPO / "README.md").read_text()
