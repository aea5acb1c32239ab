"""platform.yaml → Platform, with every error pointing at a file, a line and a fix.

YAML is composed into nodes (which know their lines) and turned into plain
Python values here rather than by PyYAML's constructor, so that duplicate keys,
alias bombs and absurd nesting are refused with a position instead of being
silently accepted or exhausting memory.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from tmsc.diagnostics import Diagnostic, SpecError
from tmsc.model import NAME_PATTERN, SECRET_FIELD_WORDS, SERVICE_KINDS, Platform, SpecRuleError, name_problem
from tmsc.yamlfast import c_loader, yaml  # PyYAML, imported the fast way (see there)

MAX_SPEC_BYTES = 1_000_000  # a platform spec is a few KiB; a megabyte is a mistake or an attack
MAX_NODES = 50_000  # after alias expansion: stops "billion laughs" documents
MAX_DEPTH = 32

KeyPath = tuple[Any, ...]


class _Positions:
    """Key path → 1-based line, filled while the document is walked.

    sources keeps the text of each scalar YAML turned into something other
    than a string (1.30 → 1.3, 22:00 → 1320, yes → True), to quote it back.
    """

    def __init__(self) -> None:
        self.lines: dict[KeyPath, int] = {}
        self.sources: dict[KeyPath, str] = {}

    def line_of(self, path: KeyPath) -> int | None:
        # The nearest recorded ancestor: an error about a missing key points at its parent.
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]


class _Walker:
    def __init__(self, file: str, loader: yaml.SafeLoader):
        self.file = file
        self.loader = loader
        self.positions = _Positions()
        self.nodes = 0
        self.errors: list[Diagnostic] = []
        self.hints: list[tuple[int, KeyPath, str, tuple[Any, Any]]] = []

    def fail(self, node: yaml.Node, path: KeyPath, message: str, hint: str | None = None) -> None:
        self.errors.append(Diagnostic(self.file, node.start_mark.line + 1, format_path(path), message, hint))

    def value(self, node: yaml.Node, path: KeyPath, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Abort(
                Diagnostic(
                    self.file,
                    node.start_mark.line + 1,
                    format_path(path),
                    f"the document holds more than {MAX_NODES} values once aliases are expanded",
                    "a platform spec has a few hundred values: split generated content out, and write aliases out plainly",
                )
            )
        if depth > MAX_DEPTH:
            raise _Abort(
                Diagnostic(
                    self.file,
                    node.start_mark.line + 1,
                    format_path(path),
                    f"nesting deeper than {MAX_DEPTH} levels",
                    "a platform spec is a few levels deep; check the indentation",
                )
            )
        self.positions.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        result = self.scalar(node, path)
        if not isinstance(result, str) and isinstance(node, yaml.ScalarNode) and node.style is None:
            self.positions.sources[path] = node.value
        return result

    def scalar(self, node: yaml.Node, path: KeyPath, *, is_key: bool = False) -> Any:
        # An explicit tag PyYAML cannot apply (`!!int fifteen`, `!!timestamp 6am`) raises
        # all sorts of exceptions without a position; the node knows its line.
        plain = isinstance(node, yaml.ScalarNode) and node.style is None
        implicit = plain and node.tag == self.loader.resolve(yaml.ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            if implicit:  # a plain '=': YAML 1.1's value tag, YAML 1.2's text
                core = _core_reading(node.value, None)
                return self.ambiguous(node, path, _UNREADABLE, core, implicit=True, is_key=is_key)
            problem = exc.problem or exc.context or "cannot be read"
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError, IndexError) as exc:
            if isinstance(exc, ValueError) and "limit" in str(exc) and node.tag.endswith(":int"):
                # Python refuses to convert integers of more than 4300 digits.
                self.fail(
                    node,
                    path,
                    f"an integer of {len(node.value)} digits is too long to be read",
                    "write a number of sensible size",
                )
                return None
            problem = (
                f"{node.tag.rsplit(':', 1)[-1]} value {_shorten(node.value)} cannot be read ({type(exc).__name__})"
            )
        else:
            if implicit or (isinstance(node, yaml.ScalarNode) and not node.tag.endswith(":str")):
                core = _core_reading(node.value, None if implicit else node.tag)
                if not _same(value, core):
                    return self.ambiguous(node, path, value, core, implicit=implicit, is_key=is_key)
            return value
        self.fail(node, path, f"not valid YAML: {problem}", "remove the explicit !!tag or write a plain value")
        return None

    def ambiguous(self, node: yaml.Node, path: KeyPath, v11: Any, core: Any, *, implicit: bool, is_key: bool) -> None:
        """A scalar YAML 1.1 and YAML 1.2 read differently: refused, so that every reader sees one value."""
        text = node.value
        shown = text if len(text) <= 30 else f"{text[:25]}..."
        if _YAML11_ONLY_BOOLEANS.fullmatch(text) and implicit:
            v11 = text in "yY"
            first = "the boolean " + str(v11).lower() + " to YAML 1.1 (PyYAML alone reads the text)"
        else:
            base60 = "; it reads h:mm as a number in base 60" if ":" in text and isinstance(v11, (int, float)) else ""
            first = f"{_reading(v11)} to YAML 1.1 (PyYAML and older tools{base60})"
        subject = f"the unquoted {shown}" if implicit else f"!!{node.tag.rsplit(':', 1)[-1]} {shown}"
        message = f"{subject} means different things to YAML readers: {first}, {_reading(core)} to YAML 1.2 (editors, check-jsonschema)"
        quoted = f'"{text}"' if '"' not in text else f"'{text}'"
        untag = "" if implicit else f"remove the !!{node.tag.rsplit(':', 1)[-1]} tag and "
        if is_key:
            hint = f"{untag}quote the key: {quoted}:"
        elif path and isinstance(path[-1], str) and len(text) <= 60 and len(path[-1]) <= 60:
            hint = f"{untag}quote it: {path[-1]}: {quoted}"
        elif path and isinstance(path[-1], int) and len(text) <= 60:
            hint = f"{untag}quote it: - {quoted}"
        else:
            hint = f"{untag}quote it"
        self.fail(node, path, message, hint)
        if not is_key:
            # The fix depends on the type the key takes, known once the whole document is read (a service's kind).
            self.hints.append((len(self.errors) - 1, path, text, (v11, core)))
        return None

    def typed_hints(self, data: Any) -> None:
        """Fixes of ambiguous scalars for the type their key takes: the number to write, or the text to quote."""
        for index, path, text, values in self.hints:
            wanted, description = _resolve(_model_loc(path, data))
            fits = {int: (int,), float: (int, float), bool: (bool,)}.get(wanted, ()) if wanted else (int, float, bool)
            readings = [v for v in values if isinstance(v, fits) and (wanted is bool or not isinstance(v, bool))]
            meant = " or ".join(dict.fromkeys(w for w in map(_written, readings) if w is not None and w != text))
            diagnostic = self.errors[index]
            if wanted in (int, float, bool):
                hint = (
                    f"write {meant}" if meant else f"set it to: {_lower_first(description or 'a ' + wanted.__name__)}"
                )
            elif meant and wanted is not str:
                hint = f"{diagnostic.hint} if you mean text, or write {meant} if you mean a value"
            else:
                continue
            self.errors[index] = attrs.evolve(diagnostic, hint=hint)

    def key(self, node: yaml.Node, path: KeyPath) -> tuple[bool, Any]:
        """A mapping key's value, or (False, None) with a located error when its tag cannot be applied."""
        errors = len(self.errors)
        value = self.scalar(node, path, is_key=True)
        return len(self.errors) == errors, value

    def mapping(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> dict[Any, Any]:
        own_keys: dict[Any, int] = {}
        unreadable: set[int] = set()  # key nodes whose tag failed: reported once, then skipped
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                ok, key = self.key(key_node, path)
                if not ok:
                    unreadable.add(id(key_node))
                    continue
                if key in own_keys:
                    self.fail(
                        key_node,
                        (*path, key),
                        f"duplicate key {key!r} (first defined at line {own_keys[key]})",
                        "remove one of the two; YAML would otherwise keep only the last silently",
                    )
                else:
                    own_keys[key] = key_node.start_mark.line + 1
        self.loader.flatten_mapping(node)  # resolves "<<" merge keys like PyYAML does
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, path, "a key must be a plain string", "quote the key or remove the brackets")
                continue
            if id(key_node) in unreadable:
                continue
            ok, key = self.key(key_node, path)
            if not ok:
                continue
            if key is None or key == "":
                self.fail(
                    key_node, path, "a key is empty", "give the entry a name (e.g. an environment name such as 'dev')"
                )
                continue
            if not isinstance(key, str):
                key = str(key) if isinstance(key, (int, float, bool)) else key
            self.positions.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.value(value_node, (*path, key), depth + 1)
            # The key's own line is the better pointer than the value's first line.
            self.positions.lines[(*path, key)] = key_node.start_mark.line + 1
        return result


