"""Every policy document the compiled stacks hold, with Terraform's references replaced by realistic ARNs.

IAM tools (parliament, the evaluator of tests/iam/evaluator.py) read ARNs, not
"${aws_kms_key.x.arn}": each reference becomes the ARN AWS would give that
resource, in account ACCOUNT of partition aws, so that an ARN's shape (service,
region, resource type) is checked as IAM will see it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import attrs

from tests.stackview import StackView

ACCOUNT = "123456789012"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
OIDC_ISSUER = "oidc.eks.{region}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"

# What each kind of document is, to IAM.
IDENTITY = "identity"  # aws_iam_policy, aws_iam_role_policy: attached to a principal
TRUST = "trust"  # aws_iam_role.assume_role_policy
RESOURCE = "resource"  # key, bucket and secret policies


@attrs.frozen
class EmittedPolicy:
    stack: str
    address: str  # e.g. aws_iam_policy.ci_read
    kind: str
    document: dict[str, Any]
    # The IAM role an identity policy (or a trust policy) belongs to: its Terraform address.
    role: str | None = None

    @property
    def text(self) -> str:
        return json.dumps(self.document, indent=2)


def _reference_arn(expression: str, region: str, names: dict[str, str]) -> str:
    """The ARN (or value) AWS gives the resource behind one Terraform expression."""
    kind, _, rest = expression.partition(".")
    name, _, attribute = rest.partition(".")
    if kind == "data":
        _source, _, attribute = attribute.partition(".")
        if attribute == "partition":
            return "aws"
        if attribute == "account_id":
            return ACCOUNT
        if attribute == "issuer_arn":
            return f"arn:aws:iam::{ACCOUNT}:role/terraform-deployer"
        raise AssertionError(f"no realistic value for {expression}")
    aws_name = names.get(f"{kind}.{name}", name.replace("_", "-"))
    # The GitHub provider of the bootstrap stack; any other is an EKS cluster's.
    issuer = "token.actions.githubusercontent.com" if name == "github" else OIDC_ISSUER.format(region=region)
    values = {
        ("aws_kms_key", "arn"): f"arn:aws:kms:{region}:{ACCOUNT}:key/{KEY_ID}",
        ("aws_s3_bucket", "arn"): f"arn:aws:s3:::{aws_name}",
        ("aws_iam_role", "arn"): f"arn:aws:iam::{ACCOUNT}:role/{aws_name}",
        ("aws_iam_openid_connect_provider", "arn"): f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}",
        ("aws_iam_openid_connect_provider", "url"): issuer,
        ("aws_secretsmanager_secret", "arn"): f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{aws_name}-AbCdEf",
        ("aws_db_instance", "master_user_secret[0].secret_arn"): (
            f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:rds!db-0123abcd-4567-89ef-0123-456789abcdef-AbCdEf"
        ),
        (
            "aws_elasticache_replication_group",
            "arn",
        ): f"arn:aws:elasticache:{region}:{ACCOUNT}:replicationgroup:{aws_name}",
        ("aws_elasticache_user", "arn"): f"arn:aws:elasticache:{region}:{ACCOUNT}:user:{aws_name}",
        ("aws_cloudwatch_log_group", "arn"): f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{aws_name}",
        ("aws_dynamodb_table", "arn"): f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{aws_name}",
        ("aws_db_instance", "resource_id"): "db-ABCDEFGHIJKLMNOPQRSTUVWXY0",
        ("aws_lb_target_group", "arn"): (
            f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:targetgroup/{aws_name}/0123456789abcdef"
        ),
    }
    if (kind, attribute) not in values:
        raise AssertionError(f"no realistic value for {expression}: add one in tests/iam/emitted.py")
    return values[(kind, attribute)]


_NAME_ATTRIBUTES = {
    "aws_s3_bucket": "bucket",
    "aws_iam_role": "name",
    "aws_secretsmanager_secret": "name",
    "aws_elasticache_replication_group": "replication_group_id",
    "aws_elasticache_user": "user_id",
    "aws_cloudwatch_log_group": "name",
    "aws_dynamodb_table": "name",
    "aws_lb_target_group": "name",
}


def _names(view: StackView) -> dict[str, str]:
    """Terraform address → the AWS name it is given, where that name is a literal."""
    found = {}
    for rtype, attribute in _NAME_ATTRIBUTES.items():
        for name, body in view.of(rtype).items():
            value = body.get(attribute)
            if isinstance(value, str) and "${" not in value:
                found[f"{rtype}.{name}"] = value
    return found


def realistic(text: str, view: StackView, region: str) -> str:
    names = _names(view)
    # The CI path of a role ARN built from parts stays as it is; only references are replaced.
    return re.sub(r"\$\{([^}]+)\}", lambda m: _reference_arn(m.group(1), region, names), text)


def _owner(view: StackView, rtype: str, body: dict[str, Any]) -> str | None:
    if rtype == "aws_iam_role_policy":
        match = re.fullmatch(r"\$\{aws_iam_role\.(\w+)\.(?:id|name)\}", str(body["role"]))
        return f"aws_iam_role.{match.group(1)}" if match else None
    return None


def emitted_policies(views: dict[str, StackView], region: str) -> Iterator[EmittedPolicy]:
    """Every IAM, trust and resource policy of every stack, references made real."""
    for stack, view in sorted(views.items()):
        for rtype, blocks in sorted(view.resources.items()):
            for name, body in sorted(blocks.items()):
                for key in ("policy", "assume_role_policy"):
                    if not isinstance(body.get(key), str):
                        continue
                    role: str | None
                    if key == "assume_role_policy":
                        kind, role = TRUST, f"aws_iam_role.{name}"
                    elif rtype in ("aws_iam_policy", "aws_iam_role_policy"):
                        kind, role = IDENTITY, _owner(view, rtype, body)
                    else:
                        kind, role = RESOURCE, None
                    document = json.loads(realistic(body[key], view, region))
                    yield EmittedPolicy(stack, f"{rtype}.{name}", kind, document, role)
