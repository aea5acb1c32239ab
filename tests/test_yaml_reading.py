"""One reading of YAML (issue 13, item 5): tmsc reads a spec as check-jsonschema and editors do, or refuses.

tests/yaml_ambiguities/ holds plain scalars on which YAML 1.1 (PyYAML) and
YAML 1.2 (the core schema of editors' YAML servers; ruamel.yaml in
check-jsonschema) can disagree. Each file starts with comment lines:

    # <what the case is>
    # expect-line: N      refused at line N, with every `# expect:` substring in the message
    # expect: <text>
    # reads-alike         or: accepted, and read exactly as check-jsonschema reads it
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from check_jsonschema.parsers import ParserSet  # type: ignore[import-untyped]

from tmsc.diagnostics import SpecError
from tmsc.load import parse_yaml

CORPUS = Path(__file__).resolve().parent / "yaml_ambiguities"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


def header(path: Path) -> tuple[int | None, list[str]]:
    """(line, expected substrings) of a refused case; (None, []) of one read alike."""
    line: int | None = None
    expects: list[str] = []
    alike = False
    for text in path.read_text().splitlines():
        if not text.startswith("#"):
            break
        if m := re.fullmatch(r"# expect-line: (\d+)", text):
            line = int(m.group(1))
        elif m := re.fullmatch(r"# expect: (.+)", text):
            expects.append(m.group(1))
        elif text == "# reads-alike":
            alike = True
    assert alike != (line is not None), f"{path.name}: give either '# reads-alike' or '# expect-line: N'"
    assert alike or expects, f"{path.name}: a refused case needs '# expect: ...'"
    return line, expects


CASES = sorted(CORPUS.glob("*.yaml"))
REFUSED = [p for p in CASES if header(p)[0] is not None]
ALIKE = [p for p in CASES if header(p)[0] is None]


def check_jsonschema_reading(path: Path) -> Any:
    """The data check-jsonschema validates for a YAML file (its own ruamel.yaml set-up)."""
    return ParserSet().parse_data_with_path(path.read_bytes(), path, "yaml")


def same(a: Any, b: Any) -> bool:
    """Equal as values and as types (True is not 1), NaN equal to NaN."""
    if type(a) is not type(b):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and a == b
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def test_corpus_covers_the_issues_examples() -> None:
    assert len(CASES) >= 30 and len(REFUSED) >= 15 and len(ALIKE) >= 10
    written = "\n".join(p.read_text() for p in REFUSED)
    for scalar in ("22:00", " no\n", " on\n", "0o17", "1_000", "-0x1F", "yes", "1e3", "2024-01-01"):
        assert scalar in written, f"no refused case writes {scalar!r}"


@pytest.mark.parametrize("path", REFUSED, ids=[p.stem for p in REFUSED])
def test_an_ambiguous_scalar_is_refused_with_its_fix(path: Path) -> None:
    line, expects = header(path)
    with pytest.raises(SpecError) as refused:
        parse_yaml(path.read_text(), str(path))
    rendered = str(refused.value)
    assert f"{path}:{line}: error: " in rendered, rendered
    assert "means different things to YAML readers" in rendered and "\n    fix: " in rendered, rendered
    for expected in expects:
        assert expected in rendered, f"expected {expected!r} in:\n{rendered}"


@pytest.mark.parametrize("path", ALIKE, ids=[p.stem for p in ALIKE])
def test_an_accepted_scalar_reads_as_check_jsonschema_reads_it(path: Path) -> None:
    data, _ = parse_yaml(path.read_text(), str(path))
    theirs = check_jsonschema_reading(path)
    assert same(data, theirs), f"tmsc reads {data!r}, check-jsonschema {theirs!r}"


def test_check_jsonschema_itself_agrees(tmp_path: Path) -> None:
    """End to end, in one run: check-jsonschema accepts every file read alike against the values tmsc read."""
    files = [p for p in ALIKE if "inf" not in p.read_text()]  # JSON has no infinity to write in a const
    consts = [parse_yaml(p.read_text(), str(p))[0] for p in files]
    schema = tmp_path / "what-tmsc-read.json"
    schema.write_text(json.dumps({"anyOf": [{"const": const} for const in consts]}))
    proc = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--schemafile", str(schema), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_example_spec_has_nothing_ambiguous() -> None:
    example = Path(__file__).resolve().parent.parent / "spec" / "platform.yaml"
    data, _ = parse_yaml(example.read_text(), str(example))
    assert same(data, check_jsonschema_reading(example))
