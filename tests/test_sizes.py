"""Sizes AWS accepts for what was derived (issue 10, item 3): the compatibility tables and the rules that read them.

Each rule is tested at its boundary (the availability at which the broker becomes a cluster, the least engine
version of a node type, the last Kubernetes version of an AMI type), and two properties hold over random specs:
a stricter requirement never yields a smaller instance nor fewer zones, and every size in the compiled Terraform
is a row of its table that is compatible with the deployment compiled next to it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmsc import facts, sizes
from tmsc.derive import Infeasible, plan_environment, plan_platform
from tmsc.diagnostics import SpecError
from tmsc.explain import explain_lines
from tmsc.model import Platform
from tmsc.pipeline import build, check

from .conftest import examples
from .strategies import spec_documents

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "spec" / "platform.yaml"
HA_REASON = "availability 99.9% > 99.5% single-AZ SLA"
LOW_REASON = "availability 99% ≤ 99.5% single-AZ SLA"


def example_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return doc


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# --------------------------------------------------------------------------- the tables


@pytest.mark.parametrize(
    "table", [facts.broker_types, facts.database_classes, facts.cache_nodes, facts.instance_families, facts.ami_types]
)
def test_every_row_has_its_source_and_the_table_its_date(table: Any) -> None:
    loaded = table()
    assert loaded.rows and loaded.as_of.year >= 2026
    for row in loaded.rows.values():
        assert row.source.startswith("https://"), row.key


def test_every_quota_has_a_source_and_the_model_names_exactly_the_table_quotas() -> None:
    from tmsc.model import QUOTA_NAMES, RaisedQuota

    table = facts.quotas()
    assert set(table.quotas) == set(QUOTA_NAMES)
    assert set(RaisedQuota.model_fields["quota"].annotation.__args__) == set(QUOTA_NAMES)  # type: ignore[union-attr]
    assert table.quotas["elastic_ips"].default == 5  # the example: dev + staging + prod fill it exactly
    for quota in table.quotas.values():
        assert quota.source.startswith("https://") and quota.default > 0


@pytest.mark.parametrize("ha", [False, True])
@pytest.mark.parametrize("version", ["3.13", "4.2"])
def test_the_broker_defaults_fit_every_deployment_the_plan_derives(ha: bool, version: str) -> None:
    mode = "CLUSTER_MULTI_AZ" if ha else "SINGLE_INSTANCE"
    outcome = sizes.broker_instance_type(None, ha, HA_REASON if ha else LOW_REASON, mode, version)
    assert isinstance(outcome, sizes.Sized)
    row = facts.broker_types().rows[outcome.value]
    assert version in row.fields["engines"] and mode in row.fields["deployment_modes"]
    assert row.fields["production"] == ha  # a highly available environment gets what AWS recommends for production
    assert sizes.broker_instance_type(outcome.value, ha, "r", mode, version) == sizes.Sized(
        outcome.value, f"set in the spec; runs a {mode} broker on RabbitMQ {version} ({row.cite()})"
    )


@pytest.mark.parametrize("ha", [False, True])
@pytest.mark.parametrize("engine,version", [("redis", "7.1"), ("redis", "7.0"), ("valkey", "7.2"), ("valkey", "8.2")])
def test_the_other_defaults_fit_every_deployment_the_plan_derives(ha: bool, engine: str, version: str) -> None:
    assert isinstance(sizes.database_instance_class(None, ha, "r", ha, "16"), sizes.Sized)
    assert isinstance(sizes.database_instance_class(sizes.DEFAULT_DATABASE[ha], ha, "r", ha, "16.11"), sizes.Sized)
    assert isinstance(sizes.cache_node_type(sizes.DEFAULT_CACHE[ha], ha, "r", ha, engine, version), sizes.Sized)
    nodes = sizes.node_instance_types(None, ha, "r")
    assert not isinstance(nodes, sizes.SizeRefusal)
    assert isinstance(sizes.node_ami_type(None, nodes[1], "1.35"), sizes.Sized)


# --------------------------------------------------------------------------- broker rules


def test_mq_t3_micro_runs_single_instance_brokers_only() -> None:
    assert isinstance(
        sizes.broker_instance_type("mq.t3.micro", False, LOW_REASON, "SINGLE_INSTANCE", "3.13"), sizes.Sized
    )
    refused = sizes.broker_instance_type("mq.t3.micro", True, HA_REASON, "CLUSTER_MULTI_AZ", "3.13")
    assert isinstance(refused, sizes.SizeRefusal)
    assert refused.path == ("sizing", "broker_instance_type")
    assert "mq.t3.micro offers SINGLE_INSTANCE brokers only" in refused.message
    assert "derives CLUSTER_MULTI_AZ" in refused.message and "broker_types.json row mq.t3.micro" in refused.message
    assert refused.hint.startswith("use mq.m7g.large")


def test_rabbitmq_4_runs_on_mq_m7g_only() -> None:
    refused = sizes.broker_instance_type("mq.m5.large", True, HA_REASON, "CLUSTER_MULTI_AZ", "4.2")
    assert isinstance(refused, sizes.SizeRefusal)
    assert "Amazon MQ runs RabbitMQ 4.2 on mq.m7g only" in refused.message
    refused = sizes.broker_instance_type("mq.t3.micro", False, LOW_REASON, "SINGLE_INSTANCE", "4.2")
    assert isinstance(refused, sizes.SizeRefusal) and refused.hint.startswith("use mq.m7g.medium")
    for size in ("medium", "large", "12xlarge"):
        assert isinstance(
            sizes.broker_instance_type(f"mq.m7g.{size}", True, "r", "CLUSTER_MULTI_AZ", "4.2"), sizes.Sized
        )
    # a patch version is matched by its major.minor
    assert isinstance(sizes.broker_instance_type("mq.m5.large", True, "r", "CLUSTER_MULTI_AZ", "3.13.8"), sizes.Sized)


def test_an_unknown_broker_type_is_refused_with_the_types_tmsc_knows() -> None:
    refused = sizes.broker_instance_type("mq.m9.large", False, LOW_REASON, "SINGLE_INSTANCE", "3.13")
    assert isinstance(refused, sizes.SizeRefusal)
    assert "is not an Amazon MQ for RabbitMQ instance type" in refused.message and "mq.m5.large" in refused.message


def _env_doc(target: float, broker: str | None) -> dict[str, Any]:
    doc = example_doc()
    doc["environments"] = {"dev": doc["environments"]["dev"]}
    doc["environments"]["dev"]["availability"]["target_percent"] = target
    sizing = doc["environments"]["dev"]["sizing"]
    sizing.pop("broker_instance_type", None)
    if broker is not None:
        sizing["broker_instance_type"] = broker
    return doc


def test_the_broker_rule_turns_at_the_single_az_sla() -> None:
    """99.5% is single-instance (mq.t3.micro fits), the next step above it is a cluster (it does not)."""
    plan = plan_environment(Platform.model_validate(_env_doc(99.5, "mq.t3.micro")), "dev")
    assert plan.broker_instance_type.value == "mq.t3.micro"
    with pytest.raises(Infeasible) as info:
        plan_environment(Platform.model_validate(_env_doc(99.51, "mq.t3.micro")), "dev")
    (refusal,) = info.value.refusals
    assert refusal.path == ("environments", "dev", "sizing", "broker_instance_type")
    derived = plan_environment(Platform.model_validate(_env_doc(99.51, None)), "dev")
    assert derived.broker_instance_type.value == "mq.m7g.large"


# --------------------------------------------------------------------------- database rules


def _with_row(monkeypatch: pytest.MonkeyPatch, loader: str, key: str, **fields: Any) -> None:
    """The table with one row changed: a rule's refusal for a combination the real table holds no row for."""
    table: facts.SizeTable = getattr(facts, loader)()
    row = table.rows[key]
    changed = attrs.evolve(table, rows={**table.rows, key: attrs.evolve(row, fields={**row.fields, **fields})})
    monkeypatch.setattr(facts, loader, lambda: changed)


