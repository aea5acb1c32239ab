"""The `tmsc` command: compile, validate, schema, explain.

Exit codes: 0 success, 2 the spec is wrong (every problem printed with its
file:line and fix), 1 anything else (a bug in tmsc: please report it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from tmsc.diagnostics import SpecError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="Compile a TMS platform spec into AWS Terraform JSON.")

EXIT_SPEC_ERROR = 2
EXIT_INTERNAL_ERROR = 1

SpecArg = Annotated[Path, typer.Argument(help="The platform spec, e.g. spec/platform.yaml.", show_default=False)]
EnvOpt = Annotated[Optional[str], typer.Option("--env", help="Only this environment.")]


def _fail_spec(error: SpecError) -> None:
    for diagnostic in error.diagnostics:
        typer.echo(diagnostic.render(), err=True)
    count = len(error.diagnostics)
    typer.echo(f"{count} error{'s' if count != 1 else ''}; nothing was written.", err=True)
    raise typer.Exit(EXIT_SPEC_ERROR)


@app.command()
def compile(spec: SpecArg, out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("out"), env: EnvOpt = None) -> None:
    """Write out/<environment>/*.tf.json for every environment (or one) and out/bootstrap/."""
    from tmsc.pipeline import build
    from tmsc.write import write_stacks

    try:
        stacks = build(spec, env)
    except SpecError as error:
        _fail_spec(error)
    changed = write_stacks(out, stacks, prune=env is None)
    files = sum(len(f) for f in stacks.values())
    typer.echo(f"compiled {len(stacks)} stacks ({files} files) into {out}/; {len(changed)} changed")


@app.command()
def validate(spec: SpecArg) -> None:
    """Check the spec and its requirements; print every error, write nothing."""
    from tmsc.pipeline import check

    try:
        checked = check(spec)
    except SpecError as error:
        _fail_spec(error)
    typer.echo(f"{spec}: valid ({len(checked.plans)} environments)")


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec (draft 2020-12)."""
    from tmsc.schema import platform_schema_text

    sys.stdout.write(platform_schema_text())


@app.command()
def explain(spec: SpecArg, env: EnvOpt = None) -> None:
    """List every derived setting with the requirement that caused it."""
    from tmsc.explain import explain_lines
    from tmsc.pipeline import check

    try:
        checked = check(spec)
    except SpecError as error:
        _fail_spec(error)
    if env is not None and env not in checked.plans:
        typer.echo(f"error: no environment named {env!r} (choose one of: {', '.join(sorted(checked.plans))})", err=True)
        raise typer.Exit(EXIT_SPEC_ERROR)
    plans = [plan for name, plan in sorted(checked.plans.items()) if env in (None, name)]
    for line in explain_lines(plans):
        typer.echo(line)


def main() -> None:
    try:
        # Standalone mode: usage errors exit 2 (a spec error of the command line), typer.Exit keeps its code.
        app()
    except Exception as exc:
        import traceback

        traceback.print_exc()
        typer.echo(f"internal error in tmsc: {exc!r} (this is a bug; out/ was not changed)", err=True)
        sys.exit(EXIT_INTERNAL_ERROR)


if __name__ == "__main__":
    main()
