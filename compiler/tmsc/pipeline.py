"""The compiler's front door: spec file → checked plans → rendered stacks, with errors located in the spec."""

from __future__ import annotations

from pathlib import Path

import attrs

from tmsc import quotas
from tmsc.derive import EnvironmentPlan, Infeasible, plan_platform, version_findings
from tmsc.diagnostics import Diagnostic, SpecError
from tmsc.load import LoadedSpec, load_spec


@attrs.frozen
class Checked:
    spec: LoadedSpec
    plans: dict[str, EnvironmentPlan]
    # What AWS still accepts at a cost (a version in extended support), located in the spec.
    warnings: tuple[Diagnostic, ...] = ()


def check(path: Path | str) -> Checked:
    """Load, validate and derive. Raises SpecError (with file:line) for anything the spec gets wrong."""
    spec = load_spec(path)
    try:
        plans = plan_platform(spec.platform)
    except Infeasible as exc:
        raise SpecError([spec.diagnostic(r.path, r.message, r.hint) for r in exc.refusals]) from None
    over = quotas.refusals(spec.platform, plans)
    if over:
        raise SpecError([spec.diagnostic(r.path, r.message, r.hint) for r in over])
    _, found = version_findings(spec.platform)
    warnings = tuple(attrs.evolve(spec.diagnostic(w.path, w.message, w.hint), severity="warning") for w in found)
    return Checked(spec, plans, warnings)


def build(
    path: Path | str, only: str | None = None, warnings: list[Diagnostic] | None = None
) -> dict[str, dict[str, str]]:
    """stack name → file name → Terraform JSON text, entirely in memory; the spec's warnings appended to `warnings`."""
    # Imported here: `tmsc validate` (check alone, the pre-commit path) needs no emitter or renderer.
    from tmsc.compile import compile_platform
    from tmsc.render import render_stack

    checked = check(path)
    if warnings is not None:
        warnings.extend(checked.warnings)
    platform = checked.spec.platform
    if only is not None and only not in platform.environments:
        raise SpecError(
            [
                Diagnostic(
                    checked.spec.file,
                    checked.spec.positions.line_of(("environments",)),
                    "environments",
                    f"no environment named {only!r}",
                    f"choose one of: {', '.join(sorted(platform.environments))}",
                )
            ]
        )
    return {stack.name: render_stack(stack) for stack in compile_platform(platform, only)}
