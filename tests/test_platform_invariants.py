"""What the seed and the security baseline promise, checked on the example and on generated platforms."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given

from tmsc.compile import CONTRACT_OUTPUTS
from tmsc.derive import SINGLE_AZ_SLA_PERCENT
from tmsc.model import Platform
from tmsc.services.controllers import resourceless_actions

from .conftest import EXAMPLE_SPEC
from .stackview import StackView, as_list, compile_views, statements
from .strategies import spec_documents

ENVIRONMENT_STACKS = lambda views: {n: v for n, v in views.items() if n != "bootstrap"}  # noqa: E731


@pytest.fixture(scope="module")
def example_views() -> dict[str, StackView]:
    from tmsc.load import load_platform

    return compile_views(load_platform(EXAMPLE_SPEC))


def test_the_six_contract_outputs_exist_in_every_environment_with_descriptions(
    example_views: dict[str, StackView],
) -> None:
    assert set(CONTRACT_OUTPUTS) == {
        "eks_cluster_name",
        "rds_endpoint_secret_arn",
        "s3_bucket_name",
        "rabbitmq_endpoint_secret_arn",
        "redis_endpoint_secret_arn",
        "eks_cluster_oidc_issuer_url",
    }
    for name, view in ENVIRONMENT_STACKS(example_views).items():
        for output in CONTRACT_OUTPUTS:
            assert output in view.outputs, f"{name} lacks {output}"
            assert len(view.outputs[output]["description"]) > 20
            assert view.outputs[output]["value"].startswith("${")


def test_prod_follows_the_seed(example_views: dict[str, StackView]) -> None:
    prod = example_views["prod"]
    (db,) = prod.of("aws_db_instance").values()
    assert db["engine"] == "postgres" and db["engine_version"].startswith("16")
    assert db["multi_az"] is True and db["backup_retention_period"] >= 7 and db["deletion_protection"] is True
    assert db["manage_master_user_password"] is True and "password" not in db
    params = {p["name"]: p["value"] for p in next(iter(prod.of("aws_db_parameter_group").values()))["parameter"]}
    assert params["rds.force_ssl"] == "1"
    (broker,) = prod.of("aws_mq_broker").values()
    assert (
        broker["engine_type"] == "RabbitMQ"
        and broker["deployment_mode"] == "CLUSTER_MULTI_AZ"
        and broker["publicly_accessible"] is False
    )
    (cache,) = prod.of("aws_elasticache_replication_group").values()
    assert cache["automatic_failover_enabled"] and cache["multi_az_enabled"] and cache["num_cache_clusters"] == 3
    assert cache["transit_encryption_enabled"] is True
    (cluster,) = prod.of("aws_eks_cluster").values()
    assert len(cluster["vpc_config"]["subnet_ids"]) == 3
    assert cluster["access_config"]["authentication_mode"] == "API"
    assert sorted(cluster["enabled_cluster_log_types"]) == [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ]
    assert len(prod.of("aws_eks_node_group")) == 3 and len(prod.of("aws_nat_gateway")) == 3
    assert set(prod.of("aws_eks_addon")) >= {
        "cluster_vpc_cni",
        "cluster_coredns",
        "cluster_kube_proxy",
        "cluster_aws_ebs_csi_driver",
    }
    secrets = prod.of("aws_secretsmanager_secret")
    assert sorted(s["name"] for s in secrets.values()) == [
        f"tms/prod/{n}/connection" for n in ("cache", "database", "messaging")
    ] + ["tms/prod/messaging/password"] + [f"tms/prod/messaging/users/{w}" for w in ("dispatch", "odoo", "tracking")]
    assert "aws_db_instance_automated_backups_replication" in prod.resources


def test_dev_is_smaller_and_disposable(example_views: dict[str, StackView]) -> None:
    dev = example_views["dev"]
    (db,) = dev.of("aws_db_instance").values()
    assert db["multi_az"] is False and db["deletion_protection"] is False and db["skip_final_snapshot"] is True
    assert len(dev.of("aws_nat_gateway")) == 1 and len(dev.of("aws_eks_node_group")) == 2
    (broker,) = dev.of("aws_mq_broker").values()
    assert broker["deployment_mode"] == "SINGLE_INSTANCE" and len(broker["subnet_ids"]) == 1


# --------------------------------------------------------------------------- properties over generated platforms

CLUSTER_SG = re.compile(r"^\$\{aws_security_group\.[a-z0-9-]+\.id\}$")
DATA_STORE_TYPES = {
    "aws_db_instance": ("kms_key_id",),
    "aws_elasticache_replication_group": ("kms_key_id",),
    "aws_secretsmanager_secret": ("kms_key_id",),
    "aws_cloudwatch_log_group": ("kms_key_id",),
}


def _platform_ha(doc: dict[str, Any], env: str) -> bool:
    return doc["environments"][env]["availability"]["target_percent"] > SINGLE_AZ_SLA_PERCENT


@given(doc=spec_documents())
def test_every_data_store_and_log_group_uses_a_customer_managed_key(doc: dict[str, Any]) -> None:
    for name, view in ENVIRONMENT_STACKS(compile_views(doc)).items():
        keys = set(view.of("aws_kms_key"))
        assert all(k["enable_key_rotation"] for k in view.of("aws_kms_key").values())
        for rtype, fields in DATA_STORE_TYPES.items():
            for address, body in view.of(rtype).items():
                for field in fields:
                    match = re.fullmatch(r"\$\{aws_kms_key\.([\w-]+)\.arn\}", body.get(field, ""))
                    assert match and match.group(1) in keys, f"{name}: {rtype}.{address}.{field} = {body.get(field)!r}"
        for body in view.of("aws_db_instance").values():
            assert body["storage_encrypted"] and body["performance_insights_kms_key_id"].startswith("${aws_kms_key.")
        for body in view.of("aws_elasticache_replication_group").values():
            assert body["at_rest_encryption_enabled"] and body["transit_encryption_enabled"]


@given(doc=spec_documents())
def test_high_availability_switches_on_every_redundancy(doc: dict[str, Any]) -> None:
    for name, view in ENVIRONMENT_STACKS(compile_views(doc)).items():
        ha = _platform_ha(doc, name)
        for db in view.of("aws_db_instance").values():
            assert db["multi_az"] is ha
        for cache in view.of("aws_elasticache_replication_group").values():
            assert cache["automatic_failover_enabled"] is ha and cache["multi_az_enabled"] is ha
            assert (cache["num_cache_clusters"] >= 2) is ha
        for broker in view.of("aws_mq_broker").values():
            assert broker["deployment_mode"] == ("CLUSTER_MULTI_AZ" if ha else "SINGLE_INSTANCE")
        assert len(view.of("aws_nat_gateway")) == (3 if ha else 1)
        assert len(view.of("aws_eks_node_group")) == (3 if ha else 2)


@given(doc=spec_documents())
def test_data_stores_admit_only_the_cluster_group(doc: dict[str, Any]) -> None:
    platform = Platform.model_validate(doc)
    cluster_name = platform.service_of_kind("eks")[0]
    data_groups = {n for n, s in platform.services.items() if s.kind in ("postgres", "redis", "rabbitmq")}
    for view in ENVIRONMENT_STACKS(compile_views(doc)).values():
        admitted: dict[str, set[str]] = {}
        for rule in view.of("aws_vpc_security_group_ingress_rule").values():
            assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule, "no ingress from address ranges"
            target = rule["security_group_id"].removeprefix("${aws_security_group.").removesuffix(".id}")
            admitted.setdefault(target, set()).add(rule["referenced_security_group_id"])
        for group in data_groups:
            assert admitted[group] == {f"${{aws_security_group.{cluster_name}.id}}"}
        for group in view.of("aws_security_group").values():
            assert "ingress" not in group


def is_boundary_allowance(address: str, statement: dict[str, Any]) -> bool:
    """A permissions boundary's one Allow of everything grants nothing (services/boundary.py)."""
    return address.startswith("aws_iam_policy.boundary_") and statement.get("Sid") == "WithinTheEnvironment"


