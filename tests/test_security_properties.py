"""Security invariants over generated platforms and the example, beyond tests/test_platform_invariants.py.

That module already holds every generated environment to: data stores and log
groups under a rotating CMK, data stores reachable from the cluster's group
only, no Allow of "*" or "service:*", one service account per IRSA role, and an
endpoint that is private unless a CIDR list is given. Here the same promises
are made stronger where they were weaker:

- every S3 bucket, the bootstrap state bucket included, refuses every request
  without TLS (not merely "has a Deny with a SecureTransport condition");
- every data store of every stack (bootstrap included) is encrypted with a
  rotating CMK *of its own stack and region*, and any storage resource type
  tmsc starts to emit fails here until its encryption is checked; Amazon MQ
  for RabbitMQ is the one exception (AWS-owned key only), pinned as such;
- every log a service writes lands in a log group tmsc declares (so under the
  logs CMK, with a retention), not one the service creates on its own;
- no security group admits 0.0.0.0/0 or ::/0 in any of the three ways
  Terraform can say it, the default group is closed, and the only public entry
  is the spec's API Gateway (load balancers internal, nothing public by IP);
- IAM: no Allow of "*" or "service:*" in any case or form (NotAction,
  NotResource, NotPrincipal, a public principal), no broad AWS managed policy,
  every trust is a service or an OIDC provider with a pinned subject;
- IRSA: each workload's role trusts exactly its own namespace/service account,
  through this cluster's OIDC provider, and no service account is trusted twice;
- the EKS endpoint is public exactly when the spec lists CIDRs, to exactly
  those, which together cover at most a /8 of IPv4 or a /32 of IPv6; a /0
  among them, or the internet in pieces (0.0.0.0/1 + 128.0.0.0/1), is
  refused by the model.

Generated platforms come from tests/strategies.py (which generates
cluster_public_access_cidrs too); the example spec runs through the same
checks because it has what the strategies do not (delivery roles).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tmsc.model import Platform

from .conftest import EXAMPLE_SPEC
from .stackview import StackView, as_list, compile_views, statements
from .strategies import public_cidrs, spec_documents

Views = dict[str, StackView]
KEY_ARN = re.compile(r"^\$\{aws_kms_key\.([\w-]+)\.arn\}$")
REF = re.compile(r"^\$\{((?:data\.)?aws_[\w]+\.[\w-]+)\.[\w\[\]\.]+\}$")


@pytest.fixture(scope="module")
def example() -> Views:
    from tmsc.load import load_platform

    return compile_views(load_platform(EXAMPLE_SPEC))


def ref_address(value: Any) -> str | None:
    match = REF.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def is_any_address(cidr: Any) -> bool:
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


# The most a public EKS endpoint may be open to, in addresses: one /8 of IPv4, one /32 of IPv6.
PUBLIC_ENDPOINT_BOUND = {4: 2**24, 6: 2**96}


def addresses_covered(cidrs: list[str], version: int) -> int:
    networks = [ipaddress.ip_network(cidr) for cidr in cidrs]
    # collapse_addresses takes networks of one version, each version its own type.
    if version == 4:
        v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
        return sum(n.num_addresses for n in ipaddress.collapse_addresses(v4))
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    return sum(n.num_addresses for n in ipaddress.collapse_addresses(v6))


# --------------------------------------------------------------------------- S3: TLS only


def check_buckets_tls_only(views: Views, platform: Platform) -> None:
    for stack, view in views.items():
        buckets = view.of("aws_s3_bucket")
        assert buckets or stack != "bootstrap", "the state bucket is missing"
        policies = {ref_address(p["bucket"]): p for p in view.of("aws_s3_bucket_policy").values()}
        for name in buckets:
            address = f"aws_s3_bucket.{name}"
            assert address in policies, f"{stack}: {address} has no bucket policy"
            document = json.loads(policies[address]["policy"])
            arn = f"${{{address}.arn}}"
            denies = [
                s
                for s in statements(document)
                if s["Effect"] == "Deny"
                and s.get("Principal") in ("*", {"AWS": "*"})
                and as_list(s.get("Action")) == ["s3:*"]
                and {arn, f"{arn}/*"} <= set(as_list(s.get("Resource")))
                and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            ]
            assert denies, (
                f"{stack}: {address} does not deny every s3 action on the bucket and its objects to anyone without TLS"
            )
            for statement in statements(document):
                if statement["Effect"] == "Allow":
                    assert statement.get("Principal") not in ("*", {"AWS": "*"}), (
                        f"{stack}: {address} allows the public"
                    )


# --------------------------------------------------------------------------- data stores: CMK with rotation


def cmk(view: StackView, value: Any, provider: str | None, where: str) -> None:
    """value must reference a rotating customer-managed key of this stack, in the same region (provider)."""
    match = KEY_ARN.match(value) if isinstance(value, str) else None
    assert match, f"{where}: {value!r} is not a customer-managed key of the stack"
    key = view.of("aws_kms_key").get(match.group(1))
    assert key is not None, f"{where}: {match.group(0)} is not emitted"
    assert key["enable_key_rotation"] is True and 90 <= key.get("rotation_period_in_days", 365) <= 365, (
        f"{where}: its key does not rotate"
    )
    assert key.get("provider") == provider, (
        f"{where}: its key is in provider {key.get('provider')}, the store in {provider}"
    )


def _s3(view: StackView, name: str, body: dict[str, Any], where: str) -> None:
    configs = [
        c
        for c in view.of("aws_s3_bucket_server_side_encryption_configuration").values()
        if ref_address(c["bucket"]) == f"aws_s3_bucket.{name}"
    ]
    assert len(configs) == 1, f"{where}: {len(configs)} encryption configurations"
    (rule,) = as_list(configs[0]["rule"])
    default = rule["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms", where
    cmk(view, default["kms_master_key_id"], body.get("provider"), where)


def _dynamodb(view: StackView, name: str, body: dict[str, Any], where: str) -> None:
    sse = body["server_side_encryption"]
    assert sse["enabled"] is True, where
    cmk(view, sse["kms_key_arn"], body.get("provider"), where)
    assert body["point_in_time_recovery"]["enabled"] is True, where


def _rds(view: StackView, name: str, body: dict[str, Any], where: str) -> None:
    assert body["storage_encrypted"] is True and body["publicly_accessible"] is False, where
    for field in ("kms_key_id", "performance_insights_kms_key_id", "master_user_secret_kms_key_id"):
        cmk(view, body[field], body.get("provider"), f"{where}.{field}")
    assert body["manage_master_user_password"] is True and "password" not in body, where


def _backup_replication(view: StackView, name: str, body: dict[str, Any], where: str) -> None:
    cmk(view, body["kms_key_id"], body.get("provider"), where)


def _elasticache(view: StackView, name: str, body: dict[str, Any], where: str) -> None:
    assert body["at_rest_encryption_enabled"] is True and body["transit_encryption_enabled"] is True, where
    cmk(view, body["kms_key_id"], body.get("provider"), where)


def _kms_field(field: str) -> Callable[[StackView, str, dict[str, Any], str], None]:
    def check(view: StackView, name: str, body: dict[str, Any], where: str) -> None:
        cmk(view, body.get(field), body.get("provider"), where)

    return check


def _eks(view: StackView, name: str, body: dict[str, Any], where: str) -> None:
    encryption = body["encryption_config"]
    assert encryption["resources"] == ["secrets"], where
    cmk(view, encryption["provider"]["key_arn"], body.get("provider"), where)


def _rabbitmq(view: StackView, name: str, body: dict[str, Any], where: str) -> None:
    # The one exception, pinned: Amazon MQ for RabbitMQ offers only an AWS-owned key (tests/checkov/skips.yaml, CKV_AWS_209).
    assert body["engine_type"] == "RabbitMQ" and body["encryption_options"] == {"use_aws_owned_key": True}, where
    assert body["publicly_accessible"] is False, where


def _node_volumes(view: StackView, name: str, body: dict[str, Any], where: str) -> None:
    # Node root volumes hold images and scratch space, no data of record: encrypted (account EBS key) is the bar.
    for mapping in as_list(body.get("block_device_mappings", [])):
        assert str(mapping["ebs"]["encrypted"]).lower() == "true", where


DATA_STORES: dict[str, Callable[[StackView, str, dict[str, Any], str], None]] = {
    "aws_s3_bucket": _s3,
    "aws_dynamodb_table": _dynamodb,
    "aws_db_instance": _rds,
    "aws_db_instance_automated_backups_replication": _backup_replication,
    "aws_elasticache_replication_group": _elasticache,
    "aws_secretsmanager_secret": _kms_field("kms_key_id"),
    "aws_cloudwatch_log_group": _kms_field("kms_key_id"),
    "aws_eks_cluster": _eks,
    "aws_mq_broker": _rabbitmq,
    "aws_launch_template": _node_volumes,
}
# Resource types that hold data: emitting one that DATA_STORES does not check fails the census below.
STORAGE_TYPES = {
    "aws_rds_cluster", "aws_db_snapshot", "aws_docdb_cluster", "aws_neptune_cluster", "aws_redshift_cluster",
    "aws_elasticache_cluster", "aws_elasticache_serverless_cache", "aws_memorydb_cluster", "aws_dynamodb_global_table",
    "aws_ebs_volume", "aws_efs_file_system", "aws_fsx_lustre_file_system", "aws_s3_object", "aws_s3_directory_bucket",
    "aws_sqs_queue", "aws_sns_topic", "aws_kinesis_stream", "aws_kinesis_firehose_delivery_stream", "aws_msk_cluster",
    "aws_opensearch_domain", "aws_elasticsearch_domain", "aws_ecr_repository", "aws_backup_vault", "aws_ssm_parameter",
    "aws_lambda_function", "aws_glue_catalog_database", "aws_timestreamwrite_database", "aws_keyspaces_table",
}  # fmt: skip


def check_data_stores(views: Views, platform: Platform) -> None:
    for stack, view in views.items():
        unchecked = sorted(set(view.resources) & STORAGE_TYPES)
        assert not unchecked, (
            f"{stack}: {unchecked} hold data and no test checks their encryption: add them to DATA_STORES"
        )
        for rtype, check in DATA_STORES.items():
            for name, body in view.of(rtype).items():
                check(view, name, body, f"{stack}: {rtype}.{name}")
    assert any(view.of("aws_dynamodb_table") for view in views.values()), (
        "no lock table: the census saw no bootstrap stack"
    )


# --------------------------------------------------------------------------- logs go to declared log groups


def assert_declared_log_group(stack: str, groups: dict[str, dict[str, Any]], reference: Any, where: str) -> None:
    """reference is one of the stack's log groups."""
    address = ref_address(reference)
    assert address and address.startswith("aws_cloudwatch_log_group.") and address.split(".")[1] in groups, (
        f"{stack}: {where} logs to {reference!r}"
    )


