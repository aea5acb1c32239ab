"""The known IAM privilege-escalation paths, each shown impossible for every role the compiler emits.

For each CI role (the plan roles and each environment's apply role) and each
role an environment's stack creates (service roles, IRSA roles of workloads,
add-ons and the secrets controller), the evaluator of tests/iam/evaluator.py
decides the requests an attacker holding that role's credentials would make,
with the request parameters most favourable to the attacker (its own
environment's tags, the boundary of its choice). None may be allowed:

- rewriting a customer managed policy: iam:CreatePolicyVersion, SetDefaultPolicyVersion, DeletePolicy(Version)
  on the CI policies, the boundaries, any policy;
- passing a role to a service that runs code (EC2, Lambda, ECS, CodeBuild, Glue, SageMaker, CloudFormation, ...),
  or any role not its environment's to any service;
- writing the policies or the trust of a role it can assume (its own CI role, any CI role, a role without its
  environment's boundary), or attaching an administrator policy;
- creating access keys, console passwords, users, instance profiles;
- creating a role without its environment's boundary, setting another boundary, removing a boundary;
- making a principal of its choice a cluster administrator (EKS access entries and access policies);
- reaching another environment: its secrets (through their resource policies too), keys, state, security
  groups and roles.

An apply role *may* create roles in its environment and write their policies (that is its job): the last
test shows that whatever policy such a role gets, its boundary keeps every path above closed.
Generated platforms (Hypothesis) run the same suite as the example.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings

from tmsc.load import load_platform
from tmsc.model import Platform
from tmsc.services.boundary import BOUNDARY_PATH, boundary_name
from tmsc.services.permissions import CI_PATH, TAG_ENVIRONMENT, TAG_PLATFORM
from tmsc.services.providers import lock_table_name, state_bucket_name, state_key

from .conftest import EXAMPLE_SPEC, examples
from .iam import evaluator
from .iam.emitted import ACCOUNT, KEY_ID
from .iam.evaluator import ALLOW, Principal, Request, decide
from .iam.principals import UNKNOWN_MANAGED_POLICY, Role, roles
from .stackview import StackView, compile_views
from .strategies import spec_documents

CODE_RUNNING_SERVICES = (
    "ec2.amazonaws.com",
    "lambda.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "codebuild.amazonaws.com",
    "glue.amazonaws.com",
    "sagemaker.amazonaws.com",
    "cloudformation.amazonaws.com",
    "states.amazonaws.com",
    "batch.amazonaws.com",
    "datapipeline.amazonaws.com",
)
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
CLUSTER_ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
ATTACKER = f"arn:aws:iam::{ACCOUNT}:role/attacker"


@attrs.frozen
class Attempt:
    path: str
    request: Request
    resource_policy: dict[str, Any] | None = None


@attrs.frozen
class World:
    """What an attacker aims at in one compiled platform."""

    platform: Platform
    views: dict[str, StackView]
    region: str

    @property
    def p(self) -> str:
        return self.platform.platform

    @property
    def environments(self) -> list[str]:
        return sorted(self.platform.environments)

    def boundary(self, env: str) -> str:
        return f"arn:aws:iam::{ACCOUNT}:policy{BOUNDARY_PATH}{boundary_name(self.platform, env)}"

    def ci_roles(self) -> list[str]:
        names = [
            f"{self.p}-ci-pr-plan",
            f"{self.p}-ci-main-plan",
            *(f"{self.p}-ci-apply-{e}" for e in self.environments),
        ]
        return [f"arn:aws:iam::{ACCOUNT}:role{CI_PATH}{n}" for n in names]

    def ci_policies(self) -> list[str]:
        return [
            f"arn:aws:iam::{ACCOUNT}:policy{CI_PATH}{body['name']}"
            for body in self.views["bootstrap"].of("aws_iam_policy").values()
            if body["path"] == CI_PATH
        ]

    def tags(self, env: str) -> dict[str, str]:
        return {f"aws:ResourceTag/{TAG_PLATFORM}": self.p, f"aws:ResourceTag/{TAG_ENVIRONMENT}": env}

    def request_tags(self, env: str) -> dict[str, str]:
        return {f"aws:RequestTag/{TAG_PLATFORM}": self.p, f"aws:RequestTag/{TAG_ENVIRONMENT}": env}

    def cluster(self, env: str) -> str:
        name, _ = self.platform.service_of_kind("eks")
        return f"arn:aws:eks:{self.region}:{ACCOUNT}:cluster/{self.p}-{env}-{name}"

    def secrets(self, env: str) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """(ARN, resource policy) of every secret of `env`'s stack."""
        import json

        from .iam.emitted import realistic

        view = self.views[env]
        policies = {
            body["secret_arn"]: json.loads(realistic(body["policy"], view, self.region))
            for body in view.of("aws_secretsmanager_secret_policy").values()
        }
        for address, body in view.of("aws_secretsmanager_secret").items():
            arn = f"arn:aws:secretsmanager:{self.region}:{ACCOUNT}:secret:{body['name']}-AbCdEf"
            yield arn, policies.get(f"${{aws_secretsmanager_secret.{address}.arn}}")


