"""Regional DR covers every data store: what is copied to the DR region, how, and what `tmsc explain` says of each store.

The attachments replicate to a bucket of their own in the DR region (its own CMK, every protection of
the source) through a least-privilege role under S3 Replication Time Control; every secret has a replica
there under a key of that region; an RPO under RTC's objective is refused when a DR region is asked.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from tmsc import facts
from tmsc.derive import Infeasible, plan_platform
from tmsc.explain import explain_lines
from tmsc.model import Platform
from tmsc.services.providers import DR_PROVIDER

from .conftest import examples
from .stackview import StackView, compile_views, statements
from .strategies import spec_documents

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_DOC = yaml.safe_load((REPO / "spec" / "platform.yaml").read_text())
EXAMPLE = Platform.model_validate(EXAMPLE_DOC)
DR = facts.disaster_recovery()
STORES = ("database", "attachments", "secrets", "cache", "broker", "state")
# Every resource of a bucket's hardening (services/storage.py), by type: the replica must have each one.
BUCKET_PARTS = (
    "aws_s3_bucket",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_object_lock_configuration",
)


@pytest.fixture(scope="module")
def views() -> dict[str, StackView]:
    return compile_views(EXAMPLE)


def example(**recovery: Any) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE_DOC)
    doc["environments"]["prod"]["recovery"].update(recovery)
    return doc


# --------------------------------------------------------------------------- the facts


def test_the_rtc_objective_is_the_published_fifteen_minutes() -> None:
    assert DR.rtc_minutes == 15 and DR.rtc_percent == 99.99
    for fact in (DR.s3_rtc, DR.s3_kms_replication, DR.rds_backup_replication, DR.secrets_manager_replication):
        assert fact.source.startswith("https://docs.") and len(fact.note) > 40
    assert DR.mq_cross_region_engines == ("ActiveMQ",)


# --------------------------------------------------------------------------- the attachments


def test_prod_attachments_replicate_under_rtc_to_a_bucket_of_the_dr_region(views: dict[str, StackView]) -> None:
    prod = views["prod"]
    (config,) = prod.of("aws_s3_bucket_replication_configuration").values()
    assert config["bucket"] == "${aws_s3_bucket.attachments.id}"
    assert config["role"] == "${aws_iam_role.attachments_replication.arn}"
    (rule,) = config["rule"]
    assert rule["status"] == "Enabled"
    assert rule["source_selection_criteria"] == {"sse_kms_encrypted_objects": {"status": "Enabled"}}
    assert rule["delete_marker_replication"] == {"status": "Disabled"}
    destination = rule["destination"]
    assert destination["bucket"] == "${aws_s3_bucket.attachments_dr.arn}"
    assert destination["encryption_configuration"] == {"replica_kms_key_id": "${aws_kms_key.attachments_dr.arn}"}
    assert destination["replication_time"] == {"status": "Enabled", "time": {"minutes": DR.rtc_minutes}}
    assert destination["metrics"] == {"status": "Enabled", "event_threshold": {"minutes": DR.rtc_minutes}}
    # Both buckets versioned first: S3 refuses a replication configuration otherwise.
    assert {"aws_s3_bucket_versioning.attachments", "aws_s3_bucket_versioning.attachments_dr"} <= set(
        config["depends_on"]
    )
    # The replica and its own CMK live in the DR region; the source and its key in the platform's.
    for rtype, name in (("aws_s3_bucket", "attachments_dr"), ("aws_kms_key", "attachments_dr")):
        assert prod.of(rtype)[name]["provider"] == DR_PROVIDER
    for rtype, name in (("aws_s3_bucket", "attachments"), ("aws_kms_key", "attachments")):
        assert "provider" not in prod.of(rtype)[name]
    assert prod.of("aws_kms_key")["attachments_dr"]["enable_key_rotation"] is True
    assert prod.documents["providers.tf.json"]["provider"]["aws"][1] == {
        **prod.documents["providers.tf.json"]["provider"]["aws"][1],
        "alias": "dr",
        "region": "eu-central-1",
    }


def _normalised(body: dict[str, Any]) -> str:
    """A block's body with the replica's names turned into the source's, and its placement and trace dropped."""
    kept = {k: v for k, v in body.items() if k not in ("provider", "//")}
    return re.sub(r"attachments[_-]dr", "attachments", json.dumps(kept, sort_keys=True))


