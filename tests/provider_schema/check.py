"""Offline check of compiled Terraform JSON against the hashicorp/aws schema.

    from tests.provider_schema.check import check_stack, load_schema
    errors = check_stack(Path("out/dev"))          # [] when clean

    python -m tests.provider_schema.check out/dev [out/prod ...]   # CLI, exit 1 on errors

Checks every ``resource`` / ``data`` / ``ephemeral`` block and every
``provider.aws`` block of each ``*.tf.json`` in a directory:

* the type exists (and is in the trimmed schema file; if it is a real type
  that the file lacks, the message says to rerun refresh with --extra-type);
* every key is an attribute, a nested block, ``dynamic``, ``//`` or a
  meta-argument of that kind of block;
* no computed-only attribute (computed and neither optional nor required)
  is set; write-only attributes are fine;
* required attributes are present and non-null;
* nested blocks: an object or a list of objects (Terraform JSON rules),
  count within min_items / max_items (``single``/``group`` => at most 1),
  recursively;
* attribute values have a compatible JSON shape for their type (e.g. no
  object for a string, no bare string for a list). Any string containing
  ``${`` or ``%{`` is a template/expression and matches every type;
* a reference to an ``ephemeral`` block is used only where Terraform takes
  an ephemeral value: a write-only attribute (``write_only`` in the schema),
  another ephemeral block or a provider block (a data source or a plain
  attribute would keep it in the plan and the state, and Terraform refuses it).

Blocks whose provider (``provider`` meta-argument, else the type prefix) is
not ``aws`` (random_*, tls_*, terraform_data, ...) are skipped: the committed
schema only covers hashicorp/aws.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent / "aws-5.100.0.json"
PROVIDER_LOCAL_NAME = "aws"

KIND_TO_SECTION = {
    "resource": "resource_schemas",
    "data": "data_source_schemas",
    "ephemeral": "ephemeral_resource_schemas",
}
KIND_LABEL = {"resource": "resource type", "data": "data source type", "ephemeral": "ephemeral resource type"}

COMMENT_KEY = "//"
META_ARGS = {
    "resource": {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"},
    "data": {"count", "for_each", "provider", "depends_on", "lifecycle"},
    "ephemeral": {"count", "for_each", "provider", "depends_on", "lifecycle"},
    "provider": {"alias", "version"},
}
LIFECYCLE_KEYS = {
    "resource": {
        "create_before_destroy",
        "prevent_destroy",
        "ignore_changes",
        "replace_triggered_by",
        "precondition",
        "postcondition",
    },
    "data": {"precondition", "postcondition"},
    "ephemeral": {"precondition", "postcondition"},
}
DYNAMIC_KEYS = {"for_each", "iterator", "labels", "content"}
PRIMITIVES = {"string", "number", "bool"}


# --------------------------------------------------------------------------- #
# schema loading
# --------------------------------------------------------------------------- #
def _resolve_refs(doc: dict) -> dict:
    """Turn {"$ref": id} nested blocks (see refresh.share_repeated_blocks) back
    into dicts. Shared blocks become the *same* dict object: treat as read-only."""
    shared = doc.get("shared_blocks") or {}
    done: set[int] = set()

    def fix(block: dict) -> dict:
        if "$ref" in block:
            block = shared[block["$ref"]]
        if id(block) in done:
            return block
        done.add(id(block))
        for bt in (block.get("block_types") or {}).values():
            bt["block"] = fix(bt["block"])
        return block

    doc["provider"]["block"] = fix(doc["provider"]["block"])
    for section in KIND_TO_SECTION.values():
        for schema in (doc.get(section) or {}).values():
            schema["block"] = fix(schema["block"])
    return doc


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict:
    return _resolve_refs(json.loads(Path(path).read_text()))


def load_schema(path: Path | str = SCHEMA_PATH) -> dict:
    """The committed trimmed schema (refs resolved). Cached: do not mutate.

    Shape: {"provider": {"block": ...}, "resource_schemas": {type: {"block": ...}},
    "data_source_schemas": ..., "ephemeral_resource_schemas": ...,
    "all_type_names": {"resource": [...], "data": [...], "ephemeral": [...]},
    "provider_version", "terraform_version", ...}
    """
    return _load(str(Path(path).resolve()))


def _normalize_schema(schema: dict) -> dict:
    """Also accept raw `terraform providers schema -json` output."""
    if "provider_schemas" in schema:
        for addr, prov in schema["provider_schemas"].items():
            if addr.endswith("/hashicorp/aws"):
                return prov
        raise ValueError("schema has no hashicorp/aws provider")
    return schema


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def _objects(value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                yield item


def _is_expr(value: Any) -> bool:
    return isinstance(value, str) and ("${" in value or "%{" in value)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _type_str(ty: Any) -> str:
    if isinstance(ty, str):
        return ty
    if isinstance(ty, list) and ty:
        if ty[0] in ("list", "set", "map"):
            return f"{ty[0]}({_type_str(ty[1])})"
        if ty[0] == "object":
            return "object({" + ", ".join(sorted(ty[1])) + "})"
        if ty[0] == "tuple":
            return "tuple([" + ", ".join(_type_str(t) for t in ty[1]) + "])"
    return json.dumps(ty)


def _suggest(name: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{match[0]}"?)' if match else ""


def _join(path: str, part: str) -> str:
    if not path:
        return part
    return f"{path}{part}" if part.startswith("[") else f"{path}.{part}"


def _is_computed_only(attr: dict) -> bool:
    return bool(attr.get("computed")) and not attr.get("optional") and not attr.get("required")


_NUMBER_RE = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def _value_errors(value: Any, ty: Any, path: str) -> Iterator[tuple[str, str]]:
    """Yield (path, message) for JSON values incompatible with a cty type."""
    if value is None or _is_expr(value) or ty == "dynamic":
        return
    got = _json_kind(value)
    if isinstance(ty, str):
        if ty not in PRIMITIVES:
            return
        if isinstance(value, (dict, list)):
            yield path, f"expected {ty}, got {'a list' if got == 'list' else 'an object'}"
        elif ty == "number" and (isinstance(value, bool) or (isinstance(value, str) and not _NUMBER_RE.match(value))):
            yield path, f"expected number, got {got} {json.dumps(value)}"
        elif ty == "bool" and (
            (isinstance(value, (int, float)) and not isinstance(value, bool))
            or (isinstance(value, str) and value not in ("true", "false", "1", "0"))
        ):
            yield path, f"expected bool, got {got} {json.dumps(value)}"
        return
    kind = ty[0]
    if kind in ("list", "set"):
        if not isinstance(value, list):
            yield path, f"expected {_type_str(ty)}, got {got}"
            return
        for i, item in enumerate(value):
            yield from _value_errors(item, ty[1], _join(path, f"[{i}]"))
    elif kind == "tuple":
        if not isinstance(value, list):
            yield path, f"expected {_type_str(ty)}, got {got}"
        elif len(value) != len(ty[1]):
            yield path, f"expected {len(ty[1])} elements, got {len(value)}"
        else:
            for i, (item, ety) in enumerate(zip(value, ty[1], strict=True)):
                yield from _value_errors(item, ety, _join(path, f"[{i}]"))
    elif kind == "map":
        if not isinstance(value, dict):
            yield path, f"expected {_type_str(ty)}, got {got}"
            return
        for key, item in value.items():
            yield from _value_errors(item, ty[1], _join(path, f"[{json.dumps(key)}]"))
    elif kind == "object":
        if not isinstance(value, dict):
            yield path, f"expected {_type_str(ty)}, got {got}"
            return
        attr_types: dict = ty[1]
        optional = set(ty[2]) if len(ty) > 2 else set()
        for key, item in value.items():
            if key in attr_types:
                yield from _value_errors(item, attr_types[key], _join(path, key))
            elif key != COMMENT_KEY:
                # terraform validate accepts this (cty drops extra object
                # attributes), but the value is silently lost: a real bug.
                yield (
                    path,
                    (
                        f'unexpected object attribute "{key}"{_suggest(key, attr_types)}'
                        " (terraform would silently drop it)"
                    ),
                )
        missing = sorted(set(attr_types) - set(value) - optional)
        if missing:
            names = ", ".join(f'"{k}"' for k in missing)
            yield (
                path,
                (
                    f"object is missing attribute{'s' if len(missing) > 1 else ''} {names}"
                    " (all object attributes are required; use null for unset)"
                ),
            )


# --------------------------------------------------------------------------- #
# block checking
# --------------------------------------------------------------------------- #
class _Ctx:
    def __init__(self, source: str, addr: str, errors: list[str], ephemeral_ok: bool = False):
        self.prefix = f"{source}: {addr}: "
        self.errors = errors
        self.ephemeral_ok = ephemeral_ok  # an ephemeral or provider block: ephemeral values allowed anywhere

    def err(self, path: str, msg: str) -> None:
        self.errors.append(self.prefix + (f"{path}: " if path else "") + msg)


def _block_items(value: Any, ctx: _Ctx, path: str, name: str) -> list[tuple[str, dict]] | None:
    """Terraform JSON: a nested block is one object or a list of objects."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [(_join(path, name), value)]
    if isinstance(value, list):
        items = []
        for i, item in enumerate(value):
            p = _join(path, f"{name}[{i}]")
            if isinstance(item, dict):
                items.append((p, item))
            else:
                ctx.err(p, f'block "{name}" must be an object, got {_json_kind(item)}')
        return items
    ctx.err(path, f'block "{name}" must be an object or a list of objects, got {_json_kind(value)}')
    return None


def _check_nested_block(name: str, value: Any, bt: dict, ctx: _Ctx, path: str) -> int:
    """Check one block_types entry; return how many blocks were given."""
    mode = bt.get("nesting_mode", "list")
    inner = bt.get("block") or {}
    if mode == "map":
        # {"label": {...}, ...}; each label may also be a list of bodies
        if value is None:
            return 0
        if not isinstance(value, dict):
            ctx.err(path, f'block "{name}" (map) must be an object keyed by label, got {_json_kind(value)}')
            return 0
        n = 0
        for label, bodies in value.items():
            for p, body in _block_items(bodies, ctx, _join(path, name), f"[{json.dumps(label)}]") or []:
                n += 1
                _check_body(body, inner, ctx, p, meta=set())
        return n
    items = _block_items(value, ctx, path, name)
    if items is None:
        return 0
    n = len(items)
    max_items = bt.get("max_items") or 0
    if mode in ("single", "group"):
        max_items = 1
    if max_items and n > max_items:
        ctx.err(path, f'too many "{name}" blocks: {n} given, at most {max_items} allowed')
    for p, body in items:
        _check_body(body, inner, ctx, p, meta=set())
    return n


def _check_nested_attribute(name: str, value: Any, nt: dict, ctx: _Ctx, path: str) -> None:
    """Protocol-6 nested attribute types (``nested_type``)."""
    if value is None or _is_expr(value):
        return
    mode = nt.get("nesting_mode", "single")
    here = _join(path, name)
    if mode == "single":
        if isinstance(value, dict):
            _check_body(value, nt, ctx, here, meta=set())
        else:
            ctx.err(path, f'attribute "{name}" expects an object, got {_json_kind(value)}')
    elif mode in ("list", "set"):
        if not isinstance(value, list):
            ctx.err(path, f'attribute "{name}" expects a list of objects, got {_json_kind(value)}')
            return
        if nt.get("max_items") and len(value) > nt["max_items"]:
            ctx.err(path, f'attribute "{name}": {len(value)} elements given, at most {nt["max_items"]} allowed')
        if nt.get("min_items") and len(value) < nt["min_items"]:
            ctx.err(path, f'attribute "{name}": {len(value)} elements given, at least {nt["min_items"]} required')
        for i, item in enumerate(value):
            if isinstance(item, dict):
                _check_body(item, nt, ctx, _join(here, f"[{i}]"), meta=set())
            elif not _is_expr(item):
                ctx.err(_join(here, f"[{i}]"), f"expected an object, got {_json_kind(item)}")
    elif mode == "map":
        if not isinstance(value, dict):
            ctx.err(path, f'attribute "{name}" expects a map of objects, got {_json_kind(value)}')
            return
        for key, item in value.items():
            if isinstance(item, dict):
                _check_body(item, nt, ctx, _join(here, f"[{json.dumps(key)}]"), meta=set())


_EPHEMERAL_REF_RE = re.compile(r"\$\{[^}]*\bephemeral\.")


def _mentions_ephemeral(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_EPHEMERAL_REF_RE.search(value))
    if isinstance(value, dict):
        return any(_mentions_ephemeral(v) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_ephemeral(v) for v in value)
    return False


def _check_attribute(name: str, value: Any, attr: dict, ctx: _Ctx, path: str) -> None:
    if _is_computed_only(attr):
        ctx.err(path, f'attribute "{name}" is computed-only and cannot be set')
        return
    if not ctx.ephemeral_ok and not attr.get("write_only") and _mentions_ephemeral(value):
        ctx.err(path, f'attribute "{name}" is not write-only and cannot take an ephemeral value')
    if "nested_type" in attr:
        _check_nested_attribute(name, value, attr["nested_type"], ctx, path)
        return
    for sub, msg in _value_errors(value, attr.get("type", "dynamic"), name):
        ctx.err(path, f'attribute "{sub}": {msg}')


def _check_dynamic(value: Any, block: dict, ctx: _Ctx, path: str, seen: set[str]) -> None:
    btypes = block.get("block_types") or {}
    for spec in _objects(value):
        for name, bodies in spec.items():
            if name == COMMENT_KEY:
                continue
            here = _join(path, f"dynamic.{name}")
            attr = (block.get("attributes") or {}).get(name)
            if name not in btypes and attr is not None and _attr_as_blocks(attr):
                # legacy SDK "attributes as blocks" (e.g. aws_security_group.ingress):
                # Terraform accepts dynamic blocks for them; content keys all optional.
                if _is_computed_only(attr):
                    ctx.err(path, f'attribute "{name}" is computed-only and cannot be set')
                    continue
                obj_ty = attr["type"][1]
                content_block = {"attributes": {k: {"type": t, "optional": True} for k, t in obj_ty[1].items()}}
                _check_dynamic_specs(name, bodies, content_block, ctx, here)
                continue
            if name not in btypes:
                ctx.err(path, f'unknown nested block "{name}" in dynamic{_suggest(name, btypes)}')
                continue
            seen.add(name)
            _check_dynamic_specs(name, bodies, btypes[name].get("block") or {}, ctx, here)


def _attr_as_blocks(attr: dict) -> bool:
    ty = attr.get("type")
    return (
        isinstance(ty, list)
        and len(ty) == 2
        and ty[0] in ("list", "set")
        and isinstance(ty[1], list)
        and ty[1][0] == "object"
    )


def _check_dynamic_specs(name: str, bodies: Any, content_block: dict, ctx: _Ctx, here: str) -> None:
    if not isinstance(bodies, (dict, list)):
        ctx.err(here, f"dynamic block must be an object, got {_json_kind(bodies)}")
        return
    for dyn in _objects(bodies):
        for key in dyn:
            if key not in DYNAMIC_KEYS and key != COMMENT_KEY:
                ctx.err(here, f'unknown dynamic block argument "{key}"{_suggest(key, DYNAMIC_KEYS)}')
        if "for_each" not in dyn:
            ctx.err(here, 'dynamic block is missing "for_each"')
        content = dyn.get("content")
        if content is None:
            ctx.err(here, 'dynamic block is missing "content"')
        elif not isinstance(content, dict):
            ctx.err(here, f'"content" must be an object, got {_json_kind(content)}')
        else:
            _check_body(content, content_block, ctx, _join(here, "content"), meta=set())


def _check_lifecycle(value: Any, kind: str, block: dict, ctx: _Ctx) -> None:
    allowed = LIFECYCLE_KEYS[kind]
    if not isinstance(value, (dict, list)):
        ctx.err("lifecycle", f"must be an object, got {_json_kind(value)}")
        return
    names = set(block.get("attributes") or {}) | set(block.get("block_types") or {})
    for body in _objects(value):
        for key, v in body.items():
            if key == COMMENT_KEY:
                continue
            if key not in allowed:
                ctx.err("lifecycle", f'unknown lifecycle argument "{key}"{_suggest(key, allowed)}')
            elif key == "ignore_changes" and isinstance(v, list):
                for ref in v:
                    m = re.match(r"[A-Za-z_][A-Za-z0-9_-]*", ref) if isinstance(ref, str) else None
                    if m and not _is_expr(ref) and m.group(0) not in names:
                        ctx.err(
                            "lifecycle.ignore_changes", f'unknown attribute "{m.group(0)}"{_suggest(m.group(0), names)}'
                        )


