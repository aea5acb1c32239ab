"""Runtime patches to moto 5.2.5 so that the AWS provider 5.100 can apply,
re-plan without drift and destroy the tmsc stacks on the emulator.

Every patch fixes a gap seen with the AWS provider 5.100 (the design notes'
"emulator and its known gaps", plus three found on out/dev: launch template
tags, ElastiCache reader endpoint and user groups; and S3 bucket-policy
conditions, found uploading to a compiled bucket with its TLS-only policy) and
mirrors documented AWS behaviour: each docstring says what AWS does and why
the patch matches it.
Where AWS would need data the emulator cannot know (an add-on's default
version), the patch says so and returns a clearly synthetic value.

``apply_patches()`` applies all of them once (idempotent) and refuses any
moto version other than the pinned one: the patches reach into moto internals.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import functools
import inspect
import json
import random
import string
import threading
import uuid
from collections.abc import Callable
from typing import Any

import moto

MOTO_VERSION = "5.2.5"

_lock = threading.Lock()
_rng = random.SystemRandom()
_applied = False


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _random_upper(n: int) -> str:
    alphabet = string.ascii_uppercase + "234567"  # base32, like AWS resource ids
    return "".join(_rng.choice(alphabet) for _ in range(n))


def _wrap(owner: Any, name: str, wrapper_factory: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace ``owner.name`` with ``wrapper_factory(original)``."""
    original = getattr(owner, name)
    wrapped = wrapper_factory(original)
    functools.update_wrapper(wrapped, original)
    wrapped.__tmsc_patched__ = True  # type: ignore[attr-defined]
    setattr(owner, name, wrapped)


# =============================================================================
# EC2: security group rule descriptions
# =============================================================================
def patch_ec2_security_group_rule_descriptions() -> None:
    """DescribeSecurityGroupRules returns the description of every rule.

    AWS: a rule's ``Description`` belongs to the rule whatever it references —
    a CIDR (``IpRanges[].Description``), another security group
    (``UserIdGroupPairs[].Description``) or a prefix list
    (``PrefixListIds[].Description``); DescribeSecurityGroupRules returns it in
    ``SecurityGroupRule.Description`` and ModifySecurityGroupRules updates it.

    moto 5.2.5 reads the description only from the CIDR entry, so a rule that
    references a security group (``referenced_security_group_id`` in
    ``aws_vpc_security_group_ingress_rule``) comes back without one and the
    provider plans to add it again on every run. The patch reads it from the
    entry the rule was created from, keeps prefix-list descriptions, and makes
    ModifySecurityGroupRules write the description to that same entry.
    """
    from moto.ec2.models import security_groups as sg

    rule_cls = sg.SecurityGroupRule
    init_sig = inspect.signature(rule_cls.__init__)

    def init_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            orig(self, *args, **kwargs)
            bound = init_sig.bind(self, *args, **kwargs)
            prefix = bound.arguments.get("prefix_list_id") or {}
            self._tmsc_prefix_list_description = prefix.get("Description") if isinstance(prefix, dict) else None

        return __init__

    _wrap(rule_cls, "__init__", init_factory)

    def description(self: Any) -> str | None:
        if self.source_group:
            return self.source_group.get("Description")
        if self.prefix_list_id:
            return getattr(self, "_tmsc_prefix_list_description", None)
        return self.ip_range.get("Description")

    rule_cls.description = property(description)  # type: ignore[assignment]

    def flattened_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        # DescribeSecurityGroups: keep the prefix list entry's description.
        def _flattened_rules(self: Any, rules: list[Any]) -> list[Any]:
            views = orig(self, rules)
            by_prefix = {
                r.prefix_list_id: getattr(r, "_tmsc_prefix_list_description", None) for r in rules if r.prefix_list_id
            }
            for view in views:
                for entry in view.prefix_list_ids:
                    desc = by_prefix.get(entry.get("PrefixListId"))
                    if desc is not None:
                        entry["Description"] = desc
            return views

        return _flattened_rules

    _wrap(sg.SecurityGroup, "_flattened_rules", flattened_factory)

    def modify_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def modify_security_group_rules(self: Any, group_id: str, rules: dict[str, dict[str, Any]]) -> None:
            orig(self, group_id, rules)
            group = self.get_security_group_by_name_or_id(group_id)
            for rule_id, new_rule in rules.items():
                rule = group.get_rule(rule_id) if group else None
                desc = new_rule.get("Description")
                if rule is None or desc is None:
                    continue
                if rule.source_group:
                    rule.source_group["Description"] = desc
                    if set(rule.ip_range) <= {"Description"}:
                        rule.ip_range.pop("Description", None)
                elif rule.prefix_list_id:
                    rule._tmsc_prefix_list_description = desc
                    if set(rule.ip_range) <= {"Description"}:
                        rule.ip_range.pop("Description", None)

        return modify_security_group_rules

    _wrap(sg.SecurityGroupBackend, "modify_security_group_rules", modify_factory)


def patch_ec2_launch_template_tags() -> None:
    """CreateLaunchTemplate keeps the template's own tags out of its data.

    AWS: the request's top-level ``TagSpecifications`` (resource type
    ``launch-template``) tag the launch template itself;
    ``LaunchTemplateData.TagSpecifications`` are what instances and volumes
    get at launch, and only those come back in DescribeLaunchTemplateVersions.
    moto 5.2.5 copies the former into the latter, so the provider sees a
    ``tag_specifications { resource_type = "launch-template" }`` block nobody
    configured (plan: update in place, and a new ``latest_version`` for every
    node group using the template). The patch drops that copy.
    """
    from moto.core.responses import ActionResult
    from moto.ec2.responses.launch_templates import LaunchTemplates
    from moto.ec2.utils import parse_user_data

    def create_launch_template(self: Any) -> ActionResult:  # moto's, minus the copy
        name = self._get_param("LaunchTemplateName")
        version_description = self._get_param("VersionDescription")
        tag_spec = self._parse_tag_specification()
        data = self._get_param("LaunchTemplateData", {})
        data["UserData"] = parse_user_data(self._get_param("LaunchTemplateData.UserData"))
        self.error_on_dryrun()
        template = self.ec2_backend.create_launch_template(name, version_description, data, tag_spec)
        version = template.default_version()
        return ActionResult(
            {
                "LaunchTemplate": {
                    "CreateTime": version.create_time,
                    "CreatedBy": f"arn:{self.partition}:iam::{self.current_account}:root",
                    "DefaultVersionNumber": template.default_version_number,
                    "LatestVersionNumber": version.number,
                    "LaunchTemplateId": template.id,
                    "LaunchTemplateName": template.name,
                    "Tags": template.tags,
                }
            }
        )

    LaunchTemplates.create_launch_template = create_launch_template  # type: ignore[method-assign]


# =============================================================================
# KMS: rotation period
# =============================================================================
def patch_kms_rotation_period() -> None:
    """EnableKeyRotation honours ``RotationPeriodInDays``; GetKeyRotationStatus returns it.

    AWS (KMS API reference, EnableKeyRotation): ``RotationPeriodInDays`` is
    90–2560, default 365; GetKeyRotationStatus returns ``KeyRotationEnabled``,
    ``KeyId``, and — while rotation is enabled — ``RotationPeriodInDays`` and
    ``NextRotationDate``. moto 5.2.5 drops the period, so the provider reads 0
    and plans ``rotation_period_in_days = 0 -> N`` forever. The patch stores
    the period on the key and returns it the way KMS does.
    """
    from moto.kms.exceptions import ValidationException
    from moto.kms.responses import KmsResponse

    def enable_key_rotation(self: Any) -> str:
        key_id = self._get_param("KeyId")
        period = self._get_param("RotationPeriodInDays")
        self._validate_cmk_id(key_id)
        if period is None:
            period = 365
        period = int(period)
        if not 90 <= period <= 2560:
            raise ValidationException(
                f"1 validation error detected: Value '{period}' at 'rotationPeriodInDays' failed "
                "to satisfy constraint: Member must have value between 90 and 2560"
            )
        self.kms_backend.enable_key_rotation(key_id)
        key = self.kms_backend.keys[self.kms_backend.get_key_id(key_id)]
        key.rotation_period_in_days = period
        key.rotation_enabled_at = _now()
        return json.dumps(None)

    def get_key_rotation_status(self: Any) -> str:
        key_id = self._get_param("KeyId")
        self._validate_cmk_id(key_id)
        enabled = self.kms_backend.get_key_rotation_status(key_id)
        key = self.kms_backend.keys[self.kms_backend.get_key_id(key_id)]
        body: dict[str, Any] = {"KeyRotationEnabled": enabled, "KeyId": key.arn}
        if enabled:
            period = getattr(key, "rotation_period_in_days", 365)
            start = getattr(key, "rotation_enabled_at", _now())
            body["RotationPeriodInDays"] = period
            body["NextRotationDate"] = (start + _dt.timedelta(days=period)).timestamp()
        return json.dumps(body)

    enable_key_rotation.__tmsc_patched__ = True  # type: ignore[attr-defined]
    KmsResponse.enable_key_rotation = enable_key_rotation  # type: ignore[method-assign]
    KmsResponse.get_key_rotation_status = get_key_rotation_status  # type: ignore[method-assign]


# =============================================================================
# S3: force_destroy with delete markers
# =============================================================================
def patch_s3_delete_marker_dispose() -> None:
    """Deleting the last version of a key whose history holds delete markers works.

    AWS: DeleteObjects/DeleteObject with a ``VersionId`` permanently removes
    that version, delete markers included; once every version of a key is
    gone the key is gone (this is how ``force_destroy`` empties a versioned
    bucket). moto 5.2.5 disposes of each remaining version's data buffer when
    the key disappears, and a delete marker has no ``dispose`` — the request
    fails with HTTP 500. A delete marker holds no data, so disposing of it is a
    no-op; the patch says exactly that.
    """
    from moto.s3.models import FakeDeleteMarker

    if not hasattr(FakeDeleteMarker, "dispose"):

        def dispose(self: Any, garbage: bool = False) -> None:
            return None

        FakeDeleteMarker.dispose = dispose  # type: ignore[attr-defined]


# =============================================================================
# S3: bucket-policy conditions (aws:SecureTransport)
# =============================================================================
# The request-context keys of the S3 request being handled (set around
# S3Response's entry points, read by FakeBucket.get_permission).
_S3_REQUEST_CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "tmsc_s3_request_context", default=None
)