# --------------------------------------------------------------------------- YAML 1.1 and YAML 1.2
#
# PyYAML reads YAML 1.1; editors (yaml-language-server) read YAML 1.2's core schema, and so, nearly,
# does check-jsonschema (ruamel.yaml). They disagree on plain scalars such as 22:00 (1.1: 1320), yes/no/on/off
# (1.1: booleans), 012 (1.1: octal 10), 0o17, 1e3 and -.5 (1.2: numbers), 1_000 and 0b1 (1.1: numbers) and
# dates (1.1: dates). Such a scalar is refused with "quote it"; every other one reads the same everywhere.

_CORE_SCHEMA: tuple[tuple[str, re.Pattern[str]], ...] = (  # https://yaml.org/spec/1.2.2/#1032-tag-resolution
    ("null", re.compile(r"null|Null|NULL|~|")),
    ("bool", re.compile(r"true|True|TRUE|false|False|FALSE")),
    ("int", re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")),
    (
        "float",
        re.compile(
            r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
        ),
    ),
)
# YAML 1.1's booleans that PyYAML leaves as text (ruamel.yaml and Go's yaml.v2 do not).
_YAML11_ONLY_BOOLEANS = re.compile(r"y|Y|n|N")


class _Unreadable:
    """What YAML 1.1 makes of a plain '=' (its 'value' tag): nothing a spec can use."""


_UNREADABLE = _Unreadable()
_NOT_READABLE = object()  # an explicit tag YAML 1.2's core schema cannot apply to the text
_SAME_AS_YAML11 = object()  # a tag outside the core schema (!!timestamp, !!binary...): left to PyYAML's reading


def _core_reading(text: str, tag: str | None) -> Any:
    """The value YAML 1.2's core schema gives a plain scalar (tag None) or one with an explicit !!tag."""
    kind = "str"
    for name, pattern in _CORE_SCHEMA:
        if pattern.fullmatch(text):
            kind = name
            break
    if tag is not None:
        wanted = tag.rsplit(":", 1)[-1]
        if wanted == "str" or tag == "tag:yaml.org,2002:str":
            return text
        if wanted == "float" and kind == "int" and text.lstrip("+-").isdigit():
            kind = "float"  # YAML 1.2 applies an explicit !!float to an integer's digits
        elif wanted != kind or not tag.startswith("tag:yaml.org,2002:"):
            return _NOT_READABLE if wanted in ("null", "bool", "int", "float") else _SAME_AS_YAML11
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() == "true"
    if kind == "int":
        if len(text) > 4000:
            return _SAME_AS_YAML11  # the walker reports an integer too long to read
        return int(text[2:], 8) if text.startswith("0o") else int(text[2:], 16) if text.startswith("0x") else int(text)
    if kind == "float":
        return float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
    return text


def _same(v11: Any, core: Any) -> bool:
    if core is _SAME_AS_YAML11:
        return True
    if isinstance(v11, str) and _YAML11_ONLY_BOOLEANS.fullmatch(v11) and core == v11:
        return False
    if type(v11) is not type(core):
        return False
    if isinstance(v11, float) and v11 != v11:
        return bool(core != core)  # NaN
    return bool(v11 == core)


def _reading(value: Any) -> str:
    if value is _UNREADABLE or value is _NOT_READABLE:
        return "an error"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {_shorten(value, 30)}"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'the text "{value}"' if len(value) <= 30 and '"' not in value else f"the text {_shorten(value, 30)}"
    return f"the {type(value).__name__} {str(value)[:30]}"


def _written(value: Any) -> str | None:
    """How to write a reading so that every YAML version reads it the same (None: as quoted text)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value) if len(str(value)) <= 30 else None
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        text = repr(value)
        return text if "e" not in text else None
    return None


class _Abort(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, str) and len(part) > 60:
            part = f"{part[:40]}...({len(part)} characters)"  # a key may be a megabyte long
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _NotYaml(SpecError):
    """The text did not compose into YAML nodes: a syntax error, a character YAML refuses, nesting too deep."""


def parse_yaml(text: str, file: str) -> tuple[Any, _Positions]:
    """YAML text → (plain Python data, positions). Raises SpecError on any YAML problem."""
    fast = c_loader(text)
    if fast is not None:
        try:
            return _parse_yaml(text, file, fast)
        except _NotYaml:
            pass  # read again by the pure-Python loader, whose syntax diagnostics tmsc words and locates
        # A refusal of what did compose stands: libyaml's nodes are the pure-Python loader's, and the walk over
        # them is the same code (tests/test_yaml_fast.py compares both readings of every bad spec). Reading
        # again would only repeat it, slowly: a 60,000-value document took 5 s more in the pure-Python loader.
    return _parse_yaml(text, file, None)


def _parse_yaml(text: str, file: str, fast: Any) -> tuple[Any, _Positions]:
    """parse_yaml with libyaml's loader `fast`, or with the pure-Python loader when it is None."""
    try:
        loader = fast if fast is not None else yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        # Raised before parsing starts, for a character YAML does not allow anywhere (C0 controls, U+FFFE...).
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        raise _NotYaml(
            [
                Diagnostic(
                    file,
                    line,
                    "",
                    f"not valid YAML: character U+{exc.character:04X} is not allowed in a YAML file",
                    "delete it; only tab, newline and printable characters may appear",
                )
            ]
        ) from None
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise _NotYaml(
                [
                    Diagnostic(
                        file,
                        _deepest_line(text),
                        "",
                        f"nesting deeper than {MAX_DEPTH} levels",
                        "a platform spec is a few levels deep; check the brackets",
                    )
                ]
            ) from None
        except yaml.MarkedYAMLError as exc:
            raise _NotYaml([_yaml_diagnostic(exc, file)]) from None
        except yaml.YAMLError as exc:
            raise _NotYaml([Diagnostic(file, None, "", f"not valid YAML: {exc}", None)]) from None
        if node is None:
            raise SpecError([Diagnostic(file, 1, "", "the spec is empty", "start from spec/platform.yaml")])
        walker = _Walker(file, loader)
        try:
            data = walker.value(node, (), 0)
        except _Abort as abort:
            raise SpecError([abort.diagnostic]) from None
        except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
            problem = str(getattr(exc, "problem", None) or exc)
            hint = (
                "'<<' merges a mapping or a list of mappings, e.g. <<: *defaults"
                if "merg" in problem
                else "check the indentation and quoting on that line"
            )
            raise SpecError(
                [
                    Diagnostic(
                        file,
                        exc.problem_mark.line + 1
                        if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark
                        else None,
                        "",
                        f"not valid YAML: {problem}",
                        hint,
                    )
                ]
            ) from None
        walker.typed_hints(data)
        if walker.errors:
            raise SpecError(walker.errors)
        return data, walker.positions
    finally:
        loader.dispose()


# Substrings of PyYAML's problems → the fix; the default suits most scanner and parser errors.
_YAML_HINTS = (
    ("another document", "a spec is one YAML document: remove the '---' line and what follows, or merge the two"),
    ("undefined alias", "define the anchor (&name) before the alias (*name) that uses it, or write the value out"),
    ("'\\t'", "indent with spaces; YAML does not allow tabs for indentation"),
    ("end of stream", "close the quote or bracket opened there"),
)


def _yaml_diagnostic(exc: yaml.MarkedYAMLError, file: str) -> Diagnostic:
    """A scanner/parser error with its context ("while scanning a quoted scalar") and the line to fix.

    An unterminated quote or bracket is reported by PyYAML at the end of the file;
    the line where it opens (the context mark) is the one to fix.
    """
    problem = exc.problem or "invalid YAML"
    mark = exc.problem_mark or exc.context_mark
    if exc.context:
        opened = exc.context_mark
        if opened is not None and mark is not None and opened.line != mark.line:
            problem = f"{exc.context} (line {opened.line + 1}), {problem}" if exc.problem else exc.context
        else:
            problem = f"{exc.context}, {problem}" if exc.problem else exc.context
        if "end of stream" in (exc.problem or "") and opened is not None:
            mark = opened
    hint = next((h for key, h in _YAML_HINTS if key in problem), "check the indentation and quoting on that line")
    return Diagnostic(file, mark.line + 1 if mark is not None else None, "", f"not valid YAML: {problem}", hint)


def _shorten(value: Any, limit: int = 40) -> str:
    """repr of a value for a message, cut to a readable length (a scalar may be megabytes long)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-1]} ({len(str(value))} characters)"


def _deepest_line(text: str) -> int | None:
    """The line where bracket nesting first passes MAX_DEPTH (the parser gave up before telling)."""
    depth = 0
    line = 1
    for char in text:
        if char == "\n":
            line += 1
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif char in "]}":
            depth -= 1
    return None


def read_spec_text(path: Path) -> str:
    file = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(
            [Diagnostic(file, None, "", "no such file", "pass the path of a platform spec such as spec/platform.yaml")]
        ) from None
    except IsADirectoryError:
        raise SpecError(
            [Diagnostic(file, None, "", "is a directory, not a spec file", "pass the path of the YAML file")]
        ) from None
    except OSError as exc:
        raise SpecError([Diagnostic(file, None, "", f"cannot be read: {exc.strerror}", None)]) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(
            [
                Diagnostic(
                    file,
                    None,
                    "",
                    f"is {len(raw)} bytes; a spec may be at most {MAX_SPEC_BYTES}",
                    "split generated content out of the spec",
                )
            ]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            [Diagnostic(file, line, "", f"byte 0x{raw[exc.start]:02x} is not UTF-8", "save the file as UTF-8")]
        ) from None


@attrs.frozen
class LoadedSpec:
    """A valid platform and where each of its keys came from, to point later errors at lines."""

    platform: Platform
    file: str
    positions: _Positions = attrs.field(eq=False, repr=False)

    def diagnostic(self, path: KeyPath, message: str, hint: str | None) -> Diagnostic:
        return Diagnostic(self.file, self.positions.line_of(path), format_path(path), message, hint)


def load_spec(path: Path | str) -> LoadedSpec:
    """Read, parse and validate a spec file. Raises SpecError with every problem found."""
    path = Path(path)
    return load_spec_text(read_spec_text(path), str(path))


def load_platform(path: Path | str) -> Platform:
    return load_spec(path).platform


def load_platform_text(text: str, file: str) -> Platform:
    return load_spec_text(text, file).platform


def load_spec_text(text: str, file: str) -> LoadedSpec:
    if "\x00" in text:
        raise SpecError(
            [
                Diagnostic(
                    file,
                    text.count("\n", 0, text.index("\x00")) + 1,
                    "",
                    "contains a NUL character",
                    "save the file as plain UTF-8 text",
                )
            ]
        )
    data, positions = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise SpecError(
            [
                Diagnostic(
                    file,
                    1,
                    "",
                    f"the spec must be a mapping of keys (platform, region, ...), not a {type(data).__name__}",
                    "start from spec/platform.yaml",
                )
            ]
        )
    try:
        return LoadedSpec(Platform.model_validate(data), file, positions)
    except ValidationError as exc:
        raise SpecError(_diagnostics(exc, data, positions, file)) from None


# --------------------------------------------------------------------------- ValidationError → Diagnostic


def _diagnostics(exc: ValidationError, data: Any, positions: _Positions, file: str) -> list[Diagnostic]:
    """One diagnostic per mistake, in the order of the file's lines."""
    errors = exc.errors(include_url=False)
    renamed = _misspelt_required_keys(errors)
    found = [
        d
        for d in _each_diagnostic([e for e in errors if _key_of(e) not in renamed], data, positions, file)
        if d is not None
    ]
    return sorted(found, key=lambda d: d.line if d.line is not None else 0)


def _key_of(error: ErrorDetails) -> tuple[Any, ...] | None:
    return tuple(error["loc"]) if error["type"] == "missing" else None


def _misspelt_required_keys(errors: list[ErrorDetails]) -> set[tuple[Any, ...]]:
    """Locations of required keys reported missing because the spec has them misspelt beside them.

    A typo such as rpo_minuts is one mistake: the unknown key's "did you mean rpo_minutes?" says it all,
    and "required key rpo_minutes is missing" would only repeat it.
    """
    missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
    found: set[tuple[Any, ...]] = set()
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] != "extra_forbidden" or not loc or len(str(loc[-1])) > 100:
            continue
        allowed = sorted(_allowed_keys(loc[:-1]))
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        if close and (*loc[:-1], close[0]) in missing:
            found.add((*loc[:-1], close[0]))
    return found


