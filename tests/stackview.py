"""Read compiled stacks back as plain data, for tests that look at what Terraform will see."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tmsc.compile import compile_platform
from tmsc.model import Platform
from tmsc.render import render_stack


class StackView:
    def __init__(self, name: str, files: dict[str, str]):
        self.name = name
        self.files = files
        self.documents = {file: json.loads(text) for file, text in files.items()}
        self.resources: dict[str, dict[str, dict[str, Any]]] = {}
        self.data: dict[str, dict[str, dict[str, Any]]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}
        for doc in self.documents.values():
            for rtype, blocks in doc.get("resource", {}).items():
                self.resources.setdefault(rtype, {}).update(blocks)
            for dtype, blocks in doc.get("data", {}).items():
                self.data.setdefault(dtype, {}).update(blocks)
            self.outputs.update(doc.get("output", {}))

    def of(self, rtype: str) -> dict[str, dict[str, Any]]:
        return self.resources.get(rtype, {})

    def policies(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(address, decoded policy document) for every IAM/resource policy the stack writes."""
        for rtype, blocks in self.resources.items():
            for name, body in blocks.items():
                for key in ("policy", "assume_role_policy"):
                    if isinstance(body.get(key), str):
                        yield f"{rtype}.{name}.{key}", json.loads(body[key])


def compile_views(doc_or_platform: dict[str, Any] | Platform) -> dict[str, StackView]:
    platform = doc_or_platform if isinstance(doc_or_platform, Platform) else Platform.model_validate(doc_or_platform)
    return {s.name: StackView(s.name, render_stack(s)) for s in compile_platform(platform)}


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
