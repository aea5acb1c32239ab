"""Small hand-written Terraform JSON stacks, one per service family.

They exercise the emulator harness (tests/emulator/test_emulator_harness.py)
independently of the compiler: each is a dict of file name -> JSON document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REGION = "eu-west-1"

PROVIDER: dict[str, Any] = {
    "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "~> 5.100"}}},
    "provider": {"aws": {"region": REGION}},
}

# Proves the workspace override replaces a remote backend with a local one.
S3_BACKEND: dict[str, Any] = {
    "terraform": {
        "backend": {
            "s3": {
                "bucket": "tmsc-state-does-not-exist",
                "key": "emulator/terraform.tfstate",
                "region": REGION,
                "use_lockfile": True,
            }
        }
    },
}


def _vpc(prefix: str, cidr: str = "10.20.0.0/16") -> dict[str, Any]:
    base = cidr.split(".")
    return {
        "aws_vpc": {
            "main": {
                "cidr_block": cidr,
                "enable_dns_hostnames": True,
                "enable_dns_support": True,
                "tags": {"Name": f"{prefix}-vpc"},
            }
        },
        "aws_subnet": {
            f"private_{az}": {
                "vpc_id": "${aws_vpc.main.id}",
                "cidr_block": f"{base[0]}.{base[1]}.{i}.0/24",
                "availability_zone": f"{REGION}{az}",
                "tags": {"Name": f"{prefix}-private-{az}"},
            }
            for i, az in enumerate("ab", start=1)
        },
    }


def _merge(*parts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        for rtype, named in part.items():
            out.setdefault(rtype, {}).update(named)
    return out


SUBNETS = ["${aws_subnet.private_a.id}", "${aws_subnet.private_b.id}"]


def network() -> dict[str, Any]:
    resources = _merge(
        _vpc("net"),
        {
            "aws_security_group": {
                "app": {"name": "net-app", "description": "app tier", "vpc_id": "${aws_vpc.main.id}"},
                "db": {"name": "net-db", "description": "db tier", "vpc_id": "${aws_vpc.main.id}"},
            },
            "aws_vpc_security_group_ingress_rule": {
                "db_from_app": {
                    "security_group_id": "${aws_security_group.db.id}",
                    "referenced_security_group_id": "${aws_security_group.app.id}",
                    "ip_protocol": "tcp",
                    "from_port": 5432,
                    "to_port": 5432,
                    "description": "postgres from the app tier",
                },
                "db_from_vpc": {
                    "security_group_id": "${aws_security_group.db.id}",
                    "cidr_ipv4": "10.20.0.0/16",
                    "ip_protocol": "tcp",
                    "from_port": 6379,
                    "to_port": 6379,
                    "description": "redis from the vpc",
                },
            },
            "aws_vpc_security_group_egress_rule": {
                "app_to_db": {
                    "security_group_id": "${aws_security_group.app.id}",
                    "referenced_security_group_id": "${aws_security_group.db.id}",
                    "ip_protocol": "tcp",
                    "from_port": 5432,
                    "to_port": 5432,
                    "description": "app to postgres",
                },
            },
            "aws_security_group_rule": {
                "db_from_app_legacy": {
                    "type": "ingress",
                    "security_group_id": "${aws_security_group.db.id}",
                    "source_security_group_id": "${aws_security_group.app.id}",
                    "protocol": "tcp",
                    "from_port": 8080,
                    "to_port": 8080,
                    "description": "legacy rule resource",
                },
            },
            "aws_kms_key": {
                "main": {
                    "description": "net key",
                    "enable_key_rotation": True,
                    "rotation_period_in_days": 180,
                    "deletion_window_in_days": 7,
                }
            },
            "aws_kms_alias": {"main": {"name": "alias/net-main", "target_key_id": "${aws_kms_key.main.key_id}"}},
        },
    )
    return {
        "providers.tf.json": _with_backend(),
        "main.tf.json": {
            "resource": resources,
            "output": {"vpc_id": {"value": "${aws_vpc.main.id}"}, "key_arn": {"value": "${aws_kms_key.main.arn}"}},
        },
    }


def _with_backend() -> dict[str, Any]:
    doc = json.loads(json.dumps(PROVIDER))
    doc["terraform"].update(S3_BACKEND["terraform"])
    return doc


def tls_only_policy(bucket_arn: str) -> dict[str, Any]:
    """The standard TLS-only bucket policy (as in out/<env>/storage.tf.json)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def storage() -> dict[str, Any]:
    return {
        "providers.tf.json": PROVIDER,
        "main.tf.json": {
            "resource": {
                "aws_kms_key": {
                    "data": {"description": "bucket key", "enable_key_rotation": True, "deletion_window_in_days": 7}
                },
                "aws_s3_bucket": {"docs": {"bucket": "tmsc-emu-docs", "force_destroy": True}},
                "aws_s3_bucket_versioning": {
                    "docs": {
                        "bucket": "${aws_s3_bucket.docs.id}",
                        "versioning_configuration": {"status": "Enabled"},
                    }
                },
                "aws_s3_bucket_server_side_encryption_configuration": {
                    "docs": {
                        "bucket": "${aws_s3_bucket.docs.id}",
                        "rule": [
                            {
                                "apply_server_side_encryption_by_default": {
                                    "sse_algorithm": "aws:kms",
                                    "kms_master_key_id": "${aws_kms_key.data.arn}",
                                },
                                "bucket_key_enabled": True,
                            }
                        ],
                    }
                },
                "aws_s3_bucket_public_access_block": {
                    "docs": {
                        "bucket": "${aws_s3_bucket.docs.id}",
                        "block_public_acls": True,
                        "block_public_policy": True,
                        "ignore_public_acls": True,
                        "restrict_public_buckets": True,
                    }
                },
                # The compiler's TLS-only policy: object requests over the
                # emulator's HTTPS must pass it (patches.py, S3 conditions).
                "aws_s3_bucket_policy": {
                    "docs": {
                        "bucket": "${aws_s3_bucket.docs.id}",
                        "depends_on": ["aws_s3_bucket_public_access_block.docs"],
                        "policy": json.dumps(
                            tls_only_policy("${aws_s3_bucket.docs.arn}"), sort_keys=True, separators=(",", ":")
                        ),
                    }
                },
            },
            "output": {"bucket": {"value": "${aws_s3_bucket.docs.id}"}},
        },
    }


