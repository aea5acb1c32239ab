"""A small IAM policy evaluator, honest about what it models, for the escalation suite (tests/test_escalation.py).

It decides one request (an action on a resource, with the condition keys the
request carries) against a principal's identity policies, its permissions
boundary and the target's resource policy, as AWS documents for a single
account (IAM User Guide, "Policy evaluation logic"):

1. an explicit Deny in any of them wins;
2. otherwise the identity policies (or the resource policy, for a principal it
   names) must Allow, and a boundary, when the principal has one, must Allow too.

Modelled exactly: Action/NotAction and Resource/NotResource with the `*` and `?`
wildcards (actions case-insensitively; ARNs segment by segment, the sixth
segment, the resource, taking the rest), and the condition operators the
stacks use: String(Not)Equals, String(Not)Like, Arn(Not)Equals, Arn(Not)Like,
Bool, Null, their ...IfExists forms, and the ForAllValues:/ForAnyValue:
qualifiers; several values of one key match if any does (all, for a negated
operator); a key absent from the request makes a condition false, a negated
one true (IAM User Guide, "Condition operators").

Not modelled, and treated conservatively (in the attacker's favour): an
operator outside that list makes an Allow statement match and a Deny statement
not apply. Policy variables (${aws:username}) are not expanded: none is emitted
(tests/test_escalation.py checks). Service control policies, session policies
and VPC endpoint policies are left out: they can only deny more.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

Context = Mapping[str, str | Sequence[str]]

ALLOW = "Allow"
EXPLICIT_DENY = "ExplicitDeny"
IMPLICIT_DENY = "ImplicitDeny"

_SIMPLE = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnNotEquals",
    "ArnLike",
    "ArnNotLike",
    "Bool",
}
UNMODELLED: list[str] = []  # operators met and treated conservatively: tests assert it stays empty


@attrs.frozen
class Request:
    action: str
    resource: str
    context: Context = attrs.field(factory=dict)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    return re.fullmatch(fnmatch.translate(pattern).replace("(?s:", "(?s:", 1), value) is not None


def arn_matches(pattern: str, arn: str) -> bool:
    """IAM's ARN matching: six colon-separated segments, each matched on its own; the resource takes the rest."""
    if pattern == "*":
        return True
    want = pattern.split(":", 5)
    have = arn.split(":", 5)
    if len(want) != 6 or len(have) != 6:
        return _glob(pattern, arn)
    return all(_glob(w, h) for w, h in zip(want, have, strict=True))


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(_glob(p, action, ignore_case=True) for p in patterns)


def _values(context: Context, key: str) -> list[str] | None:
    for name, value in context.items():
        if name.lower() == key.lower():
            return [str(v) for v in _as_list(value)]
    return None


def _single(operator: str, expected: list[str], actual: str) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return actual in expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() in [e.lower() for e in expected]
    if operator in ("StringLike", "ArnLike"):
        return any((arn_matches if operator == "ArnLike" else _glob)(e, actual) for e in expected)
    if operator == "Bool":
        return actual.lower() in [e.lower() for e in expected]
    raise AssertionError(operator)


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def condition_holds(operator: str, key: str, expected_raw: Any, context: Context, effect: str) -> bool:
    expected = [str(e).lower() if isinstance(e, bool) else str(e) for e in _as_list(expected_raw)]
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    actual = _values(context, key)
    if op == "Null":
        return (actual is None) == (expected[0].lower() == "true")
    if op not in _SIMPLE:
        UNMODELLED.append(operator)
        return effect == "Allow"  # conservative: an Allow we cannot read may apply, a Deny may not
    if actual is None:
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True  # vacuous: no value fails
        return op in _NEGATED
    positive = _NEGATED.get(op, op)
    matches = [_single(positive, expected, a) for a in actual]
    if qualifier == "ForAllValues":
        return all((not m) if op in _NEGATED else m for m in matches)
    if qualifier == "ForAnyValue":
        return any((not m) if op in _NEGATED else m for m in matches)
    if op in _NEGATED:
        return not any(matches)
    return any(matches)


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement and not _action_matches(_as_list(statement["Action"]), request.action):
        return False
    if "NotAction" in statement and _action_matches(_as_list(statement["NotAction"]), request.action):
        return False
    if "Resource" in statement and not any(arn_matches(r, request.resource) for r in _as_list(statement["Resource"])):
        return False
    if "NotResource" in statement and any(arn_matches(r, request.resource) for r in _as_list(statement["NotResource"])):
        return False
    effect = statement["Effect"]
    for operator, pairs in statement.get("Condition", {}).items():
        for key, expected in pairs.items():
            if not condition_holds(operator, key, expected, request.context, effect):
                return False
    return True


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return _as_list(document.get("Statement", []))


def _principal_named(statement: Mapping[str, Any], principal_arn: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any(p == "*" or p == principal_arn for p in _as_list(principal.get("AWS", [])))
    return False


@attrs.frozen
class Principal:
    arn: str
    identity: tuple[Mapping[str, Any], ...]
    boundary: Mapping[str, Any] | None = None


def decide(principal: Principal, request: Request, resource_policy: Mapping[str, Any] | None = None) -> str:
    context = {"aws:PrincipalArn": principal.arn, **request.context}
    request = Request(request.action, request.resource, context)
    documents = list(principal.identity) + ([principal.boundary] if principal.boundary else [])
    for document in documents:
        for statement in _statements(document):
            if statement["Effect"] == "Deny" and statement_applies(statement, request):
                return EXPLICIT_DENY
    resource_allows = False
    if resource_policy is not None:
        for statement in _statements(resource_policy):
            if not _principal_named(statement, principal.arn) or not statement_applies(statement, request):
                continue
            if statement["Effect"] == "Deny":
                return EXPLICIT_DENY
            resource_allows = True
    identity_allows = any(
        statement["Effect"] == "Allow" and statement_applies(statement, request)
        for document in principal.identity
        for statement in _statements(document)
    )
    boundary_allows = principal.boundary is None or any(
        statement["Effect"] == "Allow" and statement_applies(statement, request)
        for statement in _statements(principal.boundary)
    )
    # Same account: a resource policy naming the principal grants on its own (a boundary does not cap it).
    if resource_allows or (identity_allows and boundary_allows):
        return ALLOW
    return IMPLICIT_DENY