SECURE_TRANSPORT = "aws:SecureTransport"


def s3_request_context(request: Any) -> dict[str, Any]:
    """Condition keys the emulator can vouch for, from the request as received.

    ``aws:SecureTransport`` is true when the request came over TLS: in server
    mode werkzeug's ``request.scheme`` is the WSGI ``wsgi.url_scheme`` (https
    when the server has an SSL context); in-process (mock_aws) it is the
    scheme of the URL boto3 called. Anything else: no key, i.e. unknown.
    """
    scheme = getattr(request, "scheme", None)
    if not scheme and getattr(request, "url", None):
        from urllib.parse import urlparse

        scheme = urlparse(request.url).scheme
    scheme = (scheme or "").lower()
    if scheme not in ("http", "https"):
        return {}
    return {SECURE_TRANSPORT: scheme == "https"}


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, Any]) -> bool | None:
    """One ``Condition`` entry: True / False, or None when we cannot evaluate it."""
    if key.lower() != SECURE_TRANSPORT.lower() or SECURE_TRANSPORT not in context:
        return None
    values = [str(v).lower() for v in (expected if isinstance(expected, list) else [expected])]
    actual = "true" if context[SECURE_TRANSPORT] else "false"
    if operator in ("Bool", "BoolIfExists"):
        # Any listed value matching is a match (OR within one key).
        return actual in values
    if operator == "Null":
        # "Null: true" means "the key is absent"; aws:SecureTransport is in
        # every request's context.
        return "false" in values
    return None


def statement_conditions_hold(condition: Any, context: dict[str, Any] | None) -> bool | None:
    """A statement's whole ``Condition`` block: True / False / None (unknown).

    AWS ANDs the operators of a block and the keys under each operator, so
    one false entry makes the block false whatever the others say; unknown
    only when nothing is false and something could not be evaluated.
    """
    if not isinstance(condition, dict):
        return None
    unknown = False
    for operator, entries in condition.items():
        if not isinstance(entries, dict):
            unknown = True
            continue
        for key, expected in entries.items():
            holds = _condition_holds(operator, key, expected, context or {})
            if holds is False:
                return False
            if holds is None:
                unknown = True
    return None if unknown else True


def bucket_policy_permission(policy: Any, action: str, resource: str, context: dict[str, Any] | None) -> Any:
    """Evaluate a bucket policy for one object request, conditions included.

    Per statement:
    * no ``Condition``: moto's own evaluation (IAMPolicyStatement);
    * conditions that hold: moto's evaluation of the statement without them;
    * conditions that do not hold: the statement does not apply (NEUTRAL) --
      what AWS does, and what moto does not;
    * conditions we cannot evaluate (any key but aws:SecureTransport, or
      aws:SecureTransport when the request's scheme is unknown): fail closed.
      A Deny keeps moto's behaviour -- it applies, as it would on AWS
      whenever its condition is met -- and an Allow grants nothing, so the
      emulator never lets through a request AWS might refuse. (An Allow only
      matters here for unsigned requests to objects without a public ACL.)
    Then, as in moto and AWS: any DENIED wins, else any PERMITTED, else NEUTRAL.
    """
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    doc = json.loads(policy) if isinstance(policy, (str, bytes)) else policy
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    permitted = False
    for statement in statements:
        condition = statement.get("Condition")
        if condition:
            holds = statement_conditions_hold(condition, context)
            if holds is False:
                continue
            if holds is None:
                if statement.get("Effect") != "Deny":
                    continue
                result = IAMPolicyStatement(statement).is_action_permitted(action, resource)
            else:
                stripped = {k: v for k, v in statement.items() if k != "Condition"}
                result = IAMPolicyStatement(stripped).is_action_permitted(action, resource)
        else:
            result = IAMPolicyStatement(statement).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return PermissionResult.DENIED
        if result == PermissionResult.PERMITTED:
            permitted = True
    return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL


