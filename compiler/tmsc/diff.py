"""`tmsc diff BASE HEAD`: what a spec change does, said before anything is planned or applied.

Both specs are loaded, derived and compiled in memory. Per environment the
report gives the requirements that changed, the derived settings that changed
with the reason before and after, the resources added, removed and changed by
address, and a warning for each change that destroys or may replace a
resource that holds data, or that a `prevent_destroy` forbids.

Which attribute changes force a replacement is the AWS provider's knowledge,
and Terraform's provider schema JSON does not record it (no ForceNew /
RequiresReplace; tests/provider_schema holds the schema and has no such
field). `diff` therefore says "may replace" from MAY_REPLACE below, a small
table of the provider's documented "forces new resource" arguments of the
data-holding types tmsc emits, and leaves the authoritative check to
`tmsc guard`, which reads Terraform's own plan.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from tmsc.derive import EnvironmentPlan, Infeasible, plan_platform
from tmsc.diagnostics import Diagnostic, SpecError
from tmsc.explain import format_value
from tmsc.load import LoadedSpec, load_spec, load_spec_text

# Resource types that hold data (or the state itself): destroying or replacing one loses it.
DATA_HOLDING = {
    "aws_db_instance": "database",
    "aws_db_instance_automated_backups_replication": "replicated database backups",
    "aws_elasticache_replication_group": "cache",
    "aws_mq_broker": "message broker (its queued messages)",
    "aws_s3_bucket": "bucket",
    "aws_kms_key": "KMS key (everything encrypted with it)",
    "aws_secretsmanager_secret": "secret",
    "aws_dynamodb_table": "table (the state lock)",
}

# Arguments the AWS provider (hashicorp/aws 5.x) documents as "Forces new resource", for the data-holding
# types tmsc emits. Source: the provider's resource documentation, as of 2026-12-02. The knowledge is the
# provider's: `tmsc guard` reads the replacements from Terraform's plan itself.
MAY_REPLACE: dict[str, frozenset[str]] = {
    "aws_mq_broker": frozenset(
        {
            "broker_name",
            "deployment_mode",
            "engine_type",
            "encryption_options",
            "publicly_accessible",
            "storage_type",
            "subnet_ids",
            "authentication_strategy",
        }
    ),
    "aws_db_instance": frozenset(
        {
            "identifier",
            "identifier_prefix",
            "engine",
            "db_name",
            "username",
            "kms_key_id",
            "storage_encrypted",
            "availability_zone",
            "character_set_name",
            "timezone",
            "replicate_source_db",
            "restore_to_point_in_time",
            "snapshot_identifier",
        }
    ),
    "aws_elasticache_replication_group": frozenset(
        {
            "replication_group_id",
            "at_rest_encryption_enabled",
            "kms_key_id",
            "subnet_group_name",
            "port",
            "snapshot_arns",
            "snapshot_name",
            "preferred_cache_cluster_azs",
        }
    ),
    "aws_s3_bucket": frozenset({"bucket", "bucket_prefix", "object_lock_enabled"}),
    "aws_kms_key": frozenset({"customer_master_key_spec", "key_usage", "multi_region", "custom_key_store_id"}),
    "aws_secretsmanager_secret": frozenset({"name", "name_prefix"}),
    "aws_dynamodb_table": frozenset({"name", "hash_key", "range_key"}),
    "aws_db_instance_automated_backups_replication": frozenset({"source_db_instance_arn", "kms_key_id"}),
}

# Where AWS offers a way around the replacement, the path to take instead (issue 13, item 3).
MIGRATION_PATHS: dict[str, str] = {
    "aws_mq_broker": (
        "Amazon MQ cannot change a broker's deployment mode or subnets in place. To keep the messages: add a second "
        "rabbitmq service beside this one (the new broker), point the connection secret the workloads read at it, "
        "let consumers drain the old broker's queues, then remove the old service; or acknowledge the replacement "
        "(environments.<env>.acknowledged_replacements) when its queues may be lost"
    ),
    "aws_db_instance": (
        "restore a snapshot or a point in time into a new instance (tmsc dr-drill rehearses it), repoint the "
        "connection secret, then remove the old one"
    ),
    "aws_s3_bucket": "copy the objects to the new bucket (S3 Batch Replication) before the old one is removed",
}

# What the spec says in each environment, and so what a requirement change is.
_REQUIREMENT_KEYS = ("purpose", "availability", "recovery", "network", "sizing", "cluster_public_access_cidrs")


@attrs.frozen
class SettingChange:
    environment: str
    setting: str
    before: str
    after: str
    reason_before: str
    reason_after: str


@attrs.frozen
class ResourceChange:
    stack: str
    address: str
    action: str  # "add", "remove", "change"
    attributes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # the migration path that avoids losing the data


@attrs.frozen
class StackDiff:
    name: str
    status: str  # "both", "added", "removed"
    requirements: tuple[tuple[str, str, str], ...]  # key path, before, after
    settings: tuple[SettingChange, ...]
    resources: tuple[ResourceChange, ...]

    @property
    def warnings(self) -> tuple[tuple[str, str], ...]:
        return tuple((r.address, w) for r in self.resources for w in r.warnings)

    @property
    def notes(self) -> tuple[tuple[str, str], ...]:
        return tuple((r.address, n) for r in self.resources for n in r.notes)

    @property
    def empty(self) -> bool:
        return not (self.requirements or self.settings or self.resources) and self.status == "both"


@attrs.frozen
class SpecDiff:
    base: str
    head: str
    stacks: tuple[StackDiff, ...]

    @property
    def warnings(self) -> tuple[tuple[str, str, str], ...]:
        return tuple((s.name, address, w) for s in self.stacks for address, w in s.warnings)


# --------------------------------------------------------------------------- reading the two specs


@attrs.frozen
class Side:
    """One side of the comparison: the spec, its plans and its compiled stacks (stack → address → body)."""

    label: str
    spec: LoadedSpec
    plans: dict[str, EnvironmentPlan]
    resources: dict[str, dict[str, dict[str, Any]]]


def read_side(reference: str, *, cwd: Path | None = None) -> Side:
    """A spec file, or `git:REV:path` (the file as of a git revision). Raises SpecError."""
    if reference.startswith("git:"):
        revision, colon, path = reference[4:].partition(":")
        if not colon or not revision or not path:
            raise SpecError(
                [
                    Diagnostic(
                        reference,
                        None,
                        "",
                        "is not a git reference",
                        "write git:REVISION:PATH, e.g. git:main:spec/platform.yaml",
                    )
                ]
            )
        shown = subprocess.run(
            ["git", "show", f"{revision}:{path}"],
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        if shown.returncode != 0:
            raise SpecError(
                [
                    Diagnostic(
                        reference,
                        None,
                        "",
                        f"git cannot show it: {shown.stderr.strip().splitlines()[-1] if shown.stderr.strip() else 'unknown error'}",
                        "name a revision that exists (a branch, tag or commit) and the spec's path from the repository root",
                    )
                ]
            )
        spec = load_spec_text(shown.stdout, f"{revision}:{path}")
    else:
        spec = load_spec(Path(reference))
    try:
        plans = plan_platform(spec.platform)
    except Infeasible as exc:
        raise SpecError([spec.diagnostic(r.path, r.message, r.hint) for r in exc.refusals]) from None
    return Side(reference, spec, plans, compiled_resources(spec))


def compiled_resources(spec: LoadedSpec) -> dict[str, dict[str, dict[str, Any]]]:
    """stack name → resource address → body, as `tmsc compile` would write them (compiled in memory)."""
    from tmsc.compile import compile_platform
    from tmsc.render import stack_documents

    result: dict[str, dict[str, dict[str, Any]]] = {}
    for stack in compile_platform(spec.platform):
        resources: dict[str, dict[str, Any]] = {}
        for document in stack_documents(stack).values():
            for kind, named in document.get("resource", {}).items():
                for name, body in named.items():
                    resources[f"{kind}.{name}"] = json.loads(json.dumps(body))  # plain data, no IR objects
        result[stack.name] = resources
    return result


# --------------------------------------------------------------------------- comparing


def diff_specs(base: Side, head: Side, only: str | None = None) -> SpecDiff:
    stacks = []
    for name in sorted(set(base.resources) | set(head.resources), key=lambda n: (n == "bootstrap", n)):
        if only is not None and name != only:
            continue
        status = (
            "both"
            if name in base.resources and name in head.resources
            else "added"
            if name in head.resources
            else "removed"
        )
        stacks.append(
            StackDiff(
                name,
                status,
                tuple(_requirement_changes(base, head, name)),
                tuple(_setting_changes(base.plans.get(name), head.plans.get(name))),
                tuple(_resource_changes(name, base.resources.get(name, {}), head.resources.get(name, {}))),
            )
        )
    return SpecDiff(base.label, head.label, tuple(stacks))


def _requirement_changes(base: Side, head: Side, name: str) -> Iterator[tuple[str, str, str]]:
    before_env = base.spec.platform.environments.get(name)
    after_env = head.spec.platform.environments.get(name)
    if before_env is None or after_env is None:
        return
    before = _flatten(before_env.model_dump(mode="json", include=set(_REQUIREMENT_KEYS)))
    after = _flatten(after_env.model_dump(mode="json", include=set(_REQUIREMENT_KEYS)))
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            yield key, _show(before.get(key)), _show(after.get(key))


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def _show(value: Any) -> str:
    return "—" if value is None else json.dumps(value) if not isinstance(value, (int, float)) else f"{value:g}"


def _setting_changes(before: EnvironmentPlan | None, after: EnvironmentPlan | None) -> Iterator[SettingChange]:
    if before is None or after is None:
        return
    old = dict(before.decisions())
    for setting, decision in after.decisions():
        was = old.get(setting)
        if was is None or format_value(was.value) != format_value(decision.value):
            yield SettingChange(
                after.name,
                setting,
                format_value(was.value) if was is not None else "—",
                format_value(decision.value),
                was.reason if was is not None else "(a new setting)",
                decision.reason,
            )


def _resource_changes(
    stack: str, before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]]
) -> Iterator[ResourceChange]:
    changed: dict[str, tuple[str, ...]] = {}
    for address in sorted(set(before) & set(after)):
        attributes = _changed_attributes(before[address], after[address])
        if attributes:
            changed[address] = attributes
    # A replaced or removed resource changes what refers to it: an argument that forces a new resource and
    # refers to it changes too (a new KMS key's ARN), so the replacement cascades.
    replaced = {a for a in set(before) - set(after)} | {
        a for a, attributes in changed.items() if _forcing(a, attributes)
    }
    while True:
        more = {
            address: tuple(sorted(set(changed.get(address, ())) | set(refs)))
            for address in sorted(set(before) & set(after))
            if address not in replaced and (refs := _forcing(address, _referring(after[address], replaced)))
        }
        if not more:
            break
        changed.update(more)
        replaced |= set(more)
    for address in sorted(set(before) | set(after)):
        if address not in after:
            warnings = tuple(_warnings(address, "remove", (), before[address]))
            yield ResourceChange(stack, address, "remove", (), warnings, _notes(address, warnings))
        elif address not in before:
            yield ResourceChange(stack, address, "add")
        elif address in changed:
            warnings = tuple(_warnings(address, "change", changed[address], after[address]))
            yield ResourceChange(stack, address, "change", changed[address], warnings, _notes(address, warnings))


def _changed_attributes(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    ignored = set((after.get("lifecycle") or {}).get("ignore_changes") or ())
    keys = (set(before) | set(after)) - {"//", "lifecycle", "depends_on", "provider"} - ignored
    return tuple(sorted(k for k in keys if before.get(k) != after.get(k)))


def _resource_type(address: str) -> str:
    return address.split(".", 1)[0]


def _forcing(address: str, attributes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(a for a in attributes if a in MAY_REPLACE.get(_resource_type(address), ()))


_REFERENCE = re.compile(r"\$\{([a-z0-9_]+\.[A-Za-z0-9_-]+)[.\[]")


def _referring(body: dict[str, Any], addresses: set[str]) -> list[str]:
    """The body's top-level arguments whose value refers to one of addresses."""
    return [key for key, value in body.items() if any(m in addresses for m in _REFERENCE.findall(json.dumps(value)))]


