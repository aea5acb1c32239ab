"""Fuzzing the front end: whatever the file holds, tmsc compiles it or refuses it cleanly.

Every example is written to a spec file and compiled in-process through
tmsc.pipeline.build (read → YAML → model → derive → emit → render), the same
path `tmsc compile` takes before it writes. The only outcomes allowed:

- the spec compiles, and every rendered file is JSON;
- a SpecError whose every diagnostic names the spec file, says what is wrong,
  and gives a line within the file whenever the text is readable YAML input
  (decodable UTF-8 under the size limit: a file-level problem has no line).

Anything else raised (KeyError, RecursionError, a pydantic error escaping the
loader...) is a bug, and Hypothesis shrinks it to a small reproducer.

Inputs, from least to most spec-like:
- raw bytes and raw text, and text from an alphabet of YAML punctuation;
- arbitrary documents (st.recursive over scalars, lists and mappings whose keys
  mix the spec's own vocabulary with random text), rendered by yaml.safe_dump
  in block and flow style and by json.dumps;
- valid specs from tests/strategies.spec_documents, mutated once or a few
  times: a key deleted, a value replaced by one of another type, an unknown key
  inserted; and text-level edits of their YAML: a key line duplicated, the text
  truncated, characters inserted, a line's indentation changed.

TMSC_FUZZ_EXAMPLES sets the examples per test (150, a fifth of it in `make check`);
the counts of what ran and how it ended are printed at the end of the module.
"""

from __future__ import annotations

import collections
import copy
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmsc import load
from tmsc.diagnostics import SpecError
from tmsc.model import Platform
from tmsc.pipeline import build

from .conftest import examples
from .strategies import spec_documents

EXAMPLES = int(os.environ.get("TMSC_FUZZ_EXAMPLES") or examples(150))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)

COUNTS: collections.Counter[tuple[str, str]] = collections.Counter()
YAML_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


# --------------------------------------------------------------------------- the oracle


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("fuzz") / "platform.yaml"
    yield path
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and COUNTS:
        total = sum(COUNTS.values())
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line(f"fuzz: {total} examples through tmsc.pipeline.build")
            for (family, outcome), count in sorted(COUNTS.items()):
                reporter.write_line(f"fuzz:   {family:<22} {outcome:<9} {count}")


def compile_or_refuse(path: Path, data: bytes | str, family: str) -> str:
    """Run one example; assert the outcome is allowed; return 'compiled' or 'refused'."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    path.write_bytes(raw)
    try:
        stacks = build(path)
    except SpecError as error:
        check_diagnostics(error, path, raw)
        COUNTS[family, "refused"] += 1
        return "refused"
    for files in stacks.values():
        for text in files.values():
            json.loads(text)
    COUNTS[family, "compiled"] += 1
    return "compiled"


def check_diagnostics(error: SpecError, path: Path, raw: bytes) -> None:
    assert error.diagnostics, "a SpecError without a diagnostic"
    try:
        text: str | None = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    readable = text is not None and len(raw) <= load.MAX_SPEC_BYTES
    # YAML (and PyYAML's marks) also break lines at \r, NEL and the Unicode line/paragraph separators.
    last_line = len(YAML_LINE_BREAK.findall(text)) + 1 if text is not None else raw.count(b"\n") + 1
    for diagnostic in error.diagnostics:
        rendered = diagnostic.render()
        assert diagnostic.file == str(path), rendered
        assert isinstance(diagnostic.message, str) and diagnostic.message.strip(), rendered
        assert "Traceback" not in rendered
        assert len(rendered) < 2000, f"a diagnostic of {len(rendered)} characters"
        if diagnostic.line is None:
            assert not readable, f"no line for a problem in readable YAML text:\n{rendered}\n--- input:\n{text!r}"
        else:
            assert isinstance(diagnostic.line, int) and 1 <= diagnostic.line <= last_line, (
                f"line {diagnostic.line} of {last_line}:\n{rendered}"
            )
            assert rendered.startswith(f"{path}:{diagnostic.line}: error: "), rendered


# --------------------------------------------------------------------------- arbitrary input


def _vocabulary() -> list[str]:
    """Every property name of the spec's JSON Schema, and values the spec knows: documents reach deeper."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update(k for k in node.get("properties", {}) if isinstance(k, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(Platform.model_json_schema())
    return sorted(names)


