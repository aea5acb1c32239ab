"""One test per service family, on the example platform: what each emitter must put in the Terraform."""

from __future__ import annotations

import json
import re

import pytest

from tmsc.load import load_platform

from .conftest import EXAMPLE_SPEC
from .stackview import StackView, as_list, compile_views, statements

# Address suffixes of prod's zones: from the zone IDs euw1-az1..3, the same physical zones in every account.
PROD_ZONES = ("az1", "az2", "az3")


@pytest.fixture(scope="module")
def views() -> dict[str, StackView]:
    return compile_views(load_platform(EXAMPLE_SPEC))


def test_providers_and_backend(views: dict[str, StackView]) -> None:
    doc = views["prod"].documents["providers.tf.json"]
    terraform = doc["terraform"]
    assert terraform["required_version"] == ">= 1.11"
    assert terraform["required_providers"]["aws"] == {"source": "hashicorp/aws", "version": "~> 5.100"}
    backend = terraform["backend"]["s3"]
    assert backend["key"] == "tms/prod/terraform.tfstate" and backend["encrypt"] is True
    assert backend["use_lockfile"] is True and backend["dynamodb_table"] == "tms-tfstate-locks"
    main, dr = doc["provider"]["aws"]
    assert main["default_tags"]["tags"] == {"platform": "tms", "environment": "prod", "managed-by": "tmsc"}
    assert dr["alias"] == "dr" and dr["region"] == "eu-central-1"
    assert "backend" not in views["bootstrap"].documents["providers.tf.json"]["terraform"]
    assert len(views["dev"].documents["providers.tf.json"]["provider"]["aws"]) == 1


def test_network_tiers_nat_and_routes(views: dict[str, StackView]) -> None:
    prod = views["prod"]
    subnets = prod.of("aws_subnet")
    assert sorted(subnets) == sorted(f"{t}_{z}" for t in ("public", "private", "database") for z in PROD_ZONES)
    assert {s["availability_zone_id"] for s in subnets.values()} == {"euw1-az1", "euw1-az2", "euw1-az3"}
    assert not any("availability_zone" in s for s in subnets.values()), "zone names are per account: never emitted"
    assert not any(s["map_public_ip_on_launch"] for s in subnets.values())
    nats = prod.of("aws_nat_gateway")
    assert {n["subnet_id"] for n in nats.values()} == {f"${{aws_subnet.public_{z}.id}}" for z in PROD_ZONES}
    routes = prod.of("aws_route")
    for zone in PROD_ZONES:
        assert routes[f"private_{zone}_egress"]["nat_gateway_id"] == f"${{aws_nat_gateway.{zone}.id}}"
    assert not any("database" in name for name in routes), "database subnets have no route out"
    dev_routes = views["dev"].of("aws_route")
    assert {r["nat_gateway_id"] for n, r in dev_routes.items() if n.startswith("private")} == {
        "${aws_nat_gateway.az1.id}"
    }
    assert prod.of("aws_default_security_group")["main"].keys() == {"vpc_id", "tags"}
    flow = prod.of("aws_flow_log")["main"]
    assert flow["traffic_type"] == "ALL" and flow["log_destination"] == "${aws_cloudwatch_log_group.flow_logs.arn}"
    endpoint = prod.of("aws_vpc_endpoint")["s3"]
    assert endpoint["vpc_endpoint_type"] == "Gateway" and len(endpoint["route_table_ids"]) == 4


def test_kms_keys_rotate_with_explicit_policies(views: dict[str, StackView]) -> None:
    keys = views["prod"].of("aws_kms_key")
    assert set(keys) >= {"logs", "secrets", "attachments", "database", "cache", "cluster", "database_dr"}
    for key in keys.values():
        policy = json.loads(key["policy"])
        assert key["enable_key_rotation"] is True
        assert all(s["Action"] != "kms:*" for s in statements(policy))
    logs = json.loads(keys["logs"]["policy"])
    assert any(s.get("Principal") == {"Service": "logs.eu-west-1.amazonaws.com"} for s in statements(logs))


def test_bootstrap_state_bucket_and_lock_table(views: dict[str, StackView]) -> None:
    boot = views["bootstrap"]
    bucket = boot.of("aws_s3_bucket")["state"]
    assert (
        bucket["bucket"] == "tms-tfstate-eu-west-1"
        and bucket["lifecycle"]["prevent_destroy"] is True
        and bucket["force_destroy"] is False
    )
    sse = boot.of("aws_s3_bucket_server_side_encryption_configuration")["state"]["rule"][0][
        "apply_server_side_encryption_by_default"
    ]
    assert sse == {"sse_algorithm": "aws:kms", "kms_master_key_id": "${aws_kms_key.state.arn}"}
    table = boot.of("aws_dynamodb_table")["locks"]
    assert table["billing_mode"] == "PAY_PER_REQUEST" and table["hash_key"] == "LockID"
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"]["kms_key_arn"] == "${aws_kms_key.state.arn}"