def _warnings(address: str, action: str, attributes: tuple[str, ...], body: dict[str, Any]) -> Iterator[str]:
    """Warnings of a data store's change; body is what the configuration will say (before, for a removal)."""
    kind = _resource_type(address)
    holds = DATA_HOLDING.get(kind)
    forcing = _forcing(address, attributes)
    # Terraform enforces prevent_destroy only for a resource still in the configuration: not for a removal.
    protected = action == "change" and bool((body.get("lifecycle") or {}).get("prevent_destroy"))
    if holds is None:
        return
    if action == "remove":
        yield f"destroys this {holds}"
    elif forcing:
        yield (
            f"may replace this {holds}: the AWS provider documents {' and '.join(forcing)} as forcing a new "
            "resource, so Terraform destroys it and creates another (tmsc guard checks the plan)"
        )
    else:
        return
    if protected:
        yield (
            "prevent_destroy forbids it: terraform plan fails until the data is migrated, or the replacement is "
            "acknowledged (environments.<env>.acknowledged_replacements, which lifts prevent_destroy for it)"
        )


def _notes(address: str, warnings: tuple[str, ...]) -> tuple[str, ...]:
    path = MIGRATION_PATHS.get(_resource_type(address))
    return (f"to keep the data: {path}",) if warnings and path else ()