def database() -> dict[str, Any]:
    resources = _merge(
        _vpc("db", "10.30.0.0/16"),
        {
            "aws_security_group": {"db": {"name": "db-sg", "description": "db", "vpc_id": "${aws_vpc.main.id}"}},
            "aws_db_subnet_group": {"main": {"name": "db-subnets", "subnet_ids": SUBNETS}},
            "aws_kms_key": {"db": {"description": "db key", "enable_key_rotation": True, "deletion_window_in_days": 7}},
            "aws_db_parameter_group": {
                "pg16": {
                    "name": "orders-pg16",
                    "family": "postgres16",
                    "description": "orders",
                    "parameter": [
                        {"name": "rds.force_ssl", "value": "1", "apply_method": "immediate"},
                        {"name": "log_min_duration_statement", "value": "500", "apply_method": "immediate"},
                    ],
                }
            },
            "aws_db_instance": {
                "orders": {
                    "identifier": "orders",
                    "engine": "postgres",
                    "engine_version": "16.3",
                    "instance_class": "db.t4g.medium",
                    "allocated_storage": 20,
                    "storage_type": "gp3",
                    "storage_encrypted": True,
                    "kms_key_id": "${aws_kms_key.db.arn}",
                    "db_name": "orders",
                    "username": "orders_admin",
                    "password": "not-a-real-password-1",
                    "multi_az": True,
                    "db_subnet_group_name": "${aws_db_subnet_group.main.name}",
                    "vpc_security_group_ids": ["${aws_security_group.db.id}"],
                    "parameter_group_name": "${aws_db_parameter_group.pg16.name}",
                    "backup_retention_period": 7,
                    "copy_tags_to_snapshot": True,
                    "performance_insights_enabled": True,
                    "performance_insights_retention_period": 7,
                    "performance_insights_kms_key_id": "${aws_kms_key.db.arn}",
                    "auto_minor_version_upgrade": True,
                    "publicly_accessible": False,
                    # Production-like: the workspace's teardown flag must lift these.
                    "deletion_protection": True,
                    "skip_final_snapshot": False,
                    "final_snapshot_identifier": "orders-final",
                    "apply_immediately": True,
                },
                "audit": {
                    "identifier": "audit",
                    "engine": "postgres",
                    "engine_version": "16.3",
                    "instance_class": "db.t4g.micro",
                    "allocated_storage": 20,
                    "storage_encrypted": True,
                    "username": "audit_admin",
                    "password": "not-a-real-password-2",
                    "db_subnet_group_name": "${aws_db_subnet_group.main.name}",
                    "parameter_group_name": "${aws_db_parameter_group.pg16.name}",
                    "performance_insights_enabled": False,
                    "skip_final_snapshot": True,
                    "apply_immediately": True,
                },
            },
        },
    )
    return {
        "providers.tf.json": PROVIDER,
        "main.tf.json": {
            "resource": resources,
            "output": {
                "orders_resource_id": {"value": "${aws_db_instance.orders.resource_id}"},
                "audit_resource_id": {"value": "${aws_db_instance.audit.resource_id}"},
            },
        },
    }