VOCABULARY = _vocabulary()
WORDS = [
    *VOCABULARY,
    "eks", "postgres", "redis", "rabbitmq", "bucket", "api", "development", "preproduction", "production",
    "dev", "prod", "tms", "eu-west-1", "10.10.0.0/16", "10.0.0.0/8", "jwt", "iam", "mon-fri", "06:00",
    # values near the model's stricter rules: '--' and reserved prefixes in names, zones, the internet in pieces
    "xn--tms", "stag--ing", "sg-tms", "internal", "Europe/Berlin", "Europe/Berln", "europe/berlin",
    "0.0.0.0/1", "128.0.0.0/1", "::/1", "tms-state-s3alias", "1.31",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(WORDS),
)
yaml_keys = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=12), st.integers(-5, 5), st.booleans(), st.none())
json_keys = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=12))


def documents(keys: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
        max_leaves=40,
    )


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    document = draw(documents(yaml_keys))
    return yaml.safe_dump(
        document,
        sort_keys=False,
        allow_unicode=draw(st.booleans()),
        default_flow_style=draw(st.sampled_from([False, True, None])),
        width=draw(st.sampled_from([80, 10**6])),
    )


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    return json.dumps(draw(documents(json_keys)), indent=draw(st.sampled_from([None, 2])))


YAML_PUNCTUATION = [
    *"abkz019.:-?[]{},&*!|>'\"#%@` \n\t\\~",
    "<<",
    "!!int ",
    "!!str ",
    "---",
    "...",
    "&a ",
    "*a",
    "\ufeff",
    "é",
    "\r\n",
]


@given(data=st.binary(max_size=3000))
@FUZZ
def test_raw_bytes(spec_file: Path, data: bytes) -> None:
    compile_or_refuse(spec_file, data, "raw bytes")


@given(text=st.one_of(st.text(max_size=3000), st.lists(st.sampled_from(YAML_PUNCTUATION), max_size=400).map("".join)))
@FUZZ
def test_raw_text(spec_file: Path, text: str) -> None:
    compile_or_refuse(spec_file, text, "raw text")


@given(text=yaml_texts())
@FUZZ
def test_arbitrary_yaml_documents(spec_file: Path, text: str) -> None:
    compile_or_refuse(spec_file, text, "YAML documents")


@given(text=json_texts())
@FUZZ
def test_arbitrary_json_documents(spec_file: Path, text: str) -> None:
    compile_or_refuse(spec_file, text, "JSON documents")


# --------------------------------------------------------------------------- mutated valid specs


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path (into mappings and lists) of a document, deepest last."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.append((*prefix, key))
        found.extend(paths(item, (*prefix, key)))
    return found


