"""The CI identity, in the bootstrap stack: GitHub's OIDC provider and the roles the workflows assume.

No long-lived key exists anywhere. A workflow job asks GitHub for an OIDC token
and trades it with STS for a role whose trust policy names exactly one
subject of exactly one repository (StringEquals on `sub` and `aud`):

    <platform>-ci-pr-plan     repo:OWNER/NAME:pull_request               plan of a pull request (non-production only)
    <platform>-ci-main-plan   repo:OWNER/NAME:ref:refs/heads/<branch>    drift check, the plan shown before an apply
    <platform>-ci-apply-<env> repo:OWNER/NAME:environment:<env>          apply of that one environment

Each AWS account gets these for the environments it holds (services/state.py: a bootstrap stack per account);
an account that holds only production environments has no pull-request role at all.

GitHub puts `environment:<env>` in the subject only for a job that runs in
that GitHub Environment, after its protection rules (required reviewers for
production) have passed: the prod apply role cannot be assumed without them.

What the roles may do:

- every role reads the configuration (metadata, never data) of the services the
  stacks use, in the platform's regions, and the Terraform state it works on,
  taking the state lock;
- the plan roles also read the connection secrets' values, because refreshing an
  `aws_secretsmanager_secret_version` is a GetSecretValue call. A pull request
  edits its own workflow files, so whatever the pull-request role reads, the
  author of any same-repository pull request reads: that role reads the state
  and secrets of the environments whose `delivery.pull_request_plans` is true
  (derive.py: all but production) and nothing of the others. Production is
  planned after the merge by the main-branch role;
- the main-branch role seals each saved plan with the account's plan key
  (`<platform>-ci-plans`), which only the apply role of that plan's environment
  can open: a plan holds the prior state, the broker password included, and
  travels between the plan and apply jobs as an artifact;
- an apply role changes only what its environment's stack manages: resources
  named `<platform>-<env>-*` (or `<platform>/<env>/*`), and, where AWS assigns
  the ids (EC2, KMS keys, HTTP APIs), resources carrying the `platform` and
  `environment` tags the provider's default_tags put on everything it creates;
  its own state object and lock; the managed policies the stacks attach and no
  other; the roles it may pass to the services that need them;
- nothing may change the CI roles, their policies or the GitHub OIDC provider
  (an explicit Deny): the bootstrap stack is applied by an administrator.

`Resource: "*"` appears only for actions AWS authorizes on no resource at all;
each such statement says so and is bound to the platform's regions.

Known limit: an apply role can create roles named `<platform>-<env>-*` and put
inline policies on them, which IAM cannot restrict by content. A permissions
boundary on every role the stacks emit would close that path; until then the
apply roles are as powerful as the roles their environment may create.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tmsc.derive import EnvironmentPlan, plan_platform, pull_request_plans
from tmsc.ir import Block, JsonDocument, Output, Ref, Resource, Template
from tmsc.model import Delivery, Platform
from tmsc.services.context import ACCOUNT_ID, ACCOUNT_ROOT, PARTITION, join, policy
from tmsc.services.keys import KEY_ADMIN_ACTIONS
from tmsc.services.providers import MANAGED_BY, account_of, state_bucket_name, state_key

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"
SUBJECT_KEY = f"{GITHUB_OIDC_HOST}:sub"
AUDIENCE_KEY = f"{GITHUB_OIDC_HOST}:aud"

# Every CI role and policy lives under this IAM path. No environment's role
# names (`<platform>-<env>-*`, path "/") can match it, so no apply role's scope
# reaches the CI identity itself.
CI_PATH = f"/{MANAGED_BY}-ci/"

# The default_tags of every stack (services/providers.py): the scope of the
# resources whose ids AWS assigns.
TAG_PLATFORM = "platform"
TAG_ENVIRONMENT = "environment"

PLAN_SESSION_SECONDS = 3600
# The encryption context key of a sealed plan: its environment (.github/scripts/ci.py seal-plan / open-plan).
PLAN_CONTEXT_KEY = "environment"
# Key administration without kms:CreateGrant (a grant would let the account hand out decryption) and without any
# use of the key: the plan key's policy names its users itself (see plan_key).
PLAN_KEY_ADMIN_ACTIONS = [action for action in KEY_ADMIN_ACTIONS if action != "kms:Create*"] + ["kms:CreateAlias"]
# A first prod apply creates an EKS cluster, a Multi-AZ RDS instance and a
# RabbitMQ cluster: well over an hour. The workflow asks for the same.
APPLY_SESSION_SECONDS = 4 * 3600

# AWS managed policies the environment stacks attach (services/cluster.py,
# services/database.py); tests/test_delivery.py fails when a stack attaches
# one not listed here. An apply role may attach these and nothing else.
ATTACHABLE_MANAGED_POLICIES = (
    "AmazonEKSClusterPolicy",
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonEKS_CNI_Policy",
    "service-role/AmazonEBSCSIDriverPolicy",
    "service-role/AmazonRDSEnhancedMonitoringRole",
)
# Services the stacks hand a role to (iam:PassRole): EKS (cluster, node and
# add-on roles), VPC flow logs, RDS enhanced monitoring, S3 replication (regional DR).
PASSED_TO_SERVICES = (
    "eks.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
    "monitoring.rds.amazonaws.com",
    "s3.amazonaws.com",
)
# Service-linked roles a fresh account lacks until the first resource of the service exists.
SERVICE_LINKED_ROLES = (
    "eks.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "rds.amazonaws.com",
    "elasticache.amazonaws.com",
    "mq.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "ops.apigateway.amazonaws.com",
)
# Services that use a key of the environment on the caller's behalf.
KEY_USING_SERVICES = ("rds", "eks", "elasticache", "secretsmanager", "logs", "s3")

# Actions granted on "*" and why: the list is the whole exception, and
# tests/test_delivery.py holds every "*" statement to it.
RESOURCELESS_ACTIONS: dict[str, str] = {
    "ec2:Describe*": "EC2 Describe calls take no resource-level permissions",
    "elasticloadbalancing:Describe*": "ELB Describe calls take no resource-level permissions",
    "kms:ListAliases": "lists the region's aliases, no resource",
    "kms:DescribeKey": "plan refreshes keys whose ids AWS assigns",
    "kms:GetKeyPolicy": "plan refreshes keys whose ids AWS assigns",
    "kms:GetKeyRotationStatus": "plan refreshes keys whose ids AWS assigns",
    "kms:ListResourceTags": "plan refreshes keys whose ids AWS assigns",
    "kms:CreateKey": "a key that does not exist yet has no ARN",
    "kms:TagResource": "tagging at CreateKey, before the key has an ARN",
    "eks:Describe*": "DescribeAddonVersions and DescribeUpdate take no cluster ARN",
    "eks:List*": "ListClusters takes no resource",
    "rds:Describe*": "the provider finds instances by resource-id filter, authorized on no single ARN",
    "rds:ListTagsForResource": "follows the Describe calls",
    "elasticache:Describe*": "DescribeCacheClusters for members of a group is authorized on no single ARN",
    "elasticache:List*": "ListTagsForResource follows the Describe calls",
    "mq:Describe*": "broker ids are assigned by AWS",
    "mq:List*": "ListBrokers takes no resource",
    "mq:CreateBroker": "Amazon MQ's CreateBroker takes no resource-level permissions",
    "logs:Describe*": "DescribeLogGroups and DescribeResourcePolicies take no resource",
    "logs:ListTagsForResource": "follows DescribeLogGroups",
    "logs:ListTagsLogGroup": "follows DescribeLogGroups",
    "logs:GetLogDelivery": "log deliveries (ElastiCache, API Gateway logs) take no resource-level permissions",
    "logs:ListLogDeliveries": "log deliveries take no resource-level permissions",
    "logs:CreateLogDelivery": "log deliveries take no resource-level permissions",
    "logs:UpdateLogDelivery": "log deliveries take no resource-level permissions",
    "logs:DeleteLogDelivery": "log deliveries take no resource-level permissions",
    "logs:PutResourcePolicy": "the account's log resource policy that lets a service deliver logs has no ARN",
    "secretsmanager:DescribeSecret": "plan refreshes the RDS-managed secret, named rds!db-<id> by AWS",
    "secretsmanager:GetResourcePolicy": "follows DescribeSecret",
    "secretsmanager:ListSecretVersionIds": "follows DescribeSecret",
    "secretsmanager:GetRandomPassword": "generates a password, touches no resource",
}


def role_names(platform: Platform) -> dict[str, str]:
    """Terraform address suffix → IAM role name of every CI role."""
    prefix = f"{platform.platform}-ci"
    names = {"pr_plan": f"{prefix}-pr-plan", "main_plan": f"{prefix}-main-plan"}
    names.update({apply_address(env): f"{prefix}-apply-{env}" for env in sorted(platform.environments)})
    return names


def apply_address(env: str) -> str:
    return f"apply_{env.replace('-', '_')}"


def pull_request_subject(delivery: Delivery) -> str:
    return f"repo:{delivery.github_repository}:pull_request"


def branch_subject(delivery: Delivery) -> str:
    return f"repo:{delivery.github_repository}:ref:refs/heads/{delivery.default_branch}"


def environment_subject(delivery: Delivery, env: str) -> str:
    return f"repo:{delivery.github_repository}:environment:{env}"


def role_arn(platform: Platform, address: str) -> Template:
    """ARN of a CI role, built rather than referenced so environment stacks may name it too."""
    return join("arn:", PARTITION, ":iam::", ACCOUNT_ID, f":role{CI_PATH}{role_names(platform)[address]}")


def pull_request_environments(platform: Platform, environments: Iterable[str]) -> list[str]:
    """The environments (of those given) whose state and secrets the pull-request role may read."""
    # The rule alone (derive.pull_request_plans), not the whole plan: this runs for every secret emitted.
    return sorted(env for env in environments if pull_request_plans(platform.environments[env]).value)


def ci_secret_readers(platform: Platform, env: str) -> list[Template]:
    """The CI roles that refresh `env`'s connection secrets (GetSecretValue): for those secrets' resource policies.

    Empty without a delivery section. A secret whose policy leaves these out
    fails every plan and apply by CI with AccessDenied; the pull-request role is
    left out of production's, so its policy denies it even if an IAM policy allowed it.
    """
    if platform.delivery is None:
        return []
    readers = [role_arn(platform, "main_plan"), role_arn(platform, apply_address(env))]
    if pull_request_environments(platform, [env]):
        readers.insert(0, role_arn(platform, "pr_plan"))
    return readers


def github_trust(provider_arn: Ref | Template, subject: str) -> JsonDocument:
    return JsonDocument(
        policy(
            {
                "Sid": "GitHubActionsOidc",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {AUDIENCE_KEY: STS_AUDIENCE, SUBJECT_KEY: subject}},
            }
        )
    )


# --------------------------------------------------------------------------- ARN helpers


def _regional(service: str, regions: Sequence[str], *resources: str) -> list[Template]:
    return [
        join("arn:", PARTITION, f":{service}:{region}:", ACCOUNT_ID, f":{resource}")
        for region in regions
        for resource in resources
    ]


def _iam(*resources: str) -> list[Template]:
    return [join("arn:", PARTITION, ":iam::", ACCOUNT_ID, f":{resource}") for resource in resources]


def _s3(*resources: str) -> list[Template]:
    return [join("arn:", PARTITION, f":s3:::{resource}") for resource in resources]


def _apigateway(regions: Sequence[str], *paths: str) -> list[Template]:
    return [join("arn:", PARTITION, f":apigateway:{region}::{path}") for region in regions for path in paths]


def _in_regions(regions: Sequence[str]) -> dict[str, Any]:
    return {"StringEquals": {"aws:RequestedRegion": list(regions)}}


def _statement(
    sid: str, actions: Iterable[str], resources: Any, condition: dict[str, Any] | None = None, effect: str = "Allow"
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": effect, "Action": sorted(actions), "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _resourceless(
    sid: str, actions: Sequence[str], regions: Sequence[str], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Actions AWS authorizes on no resource (see RESOURCELESS_ACTIONS): "*", but only in the platform's regions."""
    unknown = [a for a in actions if a not in RESOURCELESS_ACTIONS]
    assert not unknown, f"{unknown} are not documented as resourceless"
    condition = _in_regions(regions)
    for operator, pairs in (extra or {}).items():
        condition.setdefault(operator, {}).update(pairs)
    return _statement(sid, actions, "*", condition)