def cache() -> dict[str, Any]:
    resources = _merge(
        _vpc("cache", "10.40.0.0/16"),
        {
            "aws_security_group": {
                "redis": {"name": "redis-sg", "description": "redis", "vpc_id": "${aws_vpc.main.id}"}
            },
            "aws_elasticache_subnet_group": {"main": {"name": "cache-subnets", "subnet_ids": SUBNETS}},
            "aws_elasticache_parameter_group": {
                "redis7": {
                    "name": "sessions-redis7",
                    "family": "redis7",
                    "description": "sessions",
                    "parameter": [{"name": "maxmemory-policy", "value": "allkeys-lru"}],
                }
            },
            "aws_elasticache_replication_group": {
                "sessions": {
                    "replication_group_id": "sessions",
                    "description": "sessions cache",
                    "engine": "redis",
                    "engine_version": "7.1",
                    "node_type": "cache.t4g.small",
                    "num_cache_clusters": 2,
                    "automatic_failover_enabled": True,
                    "multi_az_enabled": True,
                    "port": 6379,
                    "parameter_group_name": "${aws_elasticache_parameter_group.redis7.name}",
                    "subnet_group_name": "${aws_elasticache_subnet_group.main.name}",
                    "security_group_ids": ["${aws_security_group.redis.id}"],
                    "at_rest_encryption_enabled": True,
                    "transit_encryption_enabled": True,
                    "snapshot_retention_limit": 1,
                    "apply_immediately": True,
                    "user_group_ids": ["${aws_elasticache_user_group.sessions.user_group_id}"],
                }
            },
            # RBAC: a group must hold a user named "default"; the app signs in with IAM.
            "aws_elasticache_user": {
                "default": {
                    "user_id": "sessions-default",
                    "user_name": "default",
                    "engine": "redis",
                    "access_string": "off -@all",
                    "authentication_mode": {"type": "no-password-required"},
                },
                "app": {
                    "user_id": "sessions-app",
                    "user_name": "sessions-app",
                    "engine": "redis",
                    "access_string": "on ~* +@all -@dangerous",
                    "authentication_mode": {"type": "iam"},
                },
            },
            "aws_elasticache_user_group": {
                "sessions": {
                    "user_group_id": "sessions",
                    "engine": "redis",
                    "user_ids": ["${aws_elasticache_user.default.user_id}", "${aws_elasticache_user.app.user_id}"],
                }
            },
        },
    )
    return {
        "providers.tf.json": PROVIDER,
        "main.tf.json": {
            "resource": resources,
            "output": {
                "primary_endpoint": {"value": "${aws_elasticache_replication_group.sessions.primary_endpoint_address}"},
                # A string template: fails on a null reader endpoint.
                "connection": {
                    "value": "rediss://${aws_elasticache_replication_group.sessions.reader_endpoint_address}:6379"
                },
            },
        },
    }


