"""Properties of the whole compiler over generated platforms."""

from __future__ import annotations

import copy
import json
import re
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from tmsc.compile import compile_platform
from tmsc.diagnostics import SpecError
from tmsc.load import load_platform_text
from tmsc.model import NAME_MAX_LENGTH, EksCluster, Platform, is_iana_zone
from tmsc.render import render_stack

from .strategies import spec_documents

INTERPOLATION = re.compile(r"(?<!\$)\$\{([^}]*)\}")


def compile_documents(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {s.name: render_stack(s) for s in compile_platform(Platform.model_validate(doc))}


def shuffled(mapping: dict[str, Any], order: list[int]) -> dict[str, Any]:
    items = list(mapping.items())
    return dict(items[i] for i in order)


def addresses(files: dict[str, str]) -> set[str]:
    found: set[str] = set()
    for text in files.values():
        doc = json.loads(text)
        for rtype, blocks in doc.get("resource", {}).items():
            found.update(f"{rtype}.{name}" for name in blocks)
        for kind in ("data", "ephemeral"):
            for dtype, blocks in doc.get(kind, {}).items():
                found.update(f"{kind}.{dtype}.{name}" for name in blocks)
    return found


@given(doc=spec_documents())
def test_compiling_twice_gives_identical_bytes(doc: dict[str, Any]) -> None:
    assert compile_documents(doc) == compile_documents(doc)


@given(doc=spec_documents(), data=st.data())
def test_reordering_environments_services_and_workloads_changes_no_byte(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    reordered = dict(doc)
    for key in ("environments", "services", "workloads"):
        order = data.draw(st.permutations(range(len(doc[key]))))
        reordered[key] = shuffled(doc[key], order)
    assert compile_documents(reordered) == compile_documents(doc)


@given(doc=spec_documents())
def test_every_interpolation_names_an_emitted_block(doc: dict[str, Any]) -> None:
    for stack, files in compile_documents(doc).items():
        known = addresses(files)
        for text in files.values():
            for expression in INTERPOLATION.findall(text):
                parts = expression.split(".")
                address = ".".join(parts[:3]) if parts[0] in ("data", "ephemeral") else ".".join(parts[:2])
                assert address in known, f"{stack}: ${{{expression}}} names no emitted block"


@given(doc=spec_documents())
def test_every_bucket_is_encrypted_versioned_private_and_tls_only(doc: dict[str, Any]) -> None:
    for stack, files in compile_documents(doc).items():
        resources: dict[str, dict[str, Any]] = {}
        for text in files.values():
            for rtype, blocks in json.loads(text).get("resource", {}).items():
                resources.setdefault(rtype, {}).update(blocks)
        buckets = resources.get("aws_s3_bucket", {})
        assert buckets, stack
        for name in buckets:
            assert resources["aws_s3_bucket_versioning"][name]["versioning_configuration"]["status"] == "Enabled"
            rule = resources["aws_s3_bucket_server_side_encryption_configuration"][name]["rule"][0]
            assert rule["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
            assert rule["apply_server_side_encryption_by_default"]["kms_master_key_id"].startswith("${aws_kms_key.")
            block = resources["aws_s3_bucket_public_access_block"][name]
            assert all(
                block[k] is True
                for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
            )
            policy = json.loads(resources["aws_s3_bucket_policy"][name]["policy"])
            assert any(
                s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                for s in policy["Statement"]
            )
            assert (
                resources["aws_s3_bucket_ownership_controls"][name]["rule"]["object_ownership"] == "BucketOwnerEnforced"
            )


@given(doc=spec_documents())
def test_every_kms_key_rotates_and_every_log_group_is_encrypted(doc: dict[str, Any]) -> None:
    for files in compile_documents(doc).values():
        for text in files.values():
            resources = json.loads(text).get("resource", {})
            for key in resources.get("aws_kms_key", {}).values():
                assert key["enable_key_rotation"] is True and json.loads(key["policy"])["Statement"]
            for group in resources.get("aws_cloudwatch_log_group", {}).values():
                assert group["kms_key_id"].startswith("${aws_kms_key.")


# --------------------------------------------------------------------------- strict types


def leaves(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every scalar of a document, inside mappings and lists."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else None
    if items is None:
        return [(prefix, value)]
    return [leaf for key, item in items for leaf in leaves(item, (*prefix, key))]


def replaced(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(doc)
    target = copied
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copied


@given(doc=spec_documents(max_environments=2), data=st.data())
def test_no_scalar_is_coerced_into_another_type(doc: dict[str, Any], data: st.DataObject) -> None:
    """A boolean is no number, a number no string, a numeric string no number: each is refused, never converted."""
    path, value = data.draw(st.sampled_from(leaves(doc)))
    if isinstance(value, bool):
        return
    other: object
    if isinstance(value, (int, float)):
        other = data.draw(st.one_of(st.booleans(), st.just(str(value))))
    else:
        assert isinstance(value, str), (path, value)
        other = data.draw(st.one_of(st.booleans(), st.integers(-5, 100), st.floats(0.5, 99.5), st.just(1.31)))
    with pytest.raises(ValidationError):
        Platform.model_validate(replaced(doc, path, other))


def example_with(old: str, new: str) -> str:
    text = (Path(__file__).parent.parent / "spec" / "platform.yaml").read_text()
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_an_integer_is_a_float_and_a_quoted_version_a_string() -> None:
    """What YAML users write and mean stays accepted under strict types: 99 for 99.0, "1.35" for a version."""
    platform = load_platform_text(example_with("      target_percent: 99.5", "      target_percent: 99"), "spec.yaml")
    assert platform.environments["staging"].availability.target_percent == 99.0
    assert platform.environments["prod"].recovery.rto_hours == 4.0  # written `rto_hours: 4`
    cluster = platform.services["cluster"]
    assert isinstance(cluster, EksCluster) and cluster.version == "1.35"  # written `version: "1.35"`


@pytest.mark.parametrize(
    ("old", "new", "message", "fix"),
    [
        (
            '    version: "1.35"',
            "    version: 1.35",
            "YAML reads the unquoted 1.35 as the number 1.35",
            'quote it: version: "1.35"',
        ),
        (
            "      target_percent: 99.5",
            "      target_percent: yes",
            'the boolean true to YAML 1.1 (PyYAML and older tools), the text "yes" to YAML 1.2',
            "uptime target",
        ),
        (
            "      target_percent: 99.5",
            '      target_percent: "99.5"',
            "'99.5' is quoted, so it is text, not a number",
            "write it without quotes: target_percent: 99.5",
        ),
        (
            '        end: "22:00"',
            "        end: 22:00",
            "the number 1320 to YAML 1.1 (PyYAML and older tools; it reads h:mm as a number in base 60)",
            'quote it: end: "22:00"',
        ),
        (
            "    jwt_audience: [tms-api]",
            "    jwt_audience: [2024]",
            "YAML reads the unquoted 2024 as the number 2024",
            'quote it: - "2024"',
        ),
    ],
)
def test_a_scalar_of_the_wrong_type_is_explained_in_yaml_terms(old: str, new: str, message: str, fix: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_platform_text(example_with(old, new), "spec.yaml")
    (diagnostic,) = caught.value.diagnostics
    assert message in diagnostic.message and fix in (diagnostic.hint or ""), diagnostic.render()


@pytest.mark.parametrize("role", ["tms-plattform-admin-\u00e9", "tms\u0661admin", "admin\u00a0role"])
def test_the_admin_role_name_is_ascii_as_iam_requires(role: str) -> None:
    """IAM's [\\w+=,.@-] is ASCII; a Unicode-aware \\w would let these through to a failed apply."""
    with pytest.raises(SpecError) as caught:
        load_platform_text(
            example_with("    admin_role_name: tms-platform-admin", f"    admin_role_name: {role}"), "spec.yaml"
        )
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.path == "services.cluster.admin_role_name", diagnostic.render()


# --------------------------------------------------------------------------- names


@given(doc=spec_documents(max_environments=1), name=st.from_regex(r"\A[a-z0-9-]{1,34}\Z"))
def test_an_accepted_environment_name_suits_every_aws_identifier(doc: dict[str, Any], name: str) -> None:
    """Whatever name is tried, one the model accepts starts with a letter, has no '--', no trailing '-', at most 32 characters."""
    (old,) = doc["environments"]
    doc = {**doc, "environments": {name: doc["environments"][old]}}
    try:
        Platform.model_validate(doc)
    except ValidationError:
        return
    assert name[0].isalpha() and "--" not in name and not name.endswith("-") and 2 <= len(name) <= NAME_MAX_LENGTH, name


# --------------------------------------------------------------------------- time zones

ZONES = sorted(zone for zone in zoneinfo.available_timezones() if zone[0].isupper() and "." not in zone)


def with_timezone(doc: dict[str, Any], zone: str) -> dict[str, Any]:
    env = next(iter(doc["environments"]))
    return replaced(
        doc,
        ("environments", env, "availability"),
        {**doc["environments"][env]["availability"], "business_hours": {"timezone": zone}},
    )


@given(doc=spec_documents(max_environments=1), zone=st.sampled_from(ZONES))
def test_every_iana_zone_is_accepted(doc: dict[str, Any], zone: str) -> None:
    assert Platform.model_validate(with_timezone(doc, zone)).environments


@given(doc=spec_documents(max_environments=1), zone=st.sampled_from(ZONES), data=st.data())
def test_a_misspelt_zone_is_refused_with_the_zone_meant(doc: dict[str, Any], zone: str, data: st.DataObject) -> None:
    """One character dropped or doubled: refused unless that is another zone, and a close misspelling names the zone meant."""
    i = data.draw(st.integers(0, len(zone) - 1))
    typo = data.draw(st.sampled_from([zone[:i] + zone[i + 1 :], zone[: i + 1] + zone[i:]]))
    assume(typo not in ZONES and typo)
    with pytest.raises(ValidationError) as caught:
        Platform.model_validate(with_timezone(doc, typo))
    (error,) = caught.value.errors()
    hint = error["ctx"]["error"].hint
    assert "is not an IANA time zone name" in error["msg"]
    if len(zone) >= 8:  # short zones (UTC, EST) have too little left to match on
        assert repr(zone) in hint or "IANA tz database" in hint, (typo, hint)


def test_zone_names_are_checked_against_the_tz_database_not_the_file_system() -> None:
    assert is_iana_zone("Europe/Berlin") and is_iana_zone("UTC") and is_iana_zone("Etc/GMT+5")
    for name in (
        "europe/berlin",
        "Europe/Berln",
        "localtime",
        "posixrules",
        "zone.tab",
        "../etc/passwd",
        "/etc/localtime",
        "Europe",
        "Europe//Berlin",
        "UTC+2",
    ):
        assert not is_iana_zone(name), name
