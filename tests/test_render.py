"""The IR renderer: references, escaping, determinism, and the refusals that catch compiler bugs."""

from __future__ import annotations

import json

import pytest

from tmsc.ir import Block, DataSource, File, JsonDocument, Output, Ref, Resource, Stack, Template
from tmsc.render import RenderError, render_stack


def stack(*blocks: Block, name: str = "s") -> Stack:
    return Stack(name, (File("main.tf.json", tuple(blocks)),))


def test_ref_renders_as_interpolation_and_literals_are_escaped() -> None:
    vpc = Resource(
        "aws_vpc", "main", {"cidr_block": "10.0.0.0/16", "tags": {"Name": "${not-an-expression}", "t": "%{if}"}}
    )
    subnet = Resource(
        "aws_subnet", "a", {"vpc_id": vpc.ref(), "tags": {"Name": Template(("x-", vpc.ref("arn"), "-${y}"))}}
    )
    doc = json.loads(render_stack(stack(vpc, subnet))["main.tf.json"])
    assert doc["resource"]["aws_subnet"]["a"]["vpc_id"] == "${aws_vpc.main.id}"
    assert doc["resource"]["aws_subnet"]["a"]["tags"]["Name"] == "x-${aws_vpc.main.arn}-$${y}"
    assert doc["resource"]["aws_vpc"]["main"]["tags"] == {"Name": "$${not-an-expression}", "t": "%%{if}"}


def test_json_document_interpolates_references_and_escapes_iam_variables() -> None:
    bucket = Resource("aws_s3_bucket", "b", {"bucket": "x"})
    pol = Resource(
        "aws_s3_bucket_policy",
        "b",
        {
            "bucket": bucket.ref(),
            "policy": JsonDocument({"Resource": bucket.ref("arn"), "Condition": "${aws:username}"}),
        },
    )
    doc = json.loads(render_stack(stack(bucket, pol))["main.tf.json"])
    policy_text = doc["resource"]["aws_s3_bucket_policy"]["b"]["policy"]
    assert json.loads(policy_text) == {"Condition": "$${aws:username}", "Resource": "${aws_s3_bucket.b.arn}"}


def test_depends_on_renders_bare_addresses() -> None:
    a = Resource("aws_vpc", "a", {})
    b = Resource("aws_vpc", "b", {"depends_on": [a.bare]})
    doc = json.loads(render_stack(stack(a, b))["main.tf.json"])
    assert doc["resource"]["aws_vpc"]["b"]["depends_on"] == ["aws_vpc.a"]


def test_dangling_reference_is_refused() -> None:
    subnet = Resource("aws_subnet", "a", {"vpc_id": Ref("aws_vpc.missing", "id")})
    with pytest.raises(RenderError, match=r"aws_vpc\.missing"):
        render_stack(stack(subnet))


def test_dangling_reference_in_output_and_policy_is_refused() -> None:
    with pytest.raises(RenderError):
        render_stack(stack(Output("x", Ref("aws_vpc.gone", "id"), "d")))
    with pytest.raises(RenderError):
        render_stack(
            stack(
                Resource(
                    "aws_iam_policy", "p", {"policy": JsonDocument({"Resource": [Ref("aws_s3_bucket.gone", "arn")]})}
                )
            )
        )


def test_duplicate_address_and_override_file_names_are_refused() -> None:
    with pytest.raises(RenderError, match="twice"):
        render_stack(stack(Resource("aws_vpc", "a", {}), Resource("aws_vpc", "a", {})))
    with pytest.raises(RenderError):
        render_stack(Stack("s", (File("x_override.tf.json", ()),)))


def test_output_is_sorted_two_space_indented_with_trailing_newline() -> None:
    text = render_stack(stack(DataSource("aws_partition", "current", {}), Resource("aws_vpc", "b", {"z": 1, "a": 2})))[
        "main.tf.json"
    ]
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_decision_trace_lands_in_a_comment_key() -> None:
    doc = json.loads(
        render_stack(stack(Resource("aws_vpc", "a", {"cidr_block": "10.0.0.0/16"}, because=("r1", "r2"))))[
            "main.tf.json"
        ]
    )
    assert doc["resource"]["aws_vpc"]["a"]["//"] == "r1; r2"


def test_ephemeral_block_renders_under_its_own_key_and_feeds_write_only_arguments() -> None:
    from tmsc.ir import EphemeralResource

    draw = EphemeralResource("aws_secretsmanager_random_password", "p", {"password_length": 32})
    secret = Resource("aws_secretsmanager_secret", "s", {"name": "x"})
    version = Resource(
        "aws_secretsmanager_secret_version",
        "s",
        {"secret_id": secret.ref(), "secret_string_wo": draw.ref("random_password"), "secret_string_wo_version": 1},
    )
    doc = json.loads(render_stack(stack(draw, secret, version))["main.tf.json"])
    assert doc["ephemeral"] == {"aws_secretsmanager_random_password": {"p": {"password_length": 32}}}
    assert (
        doc["resource"]["aws_secretsmanager_secret_version"]["s"]["secret_string_wo"]
        == "${ephemeral.aws_secretsmanager_random_password.p.random_password}"
    )
    with pytest.raises(RenderError, match="not emitted"):
        render_stack(stack(version, secret))  # the ephemeral block is checked like any other address


@pytest.mark.parametrize(
    "misuse",
    [
        lambda draw: Resource("aws_mq_broker", "b", {"user": [{"password": draw.ref("random_password")}]}),
        lambda draw: Resource(
            "aws_secretsmanager_secret_version",
            "v",
            {"secret_string": JsonDocument({"password": draw.ref("random_password")})},
        ),
        lambda draw: DataSource("aws_secretsmanager_secret_version", "d", {"secret_id": draw.ref("random_password")}),
        lambda draw: Output("o", draw.ref("random_password"), "leaks"),
    ],
    ids=["argument", "json-document", "data-source", "output"],
)
def test_an_ephemeral_value_outside_a_write_only_argument_is_refused(misuse: object) -> None:
    from tmsc.ir import EphemeralResource
    from tmsc.render import check_stack

    draw = EphemeralResource("aws_secretsmanager_random_password", "p", {})
    bad = stack(draw, misuse(draw))  # type: ignore[operator]
    for render in (render_stack, check_stack):
        with pytest.raises(RenderError, match="ephemeral value goes only into a write-only argument"):
            render(bad)