def containers(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if isinstance(value, dict) else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.extend(containers(item, (*prefix, key)))
    return found


def parent_of(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


def other_type(value: Any) -> st.SearchStrategy[Any]:
    """A value of another JSON type than value (a number for a string, a list for a mapping...)."""

    def differs(candidate: Any) -> bool:
        kinds = (bool, int, float, str, list, dict, type(None))
        kind = lambda v: next(k for k in kinds if isinstance(v, k))  # noqa: E731
        return kind(candidate) is not kind(value)

    return documents(yaml_keys).filter(differs)


@st.composite
def mutated_documents(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    # A copy: the strategies share some values between examples (st.just(["tms"])), mutating them would leak.
    document = copy.deepcopy(draw(spec_documents(max_environments=2)))
    applied: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        mutation = draw(st.sampled_from(["delete", "retype", "unknown key"]))
        if mutation == "unknown key":
            where = draw(st.sampled_from(containers(document)))
            target = document
            for part in where:
                target = target[part]
            key = draw(
                st.one_of(
                    st.sampled_from(VOCABULARY),
                    st.from_regex(r"\A[a-z_]{1,12}\Z"),
                    st.sampled_from(["password", "auth_token", "api_key"]),
                )
            )
            target[key] = draw(scalars)
            applied.append(f"insert {'.'.join(map(str, (*where, key)))}")
            continue
        candidates = paths(document)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent = parent_of(document, path)
        if mutation == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(other_type(parent[path[-1]]))
        applied.append(f"{mutation} {'.'.join(map(str, path))}")
    return document, applied


@given(mutated=mutated_documents())
@FUZZ
def test_mutated_specs(spec_file: Path, mutated: tuple[dict[str, Any], list[str]]) -> None:
    document, _ = mutated
    compile_or_refuse(spec_file, yaml.safe_dump(document, sort_keys=False), "mutated specs")


KEY_LINE = re.compile(r"^\s*[A-Za-z_][\w-]*:")


@st.composite
def edited_texts(draw: st.DrawFn) -> str:
    text = yaml.safe_dump(
        draw(spec_documents(max_environments=2)),
        sort_keys=False,
        default_flow_style=draw(st.sampled_from([False, None])),
    )
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 2))):
        edit = draw(st.sampled_from(["duplicate key", "truncate", "insert", "indent"]))
        if edit == "duplicate key":
            keyed = [i for i, line in enumerate(lines) if KEY_LINE.match(line)]
            if keyed:
                i = draw(st.sampled_from(keyed))
                lines.insert(draw(st.integers(i + 1, len(lines))), lines[i])
        elif edit == "truncate":
            joined = "".join(lines)
            lines = [joined[: draw(st.integers(0, len(joined)))]]
        elif edit == "insert":
            joined = "".join(lines)
            at = draw(st.integers(0, len(joined)))
            lines = [
                joined[:at]
                + draw(st.lists(st.sampled_from(YAML_PUNCTUATION), min_size=1, max_size=4).map("".join))
                + joined[at:]
            ]
        else:
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                line = lines[i]
                lines[i] = (
                    line[draw(st.integers(1, 4)) :]
                    if line.startswith(" ") and draw(st.booleans())
                    else " " * draw(st.integers(1, 3)) + line
                )
        lines = "".join(lines).splitlines(keepends=True)
    return "".join(lines)


@given(text=edited_texts())
@FUZZ
def test_edited_spec_texts(spec_file: Path, text: str) -> None:
    compile_or_refuse(spec_file, text, "edited spec texts")


# --------------------------------------------------------------------------- the oracle is not vacuous


def test_the_example_compiles_and_a_valid_generated_spec_compiles(spec_file: Path) -> None:
    assert (
        compile_or_refuse(
            spec_file, (Path(__file__).parent.parent / "spec" / "platform.yaml").read_text(), "self-check"
        )
        == "compiled"
    )


@pytest.mark.parametrize(
    "text",
    [
        "platform: [",  # a parser error
        "a: 1\na: 2\n",  # a duplicate key
        "platform: tms\n",  # missing keys
        "x: !!int nine\n",  # a tag that cannot be applied
        "!!timestamp nope: 1\n",  # the same on a key
        "a: \x07\n",  # a character YAML refuses before parsing
    ],
)
def test_refusals_have_lines(spec_file: Path, text: str) -> None:
    assert compile_or_refuse(spec_file, text, "self-check") == "refused"


def test_nan_and_infinite_floats_are_handled(spec_file: Path) -> None:
    for value in (math.nan, math.inf):
        compile_or_refuse(spec_file, json.dumps({"platform": value}), "self-check")
