"""Spec + `terraform output -json` of an applied environment → the Kubernetes manifests the consumer applies.

Pure: the same spec and outputs always give the same bytes. One YAML file per kind per namespace
(`<namespace>/<Kind>.yaml`, cluster-scoped kinds under `_cluster/`), documents sorted by name, keys sorted;
the controllers' Helm values under `helm/`.

What it renders, and why so:

- a ServiceAccount per workload, for the migration identity and for each controller, annotated with its IRSA
  role (eks.amazonaws.com/role-arn) from the outputs;
- one External Secrets `SecretStore` per workload (and one for the migration identity), in its namespace, whose
  AWS auth is the workload's own service account (jwt serviceAccountRef): External Secrets fetches with the
  workload's role, so a workload's ExternalSecret can reach exactly what its role may read. No
  ClusterSecretStore: one would let any namespace fetch with a single shared role;
- one `ExternalSecret` per workload, filling the Secret `<workload>-connection` with each key of each secret
  the workload reads as an environment-variable name (`DATABASE_HOST`, `MESSAGING_PASSWORD`, ...): the pod
  takes it with `envFrom` (variables) or mounts it (one file per key). Its own database user is added by the
  template (never the master user), and so is its own cache user;
- the API's `TargetGroupBinding` (the workload that serves_api, its Service named like it);
- the migration identity's bootstrap Jobs: the database users (SQL: CREATE ROLE … LOGIN, GRANT rds_iam,
  privileges on the application schema; idempotent) and the broker users (jobs/rabbitmq_users.py: PUT users and
  permissions through the management API; idempotent);
- Helm values of the AWS Load Balancer Controller, the Cluster Autoscaler and External Secrets.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from collections.abc import Mapping
from typing import Any

import yaml

from tmsc.model import MIGRATION_NAMESPACE, Platform, database_user
from tmsc.services.controllers import CLUSTER_AUTOSCALER, LOAD_BALANCER_CONTROLLER
from tmsc.services.identity import MIGRATION, SECRETS_CONTROLLER, reading_workloads

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
ESO_API = "external-secrets.io/v1"
TGB_API = "elbv2.k8s.aws/v1beta1"
CLUSTER_SCOPED = "_cluster"
REFRESH = "1h"  # how soon a rotated or repointed secret (DR drill) reaches the pods' Secret
POSTGRES_IMAGE = "public.ecr.aws/docker/library/postgres:16-alpine"
PYTHON_IMAGE = "public.ecr.aws/docker/library/python:3.12-alpine"
MANAGED_BY = {"app.kubernetes.io/managed-by": "tmsc"}

# Keys of each kind's connection secret a workload receives (the rest are for Terraform, the drill or the
# migration identity: the master user's name and its secret's ARN are never handed to a workload).
CONNECTION_KEYS = {
    "postgres": ("host", "port", "dbname", "sslmode"),
    "redis": ("host", "reader_host", "port", "tls", "auth", "replication_group_id"),
    "rabbitmq": ("url", "host", "port", "vhost"),
}
BROKER_USER_KEYS = ("username", "password")
TABLE_PRIVILEGES = {"read_write": "SELECT, INSERT, UPDATE, DELETE", "read_only": "SELECT"}
SEQUENCE_PRIVILEGES = {"read_write": "USAGE, SELECT", "read_only": "SELECT"}
# What a read_only user must not keep from an earlier read_write grant: revoked every run, so a change of
# database_access converges.
WRITE_TABLE_PRIVILEGES = "INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"


class OutputsError(ValueError):
    """The outputs given are not those of an applied environment of this spec."""


# --------------------------------------------------------------------------- outputs


def required_outputs(platform: Platform) -> tuple[str, ...]:
    from tmsc.compile import CONTRACT_OUTPUTS

    names = [
        *CONTRACT_OUTPUTS,
        *(f"irsa_role_arn_{name}" for name in sorted(platform.workloads)),
        "secrets_controller_role_arn",
        "api_target_group_arn",
        "vpc_id",
        "migration_role_arn",
        "load_balancer_controller_role_arn",
        "cluster_autoscaler_role_arn",
        "rds_master_secret_arn",
        "rabbitmq_admin_password_secret_arn",
        "rabbitmq_user_secret_arns",
        "redis_usernames",
    ]
    return tuple(names)


def output_values(platform: Platform, env: str, raw: Any, source: str) -> dict[str, Any]:
    """The values of `terraform output -json`, checked: every output tmsc kubernetes needs is there and they are
    this spec's environment `env` (its cluster name). OutputsError says what is wrong and how to fix it."""
    if env not in platform.environments:
        raise OutputsError(
            f"no environment named {env!r} in the spec (choose one of: {', '.join(sorted(platform.environments))})"
        )
    if not isinstance(raw, Mapping) or not all(isinstance(v, Mapping) and "value" in v for v in raw.values()):
        raise OutputsError(
            f"{source} is not the output of `terraform output -json` (an object of {{name: {{value, type, sensitive}}}}); "
            f"fix: cd out/{env} && terraform output -json > outputs.json"
        )
    values = {name: entry["value"] for name, entry in raw.items()}
    missing = [name for name in required_outputs(platform) if name not in values]
    if missing:
        raise OutputsError(
            f"{source} lacks the output{'s' if len(missing) > 1 else ''} {', '.join(missing)}; fix: apply out/{env} "
            f"compiled by this tmsc (terraform apply), then take terraform output -json again"
        )
    cluster, _ = platform.service_of_kind("eks")
    expected = f"{platform.platform}-{env}-{cluster}"
    if values["eks_cluster_name"] != expected:
        raise OutputsError(
            f"{source} is of cluster {values['eks_cluster_name']!r}, not {expected!r} of environment {env!r}; "
            f"fix: take the outputs of out/{env}, or pass the --env they belong to"
        )
    return values