def test_the_replica_has_every_protection_of_the_source(views: dict[str, StackView]) -> None:
    prod = views["prod"]
    for rtype in BUCKET_PARTS:
        blocks = prod.of(rtype)
        assert ("attachments" in blocks) == ("attachments_dr" in blocks), rtype
        if "attachments" in blocks:
            assert _normalised(blocks["attachments_dr"]) == _normalised(blocks["attachments"]), rtype
            assert blocks["attachments_dr"]["provider"] == DR_PROVIDER, rtype
    bucket = prod.of("aws_s3_bucket")["attachments_dr"]
    assert bucket["lifecycle"] == {"prevent_destroy": True} and bucket["force_destroy"] is False
    assert bucket["bucket"] == "tms-prod-attachments-dr-${data.aws_caller_identity.current.account_id}"


def test_the_replication_role_may_do_only_what_replication_needs(views: dict[str, StackView]) -> None:
    prod = views["prod"]
    role = prod.of("aws_iam_role")["attachments_replication"]
    (trust,) = statements(json.loads(role["assume_role_policy"]))
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "${data.aws_caller_identity.current.account_id}"}
    }
    granted = statements(json.loads(prod.of("aws_iam_role_policy")["attachments_replication"]["policy"]))
    by_sid = {s["Sid"]: s for s in granted}
    assert {
        sid: sorted(s["Action"]) if isinstance(s["Action"], list) else [s["Action"]] for sid, s in by_sid.items()
    } == {
        "SourceBucketConfiguration": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
        "ReadSourceVersions": [
            "s3:GetObjectVersionAcl",
            "s3:GetObjectVersionForReplication",
            "s3:GetObjectVersionTagging",
        ],
        "WriteReplicas": ["s3:ReplicateObject", "s3:ReplicateTags"],
        "DecryptSourceObjects": ["kms:Decrypt"],
        "EncryptReplicas": ["kms:Encrypt", "kms:GenerateDataKey"],
    }
    assert all(s["Effect"] == "Allow" and "*" not in json.dumps(s["Resource"]).replace("/*", "") for s in granted)
    assert by_sid["ReadSourceVersions"]["Resource"] == "${aws_s3_bucket.attachments.arn}/*"
    assert by_sid["WriteReplicas"]["Resource"] == "${aws_s3_bucket.attachments_dr.arn}/*"
    assert by_sid["DecryptSourceObjects"]["Resource"] == "${aws_kms_key.attachments.arn}"
    assert by_sid["EncryptReplicas"]["Resource"] == "${aws_kms_key.attachments_dr.arn}"
    assert by_sid["DecryptSourceObjects"]["Condition"]["StringEquals"] == {
        "kms:ViaService": "s3.eu-west-1.amazonaws.com"
    }
    assert by_sid["EncryptReplicas"]["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}


# --------------------------------------------------------------------------- the secrets


def test_every_prod_secret_has_a_replica_in_the_dr_region_under_a_key_of_that_region(
    views: dict[str, StackView],
) -> None:
    prod = views["prod"]
    secrets = prod.of("aws_secretsmanager_secret")
    assert {"database", "cache", "messaging"} <= set(secrets)
    for name, body in secrets.items():
        assert body["replica"] == [{"region": "eu-central-1", "kms_key_id": "${aws_kms_key.secrets_dr.arn}"}], name
    assert prod.of("aws_kms_key")["secrets_dr"]["provider"] == DR_PROVIDER


def test_without_a_dr_region_nothing_is_copied_out_of_the_region(views: dict[str, StackView]) -> None:
    for env in ("dev", "staging"):
        view = views[env]
        assert not view.of("aws_s3_bucket_replication_configuration"), env
        assert all("replica" not in body for body in view.of("aws_secretsmanager_secret").values()), env
        placed = [
            f"{rtype}.{name}"
            for rtype, blocks in view.resources.items()
            for name, body in blocks.items()
            if "provider" in body
        ]
        assert placed == [], env


# --------------------------------------------------------------------------- the RPO bound


@pytest.mark.parametrize(("rpo", "refused"), [(5, True), (14, True), (15, False), (60, False)])
def test_an_rpo_under_the_rtc_objective_is_refused_with_a_dr_region(rpo: int, refused: bool) -> None:
    platform = Platform.model_validate(example(rpo_minutes=rpo))
    if not refused:
        assert plan_platform(platform)["prod"].attachments_replication.value == "eu-central-1"
        return
    with pytest.raises(Infeasible) as caught:
        plan_platform(platform)
    (refusal,) = [r for r in caught.value.refusals if "regional disaster" in r.message]
    assert refusal.path == ("environments", "prod", "recovery", "rpo_minutes")
    assert "99.99% of objects within 15 minutes" in refusal.message and DR.s3_rtc.source in refusal.message
    assert "set rpo_minutes to 15 or more" in refusal.hint


def test_the_same_rpo_without_a_dr_region_is_no_regional_promise() -> None:
    doc = example(rpo_minutes=10)
    del doc["environments"]["prod"]["recovery"]["cross_region_backup_region"]
    plan = plan_platform(Platform.model_validate(doc))["prod"]
    assert plan.attachments_replication.value is None
    assert {store: d.value for store, d in plan.regional_rpo} == dict.fromkeys(STORES, "not covered")


# --------------------------------------------------------------------------- explain


def test_explain_says_for_each_data_store_how_its_rpo_is_met_in_a_regional_disaster() -> None:
    plans = plan_platform(EXAMPLE)
    prod = dict(plans["prod"].regional_rpo)
    assert tuple(prod) == STORES
    assert prod["attachments"].value == "met" and "Replication Time Control" in prod["attachments"].reason
    assert prod["database"].value == "best effort" and "no bound" in prod["database"].reason
    assert prod["secrets"].value == "met" and "RDS-managed master secret is not replicated" in prod["secrets"].reason
    assert prod["cache"].value.startswith("not met") and "rebuilt empty" in prod["cache"].value
    assert prod["broker"].value.startswith("not met") and "lost" in prod["broker"].reason
    assert prod["state"].value == "not replicated"
    lines = list(explain_lines(plans.values()))
    for env in ("dev", "staging", "prod"):
        for store in STORES:
            assert any(line.startswith(env) and f"regional_rpo.{store} = " in line for line in lines), (env, store)
    assert any('storage.replication_region = "eu-central-1"' in line for line in lines)
    assert any('secrets.replica_region = "eu-central-1"' in line for line in lines)


# --------------------------------------------------------------------------- any platform


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=spec_documents(max_environments=3))
def test_every_environment_with_a_dr_region_copies_its_bucket_and_secrets_there_and_no_other_does(
    doc: dict[str, Any],
) -> None:
    platform = Platform.model_validate(doc)
    views = compile_views(platform)
    for name, env in platform.environments.items():
        view = views[name]
        dr = env.recovery.cross_region_backup_region
        configs = view.of("aws_s3_bucket_replication_configuration")
        secrets = view.of("aws_secretsmanager_secret")
        if dr is None:
            assert not configs and all("replica" not in s for s in secrets.values())
            continue
        assert env.recovery.rpo_minutes >= DR.rtc_minutes
        assert len(configs) == 1
        (config,) = configs.values()
        destination = config["rule"][0]["destination"]
        assert destination["replication_time"]["time"]["minutes"] == DR.rtc_minutes
        replica = destination["bucket"].removeprefix("${aws_s3_bucket.").removesuffix(".arn}")
        assert view.of("aws_s3_bucket")[replica]["provider"] == DR_PROVIDER
        assert all(s["replica"][0]["region"] == dr for s in secrets.values())
        assert {store for store, _ in plan_platform(platform)[name].regional_rpo} == set(STORES)
