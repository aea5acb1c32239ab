"""The spec's JSON Schema, as committed in spec/platform.schema.json and used by editors and PR checks."""

from __future__ import annotations

import json

from tmsc.model import SCHEMA_ID, Platform

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def platform_schema() -> dict[str, object]:
    schema = Platform.model_json_schema(mode="validation")
    return {"$schema": DRAFT, "$id": SCHEMA_ID, **{k: v for k, v in schema.items() if k != "$id"}}


def platform_schema_text() -> str:
    return json.dumps(platform_schema(), indent=2, ensure_ascii=False) + "\n"
