"""The one AWS stack the three equivalents build, as plain data (no library imported here).

A single environment of the TMS platform, written the way a user of each tool
would write it by hand: a VPC over three AZs with public and private subnets
and one NAT gateway, an EKS cluster with a managed node group and IRSA, RDS
PostgreSQL, ElastiCache Redis, Amazon MQ for RabbitMQ, an attachments bucket,
three connection secrets, a KMS key and the IAM roles they need. With
Terraform resources that is 55 blocks; CloudFormation folds a few of them into
properties and adds a gateway attachment.

Each equivalent is run as `python <file> OUT_DIR` in its own virtual
environment and writes its template (or synth output) under OUT_DIR.
"""

from __future__ import annotations

import json

NAME = "tms-prod"
REGION = "eu-west-1"
AZS = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
VPC_CIDR = "10.30.0.0/16"
PUBLIC_CIDRS = ("10.30.0.0/20", "10.30.16.0/20", "10.30.32.0/20")
PRIVATE_CIDRS = ("10.30.64.0/18", "10.30.128.0/18", "10.30.192.0/19")
SUFFIXES = ("a", "b", "c")
TAGS = {"Project": "tms", "Environment": "prod", "ManagedBy": "bench"}

CLUSTER_VERSION = "1.31"
NODE_INSTANCE_TYPES = ["m6i.xlarge"]
NODE_SCALING = {"min": 2, "desired": 2, "max": 6}
CLUSTER_POLICIES = ("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",)
NODE_POLICIES = {
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "cni": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "ecr": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}
OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"

DB_ENGINE_VERSION = "16.4"
DB_INSTANCE_CLASS = "db.r6g.large"
DB_STORAGE_GIB = 100
DB_MAX_STORAGE_GIB = 1000
CACHE_NODE_TYPE = "cache.r7g.large"
BROKER_INSTANCE_TYPE = "mq.m5.large"
BROKER_ENGINE_VERSION = "3.13"
NONCURRENT_DAYS = 90
SECRETS = ("database", "cache", "messaging")


def tags(extra_name: str) -> dict[str, str]:
    return {**TAGS, "Name": f"{NAME}-{extra_name}"}


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def irsa_trust_policy(provider_arn: str, issuer_host: str, namespace: str, service_account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{issuer_host}:sub": f"system:serviceaccount:{namespace}:{service_account}"}
                    },
                }
            ],
        }
    )


def workload_policy(bucket_arn: str, secret_arns: list[str], key_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    "Resource": secret_arns,
                },
                {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key_arn]},
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": [f"{bucket_arn}/attachments/*"],
                },
            ],
        }
    )


def tls_only_bucket_policy(bucket_arn: str) -> str:
    return json.dumps(
        {
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
    )


def key_policy(account_root_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Root",
                    "Effect": "Allow",
                    "Principal": {"AWS": account_root_arn},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )
