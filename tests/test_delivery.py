"""The CI identity of the bootstrap stack: each role trusts one subject of one repository; each policy stays in its lane."""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from typing import Any

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from tmsc.diagnostics import SpecError
from tmsc.load import load_platform, load_spec_text
from tmsc.model import GITHUB_REPOSITORY_PATTERN, Platform
from tmsc.services import delivery
from tmsc.services.boundary import BOUNDARY_PATH
from tmsc.services.delivery import (
    ATTACHABLE_MANAGED_POLICIES,
    AUDIENCE_KEY,
    CI_PATH,
    GITHUB_OIDC_HOST,
    RESOURCELESS_ACTIONS,
    SUBJECT_KEY,
    TAG_ENVIRONMENT,
    TAG_PLATFORM,
    ci_secret_readers,
)

from .conftest import EXAMPLE_SPEC
from .stackview import StackView, as_list, compile_views, statements
from .strategies import spec_documents

REPOSITORY = "example-org/tms-platform"
PARTITION = "${data.aws_partition.current.partition}"
ACCOUNT = "${data.aws_caller_identity.current.account_id}"
GITHUB_PROVIDER = "${aws_iam_openid_connect_provider.github.arn}"
# The largest managed policy IAM accepts, counted without whitespace.
MANAGED_POLICY_LIMIT = 6144


def example_document() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE_SPEC.read_text())


@pytest.fixture(scope="module")
def views() -> dict[str, StackView]:
    return compile_views(load_platform(EXAMPLE_SPEC))


@pytest.fixture(scope="module")
def boot(views: dict[str, StackView]) -> StackView:
    return views["bootstrap"]


# --------------------------------------------------------------------------- a small evaluator of trust policies


def admits(trust: dict[str, Any], claims: dict[str, str], federated: str = GITHUB_PROVIDER) -> bool:
    """Would STS let a web identity with these claims assume the role? Allow statements only; conditions AND-ed."""
    for statement in statements(trust):
        if statement.get("Effect") != "Allow" or "sts:AssumeRoleWithWebIdentity" not in as_list(
            statement.get("Action")
        ):
            continue
        if statement.get("Principal", {}).get("Federated") != federated:
            continue
        if all(_condition_holds(operator, pairs, claims) for operator, pairs in statement.get("Condition", {}).items()):
            return True
    return False


def _condition_holds(operator: str, pairs: dict[str, Any], claims: dict[str, str]) -> bool:
    for key, expected in pairs.items():
        value = claims.get(key.removeprefix(f"{GITHUB_OIDC_HOST}:"))
        if value is None:
            return False
        options = as_list(expected)
        if operator == "StringEquals" and value not in options:
            return False
        if operator == "StringLike" and not any(fnmatch.fnmatchcase(value, option) for option in options):
            return False
        if operator not in ("StringEquals", "StringLike"):
            return False  # anything else this test does not model is refused, so it cannot pass by accident
    return True


def expected_subjects(platform: Platform) -> dict[str, str]:
    assert platform.delivery is not None
    repo, branch = platform.delivery.github_repository, platform.delivery.default_branch
    subjects = {"ci_main_plan": f"repo:{repo}:ref:refs/heads/{branch}"}
    if any(env.purpose != "production" for env in platform.environments.values()):
        # Only environments other than production are planned by pull requests (derive.pull_request_plans).
        subjects["ci_pr_plan"] = f"repo:{repo}:pull_request"
    subjects.update(
        {f"ci_apply_{env.replace('-', '_')}": f"repo:{repo}:environment:{env}" for env in platform.environments}
    )
    return subjects


def ci_roles(view: StackView) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in view.of("aws_iam_role").items() if name.startswith("ci_")}