def test_database_class_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(sizes.database_instance_class("db.t4g.micro", False, "r", False, "16"), sizes.Sized)
    unknown = sizes.database_instance_class("db.x9.large", False, "r", False, "16")
    assert isinstance(unknown, sizes.SizeRefusal) and "not an RDS for PostgreSQL instance class" in unknown.message
    assert unknown.path == ("sizing", "database_instance_class") and unknown.hint.startswith("use db.t4g.medium")
    wrong_major = sizes.database_instance_class("db.m6g.large", True, HA_REASON, True, "17")
    assert isinstance(wrong_major, sizes.SizeRefusal) and "does not run PostgreSQL 17" in wrong_major.message
    _with_row(monkeypatch, "database_classes", "db.t3.micro", multi_az=False, performance_insights=False)
    single = sizes.database_instance_class("db.t3.micro", False, LOW_REASON, False, "16")
    assert isinstance(single, sizes.SizeRefusal) and "no Performance Insights" in single.message
    multi = sizes.database_instance_class("db.t3.micro", True, HA_REASON, True, "16")
    assert isinstance(multi, sizes.SizeRefusal) and "no Multi-AZ deployment" in multi.message
    assert multi.hint.startswith("use db.m6g.large")


# --------------------------------------------------------------------------- cache rules


