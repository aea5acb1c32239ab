"""Every block tmsc emits matches the hashicorp/aws 5.100.0 schema (committed under tests/provider_schema/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from tmsc.compile import compile_platform
from tmsc.model import Platform
from tmsc.render import stack_documents

from .conftest import OUT, examples
from .provider_schema.check import check_document, check_stack, load_schema
from .strategies import spec_documents

STACKS = sorted(p for p in OUT.iterdir() if p.is_dir())


@pytest.mark.parametrize("stack", STACKS, ids=lambda p: p.name)
def test_committed_out_matches_the_provider_schema(stack: Path) -> None:
    assert check_stack(stack) == []


def test_schema_file_is_the_pinned_provider() -> None:
    schema = json.loads((Path(__file__).parent / "provider_schema" / "aws-5.100.0.json").read_text())
    assert schema["provider_version"] == "5.100.0"


@settings(max_examples=examples(30))
@given(doc=spec_documents())
def test_generated_platforms_match_the_provider_schema(doc: dict[str, Any]) -> None:
    schema = load_schema()
    for stack in compile_platform(Platform.model_validate(doc)):
        for name, document in stack_documents(stack).items():
            assert check_document(document, schema, f"{stack.name}/{name}") == []
