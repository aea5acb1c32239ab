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

What an apply role may change is not written here: each service family
declares it next to the code that emits its resources (a `CiPermissions` of
services/network.py, keys.py, cluster.py, database.py, cache.py, messaging.py,
api.py, storage.py, secrets.py; see services/permissions.py), and this module
composes the roles from those declarations, adding what crosses families: the
roles the stacks create, pass and attach policies to, the keys services use on
the caller's behalf, the state.

An apply role can create roles named `<platform>-<env>-*` and put inline
policies on them, which IAM cannot restrict by content: so it may do that only
with its environment's permissions boundary attached (services/boundary.py),
and never remove a boundary. Whatever policy such a role gets, it cannot reach
past its environment (tests/test_escalation.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tmsc.derive import EnvironmentPlan, plan_platform
from tmsc.ir import Block, JsonDocument, Output, Ref, Resource, Template
from tmsc.model import Delivery, Platform
from tmsc.services import api, cache, cluster, database, keys, messaging, network, secrets, storage
from tmsc.services.boundary import BOUNDARY_PATH, boundary_arn
from tmsc.services.context import ACCOUNT_ID, ACCOUNT_ROOT, PARTITION, join, policy
from tmsc.services.keys import KEY_ADMIN_ACTIONS
from tmsc.services.permissions import (
    CI_PATH,
    POLICY_GROUPS,
    TAG_ENVIRONMENT,
    TAG_PLATFORM,
    ApplyScope,
    CiPermissions,
    Statement,
    apply_address,
    ci_secret_readers,
    iam_arns,
    merge,
    pull_request_environments,
    regional,
    resourceless,
    role_arn,
    role_names,
    statement,
    tag_keys_kept,
    tags,
    untagged_until_now,
)
from tmsc.services.providers import account_of, state_bucket_name, state_key

__all__ = [
    "CI_PATH",
    "TAG_ENVIRONMENT",
    "TAG_PLATFORM",
    "apply_address",
    "ci_secret_readers",
    "pull_request_environments",
    "role_arn",
    "role_names",
]

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"
SUBJECT_KEY = f"{GITHUB_OIDC_HOST}:sub"
AUDIENCE_KEY = f"{GITHUB_OIDC_HOST}:aud"

PLAN_SESSION_SECONDS = 3600
# The encryption context key of a sealed plan: its environment (.github/scripts/ci.py seal-plan / open-plan).
PLAN_CONTEXT_KEY = "environment"
# Key administration without kms:CreateGrant (a grant would let the account hand out decryption) and without any
# use of the key: the plan key's policy names its users itself (see plan_key).
PLAN_KEY_ADMIN_ACTIONS = [action for action in KEY_ADMIN_ACTIONS if action != "kms:Create*"] + ["kms:CreateAlias"]
# A first prod apply creates an EKS cluster, a Multi-AZ RDS instance and a
# RabbitMQ cluster: well over an hour. The workflow asks for the same.
APPLY_SESSION_SECONDS = 4 * 3600


def _roles_statements(scope: ApplyScope) -> list[Statement]:
    """Roles are the one resource every family creates: one statement set for all, from what the families declare.

    A role is created, and its policies changed, only with the environment's permissions boundary attached
    (iam:PermissionsBoundary, which AWS evaluates for exactly these actions); the rest of a role's life
    (trust, description, deletion) only while it carries the environment's tags.
    """
    roles = iam_arns(f"role/{scope.names}")
    bounded = {"StringEquals": {"iam:PermissionsBoundary": boundary_arn(scope.platform, scope.env)}}
    managed = {
        "ArnEquals": {
            "iam:PolicyARN": [
                join("arn:", PARTITION, f":iam::aws:policy/{name}") for name in ATTACHABLE_MANAGED_POLICIES
            ]
        }
    }
    return [
        statement("CreateRolesWithTheBoundary", ["iam:CreateRole"], roles, merge(bounded, scope.request_tags())),
        statement(
            "ChangeRolePoliciesWithinTheBoundary",
            ["iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"],
            roles,
            bounded,
        ),
        statement(
            "AttachOnlyTheStacksManagedPolicies",
            ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            roles,
            merge(bounded, managed),
        ),
        statement(
            "ChangeOwnTaggedRoles",
            ["iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription"],
            roles,
            scope.resource_tags(),
        ),
        statement(
            "TagOwnRoles",
            ["iam:TagRole", "iam:UntagRole"],
            roles,
            merge(scope.resource_tags(), tag_keys_kept()),
        ),
        # CreateRole with tags is also authorized as iam:TagRole on the role being created (untagged so far):
        # the tags set there are the environment's.
        statement(
            "TagRolesAtCreation",
            ["iam:TagRole"],
            roles,
            merge({"StringEquals": tags("RequestTag", scope.prefix, scope.env)}, untagged_until_now()),
        ),
        statement(
            "PassOwnRolesToTheirServices",
            ["iam:PassRole"],
            roles,
            {"StringEquals": {"iam:PassedToService": list(PASSED_TO_SERVICES)}},
        ),
        statement(
            "ServiceLinkedRoles",
            ["iam:CreateServiceLinkedRole"],
            iam_arns("role/aws-service-role/*"),
            {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}},
        ),
        # Whatever else any policy of the role allows: no role without this boundary, no boundary removed.
        statement(
            "NoRoleWithoutTheBoundary",
            ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            "*",
            {"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn(scope.platform, scope.env)}},
            effect="Deny",
        ),
        statement("NeverRemoveABoundary", ["iam:DeleteRolePermissionsBoundary"], "*", effect="Deny"),
    ]


ROLES = CiPermissions(
    family="roles",
    group="identity",
    grants={
        "aws_iam_role": "CreateRolesWithTheBoundary",
        "aws_iam_role_policy": "ChangeRolePoliciesWithinTheBoundary",
        "aws_iam_role_policy_attachment": "AttachOnlyTheStacksManagedPolicies",
    },
    apply=_roles_statements,
)

# Every family's declaration, in the order their statements appear in each policy group.
FAMILIES: tuple[CiPermissions, ...] = (
    network.CI_PERMISSIONS,
    messaging.BROKER_NETWORK_CI_PERMISSIONS,
    ROLES,
    cluster.CLUSTER_OIDC_CI_PERMISSIONS,
    keys.CI_PERMISSIONS,
    cluster.CI_PERMISSIONS,
    api.CI_PERMISSIONS,
    keys.LOG_CI_PERMISSIONS,
    database.CI_PERMISSIONS,
    cache.CI_PERMISSIONS,
    messaging.CI_PERMISSIONS,
    secrets.CI_PERMISSIONS,
    storage.CI_PERMISSIONS,
)


def _union(values: Sequence[Sequence[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for vs in values for v in vs))


# What the families hand to AWS, composed: an apply role may attach these AWS managed
# policies and no other, pass its roles to these services only, create these
# service-linked roles only. (The keys services use for it: each key's policy, keys.environment_key.)
ATTACHABLE_MANAGED_POLICIES = _union([f.attaches_managed_policies for f in FAMILIES])
PASSED_TO_SERVICES = _union([f.passes_roles_to for f in FAMILIES])
SERVICE_LINKED_ROLES = _union([f.service_linked_roles for f in FAMILIES])
# Actions granted on "*" and why: the families' lists are the whole exception, and
# tests/test_delivery.py holds every "*" statement to them.
RESOURCELESS_ACTIONS: dict[str, str] = {a: why for f in FAMILIES for a, why in f.resourceless.items()}
# Resource type → the Sid that lets an apply role create it.
GRANTS: dict[str, str] = {rtype: sid for f in FAMILIES for rtype, sid in f.grants.items()}


def pull_request_subject(delivery: Delivery) -> str:
    return f"repo:{delivery.github_repository}:pull_request"


def branch_subject(delivery: Delivery) -> str:
    return f"repo:{delivery.github_repository}:ref:refs/heads/{delivery.default_branch}"


def environment_subject(delivery: Delivery, env: str) -> str:
    return f"repo:{delivery.github_repository}:environment:{env}"


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


# --------------------------------------------------------------------------- what every CI role reads


def platform_regions(platform: Platform, plans: dict[str, EnvironmentPlan]) -> list[str]:
    dr = {p.database_cross_region_backup.value for p in plans.values() if p.database_cross_region_backup.value}
    return [platform.region, *sorted(dr - {platform.region})]


def read_statements(platform: Platform, regions: Sequence[str]) -> list[Statement]:
    """Configuration reads for `terraform plan`: metadata of the services the stacks use, never object or item contents."""
    prefix = platform.platform
    found = [
        resourceless(
            "ReadServiceConfiguration", sorted({a for f in FAMILIES for a in f.reads}), regions, RESOURCELESS_ACTIONS
        )
    ]
    for family in FAMILIES:
        if family.read_statements is not None:
            found += family.read_statements(platform, regions)
    found.append(
        statement(
            "ReadRolesAndOidcProviders",
            [
                "iam:GetOpenIDConnectProvider",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
            ],
            iam_arns(
                f"role/{prefix}-*",
                f"role{CI_PATH}{prefix}-*",
                *(f"oidc-provider/oidc.eks.{r}.amazonaws.com/id/*" for r in regions),
            ),
        )
    )
    return found


# --------------------------------------------------------------------------- the state


def state_statements(platform: Platform, stacks: Sequence[str], write: bool) -> list[Statement]:
    """Read (and, for an apply role, write) the state of the named stacks (all of one account), taking their locks."""
    bucket = state_bucket_name(platform, account_of(platform, stacks[0]))
    keys = [state_key(platform, stack) for stack in stacks]
    lock_ids = [f"{bucket}/{key}{suffix}" for key in keys for suffix in ("", "-md5")]
    via = [f"{service}.{platform.region}.amazonaws.com" for service in ("s3", "dynamodb")]
    return [
        # The bucket holds only state objects; `terraform init` lists workspaces under env:/.
        statement("ListStateBucket", ["s3:ListBucket"], Ref("aws_s3_bucket.state", "arn")),
        statement(
            "StateObjects",
            ["s3:GetObject", *(["s3:PutObject"] if write else [])],
            [join(Ref("aws_s3_bucket.state", "arn"), f"/{key}") for key in keys],
        ),
        statement(
            "StateLockFiles",
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            [join(Ref("aws_s3_bucket.state", "arn"), f"/{key}.tflock") for key in keys],
        ),
        # dynamodb:LeadingKeys applies to item actions only: DescribeTable has a statement of its own.
        statement("StateLockTableDescription", ["dynamodb:DescribeTable"], Ref("aws_dynamodb_table.locks", "arn")),
        statement(
            "StateLockTable",
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"],
            Ref("aws_dynamodb_table.locks", "arn"),
            {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": lock_ids}},
        ),
        statement(
            "StateKeyThroughS3AndDynamoDb",
            ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            Ref("aws_kms_key.state", "arn"),
            {"StringEquals": {"kms:ViaService": via}},
        ),
    ]


def secret_value_statements(platform: Platform, environments: Sequence[str], regions: Sequence[str]) -> list[Statement]:
    """Refreshing a secret version reads its value: the connection secrets of the named environments, and no others."""
    p = platform.platform
    return [
        statement(
            "ConnectionSecretValues",
            ["secretsmanager:GetSecretValue"],
            [arn for env in environments for arn in regional("secretsmanager", regions[:1], f"secret:{p}/{env}/*")],
        ),
        statement(
            "SecretsKeyThroughSecretsManager",
            ["kms:Decrypt"],
            regional("kms", regions[:1], "key/*"),
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


def apply_statements(scope: ApplyScope) -> dict[str, list[Statement]]:
    """Policy group → the statements of the families in that group, for one environment's apply role."""
    groups: dict[str, list[Statement]] = {group: [] for group in POLICY_GROUPS}
    groups["state"] = [
        *state_statements(scope.platform, [scope.env], write=True),
        *secret_value_statements(scope.platform, [scope.env], list(scope.regions)),
    ]
    for family in FAMILIES:
        groups[family.group] += family.apply(scope)
    return groups


def protect_delivery_identity() -> Statement:
    """No CI role may change a CI role, a CI policy, a permissions boundary or the GitHub OIDC provider: that is the
    bootstrap stack's, applied by a person."""
    return statement(
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
            "iam:Set*",
            "iam:Tag*",
            "iam:Untag*",
            "iam:Update*",
        ],
        iam_arns(
            f"role{CI_PATH}*", f"policy{CI_PATH}*", f"policy{BOUNDARY_PATH}*", f"oidc-provider/{GITHUB_OIDC_HOST}"
        ),
        effect="Deny",
    )


# --------------------------------------------------------------------------- blocks


def _managed_policy(address: str, name: str, description: str, statements: list[Statement]) -> Resource:
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
        scope = ApplyScope(platform, plan, tuple(env_regions))
        blocks.append(role)
        blocks.append(_attach(role, read))
        for group, statements in apply_statements(scope).items():
            managed = _managed_policy(
                f"ci_{address}_{group}", f"{names[address]}-{group}", f"Apply {env}: {POLICY_GROUPS[group]}", statements
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