def test_cache_node_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    t2 = sizes.cache_node_type("cache.t2.small", False, LOW_REASON, False, "redis", "7.1")
    assert isinstance(t2, sizes.SizeRefusal) and "creates no new clusters on cache.t2.small" in t2.message
    # the least engine version of a node type, at its boundary
    assert isinstance(sizes.cache_node_type("cache.t4g.small", False, "r", False, "redis", "5.0.6"), sizes.Sized)
    old = sizes.cache_node_type("cache.t4g.small", False, "r", False, "redis", "5.0.5")
    assert isinstance(old, sizes.SizeRefusal) and "runs Redis OSS 5.0.6 and later, not 5.0.5" in old.message
    assert isinstance(sizes.cache_node_type("cache.m7g.large", True, "r", True, "valkey", "7.2"), sizes.Sized)
    unknown = sizes.cache_node_type("cache.z9.large", True, "r", True, "redis", "7.1")
    assert isinstance(unknown, sizes.SizeRefusal) and unknown.hint.startswith("use cache.r7g.large")
    _with_row(monkeypatch, "cache_nodes", "cache.t3.micro", automatic_failover=False)
    assert isinstance(sizes.cache_node_type("cache.t3.micro", False, LOW_REASON, False, "redis", "7.1"), sizes.Sized)
    failover = sizes.cache_node_type("cache.t3.micro", True, HA_REASON, True, "redis", "7.1")
    assert isinstance(failover, sizes.SizeRefusal) and "no Multi-AZ with automatic failover" in failover.message


# --------------------------------------------------------------------------- node group rules


def test_arm_instance_types_get_an_arm_ami_and_refuse_an_x86_one() -> None:
    nodes = sizes.node_instance_types(["m7g.xlarge", "c7g.xlarge"], True, "r")
    assert not isinstance(nodes, sizes.SizeRefusal) and nodes[1] == "arm64"
    derived = sizes.node_ami_type(None, "arm64", "1.35")
    assert isinstance(derived, sizes.Sized) and derived.value == "AL2023_ARM_64_STANDARD"
    assert isinstance(sizes.node_ami_type("BOTTLEROCKET_ARM_64", "arm64", "1.35"), sizes.Sized)
    refused = sizes.node_ami_type("AL2023_x86_64_STANDARD", "arm64", "1.35")
    assert isinstance(refused, sizes.SizeRefusal) and refused.path == ("sizing", "cluster", "ami_type")
    assert "AL2023_ARM_64_STANDARD or BOTTLEROCKET_ARM_64" in refused.hint
    refused = sizes.node_ami_type("BOTTLEROCKET_ARM_64", "x86_64", "1.35")
    assert isinstance(refused, sizes.SizeRefusal) and "AL2023_x86_64_STANDARD or BOTTLEROCKET_x86_64" in refused.hint


def test_amazon_linux_2_ends_with_kubernetes_1_32() -> None:
    assert isinstance(sizes.node_ami_type("AL2_x86_64", "x86_64", "1.32"), sizes.Sized)
    refused = sizes.node_ami_type("AL2_x86_64", "x86_64", "1.33")
    assert isinstance(refused, sizes.SizeRefusal) and "serves Kubernetes 1.32 at most" in refused.message