def check_trust(view: StackView, platform: Platform, federated: str = GITHUB_PROVIDER) -> None:
    subjects = expected_subjects(platform)
    roles = ci_roles(view)
    assert set(roles) == set(subjects)
    repo = platform.delivery.github_repository if platform.delivery else ""
    foreign = [
        f"repo:{owner}/{name}"
        for owner, name in (
            (repo.split("/")[0] + "x", repo.split("/")[1]),
            ("someone-else", repo.split("/")[1]),
            (repo.split("/")[0], repo.split("/")[1] + "-fork"),
        )
    ]
    every_subject = set(subjects.values()) | {
        f"repo:{repo}:ref:refs/heads/feature",
        f"repo:{repo}:ref:refs/tags/v1",
        f"repo:{repo}:environment:other",
        f"repo:{repo}:pull_request_target",
        *(f"{prefix}:pull_request" for prefix in foreign),
        *(f"{prefix}:environment:{env}" for prefix in foreign for env in platform.environments),
    }
    for address, role in roles.items():
        assert role["path"] == CI_PATH
        trust = json.loads(role["assume_role_policy"])
        (statement,) = statements(trust)
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"] == {"Federated": federated}
        assert statement["Condition"] == {
            "StringEquals": {AUDIENCE_KEY: "sts.amazonaws.com", SUBJECT_KEY: subjects[address]}
        }
        for subject in every_subject:
            assert admits(trust, {"sub": subject, "aud": "sts.amazonaws.com"}, federated) is (
                subject == subjects[address]
            ), (address, subject)
        assert not admits(trust, {"sub": subjects[address], "aud": "https://github.com/example-org"}, federated)
        assert not admits(trust, {"sub": subjects[address]}, federated)


# --------------------------------------------------------------------------- trust


def test_each_ci_role_trusts_exactly_one_subject_of_this_repository(views: dict[str, StackView]) -> None:
    platform = load_platform(EXAMPLE_SPEC)
    assert platform.delivery is not None and platform.delivery.github_repository == REPOSITORY
    check_trust(views["bootstrap"], platform)
    provider = views["bootstrap"].of("aws_iam_openid_connect_provider")["github"]
    assert provider == {"url": "https://token.actions.githubusercontent.com", "client_id_list": ["sts.amazonaws.com"]}


def test_the_evaluator_catches_a_loosened_trust() -> None:
    loose = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": GITHUB_PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringLike": {SUBJECT_KEY: f"repo:{REPOSITORY}:*"}},
            }
        ]
    }
    assert admits(loose, {"sub": f"repo:{REPOSITORY}:ref:refs/heads/feature", "aud": "sts.amazonaws.com"})


repositories = st.from_regex(GITHUB_REPOSITORY_PATTERN, fullmatch=True)
branches = st.sampled_from(["main", "trunk", "release/2026"])


@given(doc=spec_documents(max_environments=3), repository=repositories, branch=branches, existing=st.booleans())
def test_generated_platforms_trust_only_their_repository(
    doc: dict[str, Any], repository: str, branch: str, existing: bool
) -> None:
    assume("tfstate" not in doc["environments"])
    doc = {
        **doc,
        "delivery": {
            "github_repository": repository,
            "default_branch": branch,
            "github_oidc_provider": "existing" if existing else "create",
        },
    }
    platform = Platform.model_validate(doc)
    view = compile_views(platform)["bootstrap"]
    if existing:
        assert not view.of("aws_iam_openid_connect_provider")
        federated = f"arn:{PARTITION}:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}"
    else:
        federated = GITHUB_PROVIDER
    check_trust(view, platform, federated)
    check_policies(view, platform)


def test_a_spec_without_delivery_gets_no_ci_identity() -> None:
    doc = example_document()
    del doc["delivery"]
    boot = compile_views(doc)["bootstrap"]
    assert "delivery.tf.json" not in boot.files
    assert not ci_roles(boot) and not any(name.startswith(("ci_", "github_")) for name in boot.outputs)
    assert ci_secret_readers(Platform.model_validate(doc), "prod") == []