def _check_body(body: Any, block: dict, ctx: _Ctx, path: str, meta: set[str], kind: str = "") -> None:
    if not isinstance(body, dict):
        ctx.err(path, f"block body must be an object, got {_json_kind(body)}")
        return
    attrs: dict = block.get("attributes") or {}
    btypes: dict = block.get("block_types") or {}
    dynamic_seen: set[str] = set()
    counts: dict[str, int] = {}
    for key, value in body.items():
        if key == COMMENT_KEY:
            continue
        if key in attrs:
            _check_attribute(key, value, attrs[key], ctx, path)
        elif key in btypes:
            counts[key] = _check_nested_block(key, value, btypes[key], ctx, path)
        elif key in meta:
            if key == "lifecycle":
                _check_lifecycle(value, kind, block, ctx)
            elif key == "depends_on" and not isinstance(value, list):
                ctx.err(path, f'"depends_on" must be a list, got {_json_kind(value)}')
        elif key == "dynamic":
            _check_dynamic(value, block, ctx, path, dynamic_seen)
        else:
            settable = [a for a, spec in attrs.items() if not _is_computed_only(spec)]
            match = difflib.get_close_matches(key, sorted({*settable, *btypes, *meta}), n=1, cutoff=0.6)
            if match:
                what = "nested block" if match[0] in btypes else "attribute"
                hint = f' (did you mean "{match[0]}"?)'
            else:
                looks_like_block = isinstance(value, dict) or (
                    isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
                )
                what = "nested block" if looks_like_block else "attribute"
                hint = ""
            ctx.err(path, f'unknown {what} "{key}"{hint}')
    if "count" in body and "for_each" in body and "count" in meta:
        ctx.err(path, '"count" and "for_each" are mutually exclusive')
    for name, attr in attrs.items():
        if attr.get("required"):
            if name not in body:
                ctx.err(path, f'missing required attribute "{name}"')
            elif body[name] is None:
                ctx.err(path, f'required attribute "{name}" is null')
    for name, bt in btypes.items():
        min_items = bt.get("min_items") or 0
        n = counts.get(name, 0)
        if min_items and n < min_items and name not in dynamic_seen:
            ctx.err(path, f'at least {min_items} "{name}" block{"s" if min_items > 1 else ""} required, {n} given')


# --------------------------------------------------------------------------- #
# documents / stacks
# --------------------------------------------------------------------------- #
def _provider_of(type_name: str, body: dict) -> str:
    prov = body.get("provider")
    if isinstance(prov, str) and prov:
        return prov.strip("${}").split(".")[0]
    return type_name.split("_", 1)[0]