def check_log_destinations(views: Views, platform: Platform) -> None:
    for stack, view in views.items():
        groups = view.of("aws_cloudwatch_log_group")
        names = {g["name"] for g in groups.values()}
        for name, cluster in view.of("aws_eks_cluster").items():
            if cluster.get("enabled_cluster_log_types"):
                group = f"/aws/eks/{cluster['name']}/cluster"
                assert group in names, f"{stack}: EKS {name} logs to {group}, which EKS would create unencrypted"
        for name, db in view.of("aws_db_instance").items():
            for export in db.get("enabled_cloudwatch_logs_exports", []):
                group = f"/aws/rds/instance/{db['identifier']}/{export}"
                assert group in names, (
                    f"{stack}: RDS {name} exports to {group}, which RDS would create without the CMK and kept forever"
                )
        for name, cache in view.of("aws_elasticache_replication_group").items():
            for delivery in as_list(cache.get("log_delivery_configuration", [])):
                assert delivery["destination_type"] == "cloudwatch-logs", f"{stack}: cache {name}"
                assert_declared_log_group(stack, groups, delivery["destination"], f"cache {name}")
        for name, stage in view.of("aws_apigatewayv2_stage").items():
            assert_declared_log_group(
                stack, groups, stage["access_log_settings"]["destination_arn"], f"API stage {name}"
            )
        for name, flow in view.of("aws_flow_log").items():
            assert flow["log_destination_type"] == "cloud-watch-logs", f"{stack}: flow log {name}"
            assert_declared_log_group(stack, groups, flow["log_destination"], f"flow log {name}")
        for name, broker in view.of("aws_mq_broker").items():
            # Known exception: Amazon MQ names its group after the broker id (/aws/amazonmq/broker/<id>/general),
            # known only once the broker exists, so it cannot be declared first. General logs only, no audit.
            assert broker.get("logs") in ({"general": True}, None), f"{stack}: broker {name} logs {broker.get('logs')}"
        retention = {g.get("retention_in_days") for g in groups.values()}
        assert None not in retention and 0 not in retention, f"{stack}: a log group kept forever"