def _each_diagnostic(
    errors: list[ErrorDetails], data: Any, positions: _Positions, file: str
) -> Iterator[Diagnostic | None]:
    seen: set[tuple[str, str]] = set()
    for error in errors:
        loc = tuple(error["loc"])
        data_path = _data_path(loc, data)
        message, hint = _explain(error, loc, data_path, positions.sources.get(data_path))
        if (
            error["type"] == "union_tag_invalid"
            and isinstance(_lookup(data, data_path), dict)
            and "kind" in _lookup(data, data_path)
        ):
            data_path = (*data_path, "kind")  # point at the wrong tag, not at the service
        if error["type"] == "union_tag_not_found" and isinstance(_lookup(data, data_path), dict):
            keys = [str(k) for k in _lookup(data, data_path) if len(str(k)) <= 100]
            close = difflib.get_close_matches("kind", keys, n=1, cutoff=0.6)
            if close:  # a misspelt kind: the service has no kind because its key is 'knd'
                data_path = (*data_path, close[0])
                message, hint = f"{close[0]!r} is not a known key here (did you mean 'kind'?)", "rename it to 'kind'"
        ctx_error = (error.get("ctx") or {}).get("error")
        if isinstance(ctx_error, SpecRuleError):
            data_path = data_path + ctx_error.path
            message, hint = ctx_error.message, ctx_error.hint
        key = (format_path(data_path), message)
        if key in seen:
            continue
        seen.add(key)
        yield Diagnostic(file, positions.line_of(data_path), format_path(data_path), message, hint)