def _assume(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}],
        }
    )


def cluster() -> dict[str, Any]:
    policy = "arn:aws:iam::aws:policy/"
    resources = _merge(
        _vpc("eks", "10.50.0.0/16"),
        {
            "aws_iam_role": {
                "cluster": {"name": "eks-cluster", "assume_role_policy": _assume("eks.amazonaws.com")},
                "nodes": {"name": "eks-nodes", "assume_role_policy": _assume("ec2.amazonaws.com")},
                "deployer": {"name": "eks-deployer", "assume_role_policy": _assume("ec2.amazonaws.com")},
            },
            "aws_iam_role_policy_attachment": {
                "cluster": {"role": "${aws_iam_role.cluster.name}", "policy_arn": policy + "AmazonEKSClusterPolicy"},
                "nodes_worker": {
                    "role": "${aws_iam_role.nodes.name}",
                    "policy_arn": policy + "AmazonEKSWorkerNodePolicy",
                },
                "nodes_cni": {"role": "${aws_iam_role.nodes.name}", "policy_arn": policy + "AmazonEKS_CNI_Policy"},
                "nodes_ecr": {
                    "role": "${aws_iam_role.nodes.name}",
                    "policy_arn": policy + "AmazonEC2ContainerRegistryReadOnly",
                },
            },
            "aws_eks_cluster": {
                "main": {
                    "name": "tmsc",
                    "version": "1.31",
                    "role_arn": "${aws_iam_role.cluster.arn}",
                    "vpc_config": {
                        "subnet_ids": SUBNETS,
                        "endpoint_private_access": True,
                        "endpoint_public_access": False,
                    },
                    "access_config": {
                        "authentication_mode": "API",
                        "bootstrap_cluster_creator_admin_permissions": False,
                    },
                    "enabled_cluster_log_types": ["api", "audit"],
                    "depends_on": ["aws_iam_role_policy_attachment.cluster"],
                }
            },
            "aws_launch_template": {
                "nodes": {
                    "name": "eks-nodes",
                    "update_default_version": True,
                    "metadata_options": {
                        "http_endpoint": "enabled",
                        "http_tokens": "required",
                        "http_put_response_hop_limit": 1,
                    },
                    "block_device_mappings": [
                        {
                            "device_name": "/dev/xvda",
                            "ebs": {"volume_size": 50, "volume_type": "gp3", "encrypted": "true"},
                        }
                    ],
                    "tag_specifications": [{"resource_type": "instance", "tags": {"Name": "eks-node"}}],
                    "tags": {"Name": "eks-nodes"},  # the template's own tags
                }
            },
            "aws_eks_node_group": {
                "default": {
                    "cluster_name": "${aws_eks_cluster.main.name}",
                    "node_group_name": "default",
                    "node_role_arn": "${aws_iam_role.nodes.arn}",
                    "subnet_ids": SUBNETS,
                    "instance_types": ["m6i.large"],
                    "capacity_type": "ON_DEMAND",
                    "launch_template": {
                        "id": "${aws_launch_template.nodes.id}",
                        "version": "${aws_launch_template.nodes.latest_version}",
                    },
                    "scaling_config": {"desired_size": 2, "min_size": 2, "max_size": 4},
                    "update_config": {"max_unavailable": 1},
                    "labels": {"role": "general"},
                    "depends_on": [
                        "aws_iam_role_policy_attachment.nodes_worker",
                        "aws_iam_role_policy_attachment.nodes_cni",
                        "aws_iam_role_policy_attachment.nodes_ecr",
                    ],
                }
            },
            "aws_eks_access_entry": {
                "deployer": {
                    "cluster_name": "${aws_eks_cluster.main.name}",
                    "principal_arn": "${aws_iam_role.deployer.arn}",
                    "type": "STANDARD",
                    "kubernetes_groups": ["deployers"],
                }
            },
            "aws_eks_access_policy_association": {
                "deployer_admin": {
                    "cluster_name": "${aws_eks_cluster.main.name}",
                    "principal_arn": "${aws_eks_access_entry.deployer.principal_arn}",
                    "policy_arn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy",
                    "access_scope": {"type": "namespace", "namespaces": ["orders", "billing"]},
                }
            },
            "aws_eks_addon": {
                "vpc_cni": {
                    "cluster_name": "${aws_eks_cluster.main.name}",
                    "addon_name": "vpc-cni",
                    "resolve_conflicts_on_create": "OVERWRITE",
                },
                "coredns": {
                    "cluster_name": "${aws_eks_cluster.main.name}",
                    "addon_name": "coredns",
                    "addon_version": "v1.11.3-eksbuild.1",
                    "depends_on": ["aws_eks_node_group.default"],
                },
            },
        },
    )
    return {
        "providers.tf.json": PROVIDER,
        "main.tf.json": {
            "resource": resources,
            "output": {
                "cluster_endpoint": {"value": "${aws_eks_cluster.main.endpoint}"},
            },
        },
    }