# --------------------------------------------------------------------------- nothing open to the internet but the API entry

# (stack, resource address) pairs allowed to admit the whole internet: the public entry the spec declares.
# There is none: the public entry is API Gateway, which needs no security group.
PUBLIC_INGRESS: set[tuple[str, str]] = set()


def check_ingress(views: Views, platform: Platform) -> None:
    api_services = [name for name, s in platform.services.items() if s.kind == "api"]
    for stack, view in views.items():
        groups = view.of("aws_security_group")
        opened: list[str] = []
        for name, group in groups.items():
            for rule in as_list(group.get("ingress", [])):
                if any(
                    is_any_address(c)
                    for c in as_list(rule.get("cidr_blocks", [])) + as_list(rule.get("ipv6_cidr_blocks", []))
                ):
                    opened.append(f"aws_security_group.{name}")
        for name, rule in view.of("aws_security_group_rule").items():
            if rule.get("type") == "ingress" and any(
                is_any_address(c)
                for c in as_list(rule.get("cidr_blocks", [])) + as_list(rule.get("ipv6_cidr_blocks", []))
            ):
                opened.append(f"aws_security_group_rule.{name}")
        for name, rule in view.of("aws_vpc_security_group_ingress_rule").items():
            if is_any_address(rule.get("cidr_ipv4")) or is_any_address(rule.get("cidr_ipv6")):
                opened.append(f"aws_vpc_security_group_ingress_rule.{name}")
            source = ref_address(rule.get("referenced_security_group_id"))
            if source is not None:
                assert source.startswith("aws_security_group.") and source.split(".")[1] in groups, (
                    f"{stack}: {name} admits {source}"
                )
        assert {(stack, o) for o in opened} <= PUBLIC_INGRESS, f"{stack}: ingress from the whole internet: {opened}"
        for name, default in view.of("aws_default_security_group").items():
            assert not {"ingress", "egress"} & set(default), f"{stack}: the default security group {name} has rules"
        if stack == "bootstrap":
            continue
        # The public entry: the spec's API Gateway, and nothing else reachable from outside the VPC.
        apis = view.of("aws_apigatewayv2_api")
        assert sorted(apis) == sorted(api_services), (
            f"{stack}: public APIs {sorted(apis)}, the spec declares {api_services}"
        )
        for name, lb in view.of("aws_lb").items():
            assert lb["internal"] is True, f"{stack}: load balancer {name} is internet-facing"
        for rtype in ("aws_db_instance", "aws_mq_broker"):
            for name, body in view.of(rtype).items():
                assert body["publicly_accessible"] is False, f"{stack}: {rtype}.{name}"
        for name, subnet in view.of("aws_subnet").items():
            assert subnet["map_public_ip_on_launch"] is False, f"{stack}: subnet {name}"
        for name, template in view.of("aws_launch_template").items():
            for interface in as_list(template.get("network_interfaces", [])):
                assert str(interface.get("associate_public_ip_address", False)).lower() == "false", f"{stack}: {name}"
        nat_eips = {ref_address(n["allocation_id"]) for n in view.of("aws_nat_gateway").values()}
        assert {f"aws_eip.{e}" for e in view.of("aws_eip")} <= nat_eips, (
            f"{stack}: an Elastic IP outside the NAT gateways"
        )
        for rtype in ("aws_instance", "aws_lightsail_instance", "aws_network_acl_rule"):
            assert not view.of(rtype), f"{stack}: {rtype} is not expected"


