"""tmsc.yamlfast: libyaml reads a spec as the pure-Python loader does, and PyYAML's import stays cheap."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tmsc import load
from tmsc.diagnostics import SpecError
from tmsc.yamlfast import READER_NON_PRINTABLE, REFUSED, c_loader

from .conftest import EXAMPLE_SPEC, REPO

BAD_SPECS = sorted((REPO / "tests" / "bad_specs").glob("*.yaml")) if (REPO / "tests" / "bad_specs").is_dir() else []


def test_the_short_class_refuses_exactly_what_the_reader_refuses() -> None:
    every = "".join(map(chr, range(0x110000)))
    reader = {m.start() for m in re.finditer(READER_NON_PRINTABLE, every)}
    assert reader == {m.start() for m in REFUSED.finditer(every)}
    assert (
        len(reader) == 2 + 3 + 0x12 + 6 + 0x1A + 0x800 + 1 + 7
    )  # C0 but tab, LF, CR; DEL..C1 but NEL; surrogates; FFFE, FFFF


def test_the_reader_pattern_is_compiled_only_when_the_pure_python_reader_reads() -> None:
    code = (
        "import tmsc.load, yaml\n"
        "assert type(yaml.reader.Reader.NON_PRINTABLE).__name__ == '_Deferred'\n"
        "tmsc.load.parse_yaml('a: 1\\n', 'x')\n"
        "assert yaml.reader.Reader.NON_PRINTABLE._pattern is None\n"  # libyaml read it
        "yaml.safe_load('b: 2\\n')\n"
        "assert yaml.reader.Reader.NON_PRINTABLE._pattern is not None\n"
        "assert yaml.safe_load('- \\x07') is None\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "ReaderError" in result.stderr and "#x0007" in result.stderr, result.stderr  # refused as always


@pytest.mark.parametrize(
    "text",
    [
        EXAMPLE_SPEC.read_text(),
        "a: 1\nb: '2'\nc: \"x\"\nd: [e, 'f', 1.5, yes, ~]\ne: |\n  block\nf: >\n  folded\n",
        "base: &b {x: 1, y: [1, 2]}\nother:\n  <<: *b\n  y: 3\n",
        "# comment\nk: 2024-01-01\nt: 12:30\nn: 0o17\nm: 0x1F\n",
    ],
)
def test_libyaml_and_the_pure_python_loader_give_the_same_data_positions_and_diagnostics(text: str) -> None:
    """libyaml's nodes themselves (not only what parse_yaml keeps) read as the pure-Python loader's do."""
    assert c_loader(text) is not None
    assert _reading(text, "libyaml") == _reading(text, "pure-python")
    if text == EXAMPLE_SPEC.read_text():
        assert isinstance(_reading(text, "libyaml"), tuple)


def test_text_the_reader_refuses_is_left_to_the_pure_python_loader() -> None:
    assert c_loader("a: \x07\n") is None
    assert c_loader("a: \ufffe\n") is None
    assert c_loader("a: \x85\n") is not None


def _reading(text: str, how: str) -> object:
    """What tmsc.load reads (data and key positions), or the diagnostics it refuses with."""
    try:
        if how == "parse_yaml":
            data, positions = load.parse_yaml(text, "x")
        else:
            data, positions = load._parse_yaml(text, "x", c_loader(text) if how == "libyaml" else None)
    except SpecError as error:
        return error.diagnostics
    return data, positions.lines, positions.sources


@pytest.mark.parametrize("path", BAD_SPECS, ids=[p.name for p in BAD_SPECS])
def test_every_bad_spec_reads_as_the_pure_python_loader_reads_it(path: Path) -> None:
    """Read or refused, with the same diagnostics: libyaml's reading is kept only when it has no error."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    assert _reading(text, "parse_yaml") == _reading(text, "pure-python")


def test_a_refused_spec_is_read_once_when_it_composed_and_twice_when_it_did_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """libyaml's refusal of what composed stands (the pure-Python loader would only repeat it, seconds for a large
    document); a text libyaml cannot compose is read again for the pure-Python loader's located diagnostics. The
    command reports the refusal itself: Typer does not read the spec once more."""
    from tmsc import cli

    readings: list[str] = []
    parse = load._parse_yaml

    def counted(text: str, file: str, fast: object) -> object:
        readings.append("libyaml" if fast is not None else "pure-python")
        return parse(text, file, fast)

    monkeypatch.setattr(load, "_parse_yaml", counted)
    duplicate = tmp_path / "duplicate.yaml"
    duplicate.write_text("platform: tms\nplatform: tms\n")
    unclosed = tmp_path / "unclosed.yaml"
    unclosed.write_text("platform: [tms\n")
    for spec, expected in ((duplicate, ["libyaml"]), (unclosed, ["libyaml", "pure-python"])):
        readings.clear()
        monkeypatch.setattr(sys, "argv", ["tmsc", "validate", str(spec)])
        with pytest.raises(SystemExit) as exit_:
            cli.main()
        assert exit_.value.code == 2 and readings == expected, (spec.name, readings)