def _lookup(data: Any, path: KeyPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _data_path(loc: KeyPath, data: Any) -> KeyPath:
    """Pydantic's loc also holds union tags ('postgres') and 'function-after[...]' steps; keep what is in the data."""
    path: list[Any] = []
    current = data
    for part in loc:
        if (isinstance(current, dict) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        ):
            path.append(part)
            current = current[part]
        elif isinstance(current, dict) and isinstance(part, str) and not _is_pydantic_step(part):
            # A missing or unknown key: it belongs in the path though the data lacks it.
            path.append(part)
            current = None
    return tuple(path)


def _model_loc(path: KeyPath, data: Any) -> KeyPath:
    """A data path as a model location: a service's keys are found under its kind (the tagged union's member)."""
    if len(path) > 2 and path[0] == "services":
        kind = _lookup(data, (*path[:2], "kind"))
        if isinstance(kind, str) and kind in SERVICE_KINDS:
            return (*path[:2], kind, *path[2:])
    return path


def _is_pydantic_step(part: str) -> bool:
    return "[" in part or part in SERVICE_KINDS


def _explain(
    error: ErrorDetails, loc: KeyPath, data_path: KeyPath, source: str | None = None
) -> tuple[str, str | None]:
    kind = error["type"]
    message = error["msg"]
    field = data_path[-1] if data_path else None
    value = error.get("input")
    if kind == "extra_forbidden":
        allowed = sorted(_allowed_keys(loc[:-1]))
        if isinstance(field, str) and any(word in field.lower() for word in SECRET_FIELD_WORDS):
            return (
                f"{field!r} would put a secret in the spec, and a spec holds no secrets",
                "delete it: passwords are generated by AWS (RDS-managed master secret) or by Terraform "
                "into write-only arguments, and pods read them from Secrets Manager",
            )
        close = difflib.get_close_matches(str(field), allowed, n=1, cutoff=0.6) if len(str(field)) <= 100 else []
        if close:
            return (
                f"{_shorten(field)} is not a known key here (did you mean {close[0]!r}?)",
                f"rename it to {close[0]!r}",
            )
        return f"{_shorten(field)} is not a known key here", f"allowed keys: {', '.join(allowed)}" if allowed else None
    if kind == "missing":
        return (
            f"required key {field!r} is missing",
            f"add '{field}:' here ({_description(loc) or 'see spec/platform.schema.json'})",
        )
    if kind == "union_tag_invalid":
        return message.replace("'kind'", "kind"), f"set kind to one of: {', '.join(SERVICE_KINDS)}"
    if kind == "union_tag_not_found":
        return "the service has no 'kind'", f"add 'kind:' with one of: {', '.join(SERVICE_KINDS)}"
    if kind.startswith("value_error"):
        # Our validators' messages say what is wrong and what is allowed; the fix names what to change.
        text = message.removeprefix("Value error, ")
        return text, _rule_hint(text, loc)
    if (
        kind == "string_pattern_mismatch"
        and (error.get("ctx") or {}).get("pattern") == NAME_PATTERN
        and isinstance(value, str)
    ):
        return f"{_shorten(value)} {name_problem(value)}", f"rename it: {_lower_first(NAME_DESCRIPTION)}"
    if loc and loc[-1] == "[key]":
        # A name used as a key (environments, services, workloads) that breaks the name pattern.
        return message, f"rename it: {_lower_first(NAME_DESCRIPTION)}"
    description = _description(loc)
    hint = f"set it to: {_lower_first(description)}" if description else None
    typed = _type_explanation(kind, value, source)
    if typed is not None:
        message = f"{message}: {typed}"
        if (
            kind == "string_type"
            and source
            and len(source) <= 60
            and isinstance(field, (str, int))
            and len(str(field)) <= 60
        ):
            quoted = f'"{source}"' if '"' not in source else f"'{source}'"
            hint = f"quote it: {field}: {quoted}" if isinstance(field, str) else f"quote it: - {quoted}"
        elif kind == "string_type" and source:
            hint = "quote the value"
    better = _value_message(kind, error, loc, field, value, typed)
    if better is not None:
        message, fixed = better
        hint = fixed or hint
    return message, hint


# --------------------------------------------------------------------------- a wrong value: what it is, what fits

_WANTED = {
    "int_type": "a whole number",
    "float_type": "a number",
    "string_type": "text",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping of names to their settings",
    "model_type": "a mapping of keys",
}
_BOUNDS = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}
# A number followed by a unit or a percent sign: "100GB", "24 h", "99.9%".
_EXAMPLE_IN_DESCRIPTION = re.compile(r",? e\.g\. .*$")
_NUMBER_WITH_UNIT = re.compile(r"\s*([-+]?[0-9]+(?:\.[0-9]+)?)\s*[A-Za-z%][A-Za-z%/ ]{0,15}")


