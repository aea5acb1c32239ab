"""Platform → stacks: the plan of each environment, handed to one emitter per service family.

Pure: no clock, no environment variables, no network. The same Platform
always yields the same stacks, and so (render.py) the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tmsc.derive import EnvironmentPlan, plan_platform
from tmsc.ir import Block, File, Output, Ref, Stack
from tmsc.model import Bucket, Platform
from tmsc.services.context import Context
from tmsc.services.keys import logs_key
from tmsc.services.network import emit_network
from tmsc.services.providers import emit_providers
from tmsc.services.state import BOOTSTRAP, emit_bootstrap
from tmsc.services.storage import emit_service_bucket

# One emitter per service kind (sqlglot-style dispatch rather than if-chains).
# Each returns the blocks of one service; the file it lands in is named after its family.
ServiceEmitter = Callable[[Context, str, Any], tuple[Block, ...]]
SERVICE_EMITTERS: dict[type, tuple[str, ServiceEmitter]] = {
    Bucket: ("storage", emit_service_bucket),
}


def compile_environment(platform: Platform, plan: EnvironmentPlan) -> Stack:
    ctx = Context(platform, plan)
    key, alias = logs_key(ctx)
    files: dict[str, list[Block]] = {
        "providers": list(emit_providers(platform, plan.name, remote_state=True)),
        "keys": [key, alias],
        "network": list(emit_network(ctx, key)),
    }
    for name, service in sorted(platform.services.items()):
        family, emitter = SERVICE_EMITTERS.get(type(service), (None, None))
        if family is None or emitter is None:
            continue  # emitted by a later family module; the model already accepts it
        files.setdefault(family, []).extend(emitter(ctx, name, service))
    files["outputs"] = list(contract_outputs(platform))
    return Stack(plan.name, tuple(File(f"{family}.tf.json", tuple(blocks)) for family, blocks in sorted(files.items())))


def contract_outputs(platform: Platform) -> tuple[Output, ...]:
    """The outputs the Kubernetes repository reads by name: a strict contract."""
    bucket_name, _ = platform.service_of_kind("bucket")
    return (
        Output(
            "s3_bucket_name",
            Ref(f"aws_s3_bucket.{bucket_name}", "id"),
            "Name of the S3 bucket holding file attachments (receipts, PODs).",
        ),
    )


def compile_platform(platform: Platform, only: str | None = None) -> list[Stack]:
    """Every environment's stack (or only one) plus the bootstrap stack. Raises Infeasible on refused NFRs."""
    plans = plan_platform(platform)
    stacks = [compile_environment(platform, plan) for name, plan in sorted(plans.items()) if only in (None, name)]
    bootstrap = emit_bootstrap(platform)
    stacks.append(Stack(BOOTSTRAP, tuple(File(name, blocks) for name, blocks in sorted(bootstrap.items()))))
    return stacks