def attempts(world: World, role: Role) -> Iterator[Attempt]:
    """Every escalation request an attacker holding `role` would try."""
    region = world.region
    own = role.environment
    others = [e for e in world.environments if e != own]
    mine = world.request_tags(own) if own else {}
    base = {"aws:RequestedRegion": region}
    boundaries = [world.boundary(e) for e in world.environments]
    customer_policies = [*world.ci_policies(), *boundaries, f"arn:aws:iam::{ACCOUNT}:policy/any-policy"]

    for policy in customer_policies:
        for action in ("CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicy", "DeletePolicyVersion"):
            yield Attempt(f"iam:{action}", Request(f"iam:{action}", policy, base))

    own_role = f"arn:aws:iam::{ACCOUNT}:role/{world.p}-{own}-escalate" if own else None
    foreign_roles = [*world.ci_roles(), f"arn:aws:iam::{ACCOUNT}:role/any-role", role.principal.arn]
    foreign_roles += [f"arn:aws:iam::{ACCOUNT}:role/{world.p}-{e}-cluster" for e in others]
    for target in [*foreign_roles, *([own_role] if own_role else [])]:
        for service in CODE_RUNNING_SERVICES:
            yield Attempt(
                "iam:PassRole to a service that runs code",
                Request("iam:PassRole", target, {**base, "iam:PassedToService": service}),
            )
    for target in foreign_roles:
        for service in ("eks.amazonaws.com", "vpc-flow-logs.amazonaws.com", "monitoring.rds.amazonaws.com"):
            yield Attempt(
                "iam:PassRole of a role not its environment's",
                Request("iam:PassRole", target, {**base, "iam:PassedToService": service}),
            )

    # The roles it can assume: its own, and any CI role (all trust GitHub, so a stolen CI session can be
    # exchanged); a role in its environment only without the boundary (with it, see the last test).
    for target in foreign_roles:
        for boundary in [None, *boundaries]:
            context = {**base, **({"iam:PermissionsBoundary": boundary} if boundary else {})}
            for action in ("PutRolePolicy", "DeleteRolePolicy", "UpdateAssumeRolePolicy", "PutRolePermissionsBoundary"):
                yield Attempt(f"iam:{action} on a role it can assume", Request(f"iam:{action}", target, context))
            yield Attempt(
                "iam:AttachRolePolicy on a role it can assume",
                Request("iam:AttachRolePolicy", target, {**context, "iam:PolicyARN": ADMIN_POLICY}),
            )
    if own is not None and own_role is not None:
        bounded = {**base, "iam:PermissionsBoundary": world.boundary(own), **world.tags(own)}
        yield Attempt(
            "iam:AttachRolePolicy AdministratorAccess",
            Request("iam:AttachRolePolicy", own_role, {**bounded, "iam:PolicyARN": ADMIN_POLICY}),
        )
        for boundary in [None, *(world.boundary(e) for e in others), f"arn:aws:iam::{ACCOUNT}:policy/weak"]:
            context = {**base, **mine, **({"iam:PermissionsBoundary": boundary} if boundary else {})}
            yield Attempt("iam:CreateRole without its boundary", Request("iam:CreateRole", own_role, context))
            yield Attempt(
                "iam:PutRolePermissionsBoundary to another boundary",
                Request("iam:PutRolePermissionsBoundary", own_role, {**context, **world.tags(own)}),
            )
            yield Attempt(
                "iam:PutRolePolicy on a role without its boundary",
                Request("iam:PutRolePolicy", own_role, {**context, **world.tags(own)}),
            )
        yield Attempt(
            "iam:DeleteRolePermissionsBoundary", Request("iam:DeleteRolePermissionsBoundary", own_role, bounded)
        )
    yield Attempt(
        "iam:CreateRole on the CI path",
        Request("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role{CI_PATH}{world.p}-ci-new", {**base, **mine}),
    )
    yield Attempt(
        "iam:DeleteRolePermissionsBoundary", Request("iam:DeleteRolePermissionsBoundary", role.principal.arn, base)
    )

    for user in (f"arn:aws:iam::{ACCOUNT}:user/admin", f"arn:aws:iam::{ACCOUNT}:user/{world.p}-{own}-user"):
        for action in ("CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile", "CreateUser", "AttachUserPolicy"):
            yield Attempt(f"iam:{action}", Request(f"iam:{action}", user, {**base, "iam:PolicyARN": ADMIN_POLICY}))
    for action in ("CreateInstanceProfile", "AddRoleToInstanceProfile"):
        yield Attempt(
            f"iam:{action}",
            Request(f"iam:{action}", f"arn:aws:iam::{ACCOUNT}:instance-profile/{world.p}-{own}-x", base),
        )
    for target in world.ci_roles():
        yield Attempt("sts:AssumeRole of a CI role", Request("sts:AssumeRole", target, base))

    # Cluster administrator for a principal of the attacker's choice.
    for env in world.environments:
        entry = f"arn:aws:eks:{region}:{ACCOUNT}:access-entry/{world.p}-{env}-x/role/{ACCOUNT}/attacker/1a2b"
        for principal in (ATTACKER, role.principal.arn):
            yield Attempt(
                "eks:CreateAccessEntry for its own choice of principal",
                Request("eks:CreateAccessEntry", world.cluster(env), {**base, "eks:principalArn": principal}),
            )
        yield Attempt(
            "eks:AssociateAccessPolicy cluster admin to its own choice of principal",
            Request(
                "eks:AssociateAccessPolicy",
                entry,
                {**base, "eks:policyArn": CLUSTER_ADMIN, "eks:accessScope": "cluster", "eks:principalArn": ATTACKER},
            ),
        )
        yield Attempt(
            "eks:CreateCluster with its creator as admin",
            Request("eks:CreateCluster", "*", {**base, **mine, "eks:bootstrapClusterCreatorAdminPermissions": "true"}),
        )

    # Another environment's data, keys, state, network and roles.
    bucket = state_bucket_name(world.platform)
    for env in others:
        if role.environment is not None:  # the plan roles read every environment's secrets: issue 11, item 3
            for arn, resource_policy in world.secrets(env):
                yield Attempt(
                    "another environment's secret",
                    Request("secretsmanager:GetSecretValue", arn, {**base, **world.tags(env)}),
                    resource_policy,
                )
                yield Attempt(
                    "another environment's secret policy",
                    Request("secretsmanager:PutResourcePolicy", arn, {**base, **world.tags(env)}),
                    resource_policy,
                )
            yield Attempt(
                "another environment's key",
                Request("kms:Decrypt", f"arn:aws:kms:{region}:{ACCOUNT}:key/{KEY_ID}", {**base, **world.tags(env)}),
            )
        key = f"arn:aws:kms:{region}:{ACCOUNT}:key/{KEY_ID}"
        for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource"):
            yield Attempt("another environment's key", Request(action, key, {**base, **world.tags(env), **mine}))
        state = f"arn:aws:s3:::{bucket}/{state_key(world.platform, env)}"
        for action in ("s3:PutObject", "s3:DeleteObject"):
            yield Attempt("another environment's state", Request(action, state, base))
        group = f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/sg-0123456789abcdef0"
        for action in ("ec2:AuthorizeSecurityGroupIngress", "ec2:DeleteSecurityGroup", "ec2:CreateTags"):
            yield Attempt(
                "another environment's security group", Request(action, group, {**base, **world.tags(env), **mine})
            )
        other_role = f"arn:aws:iam::{ACCOUNT}:role/{world.p}-{env}-x"
        for action in ("iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole"):
            yield Attempt(
                "another environment's role",
                Request(
                    action, other_role, {**base, **world.tags(env), "iam:PermissionsBoundary": world.boundary(env)}
                ),
            )
    lock_table = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{lock_table_name(world.platform)}"
    yield Attempt("the state lock table", Request("dynamodb:DeleteTable", lock_table, base))
    yield Attempt("the state bucket", Request("s3:PutBucketPolicy", f"arn:aws:s3:::{bucket}", base))


