"""Terraform IR → Terraform JSON text, deterministically.

Sorted keys, two-space indent, a trailing newline: the same stack always gives
the same bytes. Rendering refuses a stack whose references point at blocks it
does not contain, or whose addresses collide, so such a mistake fails in the
compiler rather than in `terraform plan`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tmsc.ir import DataSource, JsonDocument, Output, Provider, Ref, Resource, Settings, Stack, Template, refs_in


class RenderError(Exception):
    """A compiler bug: the IR is not a valid Terraform configuration."""


def escape_literal(text: str) -> str:
    """A literal string must not start an interpolation or a template directive."""
    return text.replace("${", "$${").replace("%{", "%%{")


def expression_value(value: Any) -> Any:
    """A body value → its JSON value, with references as "${...}" and literals escaped."""
    if isinstance(value, Ref):
        if value.attribute is None:
            raise RenderError(f"bare reference {value.address} outside depends_on")
        return "${" + value.expression + "}"
    if isinstance(value, Template):
        return "".join("${" + p.expression + "}" if isinstance(p, Ref) else escape_literal(p) for p in value.parts)
    if isinstance(value, JsonDocument):
        return _json_document(value.value)
    if isinstance(value, str):
        return escape_literal(value)
    if isinstance(value, Mapping):
        return {str(k): _body_item(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [expression_value(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise RenderError(f"cannot render {type(value).__name__}: {value!r}")


def _body_item(key: str, value: Any) -> Any:
    # Meta-arguments that take bare references rather than expressions.
    if key == "depends_on":
        return [_bare(v) for v in value]
    if key == "lifecycle" and isinstance(value, Mapping) and "ignore_changes" in value:
        rendered = {k: expression_value(v) for k, v in value.items() if k != "ignore_changes"}
        rendered["ignore_changes"] = list(value["ignore_changes"])
        return rendered
    if key == "provider" and isinstance(value, str):
        return value
    return expression_value(value)


def _bare(value: Any) -> str:
    if not isinstance(value, Ref) or value.attribute is not None:
        raise RenderError(f"depends_on takes bare references, got {value!r}")
    return value.address


def _json_document(value: Any) -> str:
    """A policy as a JSON string whose references interpolate when Terraform evaluates it."""

    def convert(item: Any) -> Any:
        if isinstance(item, Ref):
            if item.attribute is None:
                raise RenderError(f"bare reference {item.address} in a JSON document")
            return "${" + item.expression + "}"
        if isinstance(item, Template):
            return expression_value(item)
        if isinstance(item, Mapping):
            # Keys may be templates too: IRSA conditions are keyed "<issuer>:sub".
            return {(expression_value(k) if isinstance(k, Template) else escape_literal(str(k))): convert(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [convert(v) for v in item]
        if isinstance(item, str):
            return escape_literal(item)
        return item

    return json.dumps(convert(value), sort_keys=True, separators=(",", ":"))


def render_block_body(body: Mapping[str, Any], because: tuple[str, ...] = ()) -> dict[str, Any]:
    rendered = {str(k): _body_item(str(k), v) for k, v in body.items()}
    if because:
        # Terraform ignores "//" in a block body: the trace of the decisions that shaped this block.
        rendered["//"] = "; ".join(because)
    return rendered


def stack_documents(stack: Stack) -> dict[str, dict[str, Any]]:
    """file name → JSON document, after checking addresses and references."""
    check_stack(stack)
    documents: dict[str, dict[str, Any]] = {}
    for file in stack.files:
        doc: dict[str, Any] = {}
        for block in file.blocks:
            if isinstance(block, Resource):
                doc.setdefault("resource", {}).setdefault(block.type, {})[block.name] = render_block_body(block.body, block.because)
            elif isinstance(block, DataSource):
                doc.setdefault("data", {}).setdefault(block.type, {})[block.name] = render_block_body(block.body)
            elif isinstance(block, Output):
                output = {"description": block.description, "value": expression_value(block.value)}
                if block.sensitive:
                    output["sensitive"] = True
                doc.setdefault("output", {})[block.name] = output
            elif isinstance(block, Provider):
                doc.setdefault("provider", {}).setdefault(block.name, []).append(render_block_body(block.body))
            elif isinstance(block, Settings):
                if "terraform" in doc:
                    raise RenderError(f"{stack.name}/{file.name}: two terraform blocks")
                doc["terraform"] = render_block_body(block.body)
        documents[file.name] = doc
    return documents


def check_stack(stack: Stack) -> None:
    """Unique addresses and file names; every reference points at a block of this stack."""
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
    for block in stack.blocks():
        for ref in refs_in(_references_of(block)):
            if ref.address not in addresses:
                raise RenderError(f"{stack.name}: {_address(block) or type(block).__name__} refers to {ref.expression}, which is not emitted")


def _address(block: Any) -> str | None:
    if isinstance(block, (Resource, DataSource)):
        return block.address
    if isinstance(block, Output):
        return f"output.{block.name}"
    return None


def _references_of(block: Any) -> Any:
    if isinstance(block, Output):
        return block.value
    return block.body


def render_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_stack(stack: Stack) -> dict[str, str]:
    """file name → file text."""
    return {name: render_json(doc) for name, doc in sorted(stack_documents(stack).items())}