def test_outputs_name_every_ci_role(boot: StackView) -> None:
    assert boot.outputs["ci_pr_plan_role_arn"]["value"] == "${aws_iam_role.ci_pr_plan.arn}"
    assert boot.outputs["ci_main_plan_role_arn"]["value"] == "${aws_iam_role.ci_main_plan.arn}"
    # By environment, for the repository variables (production has no pull-request role).
    assert boot.outputs["ci_pr_plan_role_arns"]["value"] == {
        env: "${aws_iam_role.ci_pr_plan.arn}" for env in ("dev", "staging")
    }
    assert boot.outputs["ci_main_plan_role_arns"]["value"] == {
        env: "${aws_iam_role.ci_main_plan.arn}" for env in ("dev", "prod", "staging")
    }
    assert boot.outputs["ci_plan_key_arn"]["value"] == "${aws_kms_key.ci_plans.arn}"
    assert boot.outputs["ci_apply_role_arns"]["value"] == {
        env: f"${{aws_iam_role.ci_apply_{env}.arn}}" for env in ("dev", "prod", "staging")
    }
    assert boot.outputs["github_oidc_provider_arn"]["value"] == GITHUB_PROVIDER


def test_ci_secret_readers_name_the_roles_that_refresh_an_environments_secrets() -> None:
    from tmsc.render import expression_value

    platform = load_platform(EXAMPLE_SPEC)
    readers = [expression_value(arn) for arn in ci_secret_readers(platform, "staging")]
    assert readers == [
        f"arn:{PARTITION}:iam::{ACCOUNT}:role{CI_PATH}tms-ci-{name}"
        for name in ("pr-plan", "main-plan", "apply-staging")
    ]
    # Production's secrets deny the pull-request role (their policy lists who may read; it is not listed).
    assert [expression_value(arn) for arn in ci_secret_readers(platform, "prod")] == [
        f"arn:{PARTITION}:iam::{ACCOUNT}:role{CI_PATH}tms-ci-{name}" for name in ("main-plan", "apply-prod")
    ]


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize(
    "repository", ["tms-platform", "a/b/c", "-owner/name", "owner/na me", "owner/", "/name", "o" * 40 + "/name"]
)
def test_github_repository_must_be_owner_slash_name(repository: str) -> None:
    doc = example_document()
    doc["delivery"]["github_repository"] = repository
    with pytest.raises(ValueError):
        Platform.model_validate(doc)


def _spec_error(doc: dict[str, Any]) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_spec_text(yaml.safe_dump(doc, sort_keys=False), "spec.yaml")
    return caught.value


def test_nested_environment_names_are_refused_where_ci_scopes_by_prefix() -> None:
    doc = example_document()
    doc["environments"]["dev-eu"] = copy.deepcopy(doc["environments"]["dev"])
    doc["environments"]["dev-eu"]["network"]["cidr"] = "10.40.0.0/16"
    (diagnostic,) = _spec_error(doc).diagnostics
    assert diagnostic.path == "environments.dev-eu" and diagnostic.line is not None
    assert "IAM scope" in diagnostic.message and "tms-dev-*" in diagnostic.message
    del doc["delivery"]
    Platform.model_validate(doc)  # without CI roles the names may nest


def test_an_environment_named_tfstate_is_refused_with_delivery() -> None:
    doc = example_document()
    doc["environments"]["tfstate"] = doc["environments"].pop("staging")
    (diagnostic,) = _spec_error(doc).diagnostics
    assert diagnostic.path == "environments.tfstate" and "Terraform state" in diagnostic.message


def test_the_delivery_section_is_in_the_committed_schema() -> None:
    from .conftest import REPO

    schema = json.loads((REPO / "spec" / "platform.schema.json").read_text())
    fields = schema["$defs"]["Delivery"]["properties"]
    assert fields["github_repository"]["pattern"] == GITHUB_REPOSITORY_PATTERN
    assert set(fields) == {"github_repository", "default_branch", "github_oidc_provider"}


# --------------------------------------------------------------------------- policies


def managed_policies(view: StackView) -> dict[str, dict[str, Any]]:
    """The CI roles' policies (the environments' permissions boundaries are tests/test_boundary.py's)."""
    return {
        name: json.loads(body["policy"]) for name, body in view.of("aws_iam_policy").items() if body["path"] == CI_PATH
    }


