"""Each NFR rule on its own, then the monotonicity property over generated platforms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tmsc import derive, facts
from tmsc.derive import Infeasible, plan_environment
from tmsc.model import Environment, Platform

from .strategies import spec_documents


def env(
    target: float = 99.9, rpo: int = 15, rto: float = 4, purpose: str = "production", cidr: str = "10.0.0.0/16"
) -> Environment:
    return Environment.model_validate(
        {
            "purpose": purpose,
            "availability": {"target_percent": target},
            "recovery": {"rpo_minutes": rpo, "rto_hours": rto},
            "network": {"cidr": cidr},
        }
    )


@pytest.mark.parametrize(("target", "ha"), [(90, False), (99.0, False), (99.5, False), (99.51, True), (99.9, True)])
def test_high_availability_above_single_az_sla(target: float, ha: bool) -> None:
    assert derive.high_availability(env(target)).value is ha


def test_ha_drives_az_nat_multi_az_failover_and_broker_mode() -> None:
    ha = derive.high_availability(env(99.9))
    count = derive.az_count(ha)
    assert count.value == 3
    assert derive.nat_gateways(ha, count).value == 3
    assert derive.database_multi_az(ha).value is True
    assert derive.cache_automatic_failover(ha).value is True
    assert derive.cache_replicas(ha, count).value == 2
    assert derive.broker_deployment_mode(ha).value == "CLUSTER_MULTI_AZ"
    for decision in (count, derive.database_multi_az(ha), derive.broker_deployment_mode(ha)):
        assert "99.9%" in decision.reason


def test_no_ha_gives_two_azs_one_nat_single_instances() -> None:
    ha = derive.high_availability(env(99.0))
    count = derive.az_count(ha)
    assert (count.value, derive.nat_gateways(ha, count).value) == (2, 1)
    assert derive.database_multi_az(ha).value is False
    assert derive.cache_replicas(ha, count).value == 0
    assert derive.broker_deployment_mode(ha).value == "SINGLE_INSTANCE"


def test_rpo_under_rds_log_shipping_interval_is_refused() -> None:
    refusal = derive.database_pitr(env(rpo=4))
    assert isinstance(refusal, derive.Refusal)
    assert "every 5 minutes" in refusal.message and refusal.path == ("recovery", "rpo_minutes")
    decision = derive.database_pitr(env(rpo=5))
    assert isinstance(decision, derive.Decision) and decision.value is True


def test_retention_at_least_seven_days_for_prod_grade() -> None:
    assert (
        derive.backup_retention_days(env(99.9, purpose="development"), derive.high_availability(env(99.9))).value == 7
    )
    dev = env(99.0, purpose="development")
    assert derive.backup_retention_days(dev, derive.high_availability(dev)).value == 1
    prod = env(99.0, purpose="production")
    assert derive.backup_retention_days(prod, derive.high_availability(prod)).value == 7


def test_refusals_for_rto_availability_and_tiny_vpc() -> None:
    assert derive.recovery_time(env(rto=0.5)) is not None
    assert derive.recovery_time(env(rto=1)) is None
    assert derive.availability_ceiling(env(99.95)) is not None
    assert derive.availability_ceiling(env(99.9)) is None
    small = env(cidr="10.0.0.0/24")
    assert isinstance(derive.subnet_layout(small, derive.Decision(3, "")), derive.Refusal)
    assert isinstance(derive.subnet_layout(env(cidr="10.0.0.0/23"), derive.Decision(3, "")), derive.Decision)


def test_deletion_protection_everywhere_but_development() -> None:
    assert derive.deletion_protection(env(purpose="development")).value is False
    assert derive.deletion_protection(env(purpose="preproduction")).value is True
    assert derive.deletion_protection(env(purpose="production")).value is True


def test_subnets_do_not_overlap_and_sit_in_the_vpc() -> None:
    import ipaddress

    decision = derive.subnet_layout(env(cidr="10.1.0.0/20"), derive.Decision(3, ""))
    assert isinstance(decision, derive.Decision)
    layout = decision.value
    nets = [ipaddress.IPv4Network(c) for c in layout.public + layout.private + layout.database]
    assert len(nets) == 9
    assert all(n.subnet_of(ipaddress.IPv4Network("10.1.0.0/20")) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_plan_collects_every_refusal_with_its_path() -> None:
    platform_doc = {
        "platform": "tms",
        "region": "eu-west-1",
        "environments": {
            "prod": {
                "purpose": "production",
                "availability": {"target_percent": 99.99},
                "recovery": {"rpo_minutes": 1, "rto_hours": 0.25},
                "network": {"cidr": "10.0.0.0/24"},
            }
        },
        "services": {
            "cluster": {"kind": "eks", "admin_role_name": "admin"},
            "db": {"kind": "postgres"},
            "files": {"kind": "bucket"},
            "cache": {"kind": "redis"},
            "mq": {"kind": "rabbitmq"},
            "api": {"kind": "api", "authorization": "iam"},
        },
    }
    with pytest.raises(Infeasible) as info:
        plan_environment(Platform.model_validate(platform_doc), "prod")
    paths = {r.path[-1] for r in info.value.refusals}
    assert paths == {"target_percent", "rpo_minutes", "rto_hours", "cidr"}


def _strength(value: object) -> int:
    """Order settings weakest → strongest; None (no DR copy) is weaker than any region."""
    if isinstance(value, str) and value in derive.BROKER_MODES:
        return derive.BROKER_MODES.index(value)
    if value is None:
        return 0
    if isinstance(value, str):
        return 1
    if isinstance(value, float):
        return -round(value * 10)  # the downtime budget: a stricter target allows less
    if isinstance(value, tuple):
        return len(value)
    if isinstance(value, derive.SubnetLayout):
        return len(value.private)  # subnets: more AZs covered is stronger
    assert isinstance(value, int), value  # a count, or a boolean
    return value


@given(doc=spec_documents(max_environments=1), data=st.data())
def test_stricter_requirements_never_weaken_a_setting(doc: dict, data: st.DataObject) -> None:
    ((name, spec_env),) = doc["environments"].items()
    base = Platform.model_validate(doc)
    stricter_env = {
        **spec_env,
        "availability": {"target_percent": data.draw(st.floats(spec_env["availability"]["target_percent"], 99.9))},
        "recovery": {
            **spec_env["recovery"],
            # With regional DR, S3 RTC bounds the RPO at 15 minutes (a smaller one is refused, tests/test_regional_dr.py).
            "rpo_minutes": data.draw(
                st.integers(
                    facts.disaster_recovery().rtc_minutes
                    if spec_env["recovery"].get("cross_region_backup_region")
                    else 5,
                    spec_env["recovery"]["rpo_minutes"],
                )
            ),
            "rto_hours": data.draw(
                st.sampled_from([h for h in (1, 2, 4, 8, 24, 72) if h <= spec_env["recovery"]["rto_hours"]])
            ),
        },
    }
    stricter = Platform.model_validate({**doc, "environments": {name: stricter_env}})
    weak, strong = plan_environment(base, name), plan_environment(stricter, name)
    for (setting, weak_decision), (_, strong_decision) in zip(weak.decisions(), strong.decisions(), strict=True):
        assert _strength(strong_decision.value) >= _strength(weak_decision.value), setting