def test_unknown_families_and_mixed_architectures_are_refused_at_their_key() -> None:
    unknown = sizes.node_instance_types(["m6i.large", "q9.large"], False, "r")
    assert isinstance(unknown, sizes.SizeRefusal) and unknown.path == ("sizing", "cluster", "instance_types", 1)
    # a1 is Graviton, though it carries no 'g': the model's name check passes it beside m5, the table does not
    mixed = sizes.node_instance_types(["a1.large", "m5.large"], False, "r")
    assert isinstance(mixed, sizes.SizeRefusal) and "a1.large: arm64, m5.large: x86_64" in mixed.message


# --------------------------------------------------------------------------- the case, end to end


def test_staging_raised_to_999_without_touching_its_sizing_compiles_to_sizes_aws_accepts(tmp_path: Path) -> None:
    doc = example_doc()
    doc["environments"]["staging"]["availability"]["target_percent"] = 99.9
    doc["raised_quotas"] = [{"quota": "elastic_ips", "value": 7, "reason": "Service Quotas request 1234, approved"}]
    stacks = build(write(tmp_path, doc), only="staging")
    broker = json.loads(stacks["staging"]["messaging.tf.json"])["resource"]["aws_mq_broker"]["messaging"]
    assert broker["deployment_mode"] == "CLUSTER_MULTI_AZ" and broker["host_instance_type"] == "mq.m7g.large"
    database = json.loads(stacks["staging"]["database.tf.json"])["resource"]["aws_db_instance"]["database"]
    assert database["multi_az"] is True and database["instance_class"] == "db.m6g.large"
    cache = json.loads(stacks["staging"]["cache.tf.json"])["resource"]["aws_elasticache_replication_group"]["cache"]
    assert cache["automatic_failover_enabled"] is True and cache["node_type"] == "cache.r7g.large"


def test_explain_cites_the_table_row_of_every_size() -> None:
    lines = list(explain_lines(check(EXAMPLE).plans.values()))
    for setting, table in [
        ("broker.instance_type", "broker_types.json row"),
        ("database.instance_class", "database_classes.json row"),
        ("cache.node_type", "cache_nodes.json row"),
        ("cluster.instance_types", "node_types.json row"),
        ("cluster.ami_type", "node_types.json row"),
    ]:
        rows = [line for line in lines if f" {setting} = " in line]
        assert len(rows) == 3 and all(table in row and "https://" in row for row in rows), setting


# --------------------------------------------------------------------------- properties


def _sizes_of(plan: Any) -> list[str]:
    return [
        plan.broker_instance_type.value,
        plan.database_instance_class.value,
        plan.cache_node_type.value,
        *plan.cluster_instance_types.value,
    ]


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=spec_documents(max_environments=1), data=st.data())
def test_a_stricter_requirement_never_yields_a_smaller_instance_nor_fewer_zones(doc: dict, data: st.DataObject) -> None:
    ((name, env),) = doc["environments"].items()
    stricter = copy.deepcopy(doc)
    target = env["availability"]["target_percent"]
    stricter["environments"][name]["availability"]["target_percent"] = data.draw(st.floats(target, 99.9))
    # With a DR region an RPO under S3 RTC's 15 minutes is refused (tests/test_regional_dr.py), not stricter.
    lowest_rpo = 15 if env["recovery"].get("cross_region_backup_region") else 5
    stricter["environments"][name]["recovery"]["rpo_minutes"] = data.draw(
        st.integers(min(lowest_rpo, env["recovery"]["rpo_minutes"]), env["recovery"]["rpo_minutes"])
    )
    try:
        weak = plan_environment(Platform.model_validate(doc), name)
    except Infeasible:
        return  # a region without the zones the target derives (tests/test_aws_facts.py)
    try:
        strong = plan_environment(Platform.model_validate(stricter), name)
    except Infeasible as exc:
        assert all(r.path[-1] == "target_percent" for r in exc.refusals)  # fewer zones than the stricter target needs
        return
    assert len(strong.availability_zone_ids.value) >= len(weak.availability_zone_ids.value)
    for small, large in zip(_sizes_of(weak), _sizes_of(strong), strict=True):
        assert facts.size_rank(large) >= facts.size_rank(small), (small, large)


