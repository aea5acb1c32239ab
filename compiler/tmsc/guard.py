"""`tmsc guard PLAN_JSON`: refuse a Terraform plan that deletes or replaces a data store, unless acknowledged.

The plan is `terraform show -json` of a saved plan. What Terraform will do to
each resource is its own word: `resource_changes[].change.actions` (["delete"],
["delete", "create"], ["create", "delete"]) and, for a replacement, the
attribute paths that force it (`change.replace_paths`) and why
(`action_reason`). No hand-kept table is involved: that is `tmsc diff`'s
prediction, this is the check.

A deletion or replacement of a resource of model.STATEFUL_RESOURCE_TYPES is
refused (exit 2, naming the address, the action and the attributes), unless
the environment's `acknowledged_replacements` names that address with a
reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from tmsc.diagnostics import Diagnostic, SpecError
from tmsc.diff import DATA_HOLDING, MIGRATION_PATHS
from tmsc.load import LoadedSpec
from tmsc.model import STATEFUL_RESOURCE_TYPES

# Terraform's action_reason values (internal/plans/resourceinstancechangeactionreason.go), in words.
ACTION_REASONS = {
    "replace_because_cannot_update": "the provider cannot update these in place",
    "replace_because_tainted": "the resource is tainted",
    "replace_by_request": "-replace asked for it",
    "replace_by_triggers": "replace_triggered_by asked for it",
    "delete_because_no_resource_config": "it is no longer in the configuration",
    "delete_because_no_module": "its module is no longer in the configuration",
    "delete_because_wrong_repetition": "its count or for_each changed",
    "delete_because_count_index": "its count index is gone",
    "delete_because_each_key": "its for_each key is gone",
    "delete_because_no_move_target": "its moved target does not exist",
}


@attrs.frozen
class Finding:
    address: str
    resource_type: str
    action: str  # "delete", "replace (destroy, then create)", "replace (create, then destroy)"
    forced_by: tuple[str, ...]
    reason: str | None
    acknowledged: str | None  # the acknowledgement's reason, if any

    def render(self) -> str:
        forced = f" forced by {', '.join(self.forced_by)}" if self.forced_by else ""
        why = f" ({ACTION_REASONS.get(self.reason, self.reason)})" if self.reason else ""
        holds = DATA_HOLDING.get(self.resource_type, "data store")
        return f"{self.address}: {self.action}{forced}{why}: the {holds} it holds is lost"


class PlanError(Exception):
    """The file is not the JSON of a Terraform plan guard can read."""


def read_plan(path: Path) -> dict[str, Any]:
    try:
        plan = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise PlanError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno}); give `terraform show -json PLANFILE`"
        ) from None
    if not isinstance(plan, dict) or "format_version" not in plan or "terraform_version" not in plan:
        raise PlanError(f"{path}: not a Terraform plan in JSON; give `terraform show -json PLANFILE`")
    if plan.get("errored"):
        raise PlanError(f"{path}: the plan errored, so what it would change is not known: fix the plan first")
    changes = plan.get("resource_changes", [])
    if not isinstance(changes, list):
        raise PlanError(f"{path}: resource_changes is not a list")
    return plan


def findings(plan: dict[str, Any], acknowledged: dict[str, str]) -> Iterator[Finding]:
    """Every deletion or replacement of a data-holding resource in the plan."""
    for change in plan.get("resource_changes", []):
        if change.get("mode") != "managed" or change.get("type") not in STATEFUL_RESOURCE_TYPES:
            continue
        actions = list((change.get("change") or {}).get("actions") or [])
        if "delete" not in actions:
            continue
        if actions == ["delete"]:
            action = "delete"
        elif actions == ["create", "delete"]:
            action = "replace (create, then destroy)"
        else:
            action = "replace (destroy, then create)"
        paths = (change.get("change") or {}).get("replace_paths") or []
        address = str(change.get("address"))
        yield Finding(
            address,
            str(change.get("type")),
            action,
            tuple(dict.fromkeys(_path_text(p) for p in paths)),
            change.get("action_reason"),
            acknowledged.get(address) or acknowledged.get(_without_module(address)),
        )


def _path_text(path: list[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _without_module(address: str) -> str:
    parts = address.split(".")
    while len(parts) > 2 and parts[0] == "module":
        parts = parts[2:]
    return ".".join(parts)


def guard(plan_path: Path, spec: LoadedSpec, environment: str) -> tuple[list[Finding], list[Diagnostic]]:
    """(findings, errors): every stateful deletion or replacement, and a diagnostic for each not acknowledged."""
    if environment not in spec.platform.environments:
        raise SpecError(
            [
                Diagnostic(
                    spec.file,
                    spec.positions.line_of(("environments",)),
                    "environments",
                    f"no environment named {environment!r}",
                    f"choose one of: {', '.join(sorted(spec.platform.environments))}",
                )
            ]
        )
    env = spec.platform.environments[environment]
    acknowledged = {a.resource: a.reason for a in env.acknowledged_replacements}
    found = list(findings(read_plan(plan_path), acknowledged))
    errors = []
    for finding in found:
        if finding.acknowledged is not None:
            continue
        migration = MIGRATION_PATHS.get(finding.resource_type)
        hint = (
            f"{'avoid it: ' + migration + '. Or ' if migration else ''}acknowledge it with a reason in {spec.file}: "
            f"environments.{environment}.acknowledged_replacements: "
            f"[{{resource: {_without_module(finding.address)}, reason: ...}}]"
        )
        errors.append(Diagnostic(str(plan_path), None, "", finding.render(), hint))
    return found, errors


def unused_acknowledgements(found: list[Finding], spec: LoadedSpec, environment: str) -> list[str]:
    """Acknowledged addresses this plan neither deletes nor replaces: stale once their replacement is applied."""
    used = {f.address for f in found} | {_without_module(f.address) for f in found}
    return [
        a.resource for a in spec.platform.environments[environment].acknowledged_replacements if a.resource not in used
    ]


def report(found: list[Finding], errors: list[Diagnostic], environment: str, unused: Sequence[str] = ()) -> str:
    lines = [d.render() for d in errors]
    for finding in found:
        if finding.acknowledged is not None:
            lines.append(f"acknowledged: {finding.render()}\n    reason: {finding.acknowledged}")
    for address in unused:
        lines.append(
            f"note: {address} is acknowledged in environments.{environment}.acknowledged_replacements but this plan "
            "does not replace it: remove the entry once its replacement is applied"
        )
    if not found:
        lines.append(f"guard: {environment}: the plan deletes and replaces no data store")
    elif errors:
        lines.append(
            f"guard: {environment}: {len(errors)} of {len(found)} deletion(s) or replacement(s) of data stores "
            "not acknowledged; the plan must not be applied"
        )
    else:
        lines.append(f"guard: {environment}: {len(found)} deletion(s) or replacement(s), each acknowledged in the spec")
    return "\n".join(lines) + "\n"