def _tags(kind: str, platform: str, env: str) -> dict[str, str]:
    return {f"aws:{kind}/{TAG_PLATFORM}": platform, f"aws:{kind}/{TAG_ENVIRONMENT}": env}


def _untagged_until_now() -> dict[str, Any]:
    """A resource that carries no environment tag yet: being created, or adopted (the VPC's default security group)."""
    return {"Null": {f"aws:ResourceTag/{TAG_ENVIRONMENT}": "true"}}


def _tag_keys_kept() -> dict[str, Any]:
    """Tag changes that leave the platform and environment tags alone: a role cannot hand a resource to another environment."""
    return {"ForAllValues:StringNotEquals": {"aws:TagKeys": [TAG_PLATFORM, TAG_ENVIRONMENT]}}


def _merge(*conditions: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for condition in conditions:
        for operator, pairs in condition.items():
            merged.setdefault(operator, {}).update(pairs)
    return merged


# --------------------------------------------------------------------------- what every CI role reads


def platform_regions(platform: Platform, plans: dict[str, EnvironmentPlan]) -> list[str]:
    dr = {p.database_cross_region_backup.value for p in plans.values() if p.database_cross_region_backup.value}
    return [platform.region, *sorted(dr - {platform.region})]


def read_statements(platform: Platform, regions: Sequence[str]) -> list[dict[str, Any]]:
    """Configuration reads for `terraform plan`: metadata of the services the stacks use, never object or item contents."""
    prefix = platform.platform
    return [
        _resourceless(
            "ReadServiceConfiguration",
            [
                "ec2:Describe*",
                "eks:Describe*",
                "eks:List*",
                "elasticache:Describe*",
                "elasticache:List*",
                "elasticloadbalancing:Describe*",
                "kms:DescribeKey",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListAliases",
                "kms:ListResourceTags",
                "logs:Describe*",
                "logs:GetLogDelivery",
                "logs:ListLogDeliveries",
                "logs:ListTagsForResource",
                "logs:ListTagsLogGroup",
                "mq:Describe*",
                "mq:List*",
                "rds:Describe*",
                "rds:ListTagsForResource",
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetRandomPassword",
                "secretsmanager:GetResourcePolicy",
                "secretsmanager:ListSecretVersionIds",
            ],
            regions,
        ),
        # HTTP API and VPC link ids are assigned by AWS; GET reads configuration only.
        _statement(
            "ReadHttpApis",
            ["apigateway:GET"],
            _apigateway(regions, "/apis", "/apis/*", "/vpclinks", "/vpclinks/*", "/tags/*"),
        ),
        _statement(
            "ReadRolesAndOidcProviders",
            [
                "iam:GetOpenIDConnectProvider",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
            ],
            _iam(
                f"role/{prefix}-*",
                f"role{CI_PATH}{prefix}-*",
                *(f"oidc-provider/oidc.eks.{r}.amazonaws.com/id/*" for r in regions),
            ),
        ),
        _statement(
            "ReadBucketConfiguration",
            [
                "s3:GetAccelerateConfiguration",
                "s3:GetBucket*",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:GetReplicationConfiguration",
                "s3:ListBucket",
            ],
            _s3(f"{prefix}-*"),
        ),
    ]


# --------------------------------------------------------------------------- the state


def state_statements(platform: Platform, stacks: Sequence[str], write: bool) -> list[dict[str, Any]]:
    """Read (and, for an apply role, write) the state of the named stacks (all of one account), taking their locks."""
    bucket = state_bucket_name(platform, account_of(platform, stacks[0]))
    keys = [state_key(platform, stack) for stack in stacks]
    lock_ids = [f"{bucket}/{key}{suffix}" for key in keys for suffix in ("", "-md5")]
    via = [f"{service}.{platform.region}.amazonaws.com" for service in ("s3", "dynamodb")]
    return [
        # The bucket holds only state objects; `terraform init` lists workspaces under env:/.
        _statement("ListStateBucket", ["s3:ListBucket"], Ref("aws_s3_bucket.state", "arn")),
        _statement(
            "StateObjects",
            ["s3:GetObject", *(["s3:PutObject"] if write else [])],
            [join(Ref("aws_s3_bucket.state", "arn"), f"/{key}") for key in keys],
        ),
        _statement(
            "StateLockFiles",
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            [join(Ref("aws_s3_bucket.state", "arn"), f"/{key}.tflock") for key in keys],
        ),
        _statement(
            "StateLockTable",
            ["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem"],
            Ref("aws_dynamodb_table.locks", "arn"),
            {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": lock_ids}},
        ),
        _statement(
            "StateKeyThroughS3AndDynamoDb",
            ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            Ref("aws_kms_key.state", "arn"),
            {"StringEquals": {"kms:ViaService": via}},
        ),
    ]


def secret_value_statements(
    platform: Platform, environments: Sequence[str], regions: Sequence[str]
) -> list[dict[str, Any]]:
    """Refreshing a secret version reads its value: the connection secrets of the named environments, and no others."""
    p = platform.platform
    return [
        _statement(
            "ConnectionSecretValues",
            ["secretsmanager:GetSecretValue"],
            [arn for env in environments for arn in _regional("secretsmanager", regions[:1], f"secret:{p}/{env}/*")],
        ),
        _statement(
            "SecretsKeyThroughSecretsManager",
            ["kms:Decrypt"],
            _regional("kms", regions[:1], "key/*"),
            {
                "StringEquals": {
                    f"aws:ResourceTag/{TAG_PLATFORM}": p,
                    f"aws:ResourceTag/{TAG_ENVIRONMENT}": list(environments),
                    "kms:ViaService": f"secretsmanager.{regions[0]}.amazonaws.com",
                }
            },
        ),
    ]


# --------------------------------------------------------------------------- what one apply role changes

EC2_CREATES: dict[str, tuple[str, ...]] = {
    "vpc": ("ec2:CreateVpc",),
    "subnet": ("ec2:CreateSubnet",),
    "internet-gateway": ("ec2:CreateInternetGateway",),
    "elastic-ip": ("ec2:AllocateAddress",),
    "natgateway": ("ec2:CreateNatGateway",),
    "route-table": ("ec2:CreateRouteTable",),
    "security-group": ("ec2:CreateSecurityGroup",),
    "security-group-rule": ("ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress"),
    "vpc-endpoint": ("ec2:CreateVpcEndpoint",),
    "vpc-flow-log": ("ec2:CreateFlowLogs",),
    "launch-template": ("ec2:CreateLaunchTemplate",),
}
# On resources of the environment (by tag): the parent side of every create
# (a subnet in a VPC, a NAT gateway on a subnet and an address) and every change.
EC2_CHANGES = (
    "ec2:Associate*",
    "ec2:Attach*",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateFlowLogs",
    "ec2:CreateLaunchTemplateVersion",
    "ec2:CreateNatGateway",
    "ec2:CreateNetworkInterface",
    "ec2:CreateRoute",
    "ec2:CreateRouteTable",
    "ec2:CreateSecurityGroup",
    "ec2:CreateSubnet",
    "ec2:CreateVpcEndpoint",
    "ec2:DeleteFlowLogs",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteLaunchTemplate",
    "ec2:DeleteLaunchTemplateVersions",
    "ec2:DeleteNatGateway",
    "ec2:DeleteRoute",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteSubnet",
    "ec2:DeleteVpc",
    "ec2:DeleteVpcEndpoints",
    "ec2:Detach*",
    "ec2:Disassociate*",
    "ec2:Modify*",
    "ec2:ReleaseAddress",
    "ec2:Replace*",
    "ec2:Revoke*",
    "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
)


def network_statements(platform: Platform, env: str, region: str) -> list[dict[str, Any]]:
    p = platform.platform
    regions = [region]
    # Existing resources are scoped by their tags: the resource type adds nothing to that.
    all_types = _regional("ec2", regions, "*")
    statements = [
        _statement(
            f"Create{''.join(part.title() for part in kind.split('-'))}Tagged",
            actions,
            _regional("ec2", regions, f"{kind}/*"),
            {"StringEquals": _tags("RequestTag", p, env)},
        )
        for kind, actions in sorted(EC2_CREATES.items())
    ]
    statements += [
        _statement("ChangeOwnNetwork", EC2_CHANGES, all_types, {"StringEquals": _tags("ResourceTag", p, env)}),
        _statement(
            "TagOnCreate",
            ["ec2:CreateTags"],
            all_types,
            {"StringEquals": {"ec2:CreateAction": sorted({a for actions in EC2_CREATES.values() for a in actions})}},
        ),
        _statement(
            "RetagOwnNetwork",
            ["ec2:CreateTags", "ec2:DeleteTags"],
            all_types,
            _merge({"StringEquals": _tags("ResourceTag", p, env)}, _tag_keys_kept()),
        ),
        # aws_default_security_group adopts the group AWS made with the VPC, untagged: it may be
        # tagged into this environment (never out of another), then closed by ChangeOwnNetwork.
        _statement(
            "AdoptDefaultSecurityGroup",
            ["ec2:CreateTags"],
            _regional("ec2", regions, "security-group/*"),
            _merge({"StringEquals": _tags("RequestTag", p, env)}, _untagged_until_now()),
        ),
        # Amazon MQ creates the broker's network interfaces with the caller's rights and
        # does not tag them; their ids are AWS's: nothing narrower than the region exists.
        _statement(
            "BrokerNetworkInterfaces",
            [
                "ec2:CreateNetworkInterface",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
                "ec2:DetachNetworkInterface",
            ],
            _regional("ec2", regions, "network-interface/*"),
        ),
    ]
    return statements


def key_statements(platform: Platform, env: str, regions: Sequence[str]) -> list[dict[str, Any]]:
    p = platform.platform
    keys = _regional("kms", regions, "key/*")
    own = {"StringEquals": _tags("ResourceTag", p, env)}
    return [
        _resourceless(
            "CreateTaggedKeys",
            ["kms:CreateKey", "kms:TagResource"],
            regions,
            _merge({"StringEquals": _tags("RequestTag", p, env)}, _untagged_until_now()),
        ),
        _statement(
            "ManageOwnKeys",
            [
                "kms:CreateAlias",
                "kms:DeleteAlias",
                "kms:DisableKeyRotation",
                "kms:EnableKeyRotation",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:UpdateAlias",
                "kms:UpdateKeyDescription",
            ],
            keys,
            own,
        ),
        _statement("RetagOwnKeys", ["kms:TagResource", "kms:UntagResource"], keys, _merge(own, _tag_keys_kept())),
        _statement(
            "OwnAliases",
            ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            _regional("kms", regions, f"alias/{p}-{env}-*"),
        ),
        # RDS, EKS, ElastiCache and Secrets Manager use the keys on the caller's behalf, through grants.
        _statement(
            "UseOwnKeysThroughServices",
            ["kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            keys,
            _merge(
                own,
                {"StringLike": {"kms:ViaService": [f"{service}.*.amazonaws.com" for service in KEY_USING_SERVICES]}},
            ),
        ),
    ]


def identity_statements(platform: Platform, env: str, regions: Sequence[str]) -> list[dict[str, Any]]:
    p = platform.platform
    roles = _iam(f"role/{p}-{env}-*")
    eks_oidc = _iam(*(f"oidc-provider/oidc.eks.{r}.amazonaws.com/id/*" for r in regions[:1]))
    return [
        _statement(
            "OwnRoles",
            [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ],
            roles,
        ),
        _statement(
            "AttachOnlyTheStacksManagedPolicies",
            ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            roles,
            {
                "ArnEquals": {
                    "iam:PolicyARN": [
                        join("arn:", PARTITION, f":iam::aws:policy/{name}") for name in ATTACHABLE_MANAGED_POLICIES
                    ]
                }
            },
        ),
        _statement(
            "PassOwnRolesToTheirServices",
            ["iam:PassRole"],
            roles,
            {"StringEquals": {"iam:PassedToService": list(PASSED_TO_SERVICES)}},
        ),
        _statement(
            "CreateClusterOidcProvider",
            ["iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"],
            eks_oidc,
            _merge({"StringEquals": _tags("RequestTag", p, env)}, _untagged_until_now()),
        ),
        _statement(
            "ManageOwnClusterOidcProvider",
            [
                "iam:AddClientIDToOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider",
                "iam:RemoveClientIDFromOpenIDConnectProvider",
                "iam:UntagOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
            ],
            eks_oidc,
            {"StringEquals": _tags("ResourceTag", p, env)},
        ),
        _statement(
            "ServiceLinkedRoles",
            ["iam:CreateServiceLinkedRole"],
            _iam("role/aws-service-role/*"),
            {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}},
        ),
    ]


def cluster_statements(platform: Platform, env: str, region: str) -> list[dict[str, Any]]:
    name = f"{platform.platform}-{env}-*"
    regions = [region]
    return [
        _statement(
            "OwnClusterNodeGroupsAddonsAccessEntries",
            [
                "eks:AssociateAccessPolicy",
                "eks:AssociateEncryptionConfig",
                "eks:CreateAccessEntry",
                "eks:CreateAddon",
                "eks:CreateCluster",
                "eks:CreateNodegroup",
                "eks:DeleteAccessEntry",
                "eks:DeleteAddon",
                "eks:DeleteCluster",
                "eks:DeleteNodegroup",
                "eks:DisassociateAccessPolicy",
                "eks:TagResource",
                "eks:UntagResource",
                "eks:UpdateAccessEntry",
                "eks:UpdateAddon",
                "eks:UpdateClusterConfig",
                "eks:UpdateClusterVersion",
                "eks:UpdateNodegroupConfig",
                "eks:UpdateNodegroupVersion",
            ],
            _regional(
                "eks",
                regions,
                f"cluster/{name}",
                f"nodegroup/{name}/*/*",
                f"addon/{name}/*/*",
                f"access-entry/{name}/*",
            ),
        ),
    ]


def edge_statements(platform: Platform, env: str, region: str) -> list[dict[str, Any]]:
    p = platform.platform
    name = f"{p}-{env}-*"
    regions = [region]
    return [
        _statement(
            "OwnLoadBalancer",
            [
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ],
            _regional(
                "elasticloadbalancing",
                regions,
                f"loadbalancer/app/{name}/*",
                f"targetgroup/{name}/*",
                f"listener/app/{name}/*/*",
                f"listener-rule/app/{name}/*/*/*",
            ),
        ),
        _statement(
            "CreateTaggedHttpApiAndVpcLink",
            ["apigateway:POST"],
            _apigateway(regions, "/apis", "/vpclinks"),
            {"StringEquals": _tags("RequestTag", p, env)},
        ),
        _statement(
            "ChangeOwnHttpApiAndVpcLink",
            ["apigateway:DELETE", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"],
            _apigateway(regions, "/apis/*", "/vpclinks/*", "/tags/*"),
            {"StringEquals": _tags("ResourceTag", p, env)},
        ),
        # Routes, integrations and authorizers of an HTTP API cannot be tagged, and API
        # Gateway V2 does not lend them their API's tags: the path is all AWS offers.
        _statement(
            "HttpApiChildren",
            ["apigateway:DELETE", "apigateway:PATCH", "apigateway:POST"],
            _apigateway(
                regions,
                *(
                    f"/apis/*/{child}{tail}"
                    for child in ("routes", "integrations", "authorizers", "stages")
                    for tail in ("", "/*")
                ),
            ),
        ),
        _statement(
            "OwnLogGroups",
            [
                "logs:AssociateKmsKey",
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:DisassociateKmsKey",
                "logs:PutRetentionPolicy",
                "logs:TagLogGroup",
                "logs:TagResource",
                "logs:UntagLogGroup",
                "logs:UntagResource",
            ],
            _regional("logs", regions, f"log-group:/aws/*/{p}-{env}/*", f"log-group:/aws/*/{p}-{env}-*"),
        ),
        # ElastiCache slow logs and API Gateway access logs are "log deliveries".
        _resourceless(
            "LogDeliveries",
            ["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:PutResourcePolicy", "logs:UpdateLogDelivery"],
            regions,
        ),
    ]


def data_statements(platform: Platform, plan: EnvironmentPlan, regions: Sequence[str]) -> list[dict[str, Any]]:
    p = platform.platform
    env = plan.name
    name = f"{p}-{env}-*"
    region = regions[:1]
    statements = [
        _statement(
            "OwnDatabase",
            [
                "rds:AddTagsToResource",
                "rds:CreateDBInstance",
                "rds:CreateDBParameterGroup",
                "rds:CreateDBSnapshot",
                "rds:CreateDBSubnetGroup",
                "rds:DeleteDBInstance",
                "rds:DeleteDBInstanceAutomatedBackup",
                "rds:DeleteDBParameterGroup",
                "rds:DeleteDBSubnetGroup",
                "rds:ModifyDBInstance",
                "rds:ModifyDBParameterGroup",
                "rds:ModifyDBSubnetGroup",
                "rds:RebootDBInstance",
                "rds:RemoveTagsFromResource",
                "rds:ResetDBParameterGroup",
                "rds:StartDBInstanceAutomatedBackupsReplication",
                "rds:StopDBInstanceAutomatedBackupsReplication",
            ],
            # og:default:* is the engine's default option group every instance is created in;
            # replicated backups get ids from AWS (auto-backup:ab-...).
            _regional(
                "rds",
                regions,
                f"db:{name}",
                f"pg:{name}",
                f"subgrp:{name}",
                f"snapshot:{name}",
                "og:default:*",
                "auto-backup:*",
            ),
        ),
        # manage_master_user_password: RDS creates its secret (rds!db-<id>) with the caller's rights.
        _statement(
            "DatabaseManagedSecret",
            ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
            _regional("secretsmanager", region, "secret:rds!db-*"),
        ),
        _statement(
            "OwnCache",
            [
                "elasticache:AddTagsToResource",
                "elasticache:CreateCacheCluster",
                "elasticache:CreateCacheSubnetGroup",
                "elasticache:CreateReplicationGroup",
                "elasticache:CreateSnapshot",
                "elasticache:CreateUser",
                "elasticache:CreateUserGroup",
                "elasticache:DecreaseReplicaCount",
                "elasticache:DeleteCacheCluster",
                "elasticache:DeleteCacheSubnetGroup",
                "elasticache:DeleteReplicationGroup",
                "elasticache:DeleteUser",
                "elasticache:DeleteUserGroup",
                "elasticache:IncreaseReplicaCount",
                "elasticache:ModifyCacheCluster",
                "elasticache:ModifyCacheSubnetGroup",
                "elasticache:ModifyReplicationGroup",
                "elasticache:ModifyUser",
                "elasticache:ModifyUserGroup",
                "elasticache:RemoveTagsFromResource",
            ],
            # parametergroup:default.* is the engine's default group a replication group starts in.
            _regional(
                "elasticache",
                region,
                f"replicationgroup:{name}",
                f"cluster:{name}",
                f"subnetgroup:{name}",
                f"user:{name}",
                f"usergroup:{name}",
                f"snapshot:{name}",
                "parametergroup:default.*",
            ),
        ),
        _resourceless("CreateTaggedBroker", ["mq:CreateBroker"], region, {"StringEquals": _tags("RequestTag", p, env)}),
        _statement(
            "OwnBroker",
            [
                "mq:CreateTags",
                "mq:CreateUser",
                "mq:DeleteBroker",
                "mq:DeleteTags",
                "mq:DeleteUser",
                "mq:RebootBroker",
                "mq:UpdateBroker",
                "mq:UpdateUser",
            ],
            _regional("mq", region, f"broker:{name}:*"),
        ),
        _statement(
            "OwnConnectionSecrets",
            [
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteResourcePolicy",
                "secretsmanager:DeleteSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutResourcePolicy",
                "secretsmanager:PutSecretValue",
                # Replicas in the DR region are made and removed through the primary secret.
                "secretsmanager:RemoveRegionsFromReplication",
                "secretsmanager:ReplicateSecretToRegions",
                "secretsmanager:RestoreSecret",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
                "secretsmanager:UpdateSecret",
                "secretsmanager:UpdateSecretVersionStage",
                "secretsmanager:ValidateResourcePolicy",
            ],
            _regional("secretsmanager", region, f"secret:{p}/{env}/*"),
        ),
        _statement(
            "OwnBuckets",
            [
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:ListBucketVersions",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
                "s3:PutReplicationConfiguration",
            ],
            _s3(name),
        ),
    ]
    if not plan.deletion_protection.value:
        # force_destroy: a disposable environment's bucket is emptied before it is deleted.
        statements.append(
            _statement("EmptyOwnDisposableBuckets", ["s3:DeleteObject", "s3:DeleteObjectVersion"], _s3(f"{name}/*"))
        )
    return statements


def protect_delivery_identity() -> dict[str, Any]:
    """No CI role may change a CI role, a CI policy or the GitHub OIDC provider: that is the bootstrap stack's, applied by a person."""
    return _statement(
        "NeverChangeTheDeliveryIdentity",
        [
            "iam:Add*",
            "iam:Attach*",
            "iam:Create*",
            "iam:Delete*",
            "iam:Detach*",
            "iam:PassRole",
            "iam:Put*",
            "iam:Remove*",
            "iam:Tag*",
            "iam:Untag*",
            "iam:Update*",
        ],
        _iam(f"role{CI_PATH}*", f"policy{CI_PATH}*", f"oidc-provider/{GITHUB_OIDC_HOST}"),
        effect="Deny",
    )


# --------------------------------------------------------------------------- blocks


def _managed_policy(address: str, name: str, description: str, statements: list[dict[str, Any]]) -> Resource:
    return Resource(
        "aws_iam_policy",
        address,
        {"name": name, "path": CI_PATH, "description": description, "policy": JsonDocument(policy(*statements))},
    )


def _role(address: str, name: str, description: str, trust: JsonDocument, seconds: int) -> Resource:
    return Resource(
        "aws_iam_role",
        address,
        {
            "name": name,
            "path": CI_PATH,
            "description": description,
            "assume_role_policy": trust,
            "max_session_duration": seconds,
        },
    )


def _attach(role: Resource, policy_resource: Resource) -> Resource:
    return Resource(
        "aws_iam_role_policy_attachment",
        f"{role.name}__{policy_resource.name}",
        {"role": role.ref("name"), "policy_arn": policy_resource.ref("arn")},
    )


def github_oidc_provider(platform: Platform) -> tuple[list[Block], Ref | Template]:
    delivery = platform.delivery
    assert delivery is not None
    if delivery.github_oidc_provider == "existing":
        return [], join("arn:", PARTITION, ":iam::", ACCOUNT_ID, f":oidc-provider/{GITHUB_OIDC_HOST}")
    # No thumbprint: IAM trusts GitHub's certificate through its own root CA library.
    provider = Resource(
        "aws_iam_openid_connect_provider", "github", {"url": GITHUB_OIDC_URL, "client_id_list": [STS_AUDIENCE]}
    )
    return [provider], provider.ref("arn")


def plan_key(platform: Platform, environments: Sequence[str]) -> tuple[Resource, Resource]:
    """The key that seals saved plans between the plan and the apply job: the main-branch role encrypts, only the
    apply role of the plan's environment decrypts (the encryption context names the environment).

    Unlike every other key (keys.customer_key) its policy does not hand its use to IAM: no IAM policy in the
    account, however broad, decrypts a plan. The account administers it, without kms:CreateGrant (a grant
    would be a way around the policy).
    """
    main = Ref("aws_iam_role.ci_main_plan", "arn")
    context = f"kms:EncryptionContext:{PLAN_CONTEXT_KEY}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": {"AWS": ACCOUNT_ROOT},
            "Action": PLAN_KEY_ADMIN_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "MainBranchSealsPlans",
            "Effect": "Allow",
            "Principal": {"AWS": main},
            "Action": ["kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {context: list(environments)}},
        },
    ]
    for env in environments:
        statements.append(
            {
                "Sid": f"ApplyOf{''.join(part.title() for part in env.split('-'))}OpensItsPlans",
                "Effect": "Allow",
                "Principal": {"AWS": Ref(f"aws_iam_role.ci_{apply_address(env)}", "arn")},
                "Action": ["kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {context: env}},
            }
        )
    key = Resource(
        "aws_kms_key",
        "ci_plans",
        {
            "description": f"Seals the saved Terraform plans of {', '.join(environments)} for their apply role alone",
            "enable_key_rotation": True,
            "rotation_period_in_days": 365,
            "deletion_window_in_days": 30,
            "policy": JsonDocument(policy(*statements)),
        },
    )
    alias = Resource(
        "aws_kms_alias", "ci_plans", {"name": plan_key_alias(platform), "target_key_id": key.ref("key_id")}
    )
    return key, alias


def plan_key_alias(platform: Platform) -> str:
    """The same alias in every account: the workflows name it, and the account of the role they hold resolves it."""
    return f"alias/{platform.platform}-ci-plans"


def emit_delivery(platform: Platform, environments: Sequence[str] | None = None) -> tuple[Block, ...]:
    """The CI identity of one account: for `environments`, those it holds (every environment, by default)."""
    delivery = platform.delivery
    assert delivery is not None, "emit_delivery needs a delivery section"
    plans = plan_platform(platform)
    regions = platform_regions(platform, plans)
    names = role_names(platform)
    p = platform.platform
    blocks, provider_arn = github_oidc_provider(platform)
    deny = protect_delivery_identity()
    environments = sorted(environments if environments is not None else platform.environments)
    reviewed_only = [env for env in environments if env not in pull_request_environments(platform, environments)]

    read = _managed_policy(
        "ci_read",
        f"{p}-ci-read",
        "Configuration reads for terraform plan: metadata only, the platform's regions",
        [*read_statements(platform, regions), deny],
    )
    blocks.append(read)
    plan_roles = []
    pull_requests = pull_request_environments(platform, environments)
    if pull_requests:
        plan_roles.append(
            (
                "pr_plan",
                f"terraform plan of pull requests to {delivery.github_repository}: {', '.join(pull_requests)} only",
                pull_request_subject(delivery),
                pull_requests,
                # Named so that a reader of the policy sees what it leaves out.
                f"Read the state of {', '.join(pull_requests)}, take its lock, refresh its connection secrets"
                + (f"; nothing of {', '.join(reviewed_only)}" if reviewed_only else ""),
            )
        )
    plan_roles.append(
        (
            "main_plan",
            f"drift checks and pre-apply plans on {delivery.github_repository}@{delivery.default_branch}",
            branch_subject(delivery),
            environments,
            "Read every environment's state, take its lock, refresh its connection secrets",
        )
    )
    for address, description, subject, readable, what in plan_roles:
        plan_state = _managed_policy(
            f"ci_{address}_state",
            f"{names[address]}-state",
            what,
            [*state_statements(platform, readable, write=False), *secret_value_statements(platform, readable, regions)],
        )
        role = _role(
            f"ci_{address}", names[address], description, github_trust(provider_arn, subject), PLAN_SESSION_SECONDS
        )
        blocks += [plan_state, role, _attach(role, read), _attach(role, plan_state)]

    for env in environments:
        plan = plans[env]
        env_regions = [
            platform.region,
            *([plan.database_cross_region_backup.value] if plan.database_cross_region_backup.value else []),
        ]
        address = apply_address(env)
        role = _role(
            f"ci_{address}",
            names[address],
            f"terraform apply of {env} from the GitHub Environment '{env}' of {delivery.github_repository}",
            github_trust(provider_arn, environment_subject(delivery, env)),
            APPLY_SESSION_SECONDS,
        )
        families = {
            "state": (
                "its state and lock, its connection secrets' values",
                [*state_statements(platform, [env], write=True), *secret_value_statements(platform, [env], regions)],
            ),
            "network": (
                "its VPC, subnets, routes, security groups, launch template",
                network_statements(platform, env, platform.region),
            ),
            "identity": (
                "its roles, keys and the cluster's OIDC provider",
                [*identity_statements(platform, env, env_regions), *key_statements(platform, env, env_regions)],
            ),
            "platform": (
                "its EKS cluster, load balancer, HTTP API and log groups",
                [*cluster_statements(platform, env, platform.region), *edge_statements(platform, env, platform.region)],
            ),
            "data": (
                "its database, cache, broker, connection secrets and buckets",
                data_statements(platform, plan, env_regions),
            ),
        }
        blocks.append(role)
        blocks.append(_attach(role, read))
        for family, (what, statements) in families.items():
            managed = _managed_policy(
                f"ci_{address}_{family}", f"{names[address]}-{family}", f"Apply {env}: {what}", statements
            )
            blocks += [managed, _attach(role, managed)]
    blocks += plan_key(platform, environments)
    return tuple(blocks)


def delivery_outputs(platform: Platform, environments: Sequence[str] | None = None) -> tuple[Output, ...]:
    """What the GitHub repository's variables are set from (README, "Bootstrap the state and go to a real AWS account").

    The maps are keyed by environment, so that the maps of several accounts' bootstrap stacks merge into one
    repository variable each.
    """
    _, provider_arn = github_oidc_provider(platform)
    environments = sorted(environments if environments is not None else platform.environments)
    pull_requests = pull_request_environments(platform, environments)
    main = Ref("aws_iam_role.ci_main_plan", "arn")
    outputs = [
        Output("github_oidc_provider_arn", provider_arn, "IAM OIDC provider trusting GitHub Actions tokens."),
        Output(
            "ci_pr_plan_role_arns",
            {env: Ref("aws_iam_role.ci_pr_plan", "arn") for env in pull_requests},
            "Role pull-request plans of each environment assume (repository variable TMSC_PR_PLAN_ROLE_ARNS, "
            "merged over the accounts); production environments have none: they are planned after the merge.",
        ),
        Output(
            "ci_main_plan_role_arn",
            main,
            "Role drift checks and pre-apply plans on the default branch assume in this account.",
        ),
        Output(
            "ci_main_plan_role_arns",
            {env: main for env in environments},
            "Role drift checks and pre-apply plans of each environment assume (repository variable "
            "TMSC_MAIN_PLAN_ROLE_ARNS, merged over the accounts).",
        ),
        Output(
            "ci_apply_role_arns",
            {env: Ref(f"aws_iam_role.ci_{apply_address(env)}", "arn") for env in environments},
            "Role each environment's apply assumes (variable TMSC_APPLY_ROLE_ARN of the GitHub Environment of that name).",
        ),
        Output(
            "ci_plan_key_arn",
            Ref("aws_kms_key.ci_plans", "arn"),
            f"KMS key sealing saved plans for their apply role (the workflows name it {plan_key_alias(platform)}).",
        ),
    ]
    if pull_requests:
        outputs.insert(
            1,
            Output(
                "ci_pr_plan_role_arn",
                Ref("aws_iam_role.ci_pr_plan", "arn"),
                f"Role pull-request plans assume in this account ({', '.join(pull_requests)}).",
            ),
        )
    return tuple(outputs)