def test_attachments_bucket(views: dict[str, StackView]) -> None:
    prod, dev = views["prod"], views["dev"]
    assert (
        prod.of("aws_s3_bucket")["attachments"]["bucket"]
        == "tms-prod-attachments-${data.aws_caller_identity.current.account_id}"
    )
    assert prod.of("aws_s3_bucket")["attachments"]["lifecycle"] == {"prevent_destroy": True}
    assert dev.of("aws_s3_bucket")["attachments"]["force_destroy"] is True
    rules = prod.of("aws_s3_bucket_lifecycle_configuration")["attachments"]["rule"]
    assert rules[0]["noncurrent_version_expiration"] == {"noncurrent_days": 90}
    assert prod.outputs["s3_bucket_name"]["value"] == "${aws_s3_bucket.attachments.id}"


def test_cluster(views: dict[str, StackView]) -> None:
    prod = views["prod"]
    cluster = prod.of("aws_eks_cluster")["cluster"]
    assert cluster["encryption_config"] == {
        "provider": {"key_arn": "${aws_kms_key.cluster.arn}"},
        "resources": ["secrets"],
    }
    assert cluster["vpc_config"]["endpoint_public_access"] is False
    assert cluster["access_config"]["bootstrap_cluster_creator_admin_permissions"] is False
    template = prod.of("aws_launch_template")["cluster_nodes"]
    assert template["metadata_options"]["http_tokens"] == "required"
    for zone in PROD_ZONES:
        group = prod.of("aws_eks_node_group")[f"cluster_{zone}"]
        assert group["subnet_ids"] == [f"${{aws_subnet.private_{zone}.id}}"]
        assert group["scaling_config"] == {"min_size": 2, "max_size": 6, "desired_size": 2}
    entry = prod.of("aws_eks_access_entry")["cluster_admin"]
    assert entry["principal_arn"].endswith(":role/tms-platform-admin")
    assert prod.of("aws_iam_openid_connect_provider")["cluster"]["client_id_list"] == ["sts.amazonaws.com"]
    assert (
        prod.of("aws_eks_addon")["cluster_aws_ebs_csi_driver"]["service_account_role_arn"]
        == "${aws_iam_role.irsa_cluster_aws_ebs_csi_driver.arn}"
    )


def test_workload_roles_read_exactly_what_they_declare(views: dict[str, StackView]) -> None:
    prod = views["prod"]
    dispatch = json.loads(prod.of("aws_iam_role_policy")["irsa_dispatch"]["policy"])
    read = next(s for s in statements(dispatch) if s["Sid"] == "ReadConnectionSecrets")
    assert sorted(read["Resource"]) == sorted(
        [
            "${aws_secretsmanager_secret.database.arn}",
            "${aws_secretsmanager_secret.messaging.arn}",
            "${aws_secretsmanager_secret.messaging_user_dispatch.arn}",
        ]
    )
    # Its own database user through IAM authentication, on exactly its dbuser; never the master credential.
    connect = next(s for s in statements(dispatch) if s["Sid"] == "ConnectToDatabaseAsItself")
    assert connect["Action"] == "rds-db:connect" and connect["Resource"] == (
        "arn:${data.aws_partition.current.partition}:rds-db:eu-west-1:${data.aws_caller_identity.current.account_id}"
        ":dbuser:${aws_db_instance.database.resource_id}/dispatch"
    )
    assert "master_user_secret" not in prod.of("aws_iam_role_policy")["irsa_dispatch"]["policy"]
    decrypt = next(s for s in statements(dispatch) if s["Sid"] == "DecryptThroughSecretsManager")
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}
    assert not any("s3:" in str(s["Action"]) for s in statements(dispatch))
    odoo = json.loads(prod.of("aws_iam_role_policy")["irsa_odoo"]["policy"])
    objects = next(s for s in statements(odoo) if s["Sid"] == "ObjectsUnderPrefix")
    assert objects["Resource"] == "${aws_s3_bucket.attachments.arn}/attachments/*"
    trust = json.loads(prod.of("aws_iam_role")["irsa_odoo"]["assume_role_policy"])
    assert statements(trust)[0]["Condition"]["StringEquals"] == {
        "${aws_iam_openid_connect_provider.cluster.url}:sub": "system:serviceaccount:tms:odoo",
        "${aws_iam_openid_connect_provider.cluster.url}:aud": "sts.amazonaws.com",
    }


