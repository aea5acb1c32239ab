"""The dev apply role's credentials on the emulator with moto's IAM authorization on, and what that proves.

moto authorizes requests against IAM policies once INITIAL_NO_AUTH_ACTION_COUNT
requests have been served (moto/core/authorization.py). What it evaluates
(moto 5.2.5, moto/iam/access_control.py, read for this test):

- the caller's identity policies only (an IAM user's or an assumed role's inline and attached policies): no
  permissions boundary, no resource policy (a secret's policy is never read), no SCP;
- Action and NotAction, with `*` wildcards; Deny before Allow;
- Resource only where the service names one: IAM (the role of RoleName) and STS, SQS; every other service
  (Secrets Manager, EC2, KMS, EKS, ...) is authorized against "*", so a grant scoped to an ARN never matches there;
- Condition: only sts:ExternalId has a value; a condition on any other key is skipped, and a statement whose
  condition does fail is treated as a Deny. So iam:PermissionsBoundary, aws:RequestTag, eks:principalArn,
  aws:ResourceTag are not evaluated: an Allow conditioned on them applies unconditionally, and so does a Deny.

- Secrets Manager and KMS requests are not authorized at all (observed, asserted below).

So the emulator shows two of the three attacks refused (a role without the boundary, removing the boundary), but
not *why*: it refuses the legitimate twin too (a role with the boundary). The third (reading a prod secret) it
cannot show. Each limit is asserted, so that a moto that learns to evaluate more fails this test and the proof
can be tightened; tests/test_escalation.py keeps the static proof, which evaluates the conditions. Applying the whole dev stack with the apply role's credentials is not
possible on moto for the same reason (every ARN-scoped grant outside IAM is refused).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tmsc.load import load_platform

from .conftest import EXAMPLE_SPEC
from .iam.emitted import ACCOUNT, emitted_policies
from .stackview import compile_views

pytestmark = [pytest.mark.emulator]

APPLY_ROLE = "tms-ci-apply-dev"
PROBE_ROLE = "tms-dev-probe"


def _denied(call: Any, **kwargs: Any) -> bool:
    from botocore.exceptions import ClientError

    try:
        call(**kwargs)
    except ClientError as error:
        return error.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")
    return False


@pytest.fixture(scope="module")
def dev_apply(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import boto3
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    from tests.emulator import start_emulator

    platform = load_platform(EXAMPLE_SPEC)
    documents = {p.address: p.document for p in emitted_policies(compile_views(platform), platform.region)}
    with start_emulator(region=platform.region) as emulator:
        iam = emulator.client("iam")
        arns = {}
        boot = compile_views(platform)["bootstrap"]
        for address, body in boot.of("aws_iam_policy").items():
            created = iam.create_policy(
                PolicyName=body["name"],
                Path=body["path"],
                PolicyDocument=json.dumps(documents[f"aws_iam_policy.{address}"]),
            )
            arns[address] = created["Policy"]["Arn"]
        # The compiled trust admits GitHub's OIDC tokens, which moto cannot issue: the account assumes it here.
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
            ],
        }
        iam.create_role(RoleName=APPLY_ROLE, Path="/tmsc-ci/", AssumeRolePolicyDocument=json.dumps(trust))
        for attachment in boot.of("aws_iam_role_policy_attachment").values():
            if attachment["role"] == "${aws_iam_role.ci_apply_dev.name}":
                policy = attachment["policy_arn"].split(".")[1]
                iam.attach_role_policy(RoleName=APPLY_ROLE, PolicyArn=arns[policy])
        iam.create_role(
            RoleName=PROBE_ROLE,
            AssumeRolePolicyDocument=json.dumps(trust),
            PermissionsBoundary=arns["boundary_dev"],
            Tags=[{"Key": "platform", "Value": "tms"}, {"Key": "environment", "Value": "dev"}],
        )
        secrets = emulator.client("secretsmanager")
        for env in ("dev", "prod"):
            secrets.create_secret(Name=f"tms/{env}/messaging/password", SecretString="not-a-real-password")
        credentials = emulator.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/tmsc-ci/{APPLY_ROLE}", RoleSessionName="apply-dev"
        )["Credentials"]

        def client(service: str) -> Any:
            return boto3.session.Session().client(
                service,
                region_name=platform.region,
                endpoint_url=emulator.endpoint,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                verify=emulator.ca_bundle,
            )

        before = settings.INITIAL_NO_AUTH_ACTION_COUNT
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
        try:
            yield {"client": client, "boundary": arns["boundary_dev"]}
        finally:
            settings.INITIAL_NO_AUTH_ACTION_COUNT = before


def test_moto_authorizes_the_apply_role_where_it_can(dev_apply: dict[str, Any]) -> None:
    """Authorization is on and reads the compiled policies: a read the CI policy grants on an IAM ARN passes."""
    iam = dev_apply["client"]("iam")
    assert (
        iam.get_role(RoleName=PROBE_ROLE)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
        == (dev_apply["boundary"])
    )
    assert _denied(iam.list_users)  # granted by no policy


def test_moto_does_not_authorize_secrets_manager_or_kms(dev_apply: dict[str, Any]) -> None:
    """Reading a prod secret cannot be shown refused here: moto serves Secrets Manager and KMS without authorizing
    them (observed: a DeleteSecret and a kms:ListKeys that no policy of the role grants both pass), while EC2, in
    the same session, refuses what the role lacks. The proof stays tests/test_escalation.py's. When moto starts to
    authorize these services, this test fails: then assert the prod secret's refusal here."""
    client = dev_apply["client"]
    assert not _denied(client("secretsmanager").get_secret_value, SecretId="tms/prod/messaging/password")
    assert not _denied(client("kms").list_keys)
    assert _denied(client("ec2").create_vpc, CidrBlock="10.9.0.0/16")  # authorized, against "*": refused


def test_the_dev_apply_role_cannot_create_a_role_without_the_boundary(dev_apply: dict[str, Any]) -> None:
    iam = dev_apply["client"]("iam")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    tags = [{"Key": "platform", "Value": "tms"}, {"Key": "environment", "Value": "dev"}]
    assert _denied(iam.create_role, RoleName="tms-dev-unbounded", AssumeRolePolicyDocument=trust, Tags=tags)
    # moto's limit: iam:PermissionsBoundary is not evaluated, so the Deny of a role without the boundary applies
    # to a role with it too.
    assert _denied(
        iam.create_role,
        RoleName="tms-dev-bounded",
        AssumeRolePolicyDocument=trust,
        Tags=tags,
        PermissionsBoundary=dev_apply["boundary"],
    )


def test_the_dev_apply_role_cannot_detach_the_boundary(dev_apply: dict[str, Any]) -> None:
    iam = dev_apply["client"]("iam")
    assert _denied(iam.delete_role_permissions_boundary, RoleName=PROBE_ROLE)
    weak = f"arn:aws:iam::{ACCOUNT}:policy/tmsc-ci/tms-ci-read"
    assert _denied(iam.put_role_permissions_boundary, RoleName=PROBE_ROLE, PermissionsBoundary=weak)
    assert _denied(iam.create_policy_version, PolicyArn=dev_apply["boundary"], PolicyDocument="{}", SetAsDefault=True)
