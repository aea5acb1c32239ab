"""Properties of the whole compiler over generated platforms."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tmsc.compile import compile_platform
from tmsc.model import Platform
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
        for dtype, blocks in doc.get("data", {}).items():
            found.update(f"data.{dtype}.{name}" for name in blocks)
    return found


@given(doc=spec_documents())
def test_compiling_twice_gives_identical_bytes(doc: dict[str, Any]) -> None:
    assert compile_documents(doc) == compile_documents(doc)


@given(doc=spec_documents(), data=st.data())
def test_reordering_environments_services_and_workloads_changes_no_byte(doc: dict[str, Any], data: st.DataObject) -> None:
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
                address = ".".join(parts[:3]) if parts[0] == "data" else ".".join(parts[:2])
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
            assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
            policy = json.loads(resources["aws_s3_bucket_policy"][name]["policy"])
            assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy["Statement"])
            assert resources["aws_s3_bucket_ownership_controls"][name]["rule"]["object_ownership"] == "BucketOwnerEnforced"


@given(doc=spec_documents())
def test_every_kms_key_rotates_and_every_log_group_is_encrypted(doc: dict[str, Any]) -> None:
    for files in compile_documents(doc).values():
        for text in files.values():
            resources = json.loads(text).get("resource", {})
            for key in resources.get("aws_kms_key", {}).values():
                assert key["enable_key_rotation"] is True and json.loads(key["policy"])["Statement"]
            for group in resources.get("aws_cloudwatch_log_group", {}).values():
                assert group["kms_key_id"].startswith("${aws_kms_key.")
