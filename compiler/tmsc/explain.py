"""`tmsc explain`: each derived setting, its value, and the requirement that caused it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import attrs

from tmsc.derive import EnvironmentPlan


def format_value(value: object) -> str:
    if attrs.has(type(value)):
        value = attrs.asdict(value)  # type: ignore[arg-type]
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def explain_rows(plans: Iterable[EnvironmentPlan]) -> Iterator[tuple[str, str, str, str]]:
    for plan in plans:
        for setting, decision in plan.decisions():
            yield plan.name, setting, format_value(decision.value), decision.reason


# Settings AWS cannot change in place: what a change of the requirement behind them costs, and the way around it.
CHANGE_NOTES = {
    "broker.deployment_mode": (
        "changing it replaces the broker and loses its queued messages (Amazon MQ changes neither the mode nor the "
        "subnets in place): tmsc diff warns, tmsc guard refuses the plan unless the environment acknowledges it; "
        "to keep the messages, run a new rabbitmq service beside the old, point the connection secret at it, "
        "drain the old broker, then remove it"
    ),
}


def explain_lines(plans: Iterable[EnvironmentPlan]) -> Iterator[str]:
    rows = list(explain_rows(plans))
    if not rows:
        return
    env_w = max(len(r[0]) for r in rows)
    left_w = max(len(f"{r[1]} = {r[2]}") for r in rows if len(f"{r[1]} = {r[2]}") <= 60)
    for env, setting, value, reason in rows:
        left = f"{setting} = {value}"
        yield f"{env:<{env_w}}  {left:<{left_w}}  ← {reason}"
        if setting in CHANGE_NOTES:
            yield f"{env:<{env_w}}  {'':<{left_w}}  ↳ {CHANGE_NOTES[setting]}"
