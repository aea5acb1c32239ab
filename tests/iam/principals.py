"""Every role the compiled stacks create, as the evaluator sees it: its ARN, its identity policies and its boundary.

References are made real as in tests/iam/emitted.py. An AWS managed policy a
role attaches (AmazonEKSClusterPolicy, ...) is not in the repository: it is
taken as "Allow * on *", the worst it could be, so that what keeps the role in
its environment is shown to be the boundary and not the managed policy's
restraint.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from tests.iam.emitted import ACCOUNT, realistic
from tests.iam.evaluator import Principal
from tests.stackview import StackView

UNKNOWN_MANAGED_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "WorstCaseManagedPolicy", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@attrs.frozen
class Role:
    stack: str
    address: str  # aws_iam_role.<name>
    name: str
    principal: Principal
    # The environment the role belongs to: its stack's, or the one a CI apply role applies; None for plan roles.
    environment: str | None
    managed: tuple[str, ...]  # AWS managed policies it attaches (taken as Allow *)


def _document(view: StackView, region: str, text: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(realistic(text, view, region))
    return document


def _boundaries(boot: StackView, region: str) -> dict[str, dict[str, Any]]:
    """Boundary ARN → document, from the bootstrap stack."""
    found = {}
    for body in boot.of("aws_iam_policy").values():
        arn = f"arn:aws:iam::{ACCOUNT}:policy{body['path']}{body['name']}"
        found[arn] = _document(boot, region, body["policy"])
    return found


def roles(views: dict[str, StackView], region: str, platform: str) -> list[Role]:
    boot = views["bootstrap"]
    policies_by_arn = _boundaries(boot, region)
    found = []
    for stack, view in sorted(views.items()):
        for name, body in sorted(view.of("aws_iam_role").items()):
            identity: list[dict[str, Any]] = []
            managed: list[str] = []
            for inline in view.of("aws_iam_role_policy").values():
                if re.fullmatch(rf"\$\{{aws_iam_role\.{name}\.(id|name)\}}", str(inline["role"])):
                    identity.append(_document(view, region, inline["policy"]))
            for attachment in view.of("aws_iam_role_policy_attachment").values():
                if attachment["role"] != f"${{aws_iam_role.{name}.name}}":
                    continue
                match = re.fullmatch(r"\$\{aws_iam_policy\.(\w+)\.arn\}", attachment["policy_arn"])
                if match:
                    identity.append(_document(view, region, view.of("aws_iam_policy")[match.group(1)]["policy"]))
                else:
                    managed.append(realistic(attachment["policy_arn"], view, region))
                    identity.append(UNKNOWN_MANAGED_POLICY)
            boundary = None
            if "permissions_boundary" in body:
                boundary = policies_by_arn[realistic(body["permissions_boundary"], view, region)]
            role_name = body["name"]
            arn = f"arn:aws:iam::{ACCOUNT}:role{body.get('path', '/')}{role_name}"
            if stack == "bootstrap":
                environment = None
                for env in (s for s in views if s != "bootstrap"):
                    if role_name == f"{platform}-ci-apply-{env}":
                        environment = env
            else:
                environment = stack
            found.append(
                Role(
                    stack,
                    f"aws_iam_role.{name}",
                    role_name,
                    Principal(arn, tuple(identity), boundary),
                    environment,
                    tuple(managed),
                )
            )
    return found