# --------------------------------------------------------------------------- documents


def _metadata(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(MANAGED_BY)}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def service_account(namespace: str, name: str, role_arn: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _metadata(name, namespace, annotations={ROLE_ANNOTATION: role_arn}),
    }


def secret_store(namespace: str, name: str, service_account_name: str, region: str) -> dict[str, Any]:
    return {
        "apiVersion": ESO_API,
        "kind": "SecretStore",
        "metadata": _metadata(name, namespace),
        "spec": {
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "region": region,
                    "auth": {"jwt": {"serviceAccountRef": {"name": service_account_name}}},
                }
            }
        },
    }


def env_name(service: str, key: str) -> str:
    return f"{service}_{key}".upper().replace("-", "_")


def _data(secret_arn: str, service: str, keys: tuple[str, ...], prefix: str | None = None) -> list[dict[str, Any]]:
    return [
        {
            "secretKey": env_name(prefix or service, key),
            "remoteRef": {"key": secret_arn, "property": key, "conversionStrategy": "Default"},
        }
        for key in keys
    ]


def workload_secret_sources(platform: Platform, name: str, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(secret ARN, what) of every secret the workload's ExternalSecret reads: exactly what its role may read."""
    workload = platform.workloads[name]
    contract = {"postgres": "rds_endpoint_secret_arn", "redis": "redis_endpoint_secret_arn"}
    sources: list[tuple[str, str]] = []
    for read in sorted(workload.reads):
        kind = platform.services[read].kind
        if kind == "rabbitmq":
            sources.append((values["rabbitmq_endpoint_secret_arn"], f"{read} connection"))
            sources.append((values["rabbitmq_user_secret_arns"][name], f"{read} user {name}"))
        else:
            sources.append((values[contract[kind]], f"{read} connection"))
    return sources


def external_secret(platform: Platform, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    workload = platform.workloads[name]
    data: list[dict[str, Any]] = []
    literals: dict[str, str] = {}
    for read in sorted(workload.reads):
        kind = platform.services[read].kind
        if kind == "postgres":
            data += _data(values["rds_endpoint_secret_arn"], read, CONNECTION_KEYS[kind])
            # IAM authentication as its own user: the pod signs a token with its role (no password exists).
            literals[env_name(read, "username")] = database_user(name)
            literals[env_name(read, "auth")] = "iam"
            literals[env_name(read, "region")] = platform.region
        elif kind == "redis":
            data += _data(values["redis_endpoint_secret_arn"], read, CONNECTION_KEYS[kind])
            # Its own ElastiCache user, authenticated by a token its role signs (no password exists).
            literals[env_name(read, "username")] = values["redis_usernames"][name]
        else:
            data += _data(values["rabbitmq_endpoint_secret_arn"], read, CONNECTION_KEYS[kind])
            data += _data(values["rabbitmq_user_secret_arns"][name], read, BROKER_USER_KEYS)
    target: dict[str, Any] = {"name": f"{name}-connection", "creationPolicy": "Owner", "deletionPolicy": "Retain"}
    if literals:
        target["template"] = {"engineVersion": "v2", "mergePolicy": "Merge", "data": literals}
    return {
        "apiVersion": ESO_API,
        "kind": "ExternalSecret",
        "metadata": _metadata(f"{name}-connection", workload.namespace),
        "spec": {
            "refreshInterval": REFRESH,
            "secretStoreRef": {"kind": "SecretStore", "name": name},
            "target": target,
            "data": sorted(data, key=lambda d: d["secretKey"]),
        },
    }


def target_group_binding(platform: Platform, values: Mapping[str, Any]) -> dict[str, Any] | None:
    servers = [(name, w) for name, w in sorted(platform.workloads.items()) if w.serves_api]
    if not servers:
        return None
    name, workload = servers[0]
    api_name, api = platform.service_of_kind("api")
    return {
        "apiVersion": TGB_API,
        "kind": "TargetGroupBinding",
        "metadata": _metadata(api_name, workload.namespace),
        "spec": {
            "targetGroupARN": values["api_target_group_arn"],
            "targetType": "ip",
            "serviceRef": {"name": name, "port": api.target_port},  # type: ignore[union-attr]
        },
    }


# --------------------------------------------------------------------------- bootstrap


def database_bootstrap_sql(platform: Platform) -> str:
    """Idempotent SQL the migration identity runs as the master user: each workload that reads the database gets
    a LOGIN role of its own, authenticated by IAM (GRANT rds_iam), with its privileges on the application schema,
    now and for tables the master user creates later (ALTER DEFAULT PRIVILEGES)."""
    database_name, database = platform.service_of_kind("postgres")
    schema = database.application_schema  # type: ignore[union-attr]
    dbname = database.database_name  # type: ignore[union-attr]
    lines = [
        "-- Rendered by tmsc kubernetes: database users of the workloads. Idempotent; run as the master user.",
        f"CREATE SCHEMA IF NOT EXISTS {schema};",
        f"REVOKE ALL ON DATABASE {dbname} FROM PUBLIC;",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
    ]
    for name, workload in sorted(platform.workloads.items()):
        if database_name not in workload.reads:
            continue
        user = database_user(name)
        access = workload.database_access
        lines += [
            "",
            f"-- {name}: {access.replace('_', '-')} on schema {schema}, IAM authentication only",
            "DO $$",
            "BEGIN",
            f"  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{user}') THEN",
            f"    CREATE ROLE {user} LOGIN;",
            "  END IF;",
            "END",
            "$$;",
            # SUPERUSER, REPLICATION and BYPASSRLS only a superuser may name (the RDS master is none); a role created
            # here never has them. PASSWORD NULL: IAM tokens are the only way in.
            f"ALTER ROLE {user} WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD NULL;",
            f"GRANT rds_iam TO {user};",
            f"GRANT CONNECT ON DATABASE {dbname} TO {user};",
            f"GRANT USAGE ON SCHEMA {schema} TO {user};",
            f"REVOKE CREATE ON SCHEMA {schema} FROM {user};",
        ]
        if access == "read_only":
            lines += [
                f"REVOKE {WRITE_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {schema} FROM {user};",
                f"REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA {schema} FROM {user};",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE {WRITE_TABLE_PRIVILEGES} ON TABLES FROM {user};",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE UPDATE ON SEQUENCES FROM {user};",
            ]
        lines += [
            f"GRANT {TABLE_PRIVILEGES[access]} ON ALL TABLES IN SCHEMA {schema} TO {user};",
            f"GRANT {SEQUENCE_PRIVILEGES[access]} ON ALL SEQUENCES IN SCHEMA {schema} TO {user};",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {TABLE_PRIVILEGES[access]} ON TABLES TO {user};",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {SEQUENCE_PRIVILEGES[access]} ON SEQUENCES TO {user};",
        ]
    return "\n".join(lines) + "\n"


def _secret_volume(name: str, secret: str) -> dict[str, Any]:
    return {"name": name, "secret": {"secretName": secret, "defaultMode": 0o400}}


def _job(
    name: str,
    image: str,
    command: list[str],
    env: list[dict[str, Any]],
    mounts: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    env_from: str | None = None,
) -> dict[str, Any]:
    namespace, account = MIGRATION
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "command": command,
        "env": env,
        "volumeMounts": mounts,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    }
    if env_from is not None:
        # psql reads PG* from the environment: the Secret's keys become variables.
        container["envFrom"] = [{"secretRef": {"name": env_from}}]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(name, namespace),
        "spec": {
            "backoffLimit": 3,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": {**MANAGED_BY, "app.kubernetes.io/name": name}},
                "spec": {
                    "serviceAccountName": account,
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 70,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def migration_documents(platform: Platform, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    namespace, account = MIGRATION
    broker_name, broker = platform.service_of_kind("rabbitmq")
    docs: list[dict[str, Any]] = [secret_store(namespace, account, account, platform.region)]
    # The master credential and the database endpoint, for psql (PG* variables).
    docs.append(
        {
            "apiVersion": ESO_API,
            "kind": "ExternalSecret",
            "metadata": _metadata("database-admin", namespace),
            "spec": {
                "refreshInterval": REFRESH,
                "secretStoreRef": {"kind": "SecretStore", "name": account},
                "target": {"name": "database-admin", "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                "data": [
                    {
                        "secretKey": "PGDATABASE",
                        "remoteRef": {"key": values["rds_endpoint_secret_arn"], "property": "dbname"},
                    },
                    {
                        "secretKey": "PGHOST",
                        "remoteRef": {"key": values["rds_endpoint_secret_arn"], "property": "host"},
                    },
                    {
                        "secretKey": "PGPASSWORD",
                        "remoteRef": {"key": values["rds_master_secret_arn"], "property": "password"},
                    },
                    {
                        "secretKey": "PGPORT",
                        "remoteRef": {"key": values["rds_endpoint_secret_arn"], "property": "port"},
                    },
                    {
                        "secretKey": "PGUSER",
                        "remoteRef": {"key": values["rds_master_secret_arn"], "property": "username"},
                    },
                ],
            },
        }
    )
    docs.append(
        {
            "apiVersion": ESO_API,
            "kind": "ExternalSecret",
            "metadata": _metadata("broker-admin", namespace),
            "spec": {
                "refreshInterval": REFRESH,
                "secretStoreRef": {"kind": "SecretStore", "name": account},
                "target": {
                    "name": "broker-admin",
                    "creationPolicy": "Owner",
                    "deletionPolicy": "Retain",
                    "template": {
                        "engineVersion": "v2",
                        "mergePolicy": "Merge",
                        "data": {"username": broker.username},  # type: ignore[union-attr]
                    },
                },
                "data": [
                    {
                        "secretKey": "host",
                        "remoteRef": {"key": values["rabbitmq_endpoint_secret_arn"], "property": "host"},
                    },
                    # The administrator's password is the secret's whole string.
                    {"secretKey": "password", "remoteRef": {"key": values["rabbitmq_admin_password_secret_arn"]}},
                ],
            },
        }
    )
    readers = reading_workloads(platform, broker_name)
    for workload in readers:
        docs.append(
            {
                "apiVersion": ESO_API,
                "kind": "ExternalSecret",
                "metadata": _metadata(f"broker-user-{workload}", namespace),
                "spec": {
                    "refreshInterval": REFRESH,
                    "secretStoreRef": {"kind": "SecretStore", "name": account},
                    "target": {
                        "name": f"broker-user-{workload}",
                        "creationPolicy": "Owner",
                        "deletionPolicy": "Retain",
                    },
                    "data": [
                        {
                            "secretKey": key,
                            "remoteRef": {"key": values["rabbitmq_user_secret_arns"][workload], "property": key},
                        }
                        for key in BROKER_USER_KEYS
                    ],
                },
            }
        )
    script = importlib.resources.files("tmsc.jobs").joinpath("rabbitmq_users.py").read_text(encoding="utf-8")
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _metadata("user-bootstrap", namespace),
            "data": {"database-users.sql": database_bootstrap_sql(platform), "rabbitmq_users.py": script},
        }
    )
    # A Job's pod template cannot change: a Job named after what it runs is a new Job when that changes.
    digest = hashlib.sha256(json.dumps(docs[-1]["data"], sort_keys=True).encode()).hexdigest()[:10]
    config_map = f"user-bootstrap-{digest}"
    docs[-1]["metadata"]["name"] = config_map
    scripts = {"name": "scripts", "configMap": {"name": config_map}}
    docs.append(
        _job(
            f"database-users-{digest}",
            POSTGRES_IMAGE,
            [
                "psql",
                "--no-psqlrc",
                "--single-transaction",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                "/scripts/database-users.sql",
            ],
            # TLS required (rds.force_ssl); the RDS CA bundle is not in the image, so the server is not verified here.
            [{"name": "PGSSLMODE", "value": "require"}, {"name": "PGCONNECT_TIMEOUT", "value": "10"}],
            [{"name": "scripts", "mountPath": "/scripts", "readOnly": True}],
            [scripts],
            env_from="database-admin",
        )
    )
    docs.append(
        _job(
            f"broker-users-{digest}",
            PYTHON_IMAGE,
            ["python", "/scripts/rabbitmq_users.py"],
            [{"name": "VHOST", "value": "/"}],
            [
                {"name": "scripts", "mountPath": "/scripts", "readOnly": True},
                {"name": "admin", "mountPath": "/admin", "readOnly": True},
                *({"name": f"user-{w}", "mountPath": f"/users/{w}", "readOnly": True} for w in readers),
            ],
            [
                scripts,
                _secret_volume("admin", "broker-admin"),
                *(_secret_volume(f"user-{w}", f"broker-user-{w}") for w in readers),
            ],
        )
    )
    return docs


# --------------------------------------------------------------------------- helm


def helm_values(platform: Platform, env: str, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    cluster = values["eks_cluster_name"]
    lbc_namespace, lbc_account = LOAD_BALANCER_CONTROLLER
    ca_namespace, ca_account = CLUSTER_AUTOSCALER
    eso_namespace, eso_account = SECRETS_CONTROLLER
    del lbc_namespace, ca_namespace, eso_namespace
    return {
        "aws-load-balancer-controller": {
            "clusterName": cluster,
            "region": platform.region,
            "vpcId": values["vpc_id"],
            "serviceAccount": {"create": False, "name": lbc_account},
            # TargetGroupBinding only: Terraform owns the load balancer and its security group rules.
            "enableBackendSecurityGroup": False,
            "enableServiceMutatorWebhook": False,
            "createIngressClassResource": False,
        },
        "cluster-autoscaler": {
            "cloudProvider": "aws",
            "awsRegion": platform.region,
            "autoDiscovery": {"clusterName": cluster},
            "rbac": {"serviceAccount": {"create": False, "name": ca_account}},
            "extraArgs": {"balance-similar-node-groups": True, "skip-nodes-with-system-pods": False},
        },
        "external-secrets": {
            "installCRDs": True,
            "serviceAccount": {"create": False, "name": eso_account},
        },
    }


# --------------------------------------------------------------------------- assembly


def documents(platform: Platform, env: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    namespaces = {w.namespace for w in platform.workloads.values()} | {
        MIGRATION_NAMESPACE,
        SECRETS_CONTROLLER[0],
    }
    for namespace in sorted(namespaces - {"kube-system", "default"}):
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": _metadata(namespace)})
    for name, workload in sorted(platform.workloads.items()):
        docs.append(service_account(workload.namespace, workload.service_account, values[f"irsa_role_arn_{name}"]))
        docs.append(secret_store(workload.namespace, name, workload.service_account, platform.region))
        if workload.reads:
            docs.append(external_secret(platform, name, values))
    for (namespace, account), output in (
        (MIGRATION, "migration_role_arn"),
        (SECRETS_CONTROLLER, "secrets_controller_role_arn"),
        (LOAD_BALANCER_CONTROLLER, "load_balancer_controller_role_arn"),
        (CLUSTER_AUTOSCALER, "cluster_autoscaler_role_arn"),
    ):
        docs.append(service_account(namespace, account, values[output]))
    binding = target_group_binding(platform, values)
    if binding is not None:
        docs.append(binding)
    docs += migration_documents(platform, values)
    return docs


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def dump(docs: list[dict[str, Any]]) -> str:
    return "".join(
        "---\n"
        + yaml.dump(doc, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=120, allow_unicode=True)
        for doc in docs
    )


def render(platform: Platform, env: str, values: Mapping[str, Any]) -> dict[str, str]:
    """Relative path → file text: `<namespace>/<Kind>.yaml` (cluster-scoped under _cluster/), `helm/<chart>.values.yaml`."""
    files: dict[str, list[dict[str, Any]]] = {}
    for doc in documents(platform, env, values):
        namespace = doc["metadata"].get("namespace", CLUSTER_SCOPED)
        files.setdefault(f"{namespace}/{doc['kind']}.yaml", []).append(doc)
    rendered = {path: dump(sorted(docs, key=lambda d: d["metadata"]["name"])) for path, docs in sorted(files.items())}
    for chart, chart_values in sorted(helm_values(platform, env, values).items()):
        rendered[f"helm/{chart}.values.yaml"] = yaml.dump(
            chart_values, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=120
        )
    return rendered