# --------------------------------------------------------------------------- reports


def _stack_title(stack: StackDiff) -> str:
    return {"added": f"{stack.name} (new environment)", "removed": f"{stack.name} (environment removed)"}.get(
        stack.status, stack.name
    )


def text_report(diff: SpecDiff) -> str:
    lines = [f"tmsc diff {diff.base} → {diff.head}"]
    if all(s.empty for s in diff.stacks):
        return lines[0] + "\nno change to any environment\n"
    for stack in diff.stacks:
        if stack.empty:
            continue
        lines += ["", _stack_title(stack)]
        for key, before, after in stack.requirements:
            lines.append(f"  requirement  {key}: {before} → {after}")
        for s in stack.settings:
            lines.append(f"  derived      {s.setting}: {s.before} → {s.after}")
            lines.append(f"                 was: {s.reason_before}")
            lines.append(f"                 now: {s.reason_after}")
        counts = _counts(stack)
        if counts:
            lines.append(f"  resources    {counts}")
        marks = {"add": "+", "remove": "-", "change": "~"}
        for r in stack.resources:
            detail = f" ({', '.join(r.attributes)})" if r.attributes else ""
            lines.append(f"    {marks[r.action]} {r.address}{detail}")
        for address, warning in stack.warnings:
            lines.append(f"  WARNING {address}: {warning}")
        for address, note in stack.notes:
            lines.append(f"  note    {address}: {note}")
    total = len(diff.warnings)
    lines += ["", f"{total} warning{'s' if total != 1 else ''}" + (": run `tmsc guard` on the plan" if total else "")]
    return "\n".join(lines) + "\n"


