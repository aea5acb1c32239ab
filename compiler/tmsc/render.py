"""Terraform IR → Terraform JSON text, deterministically.

Sorted keys, two-space indent, a trailing newline: the same stack always gives
the same bytes. Rendering refuses a stack whose references point at blocks it
does not contain, or whose addresses collide, so such a mistake fails in the
compiler rather than in `terraform plan`.

Speed (the compiler renders every value of every block, once per environment,
and the Hypothesis suite does so for thousands of platforms):

- the hot functions test a value's exact type first (str, dict, list, Ref:
  nearly all values) and only then the isinstance chain, whose order decides
  what a subclass is taken for; both paths give the same result;
- references are collected while the blocks are rendered, in one walk, and
  checked against the stack's addresses afterwards; only when something is
  wrong does check_stack walk the stack again, so that the error raised is
  exactly the one a check before rendering would raise;
- render_json writes with orjson where its bytes are json.dumps's bytes.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from itertools import compress
from operator import attrgetter
from typing import Any, Protocol

from tmsc.ir import (
    DataSource,
    EphemeralResource,
    JsonDocument,
    Output,
    Provider,
    Ref,
    Resource,
    Settings,
    Stack,
    Template,
    refs_in,
)


class _Orjson(Protocol):
    """What render_json uses of the orjson module (mypy checks the module against this)."""

    OPT_INDENT_2: int
    OPT_SORT_KEYS: int
    OPT_APPEND_NEWLINE: int

    def dumps(self, obj: Any, /, default: Callable[[Any], Any] | None = ..., option: int | None = ...) -> bytes: ...


def _orjson() -> _Orjson | None:
    """orjson, a C serializer that render_json uses where its bytes are json.dumps's (see
    _orjson_safe); None without it, or if this release formats a known value differently."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - a dependency; json alone gives the same bytes, slower
        return None
    canary = {
        "f": [0.0, -0.0, 0.0001, 0.1, 1.5, 99.9, 123456.789, 1e15, 9999999999999998.0],
        "i": [0, -(2**63), 2**64 - 1],
        "s": '\x00\x1f\x7f\u2028 "\\ ü ✓ 𝄞',
        "z": {},
        "": [[], True, None],
    }
    options = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
    if (
        orjson.dumps(canary, option=options)
        != (json.dumps(canary, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    ):
        return None  # pragma: no cover
    return orjson


orjson = _orjson()


class RenderError(Exception):
    """A compiler bug: the IR is not a valid Terraform configuration."""


def escape_literal(text: str) -> str:
    """A literal string must not start an interpolation or a template directive."""
    return text.replace("${", "$${").replace("%{", "%%{")


def expression_value(value: Any) -> Any:
    """A body value → its JSON value, with references as "${...}" and literals escaped."""
    return _expression(value, [])


# Each function below takes `found`, the list the references met are appended to.


def _expression(value: Any, found: list[Ref]) -> Any:
    kind = type(value)
    if kind is str:
        return value.replace("${", "$${").replace("%{", "%%{") if "{" in value else value
    if kind is dict:
        return _mapping(value, found)
    if kind is Ref:
        if value.attribute is None:
            raise RenderError(f"bare reference {value.address} outside depends_on")
        found.append(value)
        return "${" + value.expression + "}"
    if kind is list or kind is tuple:
        return [_expression(v, found) for v in value]
    if value is None or kind is bool or kind is int or kind is float:
        return value
    if kind is Template:
        return _template(value, found)
    if kind is JsonDocument:
        return _json_document(value.value, found)
    return _expression_by_isinstance(value, found)


def _expression_by_isinstance(value: Any, found: list[Ref]) -> Any:
    if isinstance(value, Ref):
        if value.attribute is None:
            raise RenderError(f"bare reference {value.address} outside depends_on")
        found.append(value)
        return "${" + value.expression + "}"
    if isinstance(value, Template):
        return _template(value, found)
    if isinstance(value, JsonDocument):
        return _json_document(value.value, found)
    if isinstance(value, str):
        return escape_literal(value)
    if isinstance(value, Mapping):
        return _mapping(value, found)
    if isinstance(value, (list, tuple)):
        return [_expression(v, found) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise RenderError(f"cannot render {type(value).__name__}: {value!r}")


def _template(value: Template, found: list[Ref]) -> str:
    parts = []
    for part in value.parts:
        if isinstance(part, Ref):
            found.append(part)
            parts.append("${" + part.expression + "}")
        else:
            parts.append(escape_literal(part))
    return "".join(parts)


def _mapping(value: Mapping[Any, Any], found: list[Ref]) -> dict[str, Any]:
    """{str(k): _body_item(str(k), v)}; only the meta-arguments need _body_item's special cases."""
    rendered: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            if isinstance(key, Template):
                found.extend(refs_in(key))  # rendered as str(key), but check_stack looks at it
            key = str(key)
        if key in _META_ARGUMENTS:
            rendered[key] = _body_item(key, item, found)
        elif type(item) is str:
            rendered[key] = item.replace("${", "$${").replace("%{", "%%{") if "{" in item else item
        else:
            rendered[key] = _expression(item, found)
    return rendered


_META_ARGUMENTS = frozenset(("depends_on", "lifecycle", "provider"))


def _body_item(key: str, value: Any, found: list[Ref]) -> Any:
    # Meta-arguments that take bare references rather than expressions.
    if key == "depends_on":
        bare = [_bare(v) for v in value]
        found.extend(refs_in(value))
        return bare
    if key == "lifecycle" and isinstance(value, Mapping) and "ignore_changes" in value:
        rendered = {k: _expression(v, found) for k, v in value.items() if k != "ignore_changes"}
        rendered["ignore_changes"] = list(value["ignore_changes"])
        found.extend(refs_in(value))  # what check_stack reads: ignore_changes and template keys too
        return rendered
    if key == "provider" and isinstance(value, str):
        return value
    return _expression(value, found)


def _bare(value: Any) -> str:
    if not isinstance(value, Ref) or value.attribute is not None:
        raise RenderError(f"depends_on takes bare references, got {value!r}")
    return value.address


def _json_document(value: Any, found: list[Ref]) -> str:
    """A policy as a JSON string whose references interpolate when Terraform evaluates it."""

    def convert(item: Any) -> Any:
        kind = type(item)
        if kind is str:
            return item.replace("${", "$${").replace("%{", "%%{") if "{" in item else item
        if kind is dict:
            return {
                (k.replace("${", "$${").replace("%{", "%%{") if type(k) is str else key(k)): convert(v)
                for k, v in item.items()
            }
        if kind is list or kind is tuple:
            return [convert(v) for v in item]
        if isinstance(item, Ref):
            if item.attribute is None:
                raise RenderError(f"bare reference {item.address} in a JSON document")
            found.append(item)
            return "${" + item.expression + "}"
        if isinstance(item, Template):
            return _expression(item, found)
        if isinstance(item, Mapping):
            # Keys may be templates too: IRSA conditions are keyed "<issuer>:sub".
            return {key(k): convert(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [convert(v) for v in item]
        if isinstance(item, str):
            return escape_literal(item)
        return item

    def key(k: Any) -> str:
        return _expression(k, found) if isinstance(k, Template) else escape_literal(str(k))

    return json.dumps(convert(value), sort_keys=True, separators=(",", ":"))


def render_block_body(body: Mapping[str, Any], because: tuple[str, ...] = ()) -> dict[str, Any]:
    return _block_body(body, because, [])


def _block_body(body: Mapping[str, Any], because: tuple[str, ...], found: list[Ref]) -> dict[str, Any]:
    rendered = _mapping(body, found)
    if because:
        # Terraform ignores "//" in a block body: the trace of the decisions that shaped this block.
        rendered["//"] = "; ".join(because)
    return rendered


def stack_documents(stack: Stack) -> dict[str, dict[str, Any]]:
    """file name → JSON document, after checking addresses and references."""
    addresses = _check_addresses(stack)
    found: list[Ref] = []
    starts: list[int] = []
    try:
        documents = _documents(stack, found, starts)
    except Exception as exc:  # the error a check before rendering would give comes first
        failure: Exception | None = exc
    else:
        failure = None
    if failure is not None:
        _check_references(stack, addresses)
        raise failure
    for ref in found:
        if ref.address not in addresses:
            _check_references(stack, addresses)
            break
    ephemeral = {address for address in addresses if address.startswith("ephemeral.")}
    if ephemeral:
        # Only the blocks holding a reference to an ephemeral block are walked again: the
        # positions of those references in found (a scan at C speed), and the blocks they fall in.
        named = map(ephemeral.__contains__, map(_ADDRESS_OF, found))
        blocks = list(stack.blocks())
        users = {bisect_right(starts, position) - 1 for position in compress(range(len(found)), named)}
        _check_ephemeral_uses(stack.name, [blocks[i] for i in sorted(users)])
    return documents


_ADDRESS_OF = attrgetter("address")


def _documents(stack: Stack, found: list[Ref], starts: list[int]) -> dict[str, dict[str, Any]]:
    """The documents; starts[i] is where the references of the stack's i-th block begin in found."""
    documents: dict[str, dict[str, Any]] = {}
    for file in stack.files:
        doc: dict[str, Any] = {}
        for block in file.blocks:
            starts.append(len(found))
            if isinstance(block, Resource):
                doc.setdefault("resource", {}).setdefault(block.type, {})[block.name] = _block_body(
                    block.body, block.because, found
                )
            elif isinstance(block, DataSource):
                doc.setdefault("data", {}).setdefault(block.type, {})[block.name] = _block_body(block.body, (), found)
            elif isinstance(block, EphemeralResource):
                doc.setdefault("ephemeral", {}).setdefault(block.type, {})[block.name] = _block_body(
                    block.body, (), found
                )
            elif isinstance(block, Output):
                output = {"description": block.description, "value": _expression(block.value, found)}
                if block.sensitive:
                    output["sensitive"] = True
                doc.setdefault("output", {})[block.name] = output
            elif isinstance(block, Provider):
                doc.setdefault("provider", {}).setdefault(block.name, []).append(_block_body(block.body, (), found))
            elif isinstance(block, Settings):
                if "terraform" in doc:
                    raise RenderError(f"{stack.name}/{file.name}: two terraform blocks")
                doc["terraform"] = _block_body(block.body, (), found)
            else:
                found.extend(refs_in(_references_of(block)))
        documents[file.name] = doc
    return documents


def check_stack(stack: Stack) -> None:
    """Unique addresses and file names; every reference points at a block of this stack; ephemeral values only where Terraform takes them."""
    _check_references(stack, _check_addresses(stack))
    _check_ephemeral_uses(stack.name, stack.blocks())


def _check_addresses(stack: Stack) -> dict[str, str]:
    addresses: dict[str, str] = {}
    file_names: set[str] = set()
    for file in stack.files:
        if file.name in file_names or not file.name.endswith(".tf.json") or file.name.endswith("_override.tf.json"):
            raise RenderError(f"{stack.name}: bad or repeated file name {file.name}")
        file_names.add(file.name)
        for block in file.blocks:
            address = _address(block)
            if address is None:
                continue
            if address in addresses:
                raise RenderError(f"{stack.name}: {address} emitted twice ({addresses[address]} and {file.name})")
            addresses[address] = file.name
    return addresses


def _check_references(stack: Stack, addresses: Mapping[str, str]) -> None:
    for block in stack.blocks():
        for ref in refs_in(_references_of(block)):
            if ref.address not in addresses:
                raise RenderError(
                    f"{stack.name}: {_address(block) or type(block).__name__} refers to {ref.expression}, which is not emitted"
                )


def _check_ephemeral_uses(stack_name: str, blocks: Iterable[Any]) -> None:
    """An ephemeral value goes only into a write-only argument (the provider names them *_wo), a provider block or another ephemeral block.

    Terraform refuses it anywhere else in what tmsc emits ("Invalid use of
    ephemeral value"): a plain argument would put it in the plan and the state,
    which is what an ephemeral block avoids. depends_on may name an ephemeral block.
    """
    for block in blocks:
        if isinstance(block, (EphemeralResource, Provider)):
            continue
        body = {"value": block.value} if isinstance(block, Output) else block.body
        for key, value in body.items():
            if key == "depends_on" or (isinstance(block, Resource) and str(key).endswith("_wo")):
                continue
            for ref in refs_in(value):
                if ref.address.startswith("ephemeral."):
                    raise RenderError(
                        f"{stack_name}: {_address(block) or type(block).__name__}.{key} uses the ephemeral {ref.expression}; "
                        "an ephemeral value goes only into a write-only argument (*_wo), a provider block or another ephemeral block"
                    )


def _address(block: Any) -> str | None:
    if isinstance(block, (Resource, DataSource, EphemeralResource)):
        return block.address
    if isinstance(block, Output):
        return f"output.{block.name}"
    return None


def _references_of(block: Any) -> Any:
    if isinstance(block, Output):
        return block.value
    return block.body


def render_json(document: Mapping[str, Any]) -> str:
    """json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) and a newline.

    json.dumps falls back to its pure-Python encoder when asked to indent;
    orjson writes the same bytes several times faster for the values
    _orjson_safe admits. Anything else (a float Python writes with an exponent,
    NaN, a huge int, a key that is not a string, another type, a cycle) goes
    to json.dumps, errors included.
    """
    if orjson is not None:
        try:
            safe = _orjson_safe(document)
        except RecursionError:
            safe = False
        if safe:
            try:
                return orjson.dumps(document, option=_ORJSON_OPTIONS).decode("utf-8")
            except (TypeError, ValueError):  # orjson.JSONEncodeError (a TypeError): nesting over 255 levels
                pass
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if orjson is not None:
    _ORJSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE

_ORJSON_INT_MIN, _ORJSON_INT_MAX = -(2**63), 2**64 - 1


def _orjson_safe(value: Any) -> bool:
    """Whether orjson writes value exactly as json.dumps(indent=2, sort_keys=True, ensure_ascii=False).

    Exact types only: dicts with str keys, lists, tuples, str, bool, None; ints
    orjson holds; finite floats that repr() writes without an exponent (the two
    agree on those and differ on 1e-05 or 1e+16). Every str agrees: both escape
    the same control characters and nothing else; a lone surrogate makes orjson
    raise, and render_json then falls back. bench/check_identical.py checks all this.
    """
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) is not str and not _orjson_safe(item)):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:  # noqa: SIM110  # a loop: all() over a generator is slower, and this runs for every value
            if type(item) is not str and not _orjson_safe(item):
                return False
        return True
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        integer: int = value  # exactly an int: `kind` is type(value), which mypy does not narrow through
        return _ORJSON_INT_MIN <= integer <= _ORJSON_INT_MAX
    if kind is float:
        number: float = value
        return number == 0.0 or 1e-4 <= abs(number) < 1e16
    return False


def render_stack(stack: Stack) -> dict[str, str]:
    """file name → file text."""
    return {name: render_json(doc) for name, doc in sorted(stack_documents(stack).items())}
