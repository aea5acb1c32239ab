"""The spec's JSON Schema, as committed in spec/platform.schema.json and used by editors and PR checks.

Generated from the model, then told what pydantic cannot infer from the
types: the rules of the model's validators and of derive.py that JSON Schema
can state (name patterns on mapping keys, reserved names and prefixes, CIDR
forms, the bounds of what AWS can meet, conditional requirements). Each rule
below names the check it mirrors; tests/test_schema_agreement.py holds the two
to agreeing: a spec tmsc accepts, the schema accepts, and each mistake the
schema can express, both refuse.

What JSON Schema cannot express stays tmsc's alone: 15.0 where an integer is
wanted (JSON has one number type), comparisons between values (business hours
start < end, node counts in order, storage ceiling, the DR region differing
from the platform's), overlapping VPC ranges, AWS name lengths built from
several keys, exactly one service of each contract kind, reads of declared
services, one workload per service account, IANA zone names beyond their
shape, the coverage of public CIDRs taken together, environment names
nested in another's CI scope, and whether business hours leave room for the
backup and maintenance windows (or a fixed broker window misses them).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from tmsc.derive import MAX_TARGET_PERCENT, MIN_RTO_HOURS, MIN_SUBNET_PREFIX, RDS_LOG_SHIPPING_MINUTES
from tmsc.model import (
    DELIVERY_RESERVED_ENVIRONMENT_NAMES,
    RESERVED_PLATFORM_PREFIXES,
    RESERVED_STACK_NAMES,
    S3_RESERVED_PREFIXES,
    S3_RESERVED_SUFFIXES,
    SCHEMA_ID,
    Platform,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"


def _multiples(bits: int) -> str:
    """An octet whose low `bits` bits are zero, as a regex alternation."""
    return "(?:" + "|".join(str(v) for v in range(0, 256, 1 << bits)) + ")"


def _ipv4_network(prefix: int, fixed_octets: int) -> str:
    """The octets after the first fixed_octets of an IPv4 network /prefix with no host bits set."""
    parts = []
    for index in range(fixed_octets, 4):
        network_bits = min(max(prefix - 8 * index, 0), 8)
        parts.append(_OCTET if network_bits == 8 else "0" if network_bits == 0 else _multiples(8 - network_bits))
    return r"\.".join(parts)


def vpc_cidr_pattern() -> str:
    """An RFC 1918 network /16 to the largest derive.subnet_layout accepts, in CIDR form, no host bits set."""
    largest = MIN_SUBNET_PREFIX - 5  # a quarter, then an eighth of it, must stay a /28 or larger
    tails = "|".join(f"{_ipv4_network(p, 2)}/{p}" for p in range(16, largest + 1))
    return rf"^(?:10\.{_OCTET}|172\.(?:1[6-9]|2[0-9]|3[01])|192\.168)\.(?:{tails})$"


def public_cidr_pattern() -> str:
    """An IPv4 network /1-/32 in CIDR form with no host bits set, or an IPv6 address/prefix /1-/128.

    IPv6 host bits are left to tmsc: a pattern for every way of writing an IPv6 network is not worth its size.
    """
    ipv4 = "|".join(f"{_ipv4_network(p, 0)}/{p}" for p in range(1, 33))
    ipv6 = r"(?=[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]+/(?:12[0-8]|1[01][0-9]|[1-9][0-9]?)"
    return f"^(?:{ipv4}|{ipv6})$"


def _not_prefixed(prefixes: tuple[str, ...]) -> str:
    """A name P such that P + '-' starts with none of prefixes (each ends with '-'; only that last '-' is P's
    appended one: 'xn--' refuses 'xn-…', not 'xn')."""
    return "^(?:" + "|".join(p[:-1].replace(".", r"\.") for p in prefixes) + ")(?:-|$)"


# Property-level rules: $defs model → property → keywords added to its schema.
FIELD_RULES: dict[str, dict[str, dict[str, Any]]] = {
    "Availability": {
        # derive.availability_ceiling
        "target_percent": {"maximum": MAX_TARGET_PERCENT},
    },
    "Recovery": {
        # derive.database_pitr, derive.recovery_time
        "rpo_minutes": {"minimum": RDS_LOG_SHIPPING_MINUTES},
        "rto_hours": {"minimum": MIN_RTO_HOURS},
    },
    "Network": {
        # model.Network._cidr and derive.subnet_layout
        "cidr": {"pattern": vpc_cidr_pattern()},
    },
    "Environment": {
        # model.Environment._public_cidrs (one range at a time; their coverage together is tmsc's)
        "cluster_public_access_cidrs": {"items": {"type": "string", "pattern": public_cidr_pattern()}},
    },
    "BusinessHours": {
        # model.is_iana_zone: the shape of a zone name (whether the zone exists is tmsc's)
        "timezone": {"pattern": r"^[A-Z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$"},
    },
    "StateBackend": {
        # model.bucket_name_problem
        "bucket": {
            "anyOf": [
                {
                    "not": {
                        "pattern": "^(?:"
                        + "|".join(p.replace(".", r"\.") for p in S3_RESERVED_PREFIXES)
                        + ")|(?:"
                        + "|".join(s.replace(".", r"\.") for s in S3_RESERVED_SUFFIXES)
                        + ")$"
                    },
                },
                {},
            ]
        },
    },
    "ClusterSizing": {
        # model.ClusterSizing._one_architecture (model.is_graviton)
        # (the field is optional: pydantic's own anyOf holds the array and null, so the rule goes under allOf)
        "instance_types": {
            "allOf": [
                {
                    "anyOf": [
                        {"type": "null"},
                        {"items": {"pattern": r"^[a-z]+[0-9]+[a-z]*g[a-z]*\."}},
                        {"items": {"not": {"pattern": r"^[a-z]+[0-9]+[a-z]*g[a-z]*\."}}},
                    ]
                }
            ]
        },
    },
}

# Object-level rules: $defs model (or "" for the root) → keywords added to the object's schema.
OBJECT_RULES: dict[str, dict[str, Any]] = {
    "": {
        # model.Platform._platform_prefix
        "properties": {"platform": {"not": {"pattern": _not_prefixed(tuple(RESERVED_PLATFORM_PREFIXES))}}},
        # model.Platform._delivery_scopes: with delivery, no environment named like the state's IAM scope
        "if": {"required": ["delivery"], "properties": {"delivery": {"type": "object"}}},
        "then": {
            "properties": {
                "environments": {"propertyNames": {"not": {"enum": list(DELIVERY_RESERVED_ENVIRONMENT_NAMES)}}}
            }
        },
    },
    "RabbitMQ": {
        # model.RabbitMQ._maintenance_both_or_neither: a fixed broker maintenance start is a day and a time
        "dependentRequired": {"maintenance_day": ["maintenance_time"], "maintenance_time": ["maintenance_day"]},
    },
    "Api": {
        # model.Api._jwt: authorization jwt (the default) needs an issuer and an audience
        "if": {
            "anyOf": [
                {"not": {"required": ["authorization"]}},
                {"required": ["authorization"], "properties": {"authorization": {"const": "jwt"}}},
            ]
        },
        "then": {
            "required": ["jwt_issuer", "jwt_audience"],
            "properties": {"jwt_issuer": {"type": "string"}, "jwt_audience": {"minItems": 1}},
        },
    },
}

# model.Platform._cross_field: the name of the stack that holds the state
RESERVED_ENVIRONMENT_NAMES = {"environments": {"not": {"enum": list(RESERVED_STACK_NAMES)}}}


class _PlatformSchema(GenerateJsonSchema):
    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        """Keys by name: the name rules in propertyNames, and nothing else admitted.

        pydantic moves a key pattern out of propertyNames into patternProperties, which leaves a
        key that breaks the pattern unchecked (neither its name nor its value): put it back.
        """
        result = super().dict_schema(schema)
        patterns = result.pop("patternProperties", None)
        if patterns:
            ((pattern, values),) = patterns.items()
            result["propertyNames"] = {**result.get("propertyNames", {}), "pattern": pattern}
            result["additionalProperties"] = values
        return result

    def generate(self, schema: core_schema.CoreSchema, mode: Any = "validation") -> JsonSchemaValue:
        result = super().generate(schema, mode)
        definitions = result.get("$defs", {})
        for model, fields in FIELD_RULES.items():
            for field, keywords in fields.items():
                _merge(definitions[model]["properties"][field], keywords, f"{model}.{field}")
        for model, keywords in OBJECT_RULES.items():
            _merge(definitions[model] if model else result, keywords, model or "the root")
        for field, keywords in RESERVED_ENVIRONMENT_NAMES.items():
            _merge(result["properties"][field]["propertyNames"], keywords, field)
        return result


def _merge(target: dict[str, Any], keywords: dict[str, Any], where: str) -> None:
    """Add keywords to a schema; a keyword pydantic already set is only deepened or a bound tightened, never replaced."""
    for key, value in keywords.items():
        if key not in target:
            target[key] = value
        elif target[key] == value:
            continue
        elif key in ("maximum", "minimum") and (value < target[key]) == (key == "maximum"):
            target[key] = value  # derive.py refuses more than the model's bounds do
        elif isinstance(target[key], dict) and isinstance(value, dict):
            _merge(target[key], value, f"{where}.{key}")
        elif isinstance(target[key], list) and isinstance(value, list) and len(target[key]) == len(value):
            for index, (have, add) in enumerate(zip(target[key], value, strict=True)):
                _merge(have, add, f"{where}.{key}[{index}]")
        else:
            raise ValueError(f"schema rule for {where} would replace {key!r} = {target[key]!r}")


def platform_schema() -> dict[str, object]:
    schema = Platform.model_json_schema(mode="validation", schema_generator=_PlatformSchema)
    return {"$schema": DRAFT, "$id": SCHEMA_ID, **{k: v for k, v in schema.items() if k != "$id"}}


def platform_schema_text() -> str:
    return json.dumps(platform_schema(), indent=2, ensure_ascii=False) + "\n"