def escalations(world: World, role: Role) -> list[str]:
    allowed = []
    for attempt in attempts(world, role):
        if decide(role.principal, attempt.request, attempt.resource_policy) == ALLOW:
            allowed.append(f"{attempt.path}: {attempt.request.action} on {attempt.request.resource}")
    return allowed


def world_of(platform: Platform) -> World:
    return World(platform, compile_views(platform), platform.region)


def check_platform(platform: Platform) -> dict[str, set[str]]:
    world = world_of(platform)
    tried: dict[str, set[str]] = {}
    for role in roles(world.views, world.region, world.p):
        assert role.principal.boundary is not None or role.stack == "bootstrap", f"{role.address} has no boundary"
        found = escalations(world, role)
        assert not found, f"{role.stack} {role.name} can escalate:\n" + "\n".join(sorted(set(found)))
        tried[f"{role.stack}:{role.name}"] = {a.path for a in attempts(world, role)}
    assert not evaluator.UNMODELLED, f"operators the evaluator treats conservatively: {set(evaluator.UNMODELLED)}"
    return tried


@pytest.fixture(scope="module")
def example() -> World:
    return world_of(load_platform(EXAMPLE_SPEC))


def test_no_role_of_the_example_can_escalate() -> None:
    tried = check_platform(load_platform(EXAMPLE_SPEC))
    assert any(name.startswith("bootstrap:") for name in tried) and any(name.startswith("prod:") for name in tried)
    for name, paths in tried.items():
        assert {"iam:CreatePolicyVersion", "iam:PassRole to a service that runs code"} <= paths, name


