"""The `tmsc` command: compile, validate, schema, explain, dr-drill.

Exit codes: 0 success, 2 the spec is wrong (every problem printed with its
file:line and fix), 1 anything else (a bug in tmsc: please report it).
`dr-drill` adds its own (see tmsc/drill.py): 3 when the drill finished but
missed the RPO or RTO, 4 when it failed part way.

Importing Typer and building the pydantic adapters it makes for each
parameter is about 8% of the work of compiling the example, so `tmsc compile
SPEC [--out DIR] [--env NAME]`, the command run on every change, is parsed
here when it is given in that plain form and succeeds, and so is `tmsc
validate SPEC`, the pre-commit check (Typer was a third of its time).
Everything else — other commands, --help, unusual arguments, a spec with
errors — goes through the Typer app, which prints and exits exactly as it
always has.
"""

# No `from __future__ import annotations`: the commands are defined inside
# _build_app, and Typer needs their annotations as objects, not as strings it
# would look up among this module's globals.

import errno
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from tmsc.diagnostics import Diagnostic, SpecError

EXIT_SPEC_ERROR = 2
EXIT_INTERNAL_ERROR = 1

_HELP = "Compile a TMS platform spec into AWS Terraform JSON."


def _build_app() -> Any:
    import typer

    app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help=_HELP)

    SpecArg = Annotated[Path, typer.Argument(help="The platform spec, e.g. spec/platform.yaml.", show_default=False)]
    EnvOpt = Annotated[str | None, typer.Option("--env", help="Only this environment.")]

    def fail_spec(error: SpecError) -> None:
        report_spec_error(error)
        raise typer.Exit(EXIT_SPEC_ERROR)

    @app.command()
    def compile(
        spec: SpecArg,
        out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("out"),
        env: EnvOpt = None,
    ) -> None:
        """Write out/<environment>/*.tf.json for every environment (or one) and out/bootstrap*/ (one per AWS account)."""
        try:
            message = _compile(spec, out, env)
        except SpecError as error:
            fail_spec(error)
        typer.echo(message)

    @app.command("out-in-sync")
    def out_in_sync(
        spec: SpecArg,
        out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("out"),
    ) -> None:
        """The pre-commit hook: recompile out/ and fail until git's index holds it as compiled.

        A spec that does not validate gets one line here: `tmsc validate` (its own hook) reports why, once.
        """
        from tmsc.hooks import unstaged
        from tmsc.pipeline import build
        from tmsc.write import write_stacks

        try:
            stacks = build(spec, None)
        except SpecError as error:
            count = len(error.diagnostics)
            typer.echo(
                f"{spec}: {count} error{'s' if count != 1 else ''}, so {out}/ was not recompiled; "
                f"`tmsc validate {spec}` (the tmsc-validate hook) says what to fix.",
                err=True,
            )
            raise typer.Exit(EXIT_SPEC_ERROR) from None
        changed = write_stacks(out, stacks, prune=True)
        differing = unstaged(out)
        if differing:
            shown = ", ".join(differing[:3]) + (f" and {len(differing) - 3} more" if len(differing) > 3 else "")
            typer.echo(f"{out}/ is not staged as compiled ({shown}): review it, then `git add {out}`.", err=True)
            raise typer.Exit(1)
        typer.echo(f"{out}/ is current" if not changed else f"recompiled {len(changed)} files in {out}/")

    @app.command()
    def validate(spec: SpecArg) -> None:
        """Check the spec and its requirements; print every error, write nothing."""
        from tmsc.pipeline import check

        try:
            checked = check(spec)
        except SpecError as error:
            fail_spec(error)
        _warn(checked.warnings)
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
            fail_spec(error)
        if env is not None and env not in checked.plans:
            typer.echo(
                f"error: no environment named {env!r} (choose one of: {', '.join(sorted(checked.plans))})", err=True
            )
            raise typer.Exit(EXIT_SPEC_ERROR)
        plans = [plan for name, plan in sorted(checked.plans.items()) if env in (None, name)]
        for line in explain_lines(plans):
            typer.echo(line)
        if env is None:  # quotas are shared by the environments of an account: the budget is the platform's
            from tmsc.quotas import budget_lines

            for line in budget_lines(checked.spec.platform, checked.plans):
                typer.echo(line)

    @app.command()
    def diff(
        base: Annotated[
            str,
            typer.Argument(
                help="The spec before the change: a file, or git:REV:PATH (e.g. git:origin/main:spec/platform.yaml).",
                show_default=False,
            ),
        ],
        head: Annotated[str, typer.Argument(help="The spec after the change, in the same forms.", show_default=False)],
        env: EnvOpt = None,
        markdown: Annotated[bool, typer.Option("--markdown", help="Markdown, for a pull-request comment.")] = False,
    ) -> None:
        """What a spec change does per environment: requirements, derived settings with their reasons, resources added, removed and changed, and the data stores it destroys or may replace. Exit 0 whatever it finds; 2 when a spec is wrong."""
        from tmsc.diff import diff_specs, markdown_report, read_side, text_report  # not imported by compile

        try:
            before = read_side(base)
            after = read_side(head)
        except SpecError as error:
            fail_spec(error)
        if env is not None and env not in set(before.plans) | set(after.plans):
            known = ", ".join(sorted(set(before.plans) | set(after.plans)))
            typer.echo(f"error: no environment named {env!r} (choose one of: {known})", err=True)
            raise typer.Exit(EXIT_SPEC_ERROR)
        changes = diff_specs(before, after, env)
        sys.stdout.write(markdown_report(changes) if markdown else text_report(changes))

    @app.command()
    def guard(
        plan: Annotated[Path, typer.Argument(help="`terraform show -json` of the saved plan.", show_default=False)],
        env: Annotated[str, typer.Option("--env", help="The environment the plan is of.", show_default=False)],
        spec: Annotated[
            Path, typer.Option("--spec", help="The spec holding the environment's acknowledged_replacements.")
        ] = Path("spec/platform.yaml"),
    ) -> None:
        """Refuse a plan that deletes or replaces a data store (database, cache, broker, bucket, key, secret, state) the spec does not acknowledge. Exit 0 when none is unacknowledged; 2 otherwise, naming each address, the action and the attributes that force it."""
        from tmsc.guard import PlanError, report, unused_acknowledgements
        from tmsc.guard import guard as check_plan
        from tmsc.load import load_spec

        try:
            loaded = load_spec(spec)
            found, errors = check_plan(plan, loaded, env)
        except SpecError as error:
            fail_spec(error)
        except PlanError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(EXIT_SPEC_ERROR) from None
        text = report(found, errors, env, unused_acknowledgements(found, loaded, env))
        typer.echo(text.rstrip("\n"), err=bool(errors))
        if errors:
            raise typer.Exit(EXIT_SPEC_ERROR)

    @app.command()
    def kubernetes(
        spec: SpecArg,
        env: Annotated[str, typer.Option("--env", help="The environment the outputs are of.", show_default=False)],
        outputs: Annotated[
            Path,
            typer.Option(
                "--outputs",
                help="`terraform output -json` of the applied environment (a file, or - for standard input).",
                show_default=False,
            ),
        ],
        out: Annotated[
            Path | None, typer.Option("--out", help="Directory for the manifests (default build/kubernetes/<env>).")
        ] = None,
    ) -> None:
        """Render the Kubernetes manifests of an applied environment: service accounts with their IRSA roles, SecretStores and ExternalSecrets, the API's TargetGroupBinding, the user bootstrap Jobs, the controllers' Helm values. Exit 2 when the spec or the outputs are wrong; the directory is then left as it was."""
        import json

        from tmsc.kubernetes import OutputsError, output_values, render
        from tmsc.pipeline import check

        try:
            checked = check(spec)
        except SpecError as error:
            fail_spec(error)
        source = "standard input" if str(outputs) == "-" else str(outputs)
        try:
            text = sys.stdin.read() if str(outputs) == "-" else outputs.read_text(encoding="utf-8")
            raw = json.loads(text)
            values = output_values(checked.spec.platform, env, raw, source)
        except OSError as error:
            typer.echo(
                f"error: cannot read {source}: {error.strerror}; fix: cd out/{env} && terraform output -json > outputs.json",
                err=True,
            )
            raise typer.Exit(EXIT_SPEC_ERROR) from None
        except json.JSONDecodeError as error:
            typer.echo(
                f"error: {source}:{error.lineno}: not JSON ({error.msg}); fix: pass the output of `terraform output -json`",
                err=True,
            )
            raise typer.Exit(EXIT_SPEC_ERROR) from None
        except OutputsError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(EXIT_SPEC_ERROR) from None
        target = out if out is not None else Path("build") / "kubernetes" / env
        from tmsc.write import replace_directory

        files = render(checked.spec.platform, env, values)
        replace_directory(target, files)
        typer.echo(f"rendered {len(files)} files into {target}/")

    @app.command("dr-drill")
    def dr_drill(
        spec: SpecArg,
        env: Annotated[
            str, typer.Option("--env", help="The environment whose database is restored.", show_default=False)
        ],
        to: Annotated[
            str | None,
            typer.Option(
                "--to",
                help="Restore time, ISO 8601 (UTC without an offset). Default: the latest restorable time (not after --incident-at).",
                show_default=False,
            ),
        ] = None,
        incident_at: Annotated[
            str | None,
            typer.Option(
                "--incident-at",
                help="When the incident began, ISO 8601: data loss and elapsed time are measured from it. Default: the drill's start.",
                show_default=False,
            ),
        ] = None,
        check_only: Annotated[
            bool,
            typer.Option(
                "--check", help="Read-only: find the instance, window and secret; restore and change nothing."
            ),
        ] = False,
        no_repoint: Annotated[
            bool,
            typer.Option(
                "--no-repoint",
                help="Restore and report, but leave the connection secret on the source (a rehearsal on a live environment).",
            ),
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
        poll_interval: Annotated[
            float,
            typer.Option("--poll-interval", min=0.0, help="Seconds between status checks of the restored instance."),
        ] = 30.0,
        timeout: Annotated[
            float | None,
            typer.Option(
                "--timeout",
                min=0.0,
                help="Seconds from the start to give up waiting. Default: the environment's RTO.",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Restore ENV's database to a point in time into a new instance, repoint its connection secret, report data loss and elapsed time against the RPO and RTO.

        Exit codes: 0 within RPO and RTO; 2 refused, nothing changed; 3 done, an objective missed; 4 failed part way. Needs boto3 (the ops extra of tmsc).
        """
        from tmsc.drill import drill_command  # boto3 is imported only here, never by `tmsc compile`
        from tmsc.pipeline import check

        try:
            checked = check(spec)
        except SpecError as error:
            fail_spec(error)
        code = drill_command(
            checked.spec.platform,
            env,
            to=to,
            incident_at=incident_at,
            check_only=check_only,
            repoint=not no_repoint,
            as_json=as_json,
            poll_interval=poll_interval,
            timeout=timeout,
        )
        raise typer.Exit(code)

    return app


_app: Any = None


def typer_app() -> Any:
    """The Typer application, built on first use."""
    global _app
    if _app is None:
        _app = _build_app()
    return _app


def __getattr__(name: str) -> Any:
    """`tmsc.cli.app`, as before the application was built lazily."""
    if name == "app":
        return typer_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _compile(spec: Path, out: Path, env: str | None) -> str:
    """Build every stack (or one environment's) and write them; the summary line. Raises SpecError."""
    from tmsc.pipeline import build
    from tmsc.write import write_stacks

    warnings: list[Diagnostic] = []
    stacks = build(spec, env, warnings)
    changed = write_stacks(out, stacks, prune=env is None)
    _warn(warnings)
    files = sum(len(f) for f in stacks.values())
    return f"compiled {len(stacks)} stacks ({files} files) into {out}/; {len(changed)} changed"


# --------------------------------------------------------------------------- the plain compile, without Typer


def _plain_compile_arguments(args: list[str]) -> tuple[Path, Path, str | None] | None:
    """(spec, out, env) when args are `compile SPEC [--out DIR] [--env NAME]` in a form Typer reads
    the same way (options before or after SPEC, `--opt value` or `--opt=value`, each at most once,
    no value that is empty or starts with '-'); None for anything else."""
    if len(args) < 2 or args[0] != "compile":
        return None
    spec: str | None = None
    options: dict[str, str] = {}
    rest = iter(args[1:])
    for arg in rest:
        if arg.startswith("-"):
            name, eq, value = arg.partition("=")
            if name not in ("--out", "--env") or name in options:
                return None
            if not eq:
                value = next(rest, "")
            if not value or value.startswith("-"):
                return None
            options[name] = value
        elif spec is None:
            spec = arg
        else:
            return None
    if spec is None:
        return None
    spec_path, out_path = Path(spec), Path(options.get("--out", "out"))
    for path in (spec_path, out_path):  # Typer refuses an existing path it cannot read
        if os.path.exists(path) and not os.access(path, os.R_OK):
            return None
    return spec_path, out_path, options.get("--env")


def _plain_validate_argument(args: list[str]) -> Path | None:
    """The spec when args are exactly `validate SPEC` (SPEC not an option); None for anything else."""
    if len(args) != 2 or args[0] != "validate" or not args[1] or args[1].startswith("-"):
        return None
    spec = Path(args[1])
    if os.path.exists(spec) and not os.access(spec, os.R_OK):  # Typer refuses an existing path it cannot read
        return None
    return spec


def report_spec_error(error: SpecError) -> None:
    """Every diagnostic on stderr, then the count (the caller exits EXIT_SPEC_ERROR)."""
    import typer

    for diagnostic in error.diagnostics:
        typer.echo(diagnostic.render(), err=True)
    count = len(error.diagnostics)
    typer.echo(f"{count} error{'s' if count != 1 else ''}; nothing was written.", err=True)


def _validate(spec: Path) -> str:
    """Check the spec; the summary line. Raises SpecError."""
    from tmsc.pipeline import check

    checked = check(spec)
    _warn(checked.warnings)
    return f"{spec}: valid ({len(checked.plans)} environments)"


def _warn(warnings: Sequence[Diagnostic]) -> None:
    """Each warning on stderr (a version AWS still runs, at a cost): the command succeeds all the same."""
    for warning in warnings:
        sys.stderr.write(warning.render() + "\n")


def _without_pydantic_plugins() -> None:
    """Run pydantic with its plugins off, as PYDANTIC_DISABLE_PLUGINS=__all__ does, without loading its plugin finder.

    Pydantic looks for plugins (observability hooks such as Logfire; none checks
    anything) in the entry points of every installed distribution the first
    time it builds a validator, and imports importlib.metadata (and with it
    email, zipfile, csv) to do so: 9% of the instructions of a whole `tmsc
    compile`. The plain compile and validate paths put the disabled loader in
    its place before the model is built; every validator and check is the same.
    """
    name = "pydantic.plugin._loader"
    if name in sys.modules:
        return
    import types

    loader = types.ModuleType(name, "pydantic's plugin loader with every plugin disabled (tmsc.cli)")
    loader.get_plugins = tuple  # type: ignore[attr-defined]  # get_plugins() → () : no plugins
    sys.modules[name] = loader


def _compile_without_typer(args: list[str]) -> bool:
    """Run a plain `tmsc compile` or `tmsc validate` (exiting EXIT_SPEC_ERROR on a refused spec); False (having
    written nothing) when Typer must take over."""
    parsed = _plain_compile_arguments(args)
    spec = _plain_validate_argument(args) if parsed is None else None
    if (parsed is None and spec is None) or any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return False  # not plain, or a shell-completion request
    _without_pydantic_plugins()
    try:
        try:
            message = _compile(*parsed) if parsed is not None else _validate(spec) if spec is not None else ""
        except SpecError as error:
            # Reported here as the Typer command reports it: running the command again through Typer would
            # read (and refuse) the spec a second time, seconds for a large one.
            report_spec_error(error)
            sys.exit(EXIT_SPEC_ERROR)
        _echo(message)
    except KeyboardInterrupt:
        sys.exit(130)  # as Typer exits on Ctrl-C
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        try:  # as Typer does when stdout is closed early
            from typer._click.utils import PacifyFlushWrapper
        except ImportError:  # a Typer release that uses click itself
            # Only one of the two imports runs; mypy takes the second for a redefinition of the name.
            from click.utils import PacifyFlushWrapper  # type: ignore[no-redef]

        sys.stdout = PacifyFlushWrapper(sys.stdout)
        sys.stderr = PacifyFlushWrapper(sys.stderr)
        sys.exit(1)
    return True


def _echo(message: str) -> None:
    """typer.echo(message) for a printable ASCII line, without importing Typer."""
    if not (message.isascii() and message.isprintable()):  # click.echo may rewrite such text
        import typer

        typer.echo(message)
    elif sys.stdout is not None:
        sys.stdout.write(message + "\n")
        sys.stdout.flush()


def main() -> None:
    try:
        # A plain compile or validate runs for a fraction of a second and leaves little cyclic
        # garbage: the cyclic garbage collector stays off for it (its passes over the objects of
        # the imports were 4% of a compile), and the objects it leaves are frozen, which spares the
        # interpreter's collection at exit (4% more). Every other command runs with it on.
        gc.disable()
        try:
            done = _compile_without_typer(sys.argv[1:])
            if done:
                gc.freeze()
        finally:
            gc.enable()
        # Standalone mode: usage errors exit 2 (a spec error of the command line), typer.Exit keeps its code.
        if not done:
            typer_app()()
    except Exception as exc:
        import traceback

        import typer

        traceback.print_exc()
        typer.echo(f"internal error in tmsc: {exc!r} (this is a bug; out/ was not changed)", err=True)
        sys.exit(EXIT_INTERNAL_ERROR)


if __name__ == "__main__":
    main()