@given(doc=spec_documents())
def test_iam_allows_no_wildcard_actions(doc: dict[str, Any]) -> None:
    for view in compile_views(doc).values():
        for address, document in view.policies():
            for statement in statements(document):
                if statement["Effect"] != "Allow" or is_boundary_allowance(address, statement):
                    continue
                for action in as_list(statement.get("Action", [])):
                    assert action != "*" and not action.endswith(":*"), f"{address}: {action}"
                if address.startswith(("aws_iam_role_policy.", "aws_iam_policy.")) and statement["Resource"] == "*":
                    # Only actions AWS authorizes on no resource, documented with their reason.
                    undocumented = set(as_list(statement["Action"])) - set(resourceless_actions())
                    assert not undocumented, f"{address}: Resource * for {sorted(undocumented)}"


@given(doc=spec_documents())
def test_every_irsa_role_trusts_exactly_one_service_account(doc: dict[str, Any]) -> None:
    platform = Platform.model_validate(doc)
    for view in ENVIRONMENT_STACKS(compile_views(doc)).values():
        irsa = {a: b for a, b in view.of("aws_iam_role").items() if a.startswith("irsa_")}
        assert {f"irsa_{w}" for w in platform.workloads} <= set(irsa)
        for address, role in irsa.items():
            (statement,) = statements(json.loads(role["assume_role_policy"]))
            assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
            condition = statement["Condition"]["StringEquals"]
            subs = [v for k, v in condition.items() if k.endswith(":sub")]
            auds = [v for k, v in condition.items() if k.endswith(":aud")]
            assert len(subs) == 1 and re.fullmatch(r"system:serviceaccount:[a-z0-9-]+:[a-z0-9.-]+", subs[0]), address
            assert auds == ["sts.amazonaws.com"]
            assert set(statement["Condition"]) == {"StringEquals"}