# --------------------------------------------------------------------------- IAM

BROAD_MANAGED_POLICIES = re.compile(
    r"(^|/)(AdministratorAccess|PowerUserAccess|IAMFullAccess|[A-Za-z0-9]*FullAccess)(-|$)"
)
SERVICE_WILDCARD = re.compile(r"^(\*|[a-z0-9-]*\*[a-z0-9-]*:\*+|[a-z0-9-]+:\*+)$")


def policy_documents(view: StackView) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM-style JSON document in any string attribute of any block (policy, assume_role_policy, ...)."""
    for blocks in (view.resources, view.data):
        for rtype, named in blocks.items():
            for name, body in named.items():
                for field, value in body.items():
                    if isinstance(value, str) and value.lstrip().startswith("{") and "Statement" in value:
                        document = json.loads(value)
                        if isinstance(document, dict) and "Statement" in document:
                            yield f"{rtype}.{name}.{field}", document
                if rtype == "aws_iam_policy_document":
                    yield (
                        f"data.{rtype}.{name}",
                        {
                            "Statement": [
                                {
                                    "Effect": s.get("effect", "Allow"),
                                    "Action": s.get("actions", []),
                                    "NotAction": s.get("not_actions"),
                                    "Resource": s.get("resources"),
                                }
                                for s in as_list(body.get("statement", []))
                            ]
                        },
                    )


def is_boundary_allowance(where: str, statement: dict[str, Any]) -> bool:
    """A permissions boundary's one Allow of everything grants nothing: it is the ceiling its Deny statements cut
    down (services/boundary.py; tests/test_escalation.py proves what stays out of reach)."""
    return where.startswith("aws_iam_policy.boundary_") and statement.get("Sid") == "WithinTheEnvironment"


def check_iam(views: Views, platform: Platform) -> None:
    for stack, view in views.items():
        documents = list(policy_documents(view))
        assert documents, stack
        for where, document in documents:
            for statement in statements(document):
                assert "NotPrincipal" not in statement, f"{stack}: {where} uses NotPrincipal"
                if statement["Effect"] != "Allow" or is_boundary_allowance(where, statement):
                    continue
                assert not statement.get("NotAction") and not statement.get("NotResource"), (
                    f"{stack}: {where} allows by exclusion"
                )
                for action in as_list(statement.get("Action", [])):
                    assert not SERVICE_WILDCARD.match(action.lower()), f"{stack}: {where} allows {action!r}"
                principal = statement.get("Principal")
                public = principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS", [])))
                assert not public, f"{stack}: {where} allows anyone"
        for name, attachment in view.of("aws_iam_role_policy_attachment").items():
            arn = attachment["policy_arn"]
            assert not BROAD_MANAGED_POLICIES.search(arn.rsplit(":policy/", 1)[-1]), f"{stack}: {name} attaches {arn}"
        providers = set(view.of("aws_iam_openid_connect_provider"))
        for name, role in view.of("aws_iam_role").items():
            for statement in statements(json.loads(role["assume_role_policy"])):
                assert statement["Effect"] == "Allow", f"{stack}: role {name}"
                principal = statement["Principal"]
                actions = set(as_list(statement["Action"]))
                if "Service" in principal:
                    assert set(principal) == {"Service"} and all(
                        s.endswith(".amazonaws.com") for s in as_list(principal["Service"])
                    ), f"{stack}: role {name}"
                    assert actions <= {"sts:AssumeRole", "sts:TagSession"}, (
                        f"{stack}: role {name} lets a service {actions}"
                    )
                    continue
                assert set(principal) == {"Federated"}, f"{stack}: role {name} trusts {principal}"
                provider = ref_address(principal["Federated"])
                assert provider and provider.split(".")[1] in providers, f"{stack}: role {name} trusts {principal}"
                assert actions == {"sts:AssumeRoleWithWebIdentity"}, f"{stack}: role {name}"
                conditions = {k: v for test in statement["Condition"].values() for k, v in test.items()}
                subjects = [v for k, v in conditions.items() if k.endswith(":sub")]
                assert subjects and all(s not in ("*", ["*"]) for s in subjects), (
                    f"{stack}: role {name} trusts any subject of {provider}"
                )
                assert [v for k, v in conditions.items() if k.endswith(":aud")] == ["sts.amazonaws.com"], (
                    f"{stack}: role {name}"
                )


# --------------------------------------------------------------------------- IRSA


def check_irsa(views: Views, platform: Platform) -> None:
    cluster = platform.service_of_kind("eks")[0]
    provider = f"aws_iam_openid_connect_provider.{cluster}"
    for stack, view in views.items():
        if stack == "bootstrap":
            continue
        trusted: dict[str, str] = {}
        for name, role in view.of("aws_iam_role").items():
            (statement,) = statements(json.loads(role["assume_role_policy"]))
            if statement["Principal"].get("Federated") != f"${{{provider}.arn}}":
                assert not name.startswith("irsa_"), f"{stack}: {name} does not trust the cluster's OIDC provider"
                continue
            assert set(statement["Condition"]) == {"StringEquals"}, f"{stack}: {name}"
            assert set(statement["Condition"]["StringEquals"]) == {
                f"${{{provider}.url}}:sub",
                f"${{{provider}.url}}:aud",
            }, f"{stack}: {name}"
            subject = statement["Condition"]["StringEquals"][f"${{{provider}.url}}:sub"]
            assert isinstance(subject, str) and "*" not in subject and "?" not in subject, (
                f"{stack}: {name} trusts {subject!r}"
            )
            assert subject not in trusted, f"{stack}: {name} and {trusted.get(subject)} both trust {subject}"
            trusted[subject] = name
        for workload_name, workload in platform.workloads.items():
            subject = f"system:serviceaccount:{workload.namespace}:{workload.service_account}"
            assert trusted.get(subject) == f"irsa_{workload_name}", (
                f"{stack}: {subject} is trusted by {trusted.get(subject)}, not irsa_{workload_name}"
            )


# --------------------------------------------------------------------------- EKS endpoint


def check_endpoint(views: Views, platform: Platform) -> None:
    for env_name, env in platform.environments.items():
        (cluster,) = views[env_name].of("aws_eks_cluster").values()
        vpc = cluster["vpc_config"]
        assert vpc["endpoint_private_access"] is True
        assert vpc["endpoint_public_access"] is bool(env.cluster_public_access_cidrs), env_name
        if env.cluster_public_access_cidrs:
            assert vpc["public_access_cidrs"] == list(env.cluster_public_access_cidrs), env_name
            assert not any(is_any_address(c) for c in vpc["public_access_cidrs"]), env_name
            for version, bound in PUBLIC_ENDPOINT_BOUND.items():
                assert addresses_covered(vpc["public_access_cidrs"], version) <= bound, (
                    f"{env_name}: {vpc['public_access_cidrs']}"
                )
        else:
            assert "public_access_cidrs" not in vpc, (
                f"{env_name}: a CIDR list on a private endpoint (AWS would default it to 0.0.0.0/0)"
            )


@st.composite
def internet_in_pieces(draw: st.DrawFn) -> list[str]:
    """0.0.0.0/0 or ::/0 written as 2 to 9 ranges: a /0 split at random, the pieces in any order."""
    pieces = [ipaddress.ip_network(draw(st.sampled_from(["0.0.0.0/0", "::/0"])))]
    for _ in range(draw(st.integers(1, 8))):
        net = pieces.pop(draw(st.integers(0, len(pieces) - 1)))
        pieces.extend(net.subnets(1))
    return [str(n) for n in draw(st.permutations(pieces))]


@given(doc=spec_documents(max_environments=2), data=st.data())
def test_a_cidr_list_that_opens_the_endpoint_to_everyone_is_refused(doc: dict[str, Any], data: st.DataObject) -> None:
    env = data.draw(st.sampled_from(sorted(doc["environments"])))
    cidrs = data.draw(st.lists(public_cidrs, max_size=3, unique=True))
    everyone = data.draw(st.one_of(st.sampled_from([["0.0.0.0/0"], ["::/0"]]), internet_in_pieces()))
    for cidr in everyone:
        if cidr not in cidrs:
            cidrs.insert(data.draw(st.integers(0, len(cidrs))), cidr)
    doc["environments"][env]["cluster_public_access_cidrs"] = cidrs
    with pytest.raises(ValidationError, match="whole internet"):
        Platform.model_validate(doc)


@pytest.mark.parametrize(
    ("cidrs", "accepted"),
    [
        (["17.0.0.0/9", "17.128.0.0/9"], True),  # exactly one /8
        (["17.0.0.0/8"], True),
        (["17.0.0.0/8", "203.0.113.7/32"], False),  # one address more than a /8
        (["16.0.0.0/7"], False),
        (["2001:db8::/32", "203.0.113.0/24"], True),  # each family has its own bound
        (["2001:db8::/31"], False),
        (["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"], False),
    ],
)
def test_the_endpoint_bound_is_one_slash_8_of_ipv4_and_one_slash_32_of_ipv6(cidrs: list[str], accepted: bool) -> None:
    from tmsc.load import load_platform_text

    text = EXAMPLE_SPEC.read_text().replace(
        "      rto_hours: 24\n", f"      rto_hours: 24\n    cluster_public_access_cidrs: {json.dumps(cidrs)}\n", 1
    )
    if accepted:
        assert load_platform_text(text, "spec.yaml").environments["dev"].cluster_public_access_cidrs == cidrs
    else:
        from tmsc.diagnostics import SpecError

        with pytest.raises(SpecError, match="whole internet"):
            load_platform_text(text, "spec.yaml")


def test_generated_platforms_do_open_endpoints() -> None:
    """The endpoint properties are not vacuous: the strategies produce public endpoints too."""
    seen: list[bool] = []

    @given(doc=spec_documents())
    def collect(doc: dict[str, Any]) -> None:
        seen.extend(bool(e.get("cluster_public_access_cidrs")) for e in doc["environments"].values())

    collect()
    assert any(seen) and not all(seen)


# --------------------------------------------------------------------------- the tests

# Each check runs on every generated platform (compiled once per example) and on the example spec.
CHECKS = [
    check_buckets_tls_only,
    check_data_stores,
    check_log_destinations,
    check_ingress,
    check_iam,
    check_irsa,
    check_endpoint,
]


@given(doc=spec_documents())
def test_security_invariants_hold_on_generated_platforms(doc: dict[str, Any]) -> None:
    views, platform = compile_views(doc), Platform.model_validate(doc)
    for check in CHECKS:
        check(views, platform)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_security_invariants_hold_on_the_example(check: Callable[[Views, Platform], None], example: Views) -> None:
    from tmsc.load import load_platform

    check(example, load_platform(EXAMPLE_SPEC))
