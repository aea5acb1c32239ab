"""Terraform intermediate representation: immutable blocks and typed references.

Emitters build these values; render.py turns them into Terraform JSON. A
reference is a value of its own (never a hand-written "${...}" string), so the
renderer can prove that every reference points at a block it emitted, and can
escape every literal string so that a "${" in a name or a policy is never
taken for an expression.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs

# Values a block body may hold: str, int, float, bool, None, list, dict, and the
# expression types below.


@attrs.frozen
class Ref:
    """`aws_vpc.main.id` → "${aws_vpc.main.id}". Without an attribute it is the bare address (depends_on)."""

    address: str
    attribute: str | None = None

    @property
    def expression(self) -> str:
        return f"{self.address}.{self.attribute}" if self.attribute else self.address


@attrs.frozen
class Template:
    """A string of literal parts and references: Template(("tms-", ref, "-logs"))."""

    parts: tuple[str | Ref, ...]


@attrs.frozen(eq=False)
class JsonDocument:
    """A JSON document (an IAM or key policy) written as a string attribute; references are interpolated inside it."""

    value: Any


@attrs.frozen(eq=False)
class Resource:
    type: str
    name: str
    body: Mapping[str, Any]
    because: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    def ref(self, attribute: str = "id") -> Ref:
        return Ref(self.address, attribute)

    @property
    def bare(self) -> Ref:
        return Ref(self.address)


@attrs.frozen(eq=False)
class DataSource:
    type: str
    name: str
    body: Mapping[str, Any]

    @property
    def address(self) -> str:
        return f"data.{self.type}.{self.name}"

    def ref(self, attribute: str) -> Ref:
        return Ref(self.address, attribute)


@attrs.frozen(eq=False)
class EphemeralResource:
    """An `ephemeral` block (Terraform 1.10+): opened anew in every run, never in the plan or the state.

    Terraform admits its values only in ephemeral contexts: write-only
    arguments, other ephemeral blocks, locals, ephemeral variables and
    outputs, provider, provisioner and connection blocks.
    """

    type: str
    name: str
    body: Mapping[str, Any]

    @property
    def address(self) -> str:
        return f"ephemeral.{self.type}.{self.name}"

    def ref(self, attribute: str) -> Ref:
        return Ref(self.address, attribute)


@attrs.frozen(eq=False)
class Output:
    name: str
    value: Any
    description: str
    sensitive: bool = False


@attrs.frozen(eq=False)
class Provider:
    name: str
    body: Mapping[str, Any]


@attrs.frozen(eq=False)
class Settings:
    """The `terraform` block: required versions, providers and the backend."""

    body: Mapping[str, Any]


Block = Resource | DataSource | EphemeralResource | Output | Provider | Settings


@attrs.frozen
class File:
    """One *.tf.json file of a stack."""

    name: str
    blocks: tuple[Block, ...]


@attrs.frozen
class Stack:
    """One Terraform root module: out/<name>/."""

    name: str
    files: tuple[File, ...]

    def blocks(self) -> Iterator[Block]:
        for file in self.files:
            yield from file.blocks


def refs_in(value: Any) -> Iterator[Ref]:
    """Every reference anywhere inside a body value."""
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, Template):
        for part in value.parts:
            if isinstance(part, Ref):
                yield part
    elif isinstance(value, JsonDocument):
        yield from refs_in(value.value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, Template):
                yield from refs_in(key)
            yield from refs_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from refs_in(item)