def _unknown_type_message(kind: str, type_name: str, schema: dict) -> str:
    all_names: dict = schema.get("all_type_names") or {}
    version = schema.get("provider_version", "?")
    if type_name in (all_names.get(kind) or ()):
        return (
            f'{KIND_LABEL[kind]} "{type_name}" exists in hashicorp/aws {version} but is not in '
            f"the trimmed schema; run `python -m tests.provider_schema.refresh` "
            f"(or add --extra-type {type_name})"
        )
    msg = f'unknown {KIND_LABEL[kind]} "{type_name}"'
    for other, label in KIND_LABEL.items():
        if other != kind and (
            type_name in (all_names.get(other) or ()) or type_name in (schema.get(KIND_TO_SECTION[other]) or {})
        ):
            return msg + f" (it is a {label.replace(' type', '')})"
    candidates = set(all_names.get(kind) or ()) | set(schema.get(KIND_TO_SECTION[kind]) or {})
    return msg + _suggest(type_name, candidates)


def check_document(doc: Any, schema: dict | None = None, source: str = "<json>") -> list[str]:
    """Check one parsed Terraform JSON document. Returns error strings."""
    schema = _normalize_schema(schema if schema is not None else load_schema())
    errors: list[str] = []
    if not isinstance(doc, dict):
        return [f"{source}: top level must be a JSON object"]
    for kind, section in KIND_TO_SECTION.items():
        types: dict = schema.get(section) or {}
        for by_type in _objects(doc.get(kind)):
            for type_name, by_name in by_type.items():
                if type_name == COMMENT_KEY:
                    continue
                for by_name_obj in _objects(by_name):
                    for name, bodies in by_name_obj.items():
                        if name == COMMENT_KEY:
                            continue
                        addr = f"{type_name}.{name}" if kind == "resource" else f"{kind}.{type_name}.{name}"
                        ctx = _Ctx(source, addr, errors, ephemeral_ok=kind == "ephemeral")
                        body_list = list(_objects(bodies))
                        if not body_list:
                            ctx.err("", f"body must be an object, got {_json_kind(bodies)}")
                        for body in body_list:
                            if _provider_of(type_name, body) != PROVIDER_LOCAL_NAME:
                                continue
                            if type_name not in types:
                                ctx.err("", _unknown_type_message(kind, type_name, schema))
                                continue
                            _check_body(body, types[type_name]["block"], ctx, "", meta=META_ARGS[kind], kind=kind)
    for providers in _objects(doc.get("provider")):
        for local_name, bodies in providers.items():
            if local_name != PROVIDER_LOCAL_NAME:
                continue
            for body in _objects(bodies):
                alias = body.get("alias")
                addr = f"provider.aws.{alias}" if isinstance(alias, str) else "provider.aws"
                _check_body(
                    body,
                    schema["provider"]["block"],
                    _Ctx(source, addr, errors, ephemeral_ok=True),
                    "",
                    meta=META_ARGS["provider"],
                    kind="provider",
                )
    return errors


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) if path.is_absolute() else str(path)
    except ValueError:
        return str(path)


def check_file(path: Path, schema: dict | None = None) -> list[str]:
    shown = _display(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return [f"{shown}: cannot read JSON: {exc}"]
    return check_document(doc, schema, shown)


def check_stack(stack_dir: Path, schema: dict | None = None) -> list[str]:
    """Check every *.tf.json directly in stack_dir; [] means clean.

    A missing directory or one without *.tf.json files is reported as an
    error (a vacuous pass would hide a broken compiler)."""
    stack_dir = Path(stack_dir)
    schema = _normalize_schema(schema if schema is not None else load_schema())
    files = sorted(stack_dir.glob("*.tf.json")) if stack_dir.is_dir() else []
    if not files:
        return [f"{_display(stack_dir)}: no *.tf.json files found"]
    errors: list[str] = []
    for f in files:
        errors.extend(check_file(f, schema))
    return errors


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m tests.provider_schema.check STACK_DIR [STACK_DIR ...]", file=sys.stderr)
        return 2
    errors: list[str] = []
    for d in args:
        errors.extend(check_stack(Path(d)))
    for e in errors:
        print(e)
    print(f"{len(errors)} provider-schema error(s)", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