def test_a_role_an_apply_role_creates_cannot_escalate_whatever_its_policy(example: World) -> None:
    """The apply role may give a role of its environment any inline policy: the boundary still closes every path."""
    for env in example.environments:
        boundary = roles(example.views, example.region, example.p)
        (document,) = {
            r.principal.boundary["Statement"][0]["Sid"]: r.principal.boundary
            for r in boundary
            if r.stack == env and r.principal.boundary
        }.values()
        worst = Role(
            env,
            "aws_iam_role.worst",
            f"{example.p}-{env}-worst",
            Principal(f"arn:aws:iam::{ACCOUNT}:role/{example.p}-{env}-worst", (UNKNOWN_MANAGED_POLICY,), document),
            env,
            (),
        )
        assert not escalations(example, worst)


def _role(world: World, stack: str, name: str) -> Role:
    (found,) = [r for r in roles(world.views, world.region, world.p) if r.stack == stack and r.name == name]
    return found


def test_the_roles_can_still_do_their_work(example: World) -> None:
    """The suite is not vacuous: what each role is for is allowed by the same evaluator."""
    apply_dev = _role(example, "bootstrap", "tms-ci-apply-dev").principal
    base = {"aws:RequestedRegion": example.region}
    role = f"arn:aws:iam::{ACCOUNT}:role/tms-dev-cluster-nodes"
    bounded = {**base, "iam:PermissionsBoundary": example.boundary("dev"), **example.request_tags("dev")}
    assert decide(apply_dev, Request("iam:CreateRole", role, bounded)) == ALLOW
    assert decide(apply_dev, Request("iam:PutRolePolicy", role, bounded)) == ALLOW
    assert decide(apply_dev, Request("iam:CreateRole", role, {**base, **example.request_tags("dev")})) != ALLOW
    assert (
        decide(apply_dev, Request("iam:PassRole", role, {**base, "iam:PassedToService": "eks.amazonaws.com"})) == ALLOW
    )
    admin = f"arn:aws:iam::{ACCOUNT}:role/{load_platform(EXAMPLE_SPEC).service_of_kind('eks')[1].admin_role_name}"  # type: ignore[union-attr]
    assert (
        decide(apply_dev, Request("eks:CreateAccessEntry", example.cluster("dev"), {**base, "eks:principalArn": admin}))
        == ALLOW
    )
    secret, policy = next(iter(example.secrets("dev")))
    assert decide(apply_dev, Request("secretsmanager:GetSecretValue", secret, base), policy) == ALLOW
    assert (
        decide(
            _role(example, "bootstrap", "tms-ci-apply-prod").principal,
            Request("secretsmanager:GetSecretValue", secret, base),
            policy,
        )
        != ALLOW
    )
    # A workload reads its own connection secret, and no other environment's.
    irsa = [
        r
        for r in roles(example.views, example.region, "tms")
        if r.stack == "dev" and r.name.startswith("tms-dev-") and not r.managed and r.principal.identity
    ]
    assert irsa
    readable = [
        s
        for s, p in example.secrets("dev")
        if any(
            decide(r.principal, Request("secretsmanager:GetSecretValue", s, {**base, **example.tags("dev")}), p)
            == ALLOW
            for r in irsa
        )
    ]
    assert readable