def markdown_report(diff: SpecDiff) -> str:
    lines = [f"### `tmsc diff` {diff.base} → {diff.head}", ""]
    if all(s.empty for s in diff.stacks):
        return "\n".join([*lines, "No change to any environment.", ""])
    if diff.warnings:
        lines.append(f"> [!WARNING]\n> {len(diff.warnings)} change(s) destroy or may replace data: see below.")
        lines.append("")
    for stack in diff.stacks:
        if stack.empty:
            continue
        lines += [f"#### {_stack_title(stack)}", ""]
        for address, warning in stack.warnings:
            lines.append(f"- :warning: `{address}` {_md(warning)}")
        for address, note in stack.notes:
            lines.append(f"- `{address}`: {_md(note)}")
        if stack.warnings:
            lines.append("")
        if stack.requirements:
            lines += ["| requirement | before | after |", "|---|---|---|"]
            lines += [f"| `{k}` | {_md(b)} | {_md(a)} |" for k, b, a in stack.requirements]
            lines.append("")
        if stack.settings:
            lines += ["| derived setting | before | after | why |", "|---|---|---|---|"]
            for s in stack.settings:
                why = f"was: {_md(s.reason_before)}<br>now: {_md(s.reason_after)}"
                lines.append(f"| `{s.setting}` | `{_md(s.before)}` | `{_md(s.after)}` | {why} |")
            lines.append("")
        if stack.resources:
            lines += [f"<details><summary>resources: {_counts(stack)}</summary>", "", "```diff"]
            marks = {"add": "+", "remove": "-", "change": "!"}
            for r in stack.resources:
                detail = f" ({', '.join(r.attributes)})" if r.attributes else ""
                lines.append(f"{marks[r.action]} {r.address}{detail}")
            lines += ["```", "", "</details>", ""]
    lines.append(
        "Replacements are predicted from the AWS provider's documented force-new arguments; `tmsc guard` "
        "checks Terraform's plan itself and refuses an unacknowledged one."
    )
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _counts(stack: StackDiff) -> str:
    actions = [r.action for r in stack.resources]
    parts = [(actions.count(a), word) for a, word in (("add", "added"), ("remove", "removed"), ("change", "changed"))]
    return ", ".join(f"{n} {word}" for n, word in parts if n)
