"""Unit tests of the provider-schema checker itself (not of compiled output).

Each negative case proves the checker can fail; positive cases guard
against false positives on valid Terraform JSON shapes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from .check import check_document, check_stack, load_schema

SRC = "out/dev/network.tf.json"


@pytest.fixture(scope="module")
def schema() -> dict:
    return load_schema()


def _res(type_name: str, name: str, body: dict) -> dict:
    return {"resource": {type_name: {name: body}}}


def _errs(doc: dict, schema: dict) -> list[str]:
    return check_document(doc, schema, SRC)


VALID_SUBNET = {
    "vpc_id": "${aws_vpc.main.id}",
    "cidr_block": "10.0.1.0/24",
    "availability_zone": "eu-west-1a",
    "map_public_ip_on_launch": False,
    "tags": {"Name": "private-a", "tier": "private"},
}


# --------------------------------------------------------------------------- #
# schema file
# --------------------------------------------------------------------------- #
def test_schema_file_metadata(schema):
    assert schema["provider_version"] == "5.100.0"
    assert schema["terraform_version"]
    assert "aws_subnet" in schema["resource_schemas"]
    assert "aws_caller_identity" in schema["data_source_schemas"]
    assert "aws_secretsmanager_random_password" in schema["ephemeral_resource_schemas"]
    # description metadata is stripped, shared refs are resolved ...
    text = json.dumps(schema["resource_schemas"]["aws_wafv2_web_acl"])
    assert "description_kind" not in text and "$ref" not in text
    # ... but attributes / object-type keys that are *named* "description" survive
    assert "description" in schema["resource_schemas"]["aws_iam_role"]["block"]["attributes"]
    ingress_ty = schema["resource_schemas"]["aws_security_group"]["block"]["attributes"]["ingress"]["type"]
    assert "description" in ingress_ty[1][1]


# --------------------------------------------------------------------------- #
# passing cases
# --------------------------------------------------------------------------- #
def test_valid_subnet_passes(schema):
    assert _errs(_res("aws_subnet", "private_a", VALID_SUBNET), schema) == []


def test_valid_mixed_document_passes(schema):
    doc = {
        "//": "generated",
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
        "provider": {
            "aws": [
                {"region": "eu-west-1", "default_tags": {"tags": {"app": "tms"}}},
                {"alias": "use1", "region": "us-east-1"},
            ]
        },
        "data": {
            "aws_caller_identity": {"current": {}},
            "aws_iam_policy_document": {
                "assume": {
                    "statement": [
                        {
                            "actions": ["sts:AssumeRole"],
                            "principals": [{"type": "Service", "identifiers": ["eks.amazonaws.com"]}],
                        }
                    ],
                }
            },
        },
        "ephemeral": {"aws_secretsmanager_random_password": {"db": {"password_length": 32}}},
        "resource": {
            "aws_subnet": {
                "private_a": dict(
                    VALID_SUBNET, count=2, depends_on=["aws_vpc.main"], lifecycle={"ignore_changes": ["tags"]}
                )
            },
            "aws_security_group": {
                "db": {
                    "//": "comment in a body",
                    "vpc_id": "${aws_vpc.main.id}",
                    "ingress": [  # repeated block as a list of objects
                        {
                            "from_port": 5432,
                            "to_port": 5432,
                            "protocol": "tcp",
                            "cidr_blocks": ["10.0.0.0/16"],
                            "description": None,
                            "ipv6_cidr_blocks": None,
                            "prefix_list_ids": None,
                            "security_groups": None,
                            "self": None,
                        },
                    ],
                }
            },
            "aws_s3_bucket_versioning": {
                "logs": {
                    "bucket": "${aws_s3_bucket.logs.id}",
                    "versioning_configuration": {"status": "Enabled"},  # max_items=1 block as object
                }
            },
            "aws_db_instance": {
                "main": {
                    "instance_class": "db.t4g.micro",
                    "allocated_storage": "20",  # numeric string converts to number
                    "password_wo": "${ephemeral.aws_secretsmanager_random_password.db.random_password}",
                    "password_wo_version": 1,  # write-only attribute pair
                    "provider": "aws.use1",
                    "dynamic": {"timeouts": {"for_each": "${var.t}", "content": {"create": "1h"}}},
                }
            },
            "random_id": {"suffix": {"byte_length": 4}},  # other provider: skipped
        },
    }
    assert _errs(doc, schema) == []


def test_single_block_as_list_of_one_passes(schema):
    body = {"bucket": "b", "versioning_configuration": [{"status": "Enabled"}]}
    assert _errs(_res("aws_s3_bucket_versioning", "v", body), schema) == []


def test_expression_matches_any_type(schema):
    body = dict(VALID_SUBNET, tags="${local.tags}", map_public_ip_on_launch="${var.public}")
    assert _errs(_res("aws_subnet", "s", body), schema) == []


# --------------------------------------------------------------------------- #
# failing cases
# --------------------------------------------------------------------------- #
def test_unknown_attribute_with_suggestion(schema):
    body = dict(VALID_SUBNET)
    body["availabilty_zone"] = body.pop("availability_zone")
    assert _errs(_res("aws_subnet", "private_a", body), schema) == [
        'out/dev/network.tf.json: aws_subnet.private_a: unknown attribute "availabilty_zone" '
        '(did you mean "availability_zone"?)'
    ]


def test_missing_required_attribute(schema):
    body = {k: v for k, v in VALID_SUBNET.items() if k != "vpc_id"}
    assert _errs(_res("aws_subnet", "private_a", body), schema) == [
        f'{SRC}: aws_subnet.private_a: missing required attribute "vpc_id"'
    ]


def test_required_attribute_null(schema):
    body = dict(VALID_SUBNET, vpc_id=None)
    assert _errs(_res("aws_subnet", "a", body), schema) == [f'{SRC}: aws_subnet.a: required attribute "vpc_id" is null']


@pytest.mark.parametrize("attr", ["arn", "owner_id"])
def test_computed_only_attribute_set(schema, attr):
    body = dict(VALID_SUBNET, **{attr: "x"})
    assert _errs(_res("aws_subnet", "a", body), schema) == [
        f'{SRC}: aws_subnet.a: attribute "{attr}" is computed-only and cannot be set'
    ]


def test_unknown_nested_block(schema):
    body = {
        "bucket": "b",
        "versioning_configuration": {"status": "Enabled"},
        "versioning_config": {"status": "Enabled"},
    }
    assert _errs(_res("aws_s3_bucket_versioning", "v", body), schema) == [
        f'{SRC}: aws_s3_bucket_versioning.v: unknown nested block "versioning_config" '
        '(did you mean "versioning_configuration"?)'
    ]


def test_too_many_nested_blocks(schema):
    body = {"bucket": "b", "versioning_configuration": [{"status": "Enabled"}, {"status": "Suspended"}]}
    assert _errs(_res("aws_s3_bucket_versioning", "v", body), schema) == [
        f'{SRC}: aws_s3_bucket_versioning.v: too many "versioning_configuration" blocks: 2 given, at most 1 allowed'
    ]


def test_missing_required_nested_block(schema):
    assert _errs(_res("aws_s3_bucket_versioning", "v", {"bucket": "b"}), schema) == [
        f'{SRC}: aws_s3_bucket_versioning.v: at least 1 "versioning_configuration" block required, 0 given'
    ]


def test_dict_given_for_string_attribute(schema):
    body = dict(VALID_SUBNET, cidr_block={"value": "10.0.1.0/24"})
    assert _errs(_res("aws_subnet", "a", body), schema) == [
        f'{SRC}: aws_subnet.a: attribute "cidr_block": expected string, got an object'
    ]


def test_list_given_for_bool_and_bad_collection_elements(schema):
    body = dict(VALID_SUBNET, map_public_ip_on_launch=[True], tags={"Name": {"x": 1}})
    assert _errs(_res("aws_subnet", "a", body), schema) == [
        f'{SRC}: aws_subnet.a: attribute "map_public_ip_on_launch": expected bool, got a list',
        f'{SRC}: aws_subnet.a: attribute "tags["Name"]": expected string, got an object',
    ]


def test_string_given_for_list_attribute(schema):
    body = {"subnet_ids": "subnet-1"}
    assert _errs(_res("aws_db_subnet_group", "g", body), schema) == [
        f'{SRC}: aws_db_subnet_group.g: attribute "subnet_ids": expected set(string), got string'
    ]


def test_errors_inside_nested_blocks_carry_a_path(schema):
    body = {
        "name": "r",
        "statement": [
            {"actions": ["s3:GetObject"]},
            {"actions": ["s3:GetObject"], "principals": {"type": "AWS", "identifier": ["*"]}},
        ],
    }
    assert _errs({"data": {"aws_iam_policy_document": {"p": body}}}, schema) == [
        f'{SRC}: data.aws_iam_policy_document.p: unknown attribute "name"',
        f'{SRC}: data.aws_iam_policy_document.p: statement[1].principals: unknown attribute "identifier" '
        '(did you mean "identifiers"?)',
        f'{SRC}: data.aws_iam_policy_document.p: statement[1].principals: missing required attribute "identifiers"',
    ]


# aws_security_group.ingress/egress are legacy-SDK "attributes as blocks":
# type set(object), not block_types. In JSON syntax terraform treats them as
# plain attributes: a list of complete objects (verified with terraform validate).
SG_RULE = {
    "from_port": 443,
    "to_port": 443,
    "protocol": "tcp",
    "cidr_blocks": ["10.0.0.0/8"],
    "description": None,
    "ipv6_cidr_blocks": None,
    "prefix_list_ids": None,
    "security_groups": None,
    "self": None,
}


def test_attribute_as_blocks_needs_complete_objects(schema):
    body = {"vpc_id": "v", "ingress": [{"from_port": 1, "to_port": 2, "protocol": "tcp"}]}
    assert _errs(_res("aws_security_group", "sg", body), schema) == [
        f'{SRC}: aws_security_group.sg: attribute "ingress[0]": object is missing attributes '
        '"cidr_blocks", "description", "ipv6_cidr_blocks", "prefix_list_ids", "security_groups", "self" '
        "(all object attributes are required; use null for unset)"
    ]


def test_attribute_as_blocks_single_object_rejected(schema):
    errs = _errs(_res("aws_security_group", "sg", {"vpc_id": "v", "ingress": SG_RULE}), schema)
    assert len(errs) == 1 and 'attribute "ingress": expected set(object(' in errs[0] and errs[0].endswith("got object")


def test_attribute_as_blocks_extra_key_flagged(schema):
    body = {"vpc_id": "v", "egress": [dict(SG_RULE, cidr_block="0.0.0.0/0")]}
    assert _errs(_res("aws_security_group", "sg", body), schema) == [
        f'{SRC}: aws_security_group.sg: attribute "egress[0]": unexpected object attribute "cidr_block" '
        '(did you mean "cidr_blocks"?) (terraform would silently drop it)'
    ]


def test_number_attribute_given_word(schema):
    body = {"vpc_id": "v", "ingress": [dict(SG_RULE, from_port="eighty")]}
    assert _errs(_res("aws_security_group", "sg", body), schema) == [
        f'{SRC}: aws_security_group.sg: attribute "ingress[0].from_port": expected number, got string "eighty"'
    ]


def test_block_given_as_string(schema):
    body = {"bucket": "b", "versioning_configuration": "Enabled"}
    assert _errs(_res("aws_s3_bucket_versioning", "v", body), schema) == [
        f'{SRC}: aws_s3_bucket_versioning.v: block "versioning_configuration" must be an object '
        "or a list of objects, got string",
        f'{SRC}: aws_s3_bucket_versioning.v: at least 1 "versioning_configuration" block required, 0 given',
    ]


def test_unknown_resource_type_suggests(schema):
    errs = _errs(_res("aws_subnett", "a", VALID_SUBNET), schema)
    assert errs == [f'{SRC}: aws_subnett.a: unknown resource type "aws_subnett" (did you mean "aws_subnet"?)']


def test_real_type_missing_from_trimmed_schema(schema):
    if "aws_instance" in schema["resource_schemas"]:
        pytest.skip("aws_instance is in the trimmed schema")
    errs = _errs(_res("aws_instance", "a", {"ami": "x"}), schema)
    assert len(errs) == 1 and "exists in hashicorp/aws 5.100.0 but is not in the trimmed schema" in errs[0]


def test_data_source_used_as_resource(schema):
    errs = _errs(_res("aws_caller_identity", "me", {}), schema)
    assert errs == [f'{SRC}: aws_caller_identity.me: unknown resource type "aws_caller_identity" (it is a data source)']


def test_data_block_checked_with_data_address(schema):
    doc = {"data": {"aws_availability_zones": {"azs": {"state": "available", "stat": "x"}}}}
    assert _errs(doc, schema) == [
        f'{SRC}: data.aws_availability_zones.azs: unknown attribute "stat" (did you mean "state"?)'
    ]


def test_resource_only_meta_args_rejected_on_data(schema):
    doc: dict[str, Any] = {"data": {"aws_region": {"r": {"provisioner": []}}}}
    errs = _errs(doc, schema)
    assert len(errs) == 1 and 'unknown attribute "provisioner"' in errs[0]


def test_ephemeral_block_checked_with_its_own_schema(schema):
    doc = {
        "ephemeral": {
            "aws_secretsmanager_random_password": {
                "p": {
                    "password_lenght": 32,  # typo
                    "random_password": "x",  # computed-only: the result
                    "exclude_numbers": "maybe",
                    "lifecycle": {"ignore_changes": ["password_length"]},  # resource-only lifecycle argument
                    "provisioner": [],  # resource-only meta-argument
                }
            }
        }
    }
    p = f"{SRC}: ephemeral.aws_secretsmanager_random_password.p: "
    assert _errs(doc, schema) == [
        p + 'unknown attribute "password_lenght" (did you mean "password_length"?)',
        p + 'attribute "random_password" is computed-only and cannot be set',
        p + 'attribute "exclude_numbers": expected bool, got string "maybe"',
        p + 'lifecycle: unknown lifecycle argument "ignore_changes"',
        p + 'unknown attribute "provisioner" (did you mean "provider"?)',
    ]


def test_ephemeral_type_checked_against_the_ephemeral_types(schema):
    assert _errs({"ephemeral": {"aws_secretsmanager_secret": {"s": {}}}}, schema) == [
        f"{SRC}: ephemeral.aws_secretsmanager_secret.s: unknown ephemeral resource type "
        '"aws_secretsmanager_secret" (it is a resource)'
    ]
    errs = _errs({"ephemeral": {"aws_secretsmanager_secret_version": {"v": {}}}}, schema)
    assert errs == [f'{SRC}: ephemeral.aws_secretsmanager_secret_version.v: missing required attribute "secret_id"']


def test_ephemeral_value_only_in_write_only_attributes(schema):
    ref = "${ephemeral.aws_secretsmanager_random_password.p.random_password}"
    doc = {
        "ephemeral": {
            "aws_secretsmanager_random_password": {"p": {}},
            "aws_secretsmanager_secret_version": {"e": {"secret_id": f"x-{ref}"}},  # ephemeral into ephemeral: fine
        },
        "provider": {"aws": {"region": "eu-west-1", "access_key": ref}},  # provider blocks take them too
        "data": {"aws_secretsmanager_secret_version": {"d": {"secret_id": ref}}},
        "resource": {
            "aws_secretsmanager_secret_version": {
                "wo": {"secret_id": "s", "secret_string_wo": f'{{"password":"{ref}"}}', "secret_string_wo_version": 1},
                "plain": {"secret_id": "s", "secret_string": f'{{"password":"{ref}"}}'},
            },
            "aws_mq_broker": {
                "b": {
                    "broker_name": "b",
                    "engine_type": "RabbitMQ",
                    "engine_version": "3.13",
                    "host_instance_type": "mq.t3.micro",
                    "user": [{"username": "u", "password": ref}],
                    "depends_on": ["ephemeral.aws_secretsmanager_random_password.p"],
                }
            },
        },
    }
    assert sorted(_errs(doc, schema)) == sorted(
        [
            f'{SRC}: data.aws_secretsmanager_secret_version.d: attribute "secret_id" is not write-only and cannot take an ephemeral value',
            f'{SRC}: aws_secretsmanager_secret_version.plain: attribute "secret_string" is not write-only and cannot take an ephemeral value',
            f'{SRC}: aws_mq_broker.b: user[0]: attribute "password" is not write-only and cannot take an ephemeral value',
        ]
    )


def test_provider_block_checked(schema):
    doc = {"provider": {"aws": {"region": "eu-west-1", "regoin": "x", "alias": "eu"}}}
    assert _errs(doc, schema) == [f'{SRC}: provider.aws.eu: unknown attribute "regoin" (did you mean "region"?)']


def test_lifecycle_checked(schema):
    body = dict(VALID_SUBNET, lifecycle={"ignore_changes": ["tagz"], "prevent_destroyy": True})
    errs = _errs(_res("aws_subnet", "a", body), schema)
    assert errs == [
        f'{SRC}: aws_subnet.a: lifecycle.ignore_changes: unknown attribute "tagz" (did you mean "tags"?)',
        f'{SRC}: aws_subnet.a: lifecycle: unknown lifecycle argument "prevent_destroyy" '
        '(did you mean "prevent_destroy"?)',
    ]


def test_dynamic_block_content_checked(schema):
    body = {
        "bucket": "b",
        "dynamic": {
            "rulee": {"for_each": "${x}", "content": {}},
            "rule": {"for_each": "${y}", "content": {"id": "r", "status": "Enabled", "bogus": 1}},
        },
    }
    errs = _errs(_res("aws_s3_bucket_lifecycle_configuration", "lc", body), schema)
    assert errs == [
        f'{SRC}: aws_s3_bucket_lifecycle_configuration.lc: unknown nested block "rulee" in dynamic '
        '(did you mean "rule"?)',
        f'{SRC}: aws_s3_bucket_lifecycle_configuration.lc: dynamic.rule.content: unknown attribute "bogus"',
    ]


def test_dynamic_for_attribute_as_blocks(schema):
    ok = {"vpc_id": "v", "dynamic": {"ingress": {"for_each": "${var.r}", "content": {"from_port": 1}}}}
    assert _errs(_res("aws_security_group", "sg", ok), schema) == []
    bad = {"vpc_id": "v", "dynamic": {"ingress": {"for_each": "${var.r}", "content": {"from_prot": 1}}}}
    assert _errs(_res("aws_security_group", "sg", bad), schema) == [
        f'{SRC}: aws_security_group.sg: dynamic.ingress.content: unknown attribute "from_prot" '
        '(did you mean "from_port"?)'
    ]


# --------------------------------------------------------------------------- #
# hand-made mini schema (independent of the committed file)
# --------------------------------------------------------------------------- #
MINI = {
    "provider": {"block": {"attributes": {"region": {"type": "string", "optional": True}}}},
    "resource_schemas": {
        "aws_thing": {
            "block": {
                "attributes": {
                    "name": {"type": "string", "required": True},
                    "id": {"type": "string", "optional": True, "computed": True},
                    "arn": {"type": "string", "computed": True},
                    "secret_wo": {"type": "string", "optional": True, "write_only": True},
                    "ports": {"type": ["set", "number"], "optional": True},
                    "cfg": {"type": ["object", {"a": "string", "b": "number"}, ["b"]], "optional": True},
                },
                "block_types": {
                    "rule": {
                        "nesting_mode": "list",
                        "min_items": 1,
                        "max_items": 2,
                        "block": {
                            "attributes": {"action": {"type": "string", "required": True}},
                            "block_types": {
                                "match": {
                                    "nesting_mode": "single",
                                    "block": {"attributes": {"path": {"type": "string", "optional": True}}},
                                }
                            },
                        },
                    },
                    "tag": {
                        "nesting_mode": "map",
                        "block": {"attributes": {"v": {"type": "string", "optional": True}}},
                    },
                },
            }
        }
    },
    "data_source_schemas": {},
    "ephemeral_resource_schemas": {},
}


def _mini(body: dict) -> list[str]:
    return check_document(_res("aws_thing", "t", body), MINI, "f.tf.json")


def test_mini_valid():
    body = {
        "name": "n",
        "id": "i",
        "secret_wo": "s",
        "ports": [1, "2"],
        "cfg": {"a": "x"},
        "rule": [{"action": "allow", "match": {"path": "/"}}],
        "tag": {"k": {"v": "1"}},
    }
    assert _mini(body) == []


def test_mini_errors():
    body = {
        "arn": "a",
        "ports": [{"x": 1}],
        "cfg": {"b": 1},
        "rule": [{"action": "a", "match": [{}, {}]}, {"action": "b"}, {"action": "c", "extra": 1}],
    }
    assert _mini(body) == [
        'f.tf.json: aws_thing.t: attribute "arn" is computed-only and cannot be set',
        'f.tf.json: aws_thing.t: attribute "ports[0]": expected number, got an object',
        'f.tf.json: aws_thing.t: attribute "cfg": object is missing attribute "a" '
        "(all object attributes are required; use null for unset)",
        'f.tf.json: aws_thing.t: too many "rule" blocks: 3 given, at most 2 allowed',
        'f.tf.json: aws_thing.t: rule[0]: too many "match" blocks: 2 given, at most 1 allowed',
        'f.tf.json: aws_thing.t: rule[2]: unknown attribute "extra"',
        'f.tf.json: aws_thing.t: missing required attribute "name"',
    ]


def test_mini_min_items_not_enforced_when_dynamic():
    body = {"name": "n", "dynamic": {"rule": {"for_each": "${var.r}", "content": {"action": "x"}}}}
    assert _mini(body) == []


def test_accepts_raw_terraform_schema_shape():
    raw = {"format_version": "1.0", "provider_schemas": {"registry.terraform.io/hashicorp/aws": copy.deepcopy(MINI)}}
    assert check_document(_res("aws_thing", "t", {}), raw, "f") == [
        'f: aws_thing.t: missing required attribute "name"',
        'f: aws_thing.t: at least 1 "rule" block required, 0 given',
    ]


# --------------------------------------------------------------------------- #
# check_stack on a directory
# --------------------------------------------------------------------------- #
def test_check_stack_reads_every_tf_json(tmp_path: Path, schema):
    (tmp_path / "a.tf.json").write_text(json.dumps(_res("aws_subnet", "ok", VALID_SUBNET)))
    (tmp_path / "b.tf.json").write_text(json.dumps(_res("aws_subnet", "bad", {"vpc_id": "v", "arn": "x"})))
    (tmp_path / "c.tf.json").write_text("{not json")
    (tmp_path / "ignored.json").write_text(json.dumps(_res("aws_nope", "x", {})))
    errs = check_stack(tmp_path, schema)
    assert len(errs) == 2
    assert errs[0].endswith('b.tf.json: aws_subnet.bad: attribute "arn" is computed-only and cannot be set')
    assert "c.tf.json: cannot read JSON" in errs[1]


def test_check_stack_empty_dir_is_an_error(tmp_path: Path):
    errs = check_stack(tmp_path)
    assert len(errs) == 1 and errs[0].endswith(f"{tmp_path.name}: no *.tf.json files found")
    missing = check_stack(tmp_path / "missing")
    assert len(missing) == 1 and missing[0].endswith("missing: no *.tf.json files found")


def test_check_stack_default_schema(tmp_path: Path):
    (tmp_path / "main.tf.json").write_text(json.dumps(_res("aws_subnet", "ok", VALID_SUBNET)))
    assert check_stack(tmp_path) == []