def patch_s3_bucket_policy_conditions() -> None:
    """Bucket-policy statements apply to object requests only when their
    conditions hold; ``aws:SecureTransport`` is evaluated from the request.

    AWS (IAM policy evaluation; S3 "Enforce encryption in transit"): a
    statement applies only if its ``Condition`` block is true for the
    request's context, and ``aws:SecureTransport`` is true exactly when the
    request was sent over TLS. The standard TLS-only bucket policy -- Deny
    ``s3:*`` to ``*`` when ``{"Bool": {"aws:SecureTransport": "false"}}`` --
    therefore refuses plain-HTTP requests and lets HTTPS requests through to
    the rest of the authorization.

    moto 5.2.5 (FakeBucket.get_permission, called for every object request
    and for each key of DeleteObjects) evaluates statements without their
    request context: it knows only ``StringEquals`` and ignores every other
    operator, so the Deny above applies to every request and every
    PutObject/GetObject/DeleteObject on such a bucket is refused with 403,
    TLS or not. The patch records ``aws:SecureTransport`` from the request
    (see s3_request_context) around S3Response's entry points and evaluates
    the policy with bucket_policy_permission, which documents how statements
    with conditions it cannot evaluate are treated (fail closed: a Deny still
    denies, an Allow grants nothing).
    """
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    def entry_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def entry(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            token = _S3_REQUEST_CONTEXT.set(s3_request_context(request))
            try:
                return orig(self, request, *args, **kwargs)
            finally:
                _S3_REQUEST_CONTEXT.reset(token)

        return entry

    # ambiguous_response dispatches to one of these two.
    _wrap(S3Response, "key_response", entry_factory)
    _wrap(S3Response, "bucket_response", entry_factory)

    def get_permission(self: Any, action: str, resource: str) -> Any:
        from moto.iam.access_control import PermissionResult

        if self.policy is None:
            return PermissionResult.NEUTRAL
        return bucket_policy_permission(self.policy, action, resource, _S3_REQUEST_CONTEXT.get())

    get_permission.__tmsc_patched__ = True  # type: ignore[attr-defined]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


# =============================================================================
# RDS
# =============================================================================
def patch_rds() -> None:
    """RDS DB instances and parameter groups.

    * Unique ``DbiResourceId`` per instance. AWS gives every DB instance its own
      immutable, region-unique resource id (``db-`` + 26 base32 characters);
      moto 5.2.5 gives all instances the same one, and the provider (which
      looks instances up by that id) then finds two and reports
      "couldn't find resource".
    * Performance Insights settings stored. AWS stores
      ``PerformanceInsightsEnabled``, ``PerformanceInsightsRetentionPeriod``
      (default 7 days when enabled) and ``PerformanceInsightsKMSKeyId`` from
      CreateDBInstance and returns them in DescribeDBInstances; moto drops them
      at creation (it keeps them after ModifyDBInstance), so the plan shows
      ``performance_insights_enabled = false -> true`` forever.
    * ``Source = "user"`` on modified parameters. AWS's DescribeDBParameters
      marks every parameter set through Create/ModifyDBParameterGroup with
      ``Source: user`` and honours the ``Source`` filter; moto returns no
      Source, and the provider keeps only ``user`` parameters (or those it
      finds in the configuration), so it dropped every parameter. moto only
      knows user-set parameters, so a filter on another source returns none.
    * ResetDBParameterGroup (the provider calls it when a parameter is removed
      from the configuration): AWS resets the named parameters (or all of them)
      to the engine default, i.e. they stop being ``user`` parameters.
    * DescribeDBParameterGroups with the name of a group that does not exist
      fails with DBParameterGroupNotFound, as on AWS (moto returned an empty
      list).
    * ModifyDBInstance with ``ManageMasterUserPassword=true`` on an instance
      whose master password Secrets Manager already manages keeps that secret,
      as AWS does (the secret is created once, when management is turned on).
      moto made a new ``rds!db-<uuid>`` secret on every such call, so an apply
      that modified the instance for any other reason moved
      ``master_user_secret[0].secret_arn`` and every output read from it.
    """
    from moto.core.responses import ActionResult
    from moto.rds import models as rds_models
    from moto.rds.exceptions import DBParameterGroupNotFoundError
    from moto.rds.responses import RDSResponse

    instance_cls = rds_models.DBInstance

    def init_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def __init__(self: Any, backend: Any, *args: Any, **kwargs: Any) -> None:
            orig(self, backend, *args, **kwargs)
            self.dbi_resource_id = "db-" + _random_upper(26)
            # Request parameter EnablePerformanceInsights; response field
            # PerformanceInsightsEnabled.
            enabled = bool(kwargs.get("enable_performance_insights") or False)
            self.performance_insights_enabled = enabled
            if enabled:
                self.performance_insights_retention_period = int(
                    kwargs.get("performance_insights_retention_period") or 7
                )
                self.performance_insights_kms_key_id = kwargs.get("performance_insights_kms_key_id")
            else:
                self.performance_insights_retention_period = None
                self.performance_insights_kms_key_id = None

        return __init__

    _wrap(instance_cls, "__init__", init_factory)

    def update_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def update(self: Any, *args: Any, **db_kwargs: Any) -> None:
            if db_kwargs.get("manage_master_user_password") is True and hasattr(self, "master_user_secret"):
                db_kwargs["manage_master_user_password"] = None
            orig(self, *args, **db_kwargs)
            enable = db_kwargs.get("enable_performance_insights")
            if enable is not None:
                self.performance_insights_enabled = bool(enable)
            if enable is True and not getattr(self, "performance_insights_retention_period", None):
                self.performance_insights_retention_period = 7
            if enable is False:
                self.performance_insights_retention_period = None
                self.performance_insights_kms_key_id = None

        return update

    _wrap(instance_cls, "update", update_factory)

    def _user_params(values: Any, source: str | None) -> list[dict[str, Any]]:
        if source and source != "user":
            return []
        out = []
        for p in values:
            q = dict(p)
            q.setdefault("Source", "user")
            q.setdefault("IsModifiable", True)
            out.append(q)
        return sorted(out, key=lambda p: p.get("ParameterName", ""))

    def describe_db_parameters(self: Any) -> ActionResult:
        name = self.params.get("DBParameterGroupName")
        groups = self.backend.describe_db_parameter_groups({"db_parameter_group_name": name})
        if not groups:
            raise DBParameterGroupNotFoundError(name)
        params = _user_params(groups[0].parameters.values(), self.params.get("Source"))
        return ActionResult({"Parameters": params})

    def describe_db_cluster_parameters(self: Any) -> ActionResult:
        name = self.params.get("DBClusterParameterGroupName")
        params = self.backend.describe_db_cluster_parameters(name)
        return ActionResult({"Parameters": _user_params(params, self.params.get("Source"))})

    def reset_db_parameter_group(self: Any) -> ActionResult:
        name = self.params.get("DBParameterGroupName")
        group = self.backend.db_parameter_groups.get((name or "").lower())
        if group is None:
            raise DBParameterGroupNotFoundError(name)
        if self.params.get("ResetAllParameters"):
            group.parameters.clear()
        else:
            for p in self.params.get("Parameters") or []:
                group.parameters.pop(p.get("ParameterName"), None)
        return ActionResult({"DBParameterGroupName": group.name})

    def describe_groups_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def describe_db_parameter_groups(self: Any) -> Any:
            result = orig(self)
            name = self.params.get("DBParameterGroupName")
            if name and not list(self.backend.describe_db_parameter_groups({"db_parameter_group_name": name.lower()})):
                raise DBParameterGroupNotFoundError(name)
            return result

        return describe_db_parameter_groups

    _wrap(RDSResponse, "describe_db_parameter_groups", describe_groups_factory)
    RDSResponse.describe_db_parameters = describe_db_parameters  # type: ignore[method-assign]
    RDSResponse.describe_db_cluster_parameters = describe_db_cluster_parameters  # type: ignore[method-assign]
    RDSResponse.reset_db_parameter_group = reset_db_parameter_group  # type: ignore[attr-defined]


# =============================================================================
# ElastiCache
# =============================================================================
CACHE_PARAMETER_GROUP_FAMILIES = (
    "memcached1.4",
    "memcached1.5",
    "memcached1.6",
    "redis2.6",
    "redis2.8",
    "redis3.2",
    "redis4.0",
    "redis5.0",
    "redis6.x",
    "redis7",
    "valkey7",
    "valkey8",
)


def patch_elasticache() -> None:
    """ElastiCache replication groups, cache clusters, parameter and subnet groups.

    * ``NumCacheClusters`` honoured. AWS (CreateReplicationGroup): with cluster
      mode disabled, ``NumCacheClusters`` is the number of nodes (primary plus
      replicas); moto 5.2.5 ignores it and always makes one.
    * ``NodeGroups[].ReaderEndpoint`` returned (cluster mode disabled), as AWS
      does even for a single node; moto kept only a bare address the response
      shape has no field for, so ``reader_endpoint_address`` read as null.
    * Member cache clusters exist. AWS creates one cache cluster per member
      (``<rg>-001``, ``<rg>-002`` …) that DescribeCacheClusters returns, with the
      group's node type, engine, parameter group, subnet group, security groups
      and encryption settings; the provider reads several settings of the
      replication group from its first member, and failed with
      CacheClusterNotFound. Members are spread over the subnet group's
      availability zones (or ``PreferredCacheClusterAZs``), as AWS does for
      Multi-AZ groups.
    * Deletion completes. AWS's DeleteReplicationGroup puts the group in
      ``deleting`` and then removes it with its member clusters (keeping the
      primary as a standalone cluster with ``RetainPrimaryCluster``, taking a
      final snapshot with ``FinalSnapshotIdentifier``); moto left it in
      ``deleting`` forever. The emulator removes it at once (the response
      still shows ``deleting``). DeleteCacheCluster likewise.
    * Cache parameter groups: Create/Describe/Modify/Reset/Delete
      CacheParameterGroup(s) and DescribeCacheParameters (``Source=user``),
      tagging by ARN (``…:parametergroup:<name>``), ``default.<family>``
      groups readable and not modifiable, deletion refused while in use
      (InvalidCacheParameterGroupState) — all as documented by AWS; moto
      5.2.5 has none of them.
    * DeleteCacheSubnetGroup and ModifyCacheSubnetGroup; deletion refused
      while a cluster uses the group (CacheSubnetGroupInUse), as on AWS.
    * ModifyReplicationGroup also applies the parameter group, engine version,
      security groups, windows and auto minor version upgrade (to the group and
      its members), as AWS does with ``ApplyImmediately``.
    * Cache clusters expose ``CacheParameterGroup``, ``SecurityGroups`` and
      ``CacheNodes`` (AWS's response shape) built from what moto stores.
    * User groups (Create/Describe/Modify/DeleteUserGroup, RBAC): the users
      must exist (UserNotFound) and a Redis group must hold a user named
      ``default`` (DefaultUserRequired); ``ReplicationGroups`` lists the groups
      using it, and deletion is refused while one does
      (InvalidUserGroupState) — as documented by AWS; moto 5.2.5 has none.
    """
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult, EmptyResult
    from moto.elasticache import models as ec_models
    from moto.elasticache.exceptions import (
        CacheSubnetGroupNotFound,
        InvalidParameterValueException,
        ReplicationGroupNotFound,
    )
    from moto.elasticache.responses import ElastiCacheResponse

    class CacheParameterGroupNotFound(ServiceException):
        code = "CacheParameterGroupNotFound"

    class CacheParameterGroupAlreadyExists(ServiceException):
        code = "CacheParameterGroupAlreadyExists"

    class InvalidCacheParameterGroupState(ServiceException):
        code = "InvalidCacheParameterGroupState"

    class CacheSubnetGroupInUse(ServiceException):
        code = "CacheSubnetGroupInUse"

    backend_cls = ec_models.ElastiCacheBackend
    cluster_cls = ec_models.CacheCluster

    # -- backend state ---------------------------------------------------
    def init_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def __init__(self: Any, region_name: str, account_id: str) -> None:
            orig(self, region_name, account_id)
            from re import compile as re_compile

            self.arn_regex = re_compile(
                r"^arn:aws:elasticache:.*:[0-9]*:"
                r"(cluster|snapshot|subnetgroup|replicationgroup|user|usergroup|parametergroup):.*$"
            )
            self.tmsc_parameter_groups = {}  # name → parameter group

        return __init__

    _wrap(backend_cls, "__init__", init_factory)

    # -- cache cluster response shape -------------------------------------
    def _cpg(self: Any) -> dict[str, Any] | None:
        name = getattr(self, "cache_parameter_group_name", None)
        if not name:
            return None
        return {"CacheParameterGroupName": name, "ParameterApplyStatus": "in-sync", "CacheNodeIdsToReboot": []}

    def _sgs(self: Any) -> list[dict[str, str]]:
        return [{"SecurityGroupId": s, "Status": "active"} for s in (self.security_group_ids or [])]

    def _nodes(self: Any) -> list[dict[str, Any]]:
        count = getattr(self, "num_cache_nodes", 1) or 1
        az = self.preferred_availability_zone or f"{self.arn.split(':')[3]}a"
        return [
            {
                "CacheNodeId": f"{i:04d}",
                "CacheNodeStatus": "available",
                "CacheNodeCreateTime": self.cache_cluster_create_time,
                "Endpoint": {"Address": f"{self.cache_cluster_id}.{i:04d}.cache.amazonaws.com", "Port": self.port},
                "ParameterGroupStatus": "in-sync",
                "CustomerAvailabilityZone": az,
            }
            for i in range(1, count + 1)
        ]

    cluster_cls.cache_parameter_group = property(_cpg)  # type: ignore[attr-defined]
    cluster_cls.security_groups = property(_sgs)  # type: ignore[attr-defined]
    cluster_cls.cache_nodes = property(_nodes)  # type: ignore[attr-defined]

    cluster_params = list(inspect.signature(cluster_cls.__init__).parameters)[1:]

    def _subnet_azs(backend: Any, subnet_group_name: str | None) -> list[str]:
        group = backend.cache_subnet_groups.get(subnet_group_name or "")
        azs = []
        for s in getattr(group, "subnets", []) or []:
            az = s.get("subnet_availability_zone") or s.get("Subnet_availability_zone")
            if isinstance(az, dict):
                az = az.get("Name")
            if az and az not in azs:
                azs.append(az)
        return sorted(azs) or [f"{backend.region_name}a", f"{backend.region_name}b"]

    # -- NumCacheClusters --------------------------------------------------
    def set_members_disabled(
        self: Any,
        member_clusters: list[str],
        replication_group_id: str,
        replication_group_domain: str,
        node_group: dict[str, Any],
        preferred_cache_cluster_azs: list[str],
        num_cache_clusters: int,
        replicas_per_node_group: int,
    ) -> None:
        count = (replicas_per_node_group + 1) if replicas_per_node_group else (num_cache_clusters or 1)
        for r in range(count):
            member: dict[str, Any] = {
                "cache_cluster_id": f"{replication_group_id}-{r + 1:0>3}",
                "cache_node_id": "0001",
                "read_endpoint": {
                    "address": f"{replication_group_id}-{r + 1:0>3}.{replication_group_domain}",
                    "port": self.port,
                },
                "current_role": "primary" if r == 0 else "replica",
            }
            if preferred_cache_cluster_azs:
                member["preferred_availability_zone"] = preferred_cache_cluster_azs[
                    min(r, len(preferred_cache_cluster_azs) - 1)
                ]
            node_group["node_group_members"].append(member)
            member_clusters.append(member["cache_cluster_id"])

    ec_models.ReplicationGroup._set_node_members_clusters_disabled = set_members_disabled  # type: ignore[method-assign]

    # -- member clusters ---------------------------------------------------
    def create_rg_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def create_replication_group(self: Any, **kwargs: Any) -> Any:
            rg = orig(self, **kwargs)
            azs = kwargs.get("preferred_cache_cluster_azs") or _subnet_azs(self, kwargs.get("cache_subnet_group_name"))
            for ng in rg.node_groups:
                # AWS returns ReaderEndpoint next to PrimaryEndpoint (cluster mode
                # disabled), even for a single node; moto kept only the address.
                if ng.get("reader_endpoint_address") and "reader_endpoint" not in ng:
                    ng["reader_endpoint"] = {"address": ng["reader_endpoint_address"], "port": rg.port}
            members = [m for ng in rg.node_groups for m in ng["node_group_members"]]
            for i, member in enumerate(members):
                if not kwargs.get("preferred_cache_cluster_azs"):
                    member["preferred_availability_zone"] = azs[i % len(azs)]
            if not rg.primary_cluster_id and rg.cluster_mode != "enabled" and rg.member_clusters:
                rg.primary_cluster_id = rg.member_clusters[0]
            rg.cache_parameter_group_name = kwargs.get("cache_parameter_group_name")
            rg.preferred_maintenance_window = kwargs.get("preferred_maintenance_window") or "sun:23:00-mon:01:30"
            rg.auto_minor_version_upgrade = (
                True if kwargs.get("auto_minor_version_upgrade") is None else kwargs.get("auto_minor_version_upgrade")
            )
            for member in members:
                args: dict[str, Any] = {p: None for p in cluster_params}
                args.update(
                    account_id=self.account_id,
                    region_name=self.region_name,
                    cache_cluster_id=member["cache_cluster_id"],
                    cache_node_type=rg.cache_node_type,
                    replication_group_id=rg.replication_group_id,
                    preferred_availability_zone=member.get("preferred_availability_zone"),
                    num_cache_nodes=1,
                    engine=rg.engine,
                    engine_version=kwargs.get("engine_version"),
                    cache_parameter_group_name=kwargs.get("cache_parameter_group_name"),
                    cache_subnet_group_name=kwargs.get("cache_subnet_group_name"),
                    transit_encryption_enabled=rg.transit_encryption_enabled,
                    network_type=rg.network_type,
                    ip_discovery=rg.ip_discovery,
                    preferred_maintenance_window=rg.preferred_maintenance_window,
                    port=rg.port,
                    notification_topic_arn=kwargs.get("notification_topic_arn"),
                    auto_minor_version_upgrade=rg.auto_minor_version_upgrade,
                    snapshot_retention_limit=rg.snapshot_retention_limit,
                    snapshot_window=rg.snapshot_window,
                    auth_token=kwargs.get("auth_token"),
                    security_group_ids=kwargs.get("security_group_ids") or [],
                    cache_security_group_names=kwargs.get("cache_security_group_names") or [],
                    tags=[],
                    log_delivery_configurations=[],
                )
                cluster = cluster_cls(**args)
                cluster.num_cache_nodes = 1
                cluster.replication_group_id = rg.replication_group_id
                # Attributes moto's CacheCluster lacks; the patched responses read them.
                cluster.at_rest_encryption_enabled = rg.at_rest_encryption_enabled  # type: ignore[attr-defined]
                cluster.transit_encryption_mode = kwargs.get("transit_encryption_mode") or (  # type: ignore[attr-defined]
                    "required" if rg.transit_encryption_enabled else None
                )
                cluster.replication_group_log_delivery_enabled = bool(rg.log_delivery_configurations)  # type: ignore[attr-defined]
                self.cache_clusters[cluster.cache_cluster_id] = cluster
            return rg

        return create_replication_group

    _wrap(backend_cls, "create_replication_group", create_rg_factory)

    def _members_of(backend: Any, rg_id: str) -> list[Any]:
        return [c for c in backend.cache_clusters.values() if getattr(c, "replication_group_id", None) == rg_id]

    def delete_replication_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        rg_id = self._get_param("ReplicationGroupId")
        retain_primary = self._get_bool_param("RetainPrimaryCluster")
        final_snapshot = self._get_param("FinalSnapshotIdentifier")
        rg = backend.replication_groups.get(rg_id)
        if rg is None:
            raise ReplicationGroupNotFound(rg_id)
        if final_snapshot:
            backend.create_snapshot(
                snapshot_name=final_snapshot,
                replication_group_id=rg_id,
                cache_cluster_id=None,
                kms_key_id=rg.kms_key_id,
                tags=[],
            )
        primary = rg.primary_cluster_id
        for cluster in _members_of(backend, rg_id):
            if retain_primary and cluster.cache_cluster_id == primary:
                cluster.replication_group_id = None
                continue
            backend.cache_clusters.pop(cluster.cache_cluster_id, None)
        backend.replication_groups.pop(rg_id)
        rg.status = "deleting"
        return ActionResult({"ReplicationGroup": rg})

    ElastiCacheResponse.delete_replication_group = delete_replication_group  # type: ignore[method-assign]

    def delete_cluster_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def delete_cache_cluster(self: Any, cache_cluster_id: str) -> Any:
            cluster = orig(self, cache_cluster_id)
            self.cache_clusters.pop(cache_cluster_id, None)
            return cluster

        return delete_cache_cluster

    _wrap(backend_cls, "delete_cache_cluster", delete_cluster_factory)

    def modify_replication_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        rg = backend.modify_replication_group(
            replication_group_id=self._get_param("ReplicationGroupId"),
            replication_group_description=self._get_param("ReplicationGroupDescription"),
            engine=self._get_param("Engine"),
            cache_node_type=self._get_param("CacheNodeType"),
            automatic_failover_enabled=self._get_bool_param("AutomaticFailoverEnabled"),
            multi_az_enabled=self._get_bool_param("MultiAZEnabled"),
            snapshot_retention_limit=self._get_int_param("SnapshotRetentionLimit"),
        )
        members = _members_of(backend, rg.replication_group_id)
        simple = {
            "CacheParameterGroupName": "cache_parameter_group_name",
            "EngineVersion": "engine_version",
            "PreferredMaintenanceWindow": "preferred_maintenance_window",
            "SnapshotWindow": "snapshot_window",
            "NotificationTopicArn": "notification_topic_arn",
        }
        for param, attr in simple.items():
            value = self._get_param(param)
            if value is not None:
                for obj in (rg, *members):
                    setattr(obj, attr, value)
        for param, attr in (
            ("AutoMinorVersionUpgrade", "auto_minor_version_upgrade"),
            ("TransitEncryptionEnabled", "transit_encryption_enabled"),
        ):
            value = self._get_bool_param(param)
            if value is not None:
                for obj in (rg, *members):
                    setattr(obj, attr, value)
        sg_ids = self._get_param("SecurityGroupIds")
        if sg_ids:
            rg.security_group_ids = sg_ids
            for m in members:
                m.security_group_ids = list(sg_ids)
        node_type = self._get_param("CacheNodeType")
        if node_type:
            for m in members:
                m.cache_node_type = node_type
        retention = self._get_int_param("SnapshotRetentionLimit")
        if retention is not None:
            for m in members:
                m.snapshot_retention_limit = retention
        return ActionResult({"ReplicationGroup": rg})

    ElastiCacheResponse.modify_replication_group = modify_replication_group  # type: ignore[method-assign]

    # -- subnet groups -----------------------------------------------------
    def _in_use(backend: Any, attr: str, name: str) -> bool:
        return any(
            getattr(x, attr, None) == name
            for x in [*backend.cache_clusters.values(), *backend.replication_groups.values()]
        )

    def delete_cache_subnet_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheSubnetGroupName")
        group = backend.cache_subnet_groups.get(name)
        if group is None:
            raise CacheSubnetGroupNotFound(name)
        if _in_use(backend, "cache_subnet_group_name", name):
            raise CacheSubnetGroupInUse(f"Cache subnet group {name} is currently in use by a cache cluster.")
        backend.cache_subnet_groups.pop(name)
        backend.tagging_service.delete_all_tags_for_resource(group.arn)
        return EmptyResult()

    def modify_cache_subnet_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheSubnetGroupName")
        group = backend.cache_subnet_groups.get(name)
        if group is None:
            raise CacheSubnetGroupNotFound(name)
        description = self._get_param("CacheSubnetGroupDescription")
        subnet_ids = self._get_param("SubnetIds") or group.subnet_ids
        new = ec_models.CacheSubnetGroup(
            account_id=backend.account_id,
            region_name=backend.region_name,
            cache_subnet_group_name=name,
            cache_subnet_group_description=(
                group.cache_subnet_group_description if description is None else description
            ),
            subnet_ids=subnet_ids,
            tags=group.tags,
        )
        backend.cache_subnet_groups[name] = new
        return ActionResult({"CacheSubnetGroup": new})

    ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group  # type: ignore[attr-defined]
    ElastiCacheResponse.modify_cache_subnet_group = modify_cache_subnet_group  # type: ignore[attr-defined]

    # -- parameter groups --------------------------------------------------
    def _pg_arn(backend: Any, name: str) -> str:
        return f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:parametergroup:{name}"

    def _get_pg(backend: Any, name: str | None) -> dict[str, Any]:
        key = (name or "").lower()
        group = backend.tmsc_parameter_groups.get(key)
        if group is None and key.startswith("default.") and key[len("default.") :] in CACHE_PARAMETER_GROUP_FAMILIES:
            group = {
                "CacheParameterGroupName": key,
                "CacheParameterGroupFamily": key[len("default.") :],
                "Description": f"Default parameter group for {key[len('default.') :]}",
                "IsGlobal": False,
                "ARN": _pg_arn(backend, key),
                "parameters": {},
                "default": True,
            }
        if group is None:
            raise CacheParameterGroupNotFound(f"CacheParameterGroup {name} not found.")
        return group

    def _pg_view(group: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in group.items() if k not in ("parameters", "default")}

    def create_cache_parameter_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        name = (self._get_param("CacheParameterGroupName") or "").lower()
        family = self._get_param("CacheParameterGroupFamily")
        if family not in CACHE_PARAMETER_GROUP_FAMILIES:
            raise InvalidParameterValueException(
                f"The parameter CacheParameterGroupFamily is not a valid family: {family}"
            )
        if name in backend.tmsc_parameter_groups or name.startswith("default."):
            raise CacheParameterGroupAlreadyExists(f"Parameter group {name} already exists.")
        group = {
            "CacheParameterGroupName": name,
            "CacheParameterGroupFamily": family,
            "Description": self._get_param("Description") or "",
            "IsGlobal": False,
            "ARN": _pg_arn(backend, name),
            "parameters": {},
        }
        backend.tmsc_parameter_groups[name] = group
        tags = self._get_param("Tags", [])
        if tags:
            backend.tagging_service.tag_resource(group["ARN"], tags)
        return ActionResult({"CacheParameterGroup": _pg_view(group)})

    def describe_cache_parameter_groups(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        name = self._get_param("CacheParameterGroupName")
        groups = [_get_pg(backend, name)] if name else list(backend.tmsc_parameter_groups.values())
        return ActionResult({"CacheParameterGroups": [_pg_view(g) for g in groups]})

    def _name_values(self: Any) -> list[dict[str, Any]]:
        values = self._get_param("ParameterNameValues") or []
        if isinstance(values, dict):
            values = values.get("ParameterNameValue") or list(values.values())
        return list(values)

    def modify_cache_parameter_group(self: Any) -> ActionResult:
        group = _get_pg(self.elasticache_backend, self._get_param("CacheParameterGroupName"))
        if group.get("default"):
            raise InvalidParameterValueException("Default parameter groups cannot be modified.")
        for nv in _name_values(self):
            group["parameters"][nv["ParameterName"]] = nv.get("ParameterValue")
        return ActionResult({"CacheParameterGroupName": group["CacheParameterGroupName"]})

    def reset_cache_parameter_group(self: Any) -> ActionResult:
        group = _get_pg(self.elasticache_backend, self._get_param("CacheParameterGroupName"))
        if self._get_bool_param("ResetAllParameters"):
            group["parameters"].clear()
        else:
            for nv in _name_values(self):
                group["parameters"].pop(nv["ParameterName"], None)
        return ActionResult({"CacheParameterGroupName": group["CacheParameterGroupName"]})

    def describe_cache_parameters(self: Any) -> ActionResult:
        group = _get_pg(self.elasticache_backend, self._get_param("CacheParameterGroupName"))
        source = self._get_param("Source")
        params = (
            []
            if source and source != "user"
            else [
                {
                    "ParameterName": k,
                    "ParameterValue": v,
                    "Source": "user",
                    "DataType": "string",
                    "IsModifiable": True,
                    "ChangeType": "immediate",
                    "Description": "",
                }
                for k, v in sorted(group["parameters"].items())
            ]
        )
        return ActionResult({"Parameters": params, "CacheNodeTypeSpecificParameters": []})

    def delete_cache_parameter_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        group = _get_pg(backend, self._get_param("CacheParameterGroupName"))
        name = group["CacheParameterGroupName"]
        if group.get("default"):
            raise InvalidParameterValueException("Default parameter groups cannot be deleted.")
        if _in_use(backend, "cache_parameter_group_name", name):
            raise InvalidCacheParameterGroupState(f"Parameter group {name} is currently in use by a cache cluster.")
        backend.tmsc_parameter_groups.pop(name)
        backend.tagging_service.delete_all_tags_for_resource(group["ARN"])
        return EmptyResult()

    for fn in (
        create_cache_parameter_group,
        describe_cache_parameter_groups,
        modify_cache_parameter_group,
        reset_cache_parameter_group,
        describe_cache_parameters,
        delete_cache_parameter_group,
    ):
        setattr(ElastiCacheResponse, fn.__name__, fn)

    # -- user groups (RBAC) ---------------------------------------------------
    class UserGroupNotFound(ServiceException):
        code = "UserGroupNotFound"

    class UserGroupAlreadyExists(ServiceException):
        code = "UserGroupAlreadyExists"

    class DefaultUserRequired(ServiceException):
        code = "DefaultUserRequired"

    class InvalidUserGroupState(ServiceException):
        code = "InvalidUserGroupState"

    def _user_groups(backend: Any) -> dict[str, dict[str, Any]]:
        if not hasattr(backend, "tmsc_user_groups"):
            backend.tmsc_user_groups = {}
        return backend.tmsc_user_groups

    def _ug_view(backend: Any, group: dict[str, Any]) -> dict[str, Any]:
        rgs = sorted(
            rg.replication_group_id
            for rg in backend.replication_groups.values()
            if group["UserGroupId"] in (rg.user_group_ids or [])
        )
        return {
            **group,
            "UserIds": sorted(group["UserIds"]),
            "ReplicationGroups": rgs,
            "ServerlessCaches": [],
            "MinimumEngineVersion": "6.0",
        }

    def _get_ug(backend: Any, group_id: str | None) -> dict[str, Any]:
        group = _user_groups(backend).get(group_id or "")
        if group is None:
            raise UserGroupNotFound(f"User group {group_id} not found.")
        return group

    def _check_users(backend: Any, user_ids: list[str], engine: str) -> None:
        from moto.elasticache.exceptions import UserNotFound

        for uid in user_ids:
            if uid not in backend.users:
                raise UserNotFound(uid)
        if engine == "redis" and "default" not in {backend.users[u].name for u in user_ids}:
            raise DefaultUserRequired("You must add default user to a user group.")

    def create_user_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        group_id = self._get_param("UserGroupId")
        engine = (self._get_param("Engine") or "redis").lower()
        user_ids = list(self._get_param("UserIds") or [])
        if group_id in _user_groups(backend):
            raise UserGroupAlreadyExists(f"User group {group_id} already exists.")
        _check_users(backend, user_ids, engine)
        group = {
            "UserGroupId": group_id,
            "Status": "active",
            "Engine": engine,
            "UserIds": user_ids,
            "PendingChanges": None,
            "ARN": f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:usergroup:{group_id}",
        }
        _user_groups(backend)[group_id] = group
        for uid in user_ids:
            backend.users[uid].user_group_ids.append(group_id)
        tags = self._get_param("Tags", [])
        if tags:
            backend.tagging_service.tag_resource(group["ARN"], tags)
        return ActionResult(_ug_view(backend, group))

    def describe_user_groups(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        group_id = self._get_param("UserGroupId")
        groups = [_get_ug(backend, group_id)] if group_id else list(_user_groups(backend).values())
        return ActionResult({"UserGroups": [_ug_view(backend, g) for g in groups]})

    def modify_user_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        group = _get_ug(backend, self._get_param("UserGroupId"))
        add = list(self._get_param("UserIdsToAdd") or [])
        remove = list(self._get_param("UserIdsToRemove") or [])
        new_ids = [u for u in group["UserIds"] if u not in remove] + [u for u in add if u not in group["UserIds"]]
        _check_users(backend, new_ids, group["Engine"])
        for uid in remove:
            user = backend.users.get(uid)
            if user and group["UserGroupId"] in user.user_group_ids:
                user.user_group_ids.remove(group["UserGroupId"])
        for uid in add:
            if group["UserGroupId"] not in backend.users[uid].user_group_ids:
                backend.users[uid].user_group_ids.append(group["UserGroupId"])
        group["UserIds"] = new_ids
        return ActionResult(_ug_view(backend, group))

    def delete_user_group(self: Any) -> ActionResult:
        backend = self.elasticache_backend
        group = _get_ug(backend, self._get_param("UserGroupId"))
        view = _ug_view(backend, group)
        if view["ReplicationGroups"]:
            raise InvalidUserGroupState(f"User group {group['UserGroupId']} is associated to a replication group.")
        _user_groups(backend).pop(group["UserGroupId"])
        for uid in group["UserIds"]:
            user = backend.users.get(uid)
            if user and group["UserGroupId"] in user.user_group_ids:
                user.user_group_ids.remove(group["UserGroupId"])
        backend.tagging_service.delete_all_tags_for_resource(group["ARN"])
        return ActionResult({**view, "Status": "deleting"})

    for fn in (create_user_group, describe_user_groups, modify_user_group, delete_user_group):
        setattr(ElastiCacheResponse, fn.__name__, fn)


# =============================================================================
# EKS
# =============================================================================
# AWS-managed access policies (EKS user guide, "Access policy permissions").
EKS_ACCESS_POLICIES = (
    "AmazonEKSAdminPolicy",
    "AmazonEKSAdminViewPolicy",
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEKSAutoNodePolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingPolicy",
    "AmazonEKSHybridPolicy",
    "AmazonEMRJobPolicy",
)
# Stand-in for "the default version of this add-on for the cluster's Kubernetes
# version", which only AWS knows. Deliberately synthetic: never assert on it.
EKS_ADDON_DEFAULT_VERSION = "v0.0.0-eksbuild.1"

EKS_CLUSTER_SG_DESCRIPTION = (
    "EKS created security group applied to ENI that is attached to EKS Control Plane "
    "master nodes, as well as any managed workloads."
)


def patch_eks() -> None:
    """EKS access entries, access policy associations, add-ons, updates.

    * Access entries (Create/Describe/List/Update/DeleteAccessEntry) with the
      documented defaults: ``type`` STANDARD; ``username`` the IAM user's ARN,
      or ``arn:aws:sts::<acct>:assumed-role/<role>/{{SessionName}}`` for a
      role; ``system:node:{{EC2PrivateDNSName}}`` and group ``system:nodes``
      for EC2_LINUX/EC2_WINDOWS entries. Deleting an entry removes its policy
      associations, deleting the cluster removes everything.
    * Access policy associations (Associate/Disassociate/ListAssociated
      AccessPolicies, ListAccessPolicies): the entry must exist; associating a
      policy again replaces its scope, as AWS documents.
    * Add-ons (Create/Describe/List/Update/DeleteAddon,
      DescribeAddonVersions): created ACTIVE; when no version is given AWS
      picks the default for the cluster's Kubernetes version — the emulator
      cannot know it and answers the synthetic ``EKS_ADDON_DEFAULT_VERSION``.
    * Updates: UpdateClusterConfig, UpdateClusterVersion,
      UpdateNodegroupConfig, UpdateNodegroupVersion and UpdateAddon return an
      ``update`` (status Successful) that DescribeUpdate/ListUpdates find, as
      the provider waits on it. UpdateClusterConfig also applies
      ``accessConfig`` (authentication mode), ``upgradePolicy`` and
      ``zonalShiftConfig``.
    * Each cluster gets an OIDC issuer of its own (moto gives every cluster
      of a process the same one).
    * CreateCluster stores ``accessConfig`` (AWS default authentication mode
      CONFIG_MAP, bootstrapClusterCreatorAdminPermissions default true — in
      which case AWS creates an access entry for the creating principal with
      AmazonEKSClusterAdminPolicy), ``upgradePolicy`` (default EXTENDED),
      ``zonalShiftConfig``, ``computeConfig``, ``storageConfig``; fills the
      ``resourcesVpcConfig`` defaults AWS returns (vpcId, endpointPublicAccess
      true, endpointPrivateAccess false, publicAccessCidrs 0.0.0.0/0) and
      creates the EKS "cluster security group" in the VPC
      (``clusterSecurityGroupId``), which DeleteCluster removes.
    * Node groups: ``updateConfig`` stored (AWS default maxUnavailable 1),
      ``nodeRepairConfig`` stored, no invented ``remoteAccess`` (AWS returns
      none unless one was requested), version defaulting to the cluster's.
    * Tagging works on every EKS ARN (clusters, node groups, add-ons, access
      entries), as on AWS.
    """
    from moto.core.responses import ActionResult, EmptyResult
    from moto.eks import models as eks_models
    from moto.eks import urls as eks_urls
    from moto.eks.exceptions import (
        InvalidParameterException,
        InvalidRequestException,
        ResourceInUseException,
        ResourceNotFoundException,
    )
    from moto.eks.responses import EKSResponse

    # -- routes (flask level; moto's router then matches the botocore model)
    extra_paths = {
        "{0}/clusters/(?P<name>[^/]+)/access-entries$": EKSResponse.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<principalArn>.+)$": EKSResponse.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/addons$": EKSResponse.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>.+)$": EKSResponse.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/updates$": EKSResponse.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>.+)$": EKSResponse.dispatch,
        "{0}/clusters/(?P<name>[^/]+)/node-groups/(?P<nodegroupName>[^/]+)/update-version$": EKSResponse.dispatch,
        "{0}/access-policies$": EKSResponse.dispatch,
        "{0}/addons/supported-versions$": EKSResponse.dispatch,
    }
    for path, handler in extra_paths.items():
        eks_urls.url_paths.setdefault(path, handler)

    def not_found(message: str, **ids: Any) -> ResourceNotFoundException:
        fields = {"clusterName": None, "nodegroupName": None, "fargateProfileName": None, "addonName": None}
        fields.update(ids)
        return ResourceNotFoundException(message=message, **fields)

    def in_use(message: str, **ids: Any) -> ResourceInUseException:
        fields = {"clusterName": None, "nodegroupName": None, "addonName": None}
        fields.update(ids)
        return ResourceInUseException(message=message, **fields)

    # -- cluster state ---------------------------------------------------
    def cluster_init_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            orig(self, *args, **kwargs)
            self.tmsc_access_entries = {}  # principal ARN → access entry
            self.tmsc_access_policies = {}  # principal ARN → policy ARN → association
            self.tmsc_addons = {}  # add-on name → add-on
            self.tmsc_updates = {}  # update id → update
            self.tmsc_owned_security_group = None  # the id of the cluster security group EKS creates
            # moto draws the issuer's ID once per process, so every cluster in it shares one issuer URL,
            # and a second cluster's IAM OIDC provider collides with the first's (EntityAlreadyExists).
            # On AWS each cluster has an issuer of its own: .../id/<32 hexadecimal digits>.
            region = self.arn.split(":")[3]
            self.identity = {
                "oidc": {"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{uuid.uuid4().hex.upper()}"}
            }

        return __init__

    _wrap(eks_models.Cluster, "__init__", cluster_init_factory)

    def _cluster(backend: Any, name: str) -> Any:
        cluster = backend.clusters.get(name)
        if cluster is None:
            raise not_found(f"No cluster found for name: {name}.")
        return cluster

    def _new_update(cluster: Any, update_type: str, params: list[dict[str, str]]) -> dict[str, Any]:
        update = {
            "id": str(uuid.uuid4()),
            "status": "Successful",
            "type": update_type,
            "params": params,
            "createdAt": _now(),
            "errors": [],
        }
        cluster.tmsc_updates[update["id"]] = update
        return update

    def _arn(self: Any, resource: str) -> str:
        backend = self.eks_backend
        return f"arn:{backend.partition}:eks:{backend.region_name}:{backend.account_id}:{resource}"

    def _caller_principal(self: Any) -> str:
        from moto.sts.models import sts_backends

        backend = self.eks_backend
        _, arn, account = sts_backends[backend.account_id][backend.partition].get_caller_identity(
            self.get_access_key(), backend.region_name
        )
        parts = arn.split(":", 5)
        if parts[2] == "sts" and parts[5].startswith("assumed-role/"):
            role = parts[5].split("/")[1]
            return f"arn:{parts[1]}:iam::{account}:role/{role}"
        return arn

    def _default_username(principal: str, entry_type: str) -> str:
        if entry_type in ("EC2_LINUX", "EC2_WINDOWS", "HYBRID_LINUX"):
            return "system:node:{{EC2PrivateDNSName}}"
        if entry_type == "FARGATE_LINUX":
            return "system:node:{{SessionName}}"
        parts = principal.split(":", 5)
        if len(parts) == 6 and parts[5].startswith("role/"):
            role = parts[5].split("/")[-1]
            return f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{role}/{{{{SessionName}}}}"
        return principal

    def _put_access_entry(
        self: Any,
        cluster: Any,
        principal: str,
        groups: list[str] | None,
        username: str | None,
        entry_type: str | None,
        tags: dict[str, str] | None,
    ) -> dict[str, Any]:
        if principal in cluster.tmsc_access_entries:
            raise in_use(
                "The specified access entry resource is already in use on this cluster.", clusterName=cluster.name
            )
        entry_type = entry_type or "STANDARD"
        if entry_type == "STANDARD":
            groups = list(groups or [])
        elif entry_type in ("EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX"):
            if groups:
                raise InvalidParameterException(
                    message="Kubernetes groups cannot be specified for this access entry type.",
                    clusterName=None,
                    nodegroupName=None,
                    fargateProfileName=None,
                    addonName=None,
                )
            groups = ["system:nodes"] if entry_type != "FARGATE_LINUX" else ["system:node-proxier", "system:nodes"]
        else:
            groups = list(groups or [])
        name = principal.split(":", 5)[-1].replace("/", "-") if principal.count(":") >= 5 else principal
        now = _now()
        entry = {
            "clusterName": cluster.name,
            "principalArn": principal,
            "kubernetesGroups": groups,
            "accessEntryArn": _arn(self, f"access-entry/{cluster.name}/{name}/{uuid.uuid4()}"),
            "createdAt": now,
            "modifiedAt": now,
            "tags": dict(tags or {}),
            "username": username or _default_username(principal, entry_type),
            "type": entry_type,
        }
        cluster.tmsc_access_entries[principal] = entry
        cluster.tmsc_access_policies[principal] = {}
        return entry

    def _entry(cluster: Any, principal: str) -> dict[str, Any]:
        entry = cluster.tmsc_access_entries.get(principal)
        if entry is None:
            raise not_found(
                "The specified principalArn could not be found. You can view your "
                "available access entries with 'list-access-entries'.",
                clusterName=cluster.name,
            )
        return entry

    def _associate(cluster: Any, principal: str, policy_arn: str, scope: dict[str, Any]) -> dict[str, Any]:
        now = _now()
        policies = cluster.tmsc_access_policies.setdefault(principal, {})
        previous = policies.get(policy_arn)
        assoc = {
            "policyArn": policy_arn,
            "accessScope": {"type": scope.get("type", "cluster"), "namespaces": list(scope.get("namespaces") or [])},
            "associatedAt": previous["associatedAt"] if previous else now,
            "modifiedAt": now,
        }
        policies[policy_arn] = assoc
        return assoc

    # -- cluster create / update / delete ----------------------------------
    def create_cluster_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def create_cluster(self: Any) -> Any:
            result = orig(self)
            cluster = self.eks_backend.clusters[self._get_param("name")]
            access = self._get_param("accessConfig") or {}
            bootstrap = access.get("bootstrapClusterCreatorAdminPermissions")
            bootstrap = True if bootstrap is None else bool(bootstrap)
            cluster.access_config = {
                "authenticationMode": access.get("authenticationMode") or "CONFIG_MAP",
                "bootstrapClusterCreatorAdminPermissions": bootstrap,
            }
            cluster.upgrade_policy = self._get_param("upgradePolicy") or {"supportType": "EXTENDED"}
            for param, attr in (
                ("zonalShiftConfig", "zonal_shift_config"),
                ("computeConfig", "compute_config"),
                ("storageConfig", "storage_config"),
                ("outpostConfig", "outpost_config"),
            ):
                value = self._get_param(param)
                if value is not None:
                    setattr(cluster, attr, value)
            knc = dict(cluster.kubernetes_network_config or {})
            knc.setdefault("serviceIpv4Cidr", "172.20.0.0/16")
            knc.setdefault("ipFamily", "ipv4")
            cluster.kubernetes_network_config = knc
            vpc_config = dict(cluster.resources_vpc_config or {})
            vpc_config.setdefault("endpointPublicAccess", True)
            vpc_config.setdefault("endpointPrivateAccess", False)
            if vpc_config["endpointPublicAccess"]:
                vpc_config.setdefault("publicAccessCidrs", ["0.0.0.0/0"])
            vpc_config.setdefault("securityGroupIds", [])
            _attach_cluster_security_group(self.eks_backend, cluster, vpc_config)
            cluster.resources_vpc_config = vpc_config
            if bootstrap and cluster.access_config["authenticationMode"] != "CONFIG_MAP":
                principal = _caller_principal(self)
                _put_access_entry(self, cluster, principal, [], principal, "STANDARD", {})
                _associate(
                    cluster,
                    principal,
                    f"arn:{self.eks_backend.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                    {"type": "cluster"},
                )
            return result

        return create_cluster

    def _attach_cluster_security_group(backend: Any, cluster: Any, vpc_config: dict[str, Any]) -> None:
        from moto.ec2.models import ec2_backends

        ec2 = ec2_backends[backend.account_id][backend.region_name]
        subnet_ids = vpc_config.get("subnetIds") or []
        try:
            subnets = ec2.describe_subnets(subnet_ids=subnet_ids) if subnet_ids else []
        except Exception:
            subnets = []
        if not subnets:
            return
        vpc_id = subnets[0].vpc_id
        vpc_config["vpcId"] = vpc_id
        name = f"eks-cluster-sg-{cluster.name}-{uuid.uuid4().int % 10**10:010d}"
        group = ec2.create_security_group(
            name=name,
            description=EKS_CLUSTER_SG_DESCRIPTION,
            vpc_id=vpc_id,
            tags={"Name": name, f"kubernetes.io/cluster/{cluster.name}": "owned"},
        )
        ec2.authorize_security_group_ingress(
            # moto annotates the ports as str; with protocol -1 (all traffic) there are none.
            group.id,
            "-1",
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            [],
            source_groups=[{"GroupId": group.id}],
            vpc_id=vpc_id,
        )
        vpc_config["clusterSecurityGroupId"] = group.id
        cluster.tmsc_owned_security_group = group.id

    _wrap(EKSResponse, "create_cluster", create_cluster_factory)

    def delete_cluster_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def delete_cluster(self: Any, name: str) -> Any:
            cluster = orig(self, name)
            sg_id = getattr(cluster, "tmsc_owned_security_group", None)
            if sg_id:
                from moto.ec2.models import ec2_backends

                with contextlib.suppress(Exception):  # still referenced: AWS would retry later; leave it
                    ec2_backends[self.account_id][self.region_name].delete_security_group(group_id=sg_id)
            cluster.status = "DELETING"
            return cluster

        return delete_cluster

    _wrap(eks_models.EKSBackend, "delete_cluster", delete_cluster_factory)

    def update_cluster_config(self: Any) -> ActionResult:
        backend = self.eks_backend
        name = self._get_param("name")
        cluster = _cluster(backend, name)
        params = []
        vpc = self._get_param("resourcesVpcConfig")
        if vpc:
            merged = dict(cluster.resources_vpc_config or {})
            merged.update(vpc)
            if merged.get("endpointPublicAccess") and "publicAccessCidrs" not in merged:
                merged["publicAccessCidrs"] = ["0.0.0.0/0"]
            cluster.resources_vpc_config = merged
            params.append({"type": "EndpointPublicAccess", "value": str(merged.get("endpointPublicAccess"))})
        logging_cfg = self._get_param("logging")
        if logging_cfg:
            cluster.logging = logging_cfg
            params.append({"type": "ClusterLogging", "value": json.dumps(logging_cfg)})
        access = self._get_param("accessConfig")
        if access:
            current = dict(getattr(cluster, "access_config", {}) or {})
            mode = access.get("authenticationMode")
            order = ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"]
            if (
                mode
                and current.get("authenticationMode") in order
                and mode in order
                and order.index(mode) < order.index(current["authenticationMode"])
            ):
                raise InvalidParameterException(
                    message="Unsupported authentication mode update",
                    clusterName=None,
                    nodegroupName=None,
                    fargateProfileName=None,
                    addonName=None,
                )
            if mode:
                current["authenticationMode"] = mode
                params.append({"type": "AuthenticationMode", "value": mode})
            cluster.access_config = current
        for param, attr, ptype in (
            ("upgradePolicy", "upgrade_policy", "UpgradePolicySupportType"),
            ("zonalShiftConfig", "zonal_shift_config", "ZonalShiftConfig"),
            ("computeConfig", "compute_config", "ComputeConfig"),
            ("storageConfig", "storage_config", "StorageConfig"),
            ("kubernetesNetworkConfig", "kubernetes_network_config", "KubernetesNetworkConfig"),
            ("remoteNetworkConfig", "remote_network_config", "RemoteNetworkConfig"),
        ):
            value = self._get_param(param)
            if value:
                if isinstance(value, dict) and isinstance(getattr(cluster, attr, None), dict):
                    value = {**getattr(cluster, attr), **value}
                setattr(cluster, attr, value)
                params.append({"type": ptype, "value": json.dumps(value)})
        update_type = (
            "AccessConfigUpdate"
            if access
            else ("LoggingUpdate" if logging_cfg else ("EndpointAccessUpdate" if vpc else "ConfigUpdate"))
        )
        return ActionResult({"update": _new_update(cluster, update_type, params)})

    def update_cluster_version(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        version = self._get_param("version")
        cluster.version = version
        return ActionResult({"update": _new_update(cluster, "VersionUpdate", [{"type": "Version", "value": version}])})

    def update_nodegroup_config_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def update_nodegroup_config(self: Any) -> ActionResult:
            result = orig(self)
            cluster = _cluster(self.eks_backend, self._get_param("name"))
            update = result.result["update"] if hasattr(result, "result") else None
            if isinstance(update, dict):
                update["status"] = "Successful"
                cluster.tmsc_updates[update["id"]] = update
            return result

        return update_nodegroup_config

    def update_nodegroup_version(self: Any) -> ActionResult:
        backend = self.eks_backend
        cluster = _cluster(backend, self._get_param("name"))
        ng = backend.describe_nodegroup(cluster.name, self._get_param("nodegroupName"))
        params = []
        for param, attr in (
            ("version", "version"),
            ("releaseVersion", "release_version"),
            ("launchTemplate", "launch_template"),
        ):
            value = self._get_param(param)
            if value:
                setattr(ng, attr, value)
                params.append({"type": param[0].upper() + param[1:], "value": json.dumps(value)})
        return ActionResult({"update": _new_update(cluster, "VersionUpdate", params)})

    def describe_update(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        update_id = self._get_param("updateId")
        update = cluster.tmsc_updates.get(update_id)
        if update is None:
            raise not_found(f"No update found for ID: {update_id}", clusterName=cluster.name)
        return ActionResult({"update": update})

    def list_updates(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        return ActionResult({"updateIds": list(cluster.tmsc_updates)})

    # -- node groups -------------------------------------------------------
    ng_sig = inspect.signature(eks_models.Nodegroup.__init__)

    def ng_init_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            orig(self, *args, **kwargs)
            bound = ng_sig.bind(self, *args, **kwargs)
            if not bound.arguments.get("remote_access"):
                self.remote_access = None
                self.resources.pop("remoteAccessSecurityGroup", None)
            if not bound.arguments.get("update_config"):
                self.update_config = {"maxUnavailable": 1}

        return __init__

    _wrap(eks_models.Nodegroup, "__init__", ng_init_factory)

    def create_nodegroup_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def create_nodegroup(self: Any) -> Any:
            result = orig(self)
            cluster = self.eks_backend.clusters[self._get_param("name")]
            ng = cluster.nodegroups[self._get_param("nodegroupName")]
            if self._get_param("updateConfig"):
                ng.update_config = self._get_param("updateConfig")
            if self._get_param("nodeRepairConfig"):
                ng.node_repair_config = self._get_param("nodeRepairConfig")
            if not self._get_param("version"):
                ng.version = cluster.version
            if not self._get_param("diskSize") and not self._get_param("launchTemplate"):
                ng.disk_size = 20
            if self._get_param("launchTemplate"):
                ng.disk_size = None
            return result

        return create_nodegroup

    _wrap(EKSResponse, "create_nodegroup", create_nodegroup_factory)

    # -- access entries ------------------------------------------------------
    def create_access_entry(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        entry = _put_access_entry(
            self,
            cluster,
            self._get_param("principalArn"),
            self._get_param("kubernetesGroups"),
            self._get_param("username"),
            self._get_param("type"),
            self._get_param("tags"),
        )
        return ActionResult({"accessEntry": entry})

    def describe_access_entry(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        return ActionResult({"accessEntry": _entry(cluster, self._get_param("principalArn"))})

    def list_access_entries(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        policy = self._get_param("associatedPolicyArn")
        principals = [
            p for p in cluster.tmsc_access_entries if not policy or policy in cluster.tmsc_access_policies.get(p, {})
        ]
        return ActionResult({"accessEntries": sorted(principals)})

    def update_access_entry(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        entry = _entry(cluster, self._get_param("principalArn"))
        groups = self._get_param("kubernetesGroups")
        username = self._get_param("username")
        if groups is not None:
            entry["kubernetesGroups"] = list(groups)
        if username:
            entry["username"] = username
        entry["modifiedAt"] = _now()
        return ActionResult({"accessEntry": entry})

    def delete_access_entry(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        principal = self._get_param("principalArn")
        _entry(cluster, principal)
        cluster.tmsc_access_entries.pop(principal)
        cluster.tmsc_access_policies.pop(principal, None)
        return EmptyResult()

    def associate_access_policy(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        principal = self._get_param("principalArn")
        _entry(cluster, principal)
        policy_arn = self._get_param("policyArn") or ""
        if ":cluster-access-policy/" not in policy_arn:
            raise InvalidParameterException(
                message=f"The policyArn {policy_arn} is not a valid access policy.",
                clusterName=None,
                nodegroupName=None,
                fargateProfileName=None,
                addonName=None,
            )
        scope = self._get_param("accessScope") or {}
        if scope.get("type") == "namespace" and not scope.get("namespaces"):
            raise InvalidParameterException(
                message="Namespaces must be specified for an access scope of type namespace.",
                clusterName=None,
                nodegroupName=None,
                fargateProfileName=None,
                addonName=None,
            )
        assoc = _associate(cluster, principal, policy_arn, scope)
        return ActionResult({"clusterName": cluster.name, "principalArn": principal, "associatedAccessPolicy": assoc})

    def list_associated_access_policies(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        principal = self._get_param("principalArn")
        _entry(cluster, principal)
        policies = list(cluster.tmsc_access_policies.get(principal, {}).values())
        return ActionResult(
            {"clusterName": cluster.name, "principalArn": principal, "associatedAccessPolicies": policies}
        )

    def disassociate_access_policy(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        principal = self._get_param("principalArn")
        _entry(cluster, principal)
        policy_arn = self._get_param("policyArn")
        if cluster.tmsc_access_policies.get(principal, {}).pop(policy_arn, None) is None:
            raise not_found(
                f"The specified policy {policy_arn} is not associated with this access entry.", clusterName=cluster.name
            )
        return EmptyResult()

    def list_access_policies(self: Any) -> ActionResult:
        partition = self.eks_backend.partition
        return ActionResult(
            {
                "accessPolicies": [
                    {"name": n, "arn": f"arn:{partition}:eks::aws:cluster-access-policy/{n}"}
                    for n in EKS_ACCESS_POLICIES
                ]
            }
        )

    # -- add-ons -----------------------------------------------------------
    def _addon(cluster: Any, name: str) -> dict[str, Any]:
        addon = cluster.tmsc_addons.get(name)
        if addon is None:
            raise not_found(
                f"No addon: {name} found in cluster: {cluster.name}", clusterName=cluster.name, addonName=name
            )
        return addon

    def create_addon(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        name = self._get_param("addonName")
        if name in cluster.tmsc_addons:
            raise in_use(f"Addon already exists with name: {name}", clusterName=cluster.name, addonName=name)
        if not cluster.is_active:
            raise InvalidRequestException(message=f"Cluster '{cluster.name}' is not in ACTIVE status")
        now = _now()
        addon = {
            "addonName": name,
            "clusterName": cluster.name,
            "status": "ACTIVE",
            "addonVersion": self._get_param("addonVersion") or EKS_ADDON_DEFAULT_VERSION,
            "health": {"issues": []},
            "addonArn": _arn(self, f"addon/{cluster.name}/{name}/{uuid.uuid4()}"),
            "createdAt": now,
            "modifiedAt": now,
            "tags": dict(self._get_param("tags") or {}),
        }
        for param in ("serviceAccountRoleArn", "configurationValues"):
            if self._get_param(param):
                addon[param] = self._get_param(param)
        pia = self._get_param("podIdentityAssociations")
        if pia:
            addon["podIdentityAssociations"] = [
                _arn(self, f"podidentityassociation/{cluster.name}/a-{uuid.uuid4().hex[:17]}") for _ in pia
            ]
        cluster.tmsc_addons[name] = addon
        return ActionResult({"addon": addon})

    def describe_addon(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        return ActionResult({"addon": _addon(cluster, self._get_param("addonName"))})

    def list_addons(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        return ActionResult({"addons": sorted(cluster.tmsc_addons)})

    def update_addon(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        addon = _addon(cluster, self._get_param("addonName"))
        params = []
        for param in ("addonVersion", "serviceAccountRoleArn", "configurationValues"):
            value = self._get_param(param)
            if value is not None:
                addon[param] = value
                params.append({"type": param[0].upper() + param[1:], "value": str(value)})
        addon["modifiedAt"] = _now()
        return ActionResult({"update": _new_update(cluster, "AddonUpdate", params)})

    def delete_addon(self: Any) -> ActionResult:
        cluster = _cluster(self.eks_backend, self._get_param("name"))
        name = self._get_param("addonName")
        addon = dict(_addon(cluster, name))
        cluster.tmsc_addons.pop(name)
        addon["status"] = "DELETING"
        return ActionResult({"addon": addon})

    def describe_addon_versions(self: Any) -> ActionResult:
        name = self._get_param("addonName")
        k8s = self._get_param("kubernetesVersion")
        names = [name] if name else []
        return ActionResult(
            {
                "addons": [
                    {
                        "addonName": n,
                        "type": "networking",
                        "owner": "aws",
                        "publisher": "eks",
                        "addonVersions": [
                            {
                                "addonVersion": EKS_ADDON_DEFAULT_VERSION,
                                "architecture": ["amd64", "arm64"],
                                "compatibilities": [
                                    {"clusterVersion": k8s or "1.31", "platformVersions": ["*"], "defaultVersion": True}
                                ],
                                "requiresConfiguration": False,
                            }
                        ],
                    }
                    for n in names
                ]
            }
        )

    # -- tagging on every EKS ARN -----------------------------------------
    def _tag_target(backend: Any, arn: str) -> dict[str, str] | None:
        for cluster in backend.clusters.values():
            if cluster.arn == arn:
                return cluster.tags
            for ng in cluster.nodegroups.values():
                if ng.arn == arn:
                    return ng.tags
            for fp in cluster.fargate_profiles.values():
                if fp.fargate_profile_arn == arn:
                    return fp.tags
            for addon in cluster.tmsc_addons.values():
                if addon["addonArn"] == arn:
                    return addon["tags"]
            for entry in cluster.tmsc_access_entries.values():
                if entry["accessEntryArn"] == arn:
                    return entry["tags"]
        return None

    def tag_resource(self: Any, resource_arn: str, tags: dict[str, str]) -> None:
        target = _tag_target(self, resource_arn)
        if target is None:
            raise not_found("Resource was not found")
        target.update(tags or {})

    def untag_resource(self: Any, resource_arn: str, tag_keys: list[str]) -> None:
        target = _tag_target(self, resource_arn)
        if target is None:
            raise not_found("Resource was not found")
        for key in tag_keys if isinstance(tag_keys, list) else [tag_keys]:
            target.pop(key, None)

    def list_tags_for_resource(self: Any, resource_arn: str) -> dict[str, str]:
        target = _tag_target(self, resource_arn)
        if target is None:
            raise not_found("Resource was not found")
        return target

    eks_models.EKSBackend.tag_resource = tag_resource  # type: ignore[method-assign]
    eks_models.EKSBackend.untag_resource = untag_resource  # type: ignore[method-assign]
    eks_models.EKSBackend.list_tags_for_resource = list_tags_for_resource  # type: ignore[method-assign]

    _wrap(EKSResponse, "update_nodegroup_config", update_nodegroup_config_factory)
    for fn in (
        update_cluster_config,
        update_cluster_version,
        update_nodegroup_version,
        describe_update,
        list_updates,
        create_access_entry,
        describe_access_entry,
        list_access_entries,
        update_access_entry,
        delete_access_entry,
        associate_access_policy,
        list_associated_access_policies,
        disassociate_access_policy,
        list_access_policies,
        create_addon,
        describe_addon,
        list_addons,
        update_addon,
        delete_addon,
        describe_addon_versions,
    ):
        setattr(EKSResponse, fn.__name__, fn)


# =============================================================================
PATCHES: tuple[Callable[[], None], ...] = (
    patch_ec2_security_group_rule_descriptions,
    patch_ec2_launch_template_tags,
    patch_kms_rotation_period,
    patch_s3_delete_marker_dispose,
    patch_s3_bucket_policy_conditions,
    patch_rds,
    patch_elasticache,
    patch_eks,
)


def apply_patches() -> None:
    """Apply every patch once (idempotent, thread-safe). Fails loudly on any
    moto version other than MOTO_VERSION."""
    global _applied
    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"tests/emulator/patches.py is written against moto=={MOTO_VERSION} internals, "
            f"but moto {moto.__version__} is installed; pin moto[server]=={MOTO_VERSION} "
            "(pyproject.toml [test] extra) or port the patches."
        )
    with _lock:
        if _applied:
            return
        for patch in PATCHES:
            patch()
        from .patches_rds_dr import apply_rds_backup_replication_patch
        from .patches_replication import apply_replication_patches

        apply_rds_backup_replication_patch()
        apply_replication_patches()
        _applied = True


# =============================================================================
# Drift and deletion-protection tests (tests/test_drift_and_protection.py).
# Appended section: registered by extending PATCHES below; apply_patches()
# reads PATCHES when it runs, so these run after the ones above.
#
# Checked and NOT patched (moto 5.2.5 already matches AWS): DeleteDBInstance on
# an instance with DeletionProtection fails with InvalidParameterCombination
# ("Cannot delete protected DB Instance, please disable deletion protection and
# try again."), and DeleteTable on a table with DeletionProtectionEnabled fails
# with a ValidationException; both leave the resource in place.
# =============================================================================
def patch_ec2_modify_all_protocols_rule() -> None:
    """ModifySecurityGroupRules on a rule for all protocols needs no ports.

    AWS: a rule with ``IpProtocol = "-1"`` (all protocols) covers every port;
    ModifySecurityGroupRules accepts it without ``FromPort`` / ``ToPort`` and
    DescribeSecurityGroupRules reports ``-1`` for both. The AWS provider
    updates an ``aws_vpc_security_group_*_rule`` with ``ip_protocol = "-1"``
    that way (no ports), e.g. when it restores a rule narrowed out of band.

    moto 5.2.5 requires both ports for every protocol ("Invalid value for
    portRange. Must specify both from and to ports with TCP/UDP.") and stores
    whatever it is given. The patch, for ``-1`` only, stores no ports -- what
    moto's own SecurityGroupRule does for an all-protocols rule, reported as
    ``-1`` by its DescribeSecurityGroupRules. Other protocols are unchanged.
    """
    from moto.ec2.models import security_groups as sg

    def modify_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def modify_security_group_rules(self: Any, group_id: str, rules: dict[str, dict[str, Any]]) -> None:
            all_protocols = []
            prepared: dict[str, dict[str, Any]] = {}
            for rule_id, new_rule in rules.items():
                rule = dict(new_rule)
                if str(rule.get("IpProtocol")) == "-1":
                    all_protocols.append(rule_id)
                    rule.setdefault("FromPort", -1)
                    rule.setdefault("ToPort", -1)
                prepared[rule_id] = rule
            orig(self, group_id, prepared)
            group = self.get_security_group_by_name_or_id(group_id)
            for rule_id in all_protocols:
                existing = group.get_rule(rule_id) if group else None
                if existing is not None:
                    existing.from_port = existing.to_port = None

        return modify_security_group_rules

    _wrap(sg.SecurityGroupBackend, "modify_security_group_rules", modify_factory)


RDS_DEFAULT_CA = "rds-ca-rsa2048-g1"


def patch_rds_default_ca() -> None:
    """A new DB instance gets the Region's default CA, rds-ca-rsa2048-g1.

    AWS: CreateDBInstance without ``CACertificateIdentifier`` gives the
    instance the Region's default certificate authority -- rds-ca-rsa2048-g1
    since the rds-ca-2019 rotation (unless the account overrides the default
    with ModifyCertificates) -- and DescribeDBInstances reports it.
    The AWS provider 5.100 does not send ``ca_cert_identifier`` on create: it
    compares the created instance's CA with the configuration and, if they
    differ, calls ModifyDBInstance and waits for the instance again (over a
    minute of fixed waiter delays per instance).

    moto 5.2.5 reports ``rds-ca-default``, an identifier AWS does not have, so
    every instance configured with rds-ca-rsa2048-g1 (all of tmsc's) paid that
    extra modify-and-wait. The patch uses AWS's default when none was given;
    an identifier passed to CreateDBInstance, or set by ModifyDBInstance or a
    restore, is kept as moto stores it.
    """
    from moto.rds import models as rds_models

    def init_factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def __init__(self: Any, backend: Any, *args: Any, **kwargs: Any) -> None:
            orig(self, backend, *args, **kwargs)
            if not kwargs.get("ca_certificate_identifier") and self.ca_certificate_identifier == "rds-ca-default":
                self.ca_certificate_identifier = RDS_DEFAULT_CA

        return __init__

    _wrap(rds_models.DBInstance, "__init__", init_factory)


PATCHES = (*PATCHES, patch_ec2_modify_all_protocols_rule, patch_rds_default_ca)