def test_the_evaluator_follows_aws_semantics() -> None:
    allow_tagged = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:Get*",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/e": "dev"}},
            },
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
            },
        ]
    }
    who = Principal("arn:aws:iam::1:role/r", (allow_tagged,))
    ok = {"aws:ResourceTag/e": "dev", "aws:RequestedRegion": "eu-west-1"}
    assert decide(who, Request("s3:GetObject", "arn:aws:s3:::b/k", ok)) == ALLOW
    assert decide(who, Request("S3:GETOBJECT", "arn:aws:s3:::b/k", ok)) == ALLOW  # actions ignore case
    assert decide(who, Request("s3:GetObject", "arn:aws:s3:::b/k", {"aws:RequestedRegion": "eu-west-1"})) != ALLOW
    # A negated operator holds when the key is absent: the region Deny applies to a request without a region.
    assert (
        decide(who, Request("s3:GetObject", "arn:aws:s3:::b/k", {"aws:ResourceTag/e": "dev"}))
        == evaluator.EXPLICIT_DENY
    )
    bounded = Principal(
        "arn:aws:iam::1:role/r",
        (UNKNOWN_MANAGED_POLICY,),
        {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
    )
    assert decide(bounded, Request("iam:CreateUser", "arn:aws:iam::1:user/u")) == evaluator.IMPLICIT_DENY
    assert evaluator.arn_matches("arn:*:*:*:*:*tms-prod-*", "arn:aws:secretsmanager:eu-west-1:1:secret:tms-prod-x")
    assert not evaluator.arn_matches("arn:aws:iam::1:role/tms-dev-*", "arn:aws:iam::1:role/tmsc-ci/tms-dev-x")


@settings(
    max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(doc=spec_documents(max_environments=3))
def test_no_role_of_a_generated_platform_can_escalate(doc: dict[str, Any]) -> None:
    assume("tfstate" not in doc["environments"])
    platform = Platform.model_validate(
        {**doc, "delivery": {"github_repository": "example-org/tms-platform", "default_branch": "main"}}
    )
    check_platform(platform)


def test_the_suite_finds_the_holes_issue_11_names(example: World) -> None:
    """With the boundary conditions taken out (the apply role as main had it), the suite finds the escalation."""
    apply_dev = _role(example, "bootstrap", "tms-ci-apply-dev")
    loosened = []
    for document in apply_dev.principal.identity:
        kept = []
        for statement in document["Statement"]:
            if statement["Sid"] in ("NoRoleWithoutTheBoundary", "NeverRemoveABoundary"):
                continue
            condition = {
                op: {k: v for k, v in pairs.items() if k != "iam:PermissionsBoundary"}
                for op, pairs in statement.get("Condition", {}).items()
            }
            kept.append({**statement, "Condition": {op: pairs for op, pairs in condition.items() if pairs}})
        loosened.append({**document, "Statement": kept})
    role = attrs.evolve(apply_dev, principal=attrs.evolve(apply_dev.principal, identity=tuple(loosened)))
    found = escalations(example, role)
    assert any(f.startswith("iam:CreateRole without its boundary") for f in found)
    assert any(f.startswith("iam:PutRolePolicy on a role without its boundary") for f in found)


def test_grants_by_absence_of_a_tag_are_the_documented_residue(example: World) -> None:
    """Every Allow that matches a resource *without* an environment tag (adoption) is one the README lists as a
    residual risk, with the reason AWS leaves no narrower grant."""
    found = set()
    for role in roles(example.views, example.region, example.p):
        if role.stack != "bootstrap":
            continue
        for document in role.principal.identity:
            for statement in document["Statement"]:
                null = statement.get("Condition", {}).get("Null", {})
                if statement["Effect"] == "Allow" and null.get(f"aws:ResourceTag/{TAG_ENVIRONMENT}") == "true":
                    found.add(statement["Sid"])
    # keys: tag at CreateKey; the VPC's default group; the cluster's OIDC provider; roles, by their env name.
    assert found == {"CreateTaggedKeys", "AdoptDefaultSecurityGroup", "CreateClusterOidcProvider", "TagRolesAtCreation"}


def test_adopting_an_untagged_key_gains_nothing(example: World) -> None:
    """An apply role may tag an untagged key of the account (KMS's rule for tags at CreateKey); once tagged for its
    environment, IAM still grants it nothing on that key: its rights on keys come from their key policies."""
    apply_dev = _role(example, "bootstrap", "tms-ci-apply-dev").principal
    key = f"arn:aws:kms:{example.region}:{ACCOUNT}:key/{KEY_ID}"
    base = {"aws:RequestedRegion": example.region}
    assert decide(apply_dev, Request("kms:TagResource", key, {**base, **example.request_tags("dev")})) == ALLOW
    adopted = {**base, **example.tags("dev")}
    for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:CreateGrant", "kms:Decrypt"):
        assert decide(
            apply_dev, Request(action, key, {**adopted, "kms:ViaService": "rds.eu-west-1.amazonaws.com"})
        ) != (ALLOW), action
    # Its own keys' policies name it: that is where its rights come from.
    policies = [
        body["policy"]
        for view in example.views.values()
        if view.name != "bootstrap"
        for body in view.of("aws_kms_key").values()
    ]
    assert policies and all("tms-ci-apply-" in p for p in policies)