def _value_message(
    kind: str, error: ErrorDetails, loc: KeyPath, field: Any, value: Any, typed: str | None
) -> tuple[str, str | None] | None:
    """(message, fix) naming the value written, what the key takes and a value that fits; None: keep pydantic's."""
    key = field if isinstance(field, str) and len(field) <= 60 else None
    info = _field_info(loc)
    description = _lower_first(info.description) if info is not None and info.description else None
    about = f" ({_EXAMPLE_IN_DESCRIPTION.sub('', description).rstrip('.')})" if description else ""
    example = _example(info)
    shown = f"{key}: {example}" if key and example is not None else example
    if kind in _WANTED:
        wanted = _WANTED[kind]
        if kind == "string_type":
            if typed is None:
                return f"{_what(value)} is not text", f"write text, e.g. {shown}{about}" if shown else None
            return typed, None  # says what YAML read and that it is not text; the fix quotes it
        if kind in ("int_type", "float_type") and isinstance(value, str):
            number = _NUMBER_WITH_UNIT.fullmatch(value)
            if typed is not None:  # a quoted number
                return f"{_shorten(value, 30)} is quoted, so it is text, not {wanted}", (
                    f"write it without quotes: {key}: {value}" if key and len(value) <= 30 else "remove the quotes"
                )
            if number and (kind == "float_type" or "." not in number.group(1)):
                return (
                    f"{_what(value)} is not {wanted}",
                    f"write the number alone, without a unit: {key}: {number.group(1)}{about}"
                    if key
                    else f"write the number alone: {number.group(1)}",
                )
        if kind == "int_type" and isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return (
                f"{_shorten(value, 30)} is not {wanted}: write it without a decimal point",
                f"write {key}: {int(value)}" if key else f"write {int(value)}",
            )
        if kind in ("dict_type", "model_type"):
            return f"{_what(value)} is not {wanted}", _mapping_hint(loc, key)
        if kind == "list_type":
            item = f"[{value}]" if isinstance(value, str) and len(value) <= 40 else "[...]"
            return f"{_what(value)} is not {wanted}", f"write a list: {key}: {item}" if key else "write a list"
        return f"{_what(value)} is not {wanted}", (f"write {wanted}, e.g. {shown}{about}" if shown else None)
    if kind in _BOUNDS and isinstance(value, (int, float)):
        limit = next(iter((error.get("ctx") or {}).values()), None)
        return (
            f"{_shorten(value, 30)} is out of range: {error['msg'].removeprefix('Input ').replace('should', 'it should', 1)}",
            f"set {key} {_BOUNDS[kind]} {limit:g}{about}" if key and isinstance(limit, (int, float)) else None,
        )
    if kind == "literal_error":
        expected = str((error.get("ctx") or {}).get("expected", ""))
        options = re.findall(r"'([^']*)'", expected)
        close = [o for o in options if isinstance(value, str) and o.lower() == value.strip().lower()]
        started = [o for o in options if isinstance(value, str) and value and o.lower().startswith(value.lower())]
        close = close or (started if len(started) == 1 else [])
        close = (
            close or difflib.get_close_matches(str(value), options, n=1, cutoff=0.6) if len(str(value)) <= 100 else []
        )
        return (
            f"{_shorten(value, 40)} is not one of {expected}",
            f"write {key}: {close[0]}" if close and key else f"set it to one of: {', '.join(options)}",
        )
    if kind == "string_pattern_mismatch" and isinstance(value, str):
        return (
            f"{_shorten(value, 40)} does not have the form this key takes (it should match pattern {error.get('ctx', {}).get('pattern')!r})",
            None,
        )
    return None