def messaging() -> dict[str, Any]:
    resources = _merge(
        _vpc("mq", "10.60.0.0/16"),
        {
            "aws_security_group": {"mq": {"name": "mq-sg", "description": "mq", "vpc_id": "${aws_vpc.main.id}"}},
            "aws_mq_broker": {
                "events": {
                    "broker_name": "events",
                    "engine_type": "RabbitMQ",
                    "engine_version": "3.13",
                    "host_instance_type": "mq.m5.large",
                    "deployment_mode": "CLUSTER_MULTI_AZ",
                    "publicly_accessible": False,
                    "auto_minor_version_upgrade": True,
                    "subnet_ids": SUBNETS,
                    "security_groups": ["${aws_security_group.mq.id}"],
                    "user": [{"username": "events_admin", "password": "not-a-real-password-3"}],
                    "maintenance_window_start_time": {
                        "day_of_week": "SUNDAY",
                        "time_of_day": "03:00",
                        "time_zone": "UTC",
                    },
                    "logs": {"general": True},
                    "apply_immediately": True,
                }
            },
        },
    )
    return {"providers.tf.json": PROVIDER, "main.tf.json": {"resource": resources}}


def secrets() -> dict[str, Any]:
    return {
        "providers.tf.json": PROVIDER,
        "main.tf.json": {
            "resource": {
                "aws_kms_key": {
                    "secrets": {"description": "secrets key", "enable_key_rotation": True, "deletion_window_in_days": 7}
                },
                "aws_secretsmanager_secret": {
                    "orders_db": {
                        "name": "tmsc/orders/db",
                        "description": "orders connection",
                        "kms_key_id": "${aws_kms_key.secrets.arn}",
                        # Production value; the workspace override sets 0 for the emulator.
                        "recovery_window_in_days": 30,
                    }
                },
                "aws_secretsmanager_secret_version": {
                    "orders_db": {
                        "secret_id": "${aws_secretsmanager_secret.orders_db.id}",
                        "secret_string": json.dumps({"host": "db.internal", "port": 5432, "dbname": "orders"}),
                    }
                },
            },
            "output": {"secret_arn": {"value": "${aws_secretsmanager_secret.orders_db.arn}"}},
        },
    }


STACKS = {
    "network": network,
    "storage": storage,
    "database": database,
    "cache": cache,
    "cluster": cluster,
    "messaging": messaging,
    "secrets": secrets,
}


def write_stack(name: str, directory: Path) -> Path:
    """Write stack ``name`` as *.tf.json files into ``directory``; return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for filename, doc in STACKS[name]().items():
        (directory / filename).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return directory