def attached(view: StackView, role: str) -> list[str]:
    found = []
    for body in view.of("aws_iam_role_policy_attachment").values():
        if body["role"] == f"${{aws_iam_role.{role}.name}}":
            match = re.fullmatch(r"\$\{aws_iam_policy\.(\w+)\.arn\}", body["policy_arn"])
            assert match, f"{role} has a policy that is not one of the CI policies: {body['policy_arn']}"
            found.append(match.group(1))
    return sorted(found)


def realistic(text: str) -> str:
    text = text.replace(PARTITION, "aws").replace(ACCOUNT, "123456789012")
    return re.sub(
        r"\$\{aws_[a-z0-9_]+\.[a-z0-9_]+\.arn\}",
        "arn:aws:s3:::a-state-bucket-name-of-sixty-three-characters-at-most-xxxxxxxx",
        text,
    )


def check_policies(view: StackView, platform: Platform) -> None:
    p = platform.platform
    policies = managed_policies(view)
    text = json.dumps(view.documents["delivery.tf.json"])
    assert "AdministratorAccess" not in text and "PowerUserAccess" not in text and "IAMFullAccess" not in text
    for name, document in policies.items():
        assert len(re.sub(r"\s", "", realistic(view.of("aws_iam_policy")[name]["policy"]))) <= MANAGED_POLICY_LIMIT, (
            name
        )
        sids = [s["Sid"] for s in statements(document)]
        assert len(sids) == len(set(sids)), name
        for statement in statements(document):
            if statement["Effect"] != "Allow":
                continue
            for action in as_list(statement["Action"]):
                assert action != "*" and not action.endswith(":*"), f"{name}: {action}"
            if statement["Resource"] == "*" or "*" in as_list(statement["Resource"]):
                assert statement["Resource"] == "*"
                assert set(as_list(statement["Action"])) <= set(RESOURCELESS_ACTIONS), f"{name}.{statement['Sid']}"
                assert statement["Condition"]["StringEquals"]["aws:RequestedRegion"][0] == platform.region
    for role in ci_roles(view):
        assert "ci_read" in attached(view, role)
    for env in platform.environments:
        role = f"ci_apply_{env.replace('-', '_')}"
        for policy_name in attached(view, role):
            if policy_name == "ci_read":
                continue
            body = json.dumps(policies[policy_name])
            for other in platform.environments:
                if other != env:
                    assert f"{p}-{other}-" not in body and f"{p}/{other}/" not in body, f"{role} reaches into {other}"
                    assert f'"{other}"' not in body, f"{role} names {other}"


def test_policies_are_least_privilege(boot: StackView) -> None:
    check_policies(boot, load_platform(EXAMPLE_SPEC))


def test_policies_fit_iam_limits_with_long_names() -> None:
    doc = example_document()
    doc["platform"] = "transport-mgmt"  # with 9-character environments, the longest names the model allows here
    doc["environments"] = {
        new: doc["environments"][old]
        for old, new in (("dev", "develop01"), ("staging", "staging01"), ("prod", "product01"))
    }
    boot = compile_views(doc)["bootstrap"]
    check_policies(boot, Platform.model_validate(doc))
    for role in ci_roles(boot):
        assert len(attached(boot, role)) <= 10  # IAM's default quota of managed policies per role