@given(doc=spec_documents())
def test_no_secret_literal_reaches_out(doc: dict[str, Any]) -> None:
    secretish = re.compile(
        r"^(password|passwords|auth_token|secret_string|secret_string_wo|master_password|.*_password)$"
    )

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if secretish.search(key) and isinstance(item, str) and not key.endswith(("_arn", "_version")):
                    assert item.startswith("${") or item.startswith("{"), f"{path}.{key} is a literal"
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        elif isinstance(value, str) and value.startswith("{") and '"password"' in value:
            inner = json.loads(value)
            assert inner["password"].startswith("${"), path

    for view in compile_views(doc).values():
        for file, document in view.documents.items():
            walk(document, f"{view.name}/{file}")


@given(doc=spec_documents())
def test_cluster_endpoint_is_public_only_with_a_cidr_list(doc: dict[str, Any]) -> None:
    for view in ENVIRONMENT_STACKS(compile_views(doc)).values():
        for cluster in view.of("aws_eks_cluster").values():
            vpc = cluster["vpc_config"]
            assert vpc["endpoint_private_access"] is True
            if vpc["endpoint_public_access"]:
                assert vpc["public_access_cidrs"] and "0.0.0.0/0" not in vpc["public_access_cidrs"]


# --------------------------------------------------------------------------- AWS names

# Every name tmsc writes, against the limit and alphabet of the AWS API that
# receives it (API references of each service): (resource type, attribute) →
# (max length or None when AWS documents none, pattern, extra rule or None).
# A name attribute not listed here fails the test until its rule is added.
RDS_IDENTIFIER = r"[a-z](?:-?[a-z0-9])*"  # a letter first; letters, digits, single hyphens; no hyphen last
ALB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EKS_NAME = r"[0-9A-Za-z][A-Za-z0-9_-]*"
IAM_NAME = r"[\w+=,.@-]+"
ACCOUNT_ID = "123456789012"
S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap")


def _bucket_rule(name: str) -> str | None:
    if len(name) < 3 or ".." in name or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "S3: 3 characters at least, no '..', not an IP address"
    if name.startswith(S3_RESERVED_PREFIXES) or name.endswith(S3_RESERVED_SUFFIXES):
        return "S3 reserves this prefix or suffix"
    return None