def test_connection_secrets_admit_only_their_readers(views: dict[str, StackView]) -> None:
    prod = views["prod"]
    policy = json.loads(prod.of("aws_secretsmanager_secret_policy")["cache"]["policy"])
    deny, policy_changes = statements(policy)
    assert deny["Effect"] == "Deny" and deny["Action"] == "secretsmanager:GetSecretValue"
    # Who may read is the policy: only the principal applying and the environment's apply role may change it.
    assert policy_changes["Effect"] == "Deny" and policy_changes["Principal"] == {"AWS": "*"}
    assert set(policy_changes["Action"]) == {"secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"}
    assert policy_changes["Condition"]["StringNotEquals"]["aws:PrincipalArn"] == [
        "${data.aws_iam_session_context.current.issuer_arn}",
        "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/tmsc-ci/tms-ci-apply-prod",
    ]
    assert sorted(deny["Condition"]["StringNotEquals"]["aws:PrincipalArn"]) == sorted(
        [
            "${aws_iam_role.irsa_odoo.arn}",
            "${aws_iam_role.irsa_tracking.arn}",
            "${aws_iam_role.irsa_migration.arn}",
            "${aws_iam_role.irsa_secrets_controller.arn}",
            "${data.aws_iam_session_context.current.issuer_arn}",
            # CI refreshes the secret version when it plans and applies (spec's delivery section); pull requests
            # never plan production, so the pull-request role is not among them.
            "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/tmsc-ci/tms-ci-main-plan",
            "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/tmsc-ci/tms-ci-apply-prod",
        ]
    )
    versions = prod.of("aws_secretsmanager_secret_version")
    # The broker's connection secret is its endpoint only; each workload's user is write-only in a secret of its own.
    assert "password" not in versions["messaging"]["secret_string"]
    assert (
        "secret_string_wo" in versions["messaging_user_dispatch"]
        and "secret_string" not in versions["messaging_user_dispatch"]
    )
    assert json.loads(versions["database"]["secret_string"])["password_secret_arn"].startswith(
        "${aws_db_instance.database."
    )


def test_database(views: dict[str, StackView]) -> None:
    prod = views["prod"]
    db = prod.of("aws_db_instance")["database"]
    assert db["kms_key_id"] == "${aws_kms_key.database.arn}" and db["iam_database_authentication_enabled"] is True
    assert db["final_snapshot_identifier"] == "tms-prod-database-final" and db["monitoring_interval"] == 60
    assert db["db_subnet_group_name"] == "${aws_db_subnet_group.database.name}"
    assert prod.of("aws_db_subnet_group")["database"]["subnet_ids"] == [
        f"${{aws_subnet.database_{z}.id}}" for z in PROD_ZONES
    ]
    assert prod.of("aws_db_parameter_group")["database"]["family"] == "postgres16"
    rule = prod.of("aws_vpc_security_group_ingress_rule")["database_from_cluster"]
    assert (rule["from_port"], rule["referenced_security_group_id"]) == (5432, "${aws_security_group.cluster.id}")
    replication = prod.of("aws_db_instance_automated_backups_replication")["database"]
    assert replication["provider"] == "aws.dr" and replication["retention_period"] == 7


def test_cache(views: dict[str, StackView]) -> None:
    prod = views["prod"]
    group = prod.of("aws_elasticache_replication_group")["cache"]
    assert group["transit_encryption_mode"] == "required" and group["user_group_ids"] == [
        "${aws_elasticache_user_group.cache.user_group_id}"
    ]
    assert group["log_delivery_configuration"][0]["log_type"] == "slow-log"
    users = prod.of("aws_elasticache_user")
    assert users["cache_default"]["access_string"].startswith("off")
    # One IAM-authenticated user per workload that reads the cache (odoo, tracking), none shared.
    assert sorted(users) == ["cache_default", "cache_user_odoo", "cache_user_tracking"]
    for workload in ("odoo", "tracking"):
        user = users[f"cache_user_{workload}"]
        assert user["authentication_mode"] == {"type": "iam"}
        assert user["user_id"] == user["user_name"] == f"tms-prod-cache-user-{workload}"
        assert (
            f"${{aws_elasticache_user.cache_user_{workload}.user_id}}"
            in (prod.of("aws_elasticache_user_group")["cache"]["user_ids"])
        )
        # Its role may connect as itself and as no other user.
        (connect,) = [
            s
            for s in statements(json.loads(prod.of("aws_iam_role_policy")[f"irsa_{workload}"]["policy"]))
            if "elasticache:Connect" in as_list(s["Action"])
        ]
        users_named = [r for r in connect["Resource"] if "aws_elasticache_user." in r]
        assert users_named == [f"${{aws_elasticache_user.cache_user_{workload}.arn}}"]
    assert "username" not in json.dumps(prod.of("aws_secretsmanager_secret_version").get("cache", {}))
    assert prod.of("aws_vpc_security_group_ingress_rule")["cache_from_cluster"]["from_port"] == 6379