def test_plan_roles_read_state_and_only_apply_roles_write_their_own(boot: StackView) -> None:
    policies = managed_policies(boot)
    by_sid = lambda name: {s["Sid"]: s for s in statements(policies[name])}  # noqa: E731
    envs = ("dev", "prod", "staging")
    plan = by_sid("ci_main_plan_state")
    assert plan["StateObjects"]["Action"] == ["s3:GetObject"]
    assert plan["StateObjects"]["Resource"] == [
        f"${{aws_s3_bucket.state.arn}}/tms/{env}/terraform.tfstate" for env in envs
    ]
    # The pull-request role reads the state of the environments a pull request may plan: not production's.
    pr = by_sid("ci_pr_plan_state")
    assert pr["StateObjects"]["Resource"] == [
        f"${{aws_s3_bucket.state.arn}}/tms/{env}/terraform.tfstate" for env in ("dev", "staging")
    ]
    for role in ("ci_pr_plan", "ci_main_plan"):
        assert attached(boot, role) == sorted([f"{role}_state", "ci_read"])
    for env in envs:
        state = by_sid(f"ci_apply_{env}_state")
        assert state["StateObjects"]["Action"] == ["s3:GetObject", "s3:PutObject"]
        assert state["StateObjects"]["Resource"] == [f"${{aws_s3_bucket.state.arn}}/tms/{env}/terraform.tfstate"]
        lock_ids = state["StateLockTable"]["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]
        assert lock_ids == [
            f"tms-tfstate-eu-west-1/tms/{env}/terraform.tfstate",
            f"tms-tfstate-eu-west-1/tms/{env}/terraform.tfstate-md5",
        ]
        assert not {"ci_main_plan_state", "ci_pr_plan_state"} & set(attached(boot, f"ci_apply_{env}"))
    # Only the main-branch plan role reads every environment's connection secrets; the pull-request role those of
    # dev and staging; an apply role only its own.
    assert by_sid("ci_main_plan_state")["ConnectionSecretValues"]["Resource"] == [
        f"arn:{PARTITION}:secretsmanager:eu-west-1:{ACCOUNT}:secret:tms/{env}/*" for env in envs
    ]
    assert by_sid("ci_pr_plan_state")["ConnectionSecretValues"]["Resource"] == [
        f"arn:{PARTITION}:secretsmanager:eu-west-1:{ACCOUNT}:secret:tms/{env}/*" for env in ("dev", "staging")
    ]
    assert by_sid("ci_apply_dev_state")["ConnectionSecretValues"]["Resource"] == [
        f"arn:{PARTITION}:secretsmanager:eu-west-1:{ACCOUNT}:secret:tms/dev/*"
    ]


def test_no_ci_role_can_change_the_ci_identity(boot: StackView) -> None:
    (deny,) = [s for s in statements(managed_policies(boot)["ci_read"]) if s["Effect"] == "Deny"]
    assert set(deny["Resource"]) == {
        f"arn:{PARTITION}:iam::{ACCOUNT}:role{CI_PATH}*",
        f"arn:{PARTITION}:iam::{ACCOUNT}:policy{CI_PATH}*",
        f"arn:{PARTITION}:iam::{ACCOUNT}:policy{BOUNDARY_PATH}*",
        f"arn:{PARTITION}:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}",
    }
    assert {"iam:PassRole", "iam:Put*", "iam:Attach*", "iam:Update*", "iam:Create*", "iam:Delete*", "iam:Set*"} <= set(
        deny["Action"]
    )
    for body in boot.of("aws_iam_policy").values():
        assert body["path"] in (CI_PATH, BOUNDARY_PATH)
    # What any CI policy allows on the CI path is reading it (iam:GetRole for the session context).
    for name, document in managed_policies(boot).items():
        for statement in statements(document):
            if statement["Effect"] == "Allow" and any(CI_PATH in str(r) for r in as_list(statement["Resource"])):
                assert all(a.startswith(("iam:Get", "iam:List")) for a in as_list(statement["Action"])), (
                    f"{name}.{statement['Sid']}"
                )


def test_apply_roles_attach_only_the_managed_policies_the_stacks_use(views: dict[str, StackView]) -> None:
    used = set()
    for name, view in views.items():
        if name == "bootstrap":
            continue
        for body in view.of("aws_iam_role_policy_attachment").values():
            match = re.fullmatch(rf"arn:{re.escape(PARTITION)}:iam::aws:policy/(.+)", body["policy_arn"])
            if match:
                used.add(match.group(1))
    assert used == set(ATTACHABLE_MANAGED_POLICIES), "update ATTACHABLE_MANAGED_POLICIES in services/delivery.py"


def test_tag_scopes_match_the_default_tags(views: dict[str, StackView]) -> None:
    for name, view in views.items():
        if name == "bootstrap":
            continue
        for provider in view.documents["providers.tf.json"]["provider"]["aws"]:
            tags = provider["default_tags"]["tags"]
            assert tags[TAG_PLATFORM] == "tms" and tags[TAG_ENVIRONMENT] == name


# What lets an apply role create each resource type the environment stacks emit: declared by each
# service family next to its emitter (the CiPermissions of services/*.py), composed in services/delivery.py.
GRANTS = delivery.GRANTS


def test_every_resource_type_of_an_environment_can_be_applied(views: dict[str, StackView]) -> None:
    boot = views["bootstrap"]
    policies = managed_policies(boot)
    for env, view in views.items():
        if env == "bootstrap":
            continue
        sids = {s["Sid"] for name in attached(boot, f"ci_apply_{env}") for s in statements(policies[name])}
        missing = sorted(set(view.resources) - set(GRANTS))
        assert not missing, (
            f"no CI apply rights for {missing}: declare them in the CiPermissions of the family that emits them"
        )
        for rtype in view.resources:
            assert GRANTS[rtype] in sids, f"{env}: {rtype} needs {GRANTS[rtype]}"
    emitted = {rtype for env, view in views.items() if env != "bootstrap" for rtype in view.resources}
    stale = set(GRANTS) - emitted
    assert not stale, f"declared grants for types no stack emits: {sorted(stale)}"


def _named(view: StackView, rtype: str, attribute: str) -> list[str]:
    return [str(body[attribute]) for body in view.of(rtype).values()]


def test_every_named_resource_of_an_environment_lies_inside_its_apply_scope(views: dict[str, StackView]) -> None:
    """The name patterns of services/delivery.py cover what the emitters name: a renamed resource cannot fall outside."""
    for env, view in views.items():
        if env == "bootstrap":
            continue
        prefix = f"tms-{env}-*"
        checks = {
            prefix: [
                *_named(view, "aws_iam_role", "name"),
                *_named(view, "aws_db_instance", "identifier"),
                *_named(view, "aws_db_parameter_group", "name"),
                *_named(view, "aws_db_subnet_group", "name"),
                *_named(view, "aws_elasticache_replication_group", "replication_group_id"),
                *_named(view, "aws_elasticache_subnet_group", "name"),
                *_named(view, "aws_elasticache_user", "user_id"),
                *_named(view, "aws_elasticache_user_group", "user_group_id"),
                *_named(view, "aws_mq_broker", "broker_name"),
                *_named(view, "aws_eks_cluster", "name"),
                *_named(view, "aws_lb", "name"),
                *_named(view, "aws_lb_target_group", "name"),
                *_named(view, "aws_s3_bucket", "bucket"),
                *_named(view, "aws_security_group", "name"),
            ],
            f"alias/tms-{env}-*": _named(view, "aws_kms_alias", "name"),
            f"tms/{env}/*": _named(view, "aws_secretsmanager_secret", "name"),
        }
        for pattern, names in checks.items():
            assert names
            for name in names:
                assert fnmatch.fnmatchcase(name, pattern), f"{env}: {name} is outside {pattern}"
        for name in _named(view, "aws_cloudwatch_log_group", "name"):
            assert fnmatch.fnmatchcase(name, f"/aws/*/tms-{env}/*") or fnmatch.fnmatchcase(
                name, f"/aws/*/tms-{env}-*"
            ), name


def test_resourceless_actions_are_documented_and_used() -> None:
    emitted = set()
    boot = compile_views(load_platform(EXAMPLE_SPEC))["bootstrap"]
    for document in managed_policies(boot).values():
        for statement in statements(document):
            if statement["Resource"] == "*" and statement["Effect"] == "Allow":
                emitted |= set(as_list(statement["Action"]))
    assert emitted == set(RESOURCELESS_ACTIONS)
    assert all(len(reason) > 15 for reason in RESOURCELESS_ACTIONS.values())
    assert delivery.APPLY_SESSION_SECONDS >= 3 * 3600