NAME_RULES: dict[tuple[str, str], tuple[int | None, str, Any]] = {
    ("aws_lb", "name"): (
        32,
        ALB_NAME,
        lambda n: "ELB: may not start with 'internal-'" if n.startswith("internal-") else None,
    ),
    ("aws_lb_target_group", "name"): (32, ALB_NAME, None),
    ("aws_iam_role", "name"): (64, IAM_NAME, None),
    ("aws_iam_policy", "name"): (128, IAM_NAME, None),
    ("aws_iam_role_policy", "name"): (128, IAM_NAME, None),
    ("aws_db_instance", "identifier"): (63, RDS_IDENTIFIER, None),
    ("aws_db_instance", "final_snapshot_identifier"): (255, RDS_IDENTIFIER, None),
    ("aws_db_instance", "db_name"): (63, r"[A-Za-z][A-Za-z0-9_]*", None),
    ("aws_db_parameter_group", "name"): (255, RDS_IDENTIFIER, None),
    ("aws_db_subnet_group", "name"): (
        255,
        r"[A-Za-z0-9 ._-]+",
        lambda n: "RDS: 'default' is reserved" if n == "default" else None,
    ),
    ("aws_elasticache_replication_group", "replication_group_id"): (40, RDS_IDENTIFIER, None),
    ("aws_elasticache_replication_group", "final_snapshot_identifier"): (255, RDS_IDENTIFIER, None),
    ("aws_elasticache_subnet_group", "name"): (255, r"[A-Za-z0-9-]+", None),
    # ElastiCache documents a pattern but no maximum length for user and user group ids.
    ("aws_elasticache_user", "user_id"): (None, r"[a-zA-Z][a-zA-Z0-9-]*", None),
    ("aws_elasticache_user", "user_name"): (None, r".+", None),
    ("aws_elasticache_user_group", "user_group_id"): (None, r"[a-z][a-z0-9-]*", None),
    ("aws_mq_broker", "broker_name"): (50, r"[A-Za-z0-9._~-]+", None),
    ("aws_s3_bucket", "bucket"): (63, r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?", _bucket_rule),
    ("aws_kms_alias", "name"): (
        256,
        r"alias/[A-Za-z0-9/_-]+",
        lambda n: "KMS: alias/aws/ is reserved" if n.startswith("alias/aws/") else None,
    ),
    ("aws_secretsmanager_secret", "name"): (512, r"[A-Za-z0-9/_+=.@-]+", None),
    ("aws_eks_cluster", "name"): (100, EKS_NAME, None),
    ("aws_eks_node_group", "node_group_name"): (63, EKS_NAME, None),
    ("aws_eks_addon", "addon_name"): (None, r"[a-z0-9-]+", None),
    ("aws_security_group", "name"): (
        255,
        r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+",
        lambda n: "EC2: may not start with 'sg-'" if n.startswith("sg-") else None,
    ),
    ("aws_launch_template", "name"): (128, r"[A-Za-z0-9().\-/_]{3,}", None),
    ("aws_cloudwatch_log_group", "name"): (512, r"[.\-_/#A-Za-z0-9]+", None),
    ("aws_dynamodb_table", "name"): (255, r"[A-Za-z0-9_.-]{3,}", None),
    ("aws_apigatewayv2_api", "name"): (128, r".+", None),
    ("aws_apigatewayv2_vpc_link", "name"): (128, r".+", None),
    ("aws_apigatewayv2_authorizer", "name"): (128, r".+", None),
    ("aws_apigatewayv2_stage", "name"): (128, r".+", None),
    ("aws_vpc_endpoint", "service_name"): (None, r"com\.amazonaws\.[a-z0-9-]+\.[a-z0-9-]+", None),
}
NAME_ATTRIBUTES = {
    "name",
    "bucket",
    "identifier",
    "final_snapshot_identifier",
    "replication_group_id",
    "user_group_id",
    "user_id",
    "name_prefix",
}


def aws_names(views: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(stack, resource type, attribute, name) of every literal name; the account id stands in for its interpolation."""
    found = []
    for stack, view in views.items():
        for rtype, blocks in view.resources.items():
            for body in blocks.values():
                for attribute, value in body.items():
                    if not isinstance(value, str) or not (attribute in NAME_ATTRIBUTES or attribute.endswith("_name")):
                        continue
                    value = value.replace("${data.aws_caller_identity.current.account_id}", ACCOUNT_ID)
                    if "${" not in value:  # a reference to another block's name is checked there
                        found.append((stack, rtype, attribute, value))
    return found


def check_aws_names(views: dict[str, Any]) -> None:
    for stack, rtype, attribute, name in aws_names(views):
        assert (rtype, attribute) in NAME_RULES, (
            f"{stack}: no AWS naming rule for {rtype}.{attribute} ({name!r}): add it to NAME_RULES"
        )
        limit, pattern, extra = NAME_RULES[rtype, attribute]
        where = f"{stack}: {rtype}.{attribute} = {name!r}"
        assert limit is None or len(name) <= limit, f"{where} has {len(name)} characters; AWS allows {limit}"
        assert re.fullmatch(pattern, name), f"{where} breaks the AWS pattern {pattern}"
        problem = extra(name) if extra else None
        assert problem is None, f"{where}: {problem}"


@given(doc=spec_documents(delivery=True))
def test_every_aws_name_fits_its_service_limit(doc: dict[str, Any]) -> None:
    check_aws_names(compile_views(doc))


def test_every_aws_name_of_the_example_fits_its_service_limit(example_views: dict[str, StackView]) -> None:
    check_aws_names(example_views)
    assert {(rtype, attribute) for _, rtype, attribute, _ in aws_names(example_views)} == set(NAME_RULES), (
        "a rule no name of the example exercises"
    )


def test_the_name_check_is_not_vacuous(example_views: dict[str, StackView]) -> None:
    """A 33-character load balancer name or an RDS identifier with '--' is caught (as the model must refuse them)."""
    (lb,) = example_views["prod"].of("aws_lb").values()
    long_name = {
        "prod": StackView("prod", {"x.tf.json": json.dumps({"resource": {"aws_lb": {"x": {**lb, "name": "t" * 33}}}})})
    }
    with pytest.raises(AssertionError, match="AWS allows 32"):
        check_aws_names(long_name)
    (db,) = example_views["prod"].of("aws_db_instance").values()
    hyphens = {
        "prod": StackView(
            "prod",
            {
                "x.tf.json": json.dumps(
                    {"resource": {"aws_db_instance": {"x": {**db, "identifier": "tms-stag--ing-db"}}}}
                )
            },
        )
    }
    with pytest.raises(AssertionError, match="breaks the AWS pattern"):
        check_aws_names(hyphens)