def test_messaging(views: dict[str, StackView]) -> None:
    prod = views["prod"]
    broker = prod.of("aws_mq_broker")["messaging"]
    # Derived from prod's business hours (mon-sat, Europe/Berlin): on Sunday, in UTC (tests/test_windows.py).
    start = broker["maintenance_window_start_time"]
    assert start["day_of_week"] == "SUNDAY" and start["time_zone"] == "UTC"
    assert re.fullmatch(r"[0-2][0-9]:[0-5][0-9]", start["time_of_day"])
    assert "maintenance_window_start_time: " in broker["//"]
    assert broker["logs"] == {"general": True} and broker["auto_minor_version_upgrade"] is True
    # The password: drawn ephemerally, written once into its own secret (write-only), read back by a data source.
    assert broker["user"][0]["password"] == "${data.aws_secretsmanager_secret_version.messaging_password.secret_string}"
    # Amazon MQ has no deletion protection of its own: prod-grade brokers get Terraform's guard, dev's none.
    assert broker["lifecycle"] == {"ignore_changes": ["user"], "prevent_destroy": True}
    assert views["dev"].of("aws_mq_broker")["messaging"]["lifecycle"] == {"ignore_changes": ["user"]}
    draws = {
        name: d
        for f in prod.documents.values()
        for name, d in f.get("ephemeral", {}).get("aws_secretsmanager_random_password", {}).items()
    }
    # The administrator's, and one per workload that reads the broker (its own user).
    assert sorted(draws) == ["messaging", "messaging_user_dispatch", "messaging_user_odoo", "messaging_user_tracking"]
    for draw in draws.values():
        assert draw["exclude_punctuation"] is True and draw["password_length"] >= 12
    user = prod.of("aws_secretsmanager_secret_version")["messaging_user_odoo"]
    assert (
        "ephemeral.aws_secretsmanager_random_password.messaging_user_odoo.random_password" in user["secret_string_wo"]
    )
    assert "secret_string" not in user and prod.of("aws_secretsmanager_secret")["messaging_user_odoo"]["name"] == (
        "tms/prod/messaging/users/odoo"
    )
    stored = prod.of("aws_secretsmanager_secret_version")["messaging_password"]
    assert stored["secret_string_wo"] == "${ephemeral.aws_secretsmanager_random_password.messaging.random_password}"
    assert "secret_string" not in stored and stored["secret_string_wo_version"] == 1
    assert (
        prod.data["aws_secretsmanager_secret_version"]["messaging_password"]["version_id"]
        == "${aws_secretsmanager_secret_version.messaging_password.version_id}"
    )
    assert prod.of("aws_secretsmanager_secret")["messaging_password"]["name"] == "tms/prod/messaging/password"
    assert "ephemeral." not in json.dumps(broker) and "ephemeral." not in json.dumps(
        prod.of("aws_secretsmanager_secret_version")["messaging"]
    )
    assert len(broker["subnet_ids"]) == 3
    assert prod.of("aws_vpc_security_group_ingress_rule")["messaging_from_cluster"]["from_port"] == 5671


def test_api(views: dict[str, StackView]) -> None:
    prod = views["prod"]
    assert prod.of("aws_lb")["api"]["internal"] is True
    route = prod.of("aws_apigatewayv2_route")["api"]
    assert route["authorization_type"] == "JWT" and route["authorizer_id"] == "${aws_apigatewayv2_authorizer.api.id}"
    stage = prod.of("aws_apigatewayv2_stage")["api"]
    assert stage["default_route_settings"]["throttling_rate_limit"] == 200
    assert json.loads(stage["access_log_settings"]["format"])["requestId"] == "$context.requestId"
    integration = prod.of("aws_apigatewayv2_integration")["api"]
    assert (
        integration["connection_type"] == "VPC_LINK" and integration["integration_uri"] == "${aws_lb_listener.api.arn}"
    )
    pods = prod.of("aws_vpc_security_group_ingress_rule")["api_pods_from_alb"]
    assert pods["security_group_id"] == "${aws_security_group.cluster.id}" and pods["from_port"] == 8080
