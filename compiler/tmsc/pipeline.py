"""The compiler's front door: spec file → checked plans → rendered stacks, with errors located in the spec."""

from __future__ import annotations

from pathlib import Path

import attrs

from tmsc.derive import EnvironmentPlan, Infeasible, plan_platform
from tmsc.diagnostics import Diagnostic, SpecError
from tmsc.load import LoadedSpec, load_spec


@attrs.frozen
class Checked:
    spec: LoadedSpec
    plans: dict[str, EnvironmentPlan]


def check(path: Path | str) -> Checked:
    """Load, validate and derive. Raises SpecError (with file:line) for anything the spec gets wrong."""
    spec = load_spec(path)
    try:
        plans = plan_platform(spec.platform)
    except Infeasible as exc:
        raise SpecError([spec.diagnostic(r.path, r.message, r.hint) for r in exc.refusals]) from None
    return Checked(spec, plans)


def build(path: Path | str, only: str | None = None) -> dict[str, dict[str, str]]:
    """stack name → file name → Terraform JSON text, entirely in memory."""
    # Imported here: `tmsc validate` (check alone, the pre-commit path) needs no emitter or renderer.
    from tmsc.compile import compile_platform
    from tmsc.render import render_stack

    checked = check(path)
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
