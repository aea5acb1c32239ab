"""The command line: exit codes, the committed schema and out/ in sync with the compiler."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

from tmsc.schema import platform_schema, platform_schema_text

from .conftest import EXAMPLE_SPEC, OUT, REPO

TMSC = [sys.executable, "-m", "tmsc.cli"]


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TMSC, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_committed_schema_is_current() -> None:
    committed = (REPO / "spec" / "platform.schema.json").read_text()
    assert committed == platform_schema_text(), "spec/platform.schema.json is stale: run `make schema`"


def test_schema_is_draft_2020_12_with_id_and_accepts_the_example() -> None:
    schema = platform_schema()
    schema_id = schema["$id"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert isinstance(schema_id, str) and schema_id.startswith("https://")
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(EXAMPLE_SPEC.read_text()))


def test_schema_is_as_strict_as_the_model() -> None:
    validator = jsonschema.Draft202012Validator(platform_schema())
    doc = yaml.safe_load(EXAMPLE_SPEC.read_text())
    doc["services"]["database"]["replicas"] = 2
    assert not validator.is_valid(doc)
    del doc["services"]["database"]["replicas"]
    del doc["services"]["database"]["kind"]
    assert not validator.is_valid(doc)


def test_schema_command_prints_the_schema() -> None:
    result = run("schema")
    assert result.returncode == 0 and json.loads(result.stdout) == platform_schema()


def test_committed_out_is_in_sync_with_the_compiler(tmp_path: Path) -> None:
    result = run("compile", str(EXAMPLE_SPEC), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    fresh = {
        str(p.relative_to(tmp_path / "out")): p.read_bytes() for p in sorted((tmp_path / "out").rglob("*.tf.json"))
    }
    committed = {
        str(p.relative_to(OUT)): p.read_bytes() for p in sorted(OUT.rglob("*.tf.json")) if ".terraform" not in p.parts
    }
    assert fresh == committed, "out/ is stale: run `make compile` and commit it"


def test_compile_one_environment_leaves_the_others(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("compile", str(EXAMPLE_SPEC), "--out", str(out)).returncode == 0
    (out / "prod" / "network.tf.json").write_text("{}\n")
    assert run("compile", str(EXAMPLE_SPEC), "--out", str(out), "--env", "dev").returncode == 0
    assert (out / "prod" / "network.tf.json").read_text() == "{}\n"


def test_compile_one_environment_writes_its_stack_and_the_bootstrap_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("compile", str(EXAMPLE_SPEC), "--out", str(out), "--env", "staging")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["bootstrap", "staging"]
    for stack in ("bootstrap", "staging"):
        for path in (OUT / stack).glob("*.tf.json"):
            assert (out / stack / path.name).read_bytes() == path.read_bytes()


def test_plain_compile_and_validate_load_neither_typer_nor_the_plugin_finder(tmp_path: Path) -> None:
    """The fast paths of cli.main: no Typer, no importlib.metadata (pydantic's plugin search), and validate
    imports no emitter or renderer; the output is that of the Typer commands."""
    probe = ("typer", "click", "importlib.metadata", "tmsc.compile", "tmsc.render", "tmsc.write")
    for args, loaded in (
        (["compile", str(EXAMPLE_SPEC), "--out", str(tmp_path / "out")], {"tmsc.compile", "tmsc.render", "tmsc.write"}),
        (["validate", str(EXAMPLE_SPEC)], set()),
    ):
        code = (
            "import sys\n"
            f"sys.argv = ['tmsc', *{args!r}]\n"
            "from tmsc.cli import main\n"
            "main()\n"
            f"print(sorted(m for m in {probe!r} if m in sys.modules))\n"
        )
        result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        *_, modules = result.stdout.splitlines()
        assert set(ast.literal_eval(modules)) == loaded, result.stdout
    assert run("validate", str(EXAMPLE_SPEC)).stdout == f"{EXAMPLE_SPEC}: valid (3 environments)\n"


def test_validate_and_explain(tmp_path: Path) -> None:
    result = run("validate", str(EXAMPLE_SPEC))
    assert result.returncode == 0 and "valid" in result.stdout
    explained = run("explain", str(EXAMPLE_SPEC), "--env", "prod")
    assert explained.returncode == 0
    assert "prod  database.multi_az = true" in explained.stdout
    assert "← availability 99.9% > 99.5%" in explained.stdout
    assert all(line.startswith("prod ") for line in explained.stdout.splitlines())


def test_unknown_environment_is_a_spec_error(tmp_path: Path) -> None:
    result = run("compile", str(EXAMPLE_SPEC), "--out", str(tmp_path / "out"), "--env", "qa")
    assert result.returncode == 2 and "no environment named 'qa'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_usage_error_exits_2_and_internal_errors_exit_1(tmp_path: Path) -> None:
    assert run("compile").returncode == 2
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output directory should be")
    result = run("compile", str(EXAMPLE_SPEC), "--out", str(blocker))
    assert result.returncode == 1 and "internal error" in result.stderr
