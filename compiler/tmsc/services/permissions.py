"""What each service family's resources need from CI: declared next to the emitter, composed by services/delivery.py.

A family (network.py, keys.py, cluster.py, database.py, ...) states, in a
`CiPermissions` value of its own:

- `grants`: for each Terraform resource type it emits, the statement (Sid) that
  lets an apply role create, change and delete it. tests/test_delivery.py fails
  when a stack emits a type no family grants, or a Sid no policy holds;
- `apply`: those statements for one environment (`ApplyScope`): the actions on
  resources named `<platform>-<env>-*`, or on resources carrying the
  environment's tags where AWS assigns the ids;
- `reads`: the configuration reads a plan needs (metadata, never contents);
- `resourceless`: every action it grants on "*", with the reason AWS leaves no
  narrower resource;
- `passes_roles_to`, `attaches_managed_policies`, `service_linked_roles`: the
  roles it hands to AWS services, which the delivery module turns into the
  PassRole, AttachRolePolicy and CreateServiceLinkedRole statements (with the
  permissions boundary every role must carry). The keys it hands to services
  are granted by each key's own policy (keys.environment_key).

This module holds only the vocabulary: ARN builders, the tag conditions and
the names of the CI roles, so that both the emitters and the delivery module
can import it without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from tmsc import facts
from tmsc.derive import EnvironmentPlan, pull_request_plans
from tmsc.ir import Template
from tmsc.model import Platform
from tmsc.services.context import ACCOUNT_ID, PARTITION, join
from tmsc.services.providers import MANAGED_BY

# Every CI role and policy lives under this IAM path. No environment's role
# names (`<platform>-<env>-*`, path "/") can match it, so no apply role's scope
# reaches the CI identity itself.
CI_PATH = f"/{MANAGED_BY}-ci/"

# The default_tags of every stack (services/providers.py): the scope of the
# resources whose ids AWS assigns.
TAG_PLATFORM = "platform"
TAG_ENVIRONMENT = "environment"

Statement = dict[str, Any]

# The managed policies of an apply role, each a group of families' statements
# (IAM caps a managed policy at 6,144 characters and a role at 10 policies).
POLICY_GROUPS: dict[str, str] = {
    "state": "its state and lock, its connection secrets' values",
    "network": "its VPC, subnets, routes, security groups, launch template",
    "identity": "its roles (within its permissions boundary) and the cluster's OIDC provider",
    "keys": "its KMS keys and aliases",
    "platform": "its EKS cluster, load balancer, HTTP API and log groups",
    "data": "its database, cache, broker, connection secrets and buckets",
}


# --------------------------------------------------------------------------- the CI roles' names


def role_names(platform: Platform) -> dict[str, str]:
    """Terraform address suffix → IAM role name of every CI role."""
    prefix = f"{platform.platform}-ci"
    names = {"pr_plan": f"{prefix}-pr-plan", "main_plan": f"{prefix}-main-plan"}
    names.update({apply_address(env): f"{prefix}-apply-{env}" for env in sorted(platform.environments)})
    return names


def apply_address(env: str) -> str:
    return f"apply_{env.replace('-', '_')}"


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


def ci_deployer(platform: Platform, env: str) -> list[Template]:
    """The CI role that applies `env` (none without a delivery section): with the principal applying now, the only
    one that may change the resource policies of the environment's secrets."""
    return [role_arn(platform, apply_address(env))] if platform.delivery is not None else []


# --------------------------------------------------------------------------- ARNs and statements


def regional(service: str, regions: Sequence[str], *resources: str) -> list[Template]:
    return [
        join("arn:", PARTITION, f":{service}:{region}:", ACCOUNT_ID, f":{resource}")
        for region in regions
        for resource in resources
    ]


def iam_arns(*resources: str) -> list[Template]:
    return [join("arn:", PARTITION, ":iam::", ACCOUNT_ID, f":{resource}") for resource in resources]


def s3_arns(*resources: str) -> list[Template]:
    return [join("arn:", PARTITION, f":s3:::{resource}") for resource in resources]


def apigateway_arns(regions: Sequence[str], *paths: str) -> list[Template]:
    return [join("arn:", PARTITION, f":apigateway:{region}::{path}") for region in regions for path in paths]