def _compatible(resources: dict[str, Any]) -> None:
    """Every size in one compiled environment is a row of its table, compatible with what is compiled beside it."""
    (broker,) = resources["aws_mq_broker"].values()
    row = facts.broker_types().rows[broker["host_instance_type"]]
    assert broker["deployment_mode"] in row.fields["deployment_modes"]
    assert sizes.broker_engine_key(broker["engine_version"]) in row.fields["engines"]
    (database,) = resources["aws_db_instance"].values()
    row = facts.database_classes().rows[database["instance_class"]]
    assert database["engine_version"].split(".")[0] in row.fields["postgres_majors"]
    assert row.fields["performance_insights"] or not database["performance_insights_enabled"]
    assert row.fields["multi_az"] or not database["multi_az"]
    (cache,) = resources["aws_elasticache_replication_group"].values()
    row = facts.cache_nodes().rows[cache["node_type"]]
    assert row.fields["creatable"] and (row.fields["automatic_failover"] or not cache["automatic_failover_enabled"])
    least = row.fields["engines"][cache["engine"]]
    assert least is None or facts.version_key(cache["engine_version"]) >= facts.version_key(least)
    for group in resources["aws_eks_node_group"].values():
        architectures = {
            facts.instance_families().rows[t.split(".")[0]].fields["architecture"] for t in group["instance_types"]
        }
        assert architectures == {facts.ami_types().rows[group["ami_type"]].fields["architecture"]}


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=spec_documents(max_environments=3))
def test_for_random_targets_every_compiled_size_is_a_compatible_row_of_its_table(
    doc: dict, tmp_path_factory: Any
) -> None:
    path = write(tmp_path_factory.mktemp("sizes"), doc)
    try:
        stacks = build(path)
    except SpecError as error:
        assert all("zones that can hold an EKS control plane" in d.message for d in error.diagnostics)
        return
    for name in doc["environments"]:
        resources: dict[str, Any] = {}
        for text in stacks[name].values():
            for kind, blocks in json.loads(text).get("resource", {}).items():
                resources.setdefault(kind, {}).update(blocks)
        _compatible(resources)


def test_the_example_compiles_to_compatible_rows() -> None:
    plans = plan_platform(Platform.model_validate(example_doc()))
    for plan in plans.values():
        assert all(
            s in facts.broker_types().rows
            or s in facts.database_classes().rows
            or s in facts.cache_nodes().rows
            or s.split(".")[0] in facts.instance_families().rows
            for s in _sizes_of(plan)
        )


@settings(max_examples=examples(80), deadline=None)
@given(
    target=st.sampled_from([95.0, 99.0, 99.5, 99.51, 99.9]),
    broker=st.sampled_from(sorted(facts.broker_types().rows)),
    rabbitmq=st.sampled_from(["3.13", "4.2"]),
    database=st.sampled_from(sorted(facts.database_classes().rows)),
    cache=st.sampled_from(sorted(facts.cache_nodes().rows)),
)
def test_a_pinned_size_is_accepted_if_and_only_if_its_row_fits_the_derived_deployment(
    target: float, broker: str, rabbitmq: str, database: str, cache: str
) -> None:
    doc = _env_doc(target, broker)
    doc["environments"]["dev"]["sizing"]["database_instance_class"] = database
    doc["environments"]["dev"]["sizing"]["cache_node_type"] = cache
    doc["services"]["messaging"]["engine_version"] = rabbitmq
    ha = target > 99.5
    mode = "CLUSTER_MULTI_AZ" if ha else "SINGLE_INSTANCE"
    b = facts.broker_types().rows[broker].fields
    d = facts.database_classes().rows[database].fields
    c = facts.cache_nodes().rows[cache].fields
    least = c["engines"]["redis"]
    fits = {
        "broker_instance_type": mode in b["deployment_modes"] and rabbitmq in b["engines"],
        "database_instance_class": "16" in d["postgres_majors"]
        and d["performance_insights"]
        and (d["multi_az"] or not ha),
        "cache_node_type": c["creatable"]
        and (least is None or facts.version_key("7.1") >= facts.version_key(least))
        and (c["automatic_failover"] or not ha),
    }
    try:
        plan = plan_environment(Platform.model_validate(doc), "dev")
    except Infeasible as exc:
        refused = {r.path[-1] for r in exc.refusals}
        assert refused == {key for key, ok in fits.items() if not ok}
        return
    assert all(fits.values())
    assert (plan.broker_instance_type.value, plan.database_instance_class.value, plan.cache_node_type.value) == (
        broker,
        database,
        cache,
    )