def _what(value: Any) -> str:
    """The value as the user wrote it, in words: 'the text "100GB"', 'the number 5', 'a list'."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {_shorten(value, 30)}"
    if isinstance(value, str):
        return f'the text "{value}"' if len(value) <= 40 and '"' not in value else f"the text {_shorten(value, 40)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _field_info(loc: KeyPath) -> FieldInfo | None:
    """The model field at loc (pydantic's location, with union tags), if loc ends at one."""
    if not loc or not isinstance(loc[-1], str):
        return None
    parent, _ = _resolve(loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return parent.model_fields.get(loc[-1])
    return None


def _example(info: FieldInfo | None) -> str | None:
    """A value that fits the field, written as YAML: its description's 'e.g.', its default, or its lower bound."""
    if info is None:
        return None
    described = re.search(r"e\.g\. ([^\s,;]+?)[.,;)]?(?:\s|$)", info.description or "")
    if described:
        return described.group(1)
    default = None if info.is_required() or info.default_factory is not None else info.default
    if default is not None and not isinstance(default, (list, dict)):
        if isinstance(default, str):
            return default if re.fullmatch(r"[A-Za-z][A-Za-z0-9._/-]*", default) else f'"{default}"'
        return str(default).lower() if isinstance(default, bool) else str(default)
    for constraint in info.metadata:
        low = getattr(constraint, "ge", None)
        if low is None and getattr(constraint, "gt", None) is not None:
            low = constraint.gt + 1
        if low is not None:
            return str(low)
    return None


def _mapping_hint(loc: KeyPath, key: str | None) -> str | None:
    """How to write a mapping: its required keys, each with an example where the model gives one."""
    annotation, _ = _resolve(loc)
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return f"write {key} as a mapping of names, each with its settings indented below it" if key else None
    required = [(name, f) for name, f in annotation.model_fields.items() if f.is_required()]
    if not required:
        return f"write {key} as a mapping of its keys: {', '.join(annotation.model_fields)}" if key else None
    parts = [f"{name}: {_example(f) or '...'}" for name, f in required]
    return f"write it as a mapping of its keys, e.g. {key}: {{{', '.join(parts)}}}" if key else None


def _type_explanation(kind: str, value: Any, source: str | None) -> str | None:
    """Why a scalar has the wrong type, in YAML's terms: what was written and what YAML made of it."""
    written = (source if len(source) <= 30 else f"{source[:25]}...") if source else None
    if kind == "string_type" and written and isinstance(value, bool):
        return f"YAML reads the unquoted {written} as the boolean {str(value).lower()}, not as text"
    if kind == "string_type" and written and isinstance(value, (int, float)):
        base60 = " (YAML 1.1 reads h:mm as a number in base 60)" if source and ":" in source else ""
        return f"YAML reads the unquoted {written} as the number {_shorten(value, 30)}{base60}, not as text"
    if kind == "string_type" and written and not isinstance(value, (list, dict)) and value is not None:
        return f"YAML reads the unquoted {written} as a {type(value).__name__}, not as text"
    if kind in ("float_type", "int_type") and isinstance(value, bool):
        return f"YAML reads {written or str(value).lower()} as the boolean {str(value).lower()}, not as a number"
    if kind in ("float_type", "int_type") and isinstance(value, str) and _is_number(value):
        return f"{_shorten(value, 30)} is quoted, so it is text: write the number without quotes"
    if kind == "int_type" and isinstance(value, float) and value.is_integer():
        return f"write {_shorten(value, 30)} without a decimal point"
    return None


def _is_number(text: str) -> bool:
    try:
        return len(text) <= 100 and float(text) == float(text)
    except ValueError:
        return False


NAME_DESCRIPTION = (
    "Lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen; 2-32 characters "
    "(they become parts of AWS names, and RDS and ElastiCache identifiers refuse '--' and a trailing hyphen)."
)


def _lower_first(text: str) -> str:
    """'Uptime target...' → 'uptime target...', but 'IPv4 CIDR...' and 'PostgreSQL...' keep their spelling."""
    word = text.split(" ", 1)[0]
    return text if any(c.isupper() for c in word[1:]) else text[0].lower() + text[1:]


def _rule_hint(message: str, loc: KeyPath) -> str | None:
    """A cross-field rule of an object names the keys to change; a single field's rule, what the field takes."""
    annotation, description = _resolve(loc)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        named = [f for f in annotation.model_fields if re.search(rf"(?<![\w.]){re.escape(f)}(?![\w])", message)]
        if named:
            keys = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"
            return f"change {keys} here so that the rule holds"
    if description:
        return f"set it to: {_lower_first(description)}"
    return None


def _unwrap(annotation: Any, part: Any) -> Any:
    """Strip Annotated/Optional; pick the member of a tagged union named by part."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
            for member in members:
                if isinstance(member, type) and issubclass(member, BaseModel):
                    kind = member.model_fields.get("kind")
                    if kind is not None and typing.get_args(kind.annotation) == (part,):
                        return _TagStep(member)
            return annotation
        return annotation


class _TagStep:
    """Marks a loc element that is a union tag: the next element addresses the chosen member."""

    def __init__(self, model: type[BaseModel]):
        self.model = model


def _resolve(loc: KeyPath) -> tuple[Any, str | None]:
    annotation: Any = Platform
    description: str | None = None
    for part in loc:
        annotation = _unwrap(annotation, part)
        if isinstance(annotation, _TagStep):
            annotation = annotation.model
            continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None, None
            description = field.description
            annotation = field.annotation
            continue
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is dict:
            annotation = args[1]
        elif origin is list:
            annotation = args[0]
        else:
            return None, description
    return _unwrap(annotation, None), description


def _allowed_keys(loc: KeyPath) -> set[str]:
    annotation, _ = _resolve(loc)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return set(annotation.model_fields)
    return set()


def _description(loc: KeyPath) -> str | None:
    return _resolve(loc)[1]
