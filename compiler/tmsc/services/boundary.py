"""The permissions boundary of each environment: the most any role its stack creates may ever do.

The bootstrap stack (applied by an administrator) creates one managed policy
per environment, `<platform>-<env>-boundary` under the path BOUNDARY_PATH.
Every IAM role an environment's stack creates carries it (compile.py adds
`permissions_boundary` to each), and an apply role may create a role, change
its policies or set its boundary only with that boundary attached
(`iam:PermissionsBoundary`, services/delivery.py). No CI role may change,
detach or delete a boundary (the delivery identity's Deny covers
BOUNDARY_PATH, and DeleteRolePermissionsBoundary is denied outright).

A boundary grants nothing: a role may do what its own policies allow *and* the
boundary allows. This one allows everything except, whatever the role's own
policies say:

- anything on a resource tagged for another environment (the `environment`
  tag the provider's default_tags put on everything), or named for another
  environment (`<platform>-<other>-...`, `<platform>/<other>/...`);
- anything on the Terraform state, its lock table and the delivery identity;
- any IAM change but creating a service-linked role, and assuming other roles:
  a role the environment creates cannot make or widen a role, or become one;
- changing who may reach a secret, a key or a bucket (resource policies), or
  who is a Kubernetes administrator of a cluster (EKS access entries, a new cluster's creator).

What a boundary cannot cap (AWS documents it): what a resource policy grants a
role directly. The stacks' resource policies name their principals (secrets,
keys, buckets), and the secrets' policies deny every other reader.
"""

from __future__ import annotations

from collections.abc import Sequence

from tmsc.ir import Block, JsonDocument, Resource, Template
from tmsc.model import Platform
from tmsc.services.context import ACCOUNT_ID, PARTITION, join, policy
from tmsc.services.permissions import CI_PATH, TAG_ENVIRONMENT, Statement, iam_arns, statement
from tmsc.services.providers import MANAGED_BY, account_of, lock_table_name, state_bucket_name

BOUNDARY_PATH = f"/{MANAGED_BY}-boundary/"

# Every IAM action that writes (Service Authorization Reference), but iam:CreateServiceLinkedRole: EKS
# creates the load balancers' service-linked role with the cluster role's rights (AmazonEKSClusterPolicy).
IAM_WRITES = (
    "iam:Add*",
    "iam:Attach*",
    "iam:ChangePassword",
    "iam:CreateAccessKey",
    "iam:CreateAccountAlias",
    "iam:CreateGroup",
    "iam:CreateInstanceProfile",
    "iam:CreateLoginProfile",
    "iam:CreateOpenIDConnectProvider",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:CreateRole",
    "iam:CreateSAMLProvider",
    "iam:CreateServiceSpecificCredential",
    "iam:CreateUser",
    "iam:CreateVirtualMFADevice",
    "iam:Deactivate*",
    "iam:Delete*",
    "iam:Detach*",
    "iam:Enable*",
    "iam:PassRole",
    "iam:Put*",
    "iam:Remove*",
    "iam:Reset*",
    "iam:Resync*",
    "iam:Set*",
    "iam:Tag*",
    "iam:Untag*",
    "iam:Update*",
    "iam:Upload*",
)
# Who may reach what: resource policies and cluster administrators.
ACCESS_CHANGES = (
    "eks:AssociateAccessPolicy",
    "eks:CreateAccessEntry",
    # a new cluster may make its creator its administrator
    "eks:CreateCluster",
    "eks:DeleteAccessEntry",
    "eks:DisassociateAccessPolicy",
    "eks:UpdateAccessEntry",
    "kms:PutKeyPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketPolicy",
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:PutResourcePolicy",
)


def boundary_name(platform: Platform, env: str) -> str:
    return f"{platform.platform}-{env}-boundary"


def boundary_arn(platform: Platform, env: str) -> Template:
    """Built rather than referenced: the environment stacks name the bootstrap stack's policy."""
    return join("arn:", PARTITION, ":iam::", ACCOUNT_ID, f":policy{BOUNDARY_PATH}{boundary_name(platform, env)}")


def boundary_address(env: str) -> str:
    return f"boundary_{env.replace('-', '_')}"


def boundary_statements(platform: Platform, env: str) -> list[Statement]:
    p = platform.platform
    others = sorted(set(platform.environments) - {env})
    statements = [
        # A boundary grants nothing by itself; the role's own policies decide within it.
        statement("WithinTheEnvironment", ["*"], "*"),
        statement(
            "NotAnotherEnvironmentsResources",
            ["*"],
            "*",
            {
                "StringNotEquals": {f"aws:ResourceTag/{TAG_ENVIRONMENT}": env},
                "Null": {f"aws:ResourceTag/{TAG_ENVIRONMENT}": "false"},
            },
            effect="Deny",
        ),
    ]
    if others:
        statements.append(
            statement(
                "NotAnotherEnvironmentsNames",
                ["*"],
                [f"arn:*:*:*:*:*{p}{sep}{other}{sep}*" for other in others for sep in ("-", "/")],
                effect="Deny",
            )
        )
    bucket = state_bucket_name(platform, account_of(platform, env))
    statements += [
        statement(
            "NotTheStateOrTheDeliveryIdentity",
            ["*"],
            [
                join("arn:", PARTITION, f":s3:::{bucket}"),
                join("arn:", PARTITION, f":s3:::{bucket}/*"),
                join("arn:", PARTITION, ":dynamodb:*:", ACCOUNT_ID, f":table/{lock_table_name(platform)}"),
                *iam_arns(f"role{CI_PATH}*", f"policy{CI_PATH}*", f"policy{BOUNDARY_PATH}*"),
            ],
            effect="Deny",
        ),
        statement("NoIamChanges", IAM_WRITES, "*", effect="Deny"),
        statement("NoOtherRoles", ["sts:AssumeRole", "sts:GetFederationToken"], "*", effect="Deny"),
        statement("NoAccessChanges", ACCESS_CHANGES, "*", effect="Deny"),
    ]
    return statements


def emit_boundaries(platform: Platform, environments: Sequence[str]) -> tuple[Block, ...]:
    """One boundary per environment, in the bootstrap stack of the account that holds it."""
    return tuple(
        Resource(
            "aws_iam_policy",
            boundary_address(env),
            {
                "name": boundary_name(platform, env),
                "path": BOUNDARY_PATH,
                "description": f"Permissions boundary of every role the {env} stack creates",
                "policy": JsonDocument(policy(*boundary_statements(platform, env))),
            },
        )
        for env in sorted(environments)
    )