def in_regions(regions: Sequence[str]) -> dict[str, Any]:
    return {"StringEquals": {"aws:RequestedRegion": list(regions)}}


def statement(
    sid: str, actions: Iterable[str], resources: Any, condition: dict[str, Any] | None = None, effect: str = "Allow"
) -> Statement:
    found: Statement = {"Sid": sid, "Effect": effect, "Action": sorted(actions), "Resource": resources}
    if condition:
        _check_condition_keys(sid, found["Action"], condition)
        found["Condition"] = condition
    return found


def _check_condition_keys(sid: str, actions: list[str], condition: dict[str, Any]) -> None:
    """A service condition key AWS does not evaluate for an action makes an Allow never match (or a Deny never
    apply): refuse a statement that pairs a key of tmsc's IAM table with an action the table does not give it."""
    table = facts.iam_authorization()
    governed = frozenset().union(*table.condition_keys.values())
    for pairs in condition.values():
        for key in pairs:
            if not isinstance(key, str) or key not in governed:
                continue
            wrong = [a for a in actions if key not in table.keys_for(a)]
            assert not wrong, f"{sid}: AWS evaluates {key} for none of {wrong} (tmsc/data/iam_authorization.json)"


def resourceless(
    sid: str,
    actions: Sequence[str],
    regions: Sequence[str],
    documented: Mapping[str, str],
    extra: dict[str, Any] | None = None,
) -> Statement:
    """Actions AWS authorizes on no resource (`documented` says why for each): "*", but only in the given regions."""
    unknown = [a for a in actions if a not in documented]
    assert not unknown, f"{unknown} are not documented as resourceless"
    return statement(sid, actions, "*", merge(in_regions(regions), extra or {}))


def tags(kind: str, platform: str, env: str) -> dict[str, str]:
    """aws:RequestTag/... (the tags a request sets) or aws:ResourceTag/... (those the resource has) of an environment."""
    return {f"aws:{kind}/{TAG_PLATFORM}": platform, f"aws:{kind}/{TAG_ENVIRONMENT}": env}


def tag_keys_kept() -> dict[str, Any]:
    """Tag changes that leave the platform and environment tags alone: a role cannot hand a resource to another environment."""
    return {"ForAllValues:StringNotEquals": {"aws:TagKeys": [TAG_PLATFORM, TAG_ENVIRONMENT]}}


def untagged_until_now() -> dict[str, Any]:
    """A resource that carries no environment tag yet (being created)."""
    return {"Null": {f"aws:ResourceTag/{TAG_ENVIRONMENT}": "true"}}


def merge(*conditions: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for condition in conditions:
        for operator, pairs in condition.items():
            merged.setdefault(operator, {}).update(pairs)
    return merged


# --------------------------------------------------------------------------- one environment's apply scope


@attrs.frozen
class ApplyScope:
    """What an apply role's statements are about: one environment of one platform, in its regions."""

    platform: Platform
    plan: EnvironmentPlan
    # The home region first, then the disaster-recovery region if the environment has one.
    regions: tuple[str, ...]

    @property
    def env(self) -> str:
        return self.plan.name

    @property
    def prefix(self) -> str:
        return self.platform.platform

    @property
    def home(self) -> list[str]:
        return list(self.regions[:1])

    @property
    def names(self) -> str:
        """The name pattern of everything the environment's stack names: <platform>-<env>-*."""
        return f"{self.prefix}-{self.env}-*"

    def request_tags(self) -> dict[str, Any]:
        return {"StringEquals": tags("RequestTag", self.prefix, self.env)}

    def resource_tags(self) -> dict[str, Any]:
        return {"StringEquals": tags("ResourceTag", self.prefix, self.env)}


@attrs.frozen
class CiPermissions:
    """What one service family's resources need from the CI roles (see the module docstring)."""

    family: str
    # Which managed policy of an apply role (POLICY_GROUPS) holds the family's statements.
    group: str
    grants: Mapping[str, str]
    apply: Callable[[ApplyScope], list[Statement]]
    reads: tuple[str, ...] = ()
    read_statements: Callable[[Platform, Sequence[str]], list[Statement]] | None = None
    resourceless: Mapping[str, str] = attrs.field(factory=dict)
    passes_roles_to: tuple[str, ...] = ()
    attaches_managed_policies: tuple[str, ...] = ()
    service_linked_roles: tuple[str, ...] = ()
