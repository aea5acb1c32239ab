"""A quota budget per account and region: what the compiled environments consume of AWS's default quotas.

An apply that hits a quota fails halfway, with part of an environment built. Environments that share an account
and a region share its quotas, so each quota of compiler/tmsc/data/quotas.json is summed over them (per zone ID
for the quotas AWS counts per Availability Zone) and compared with the quota: AWS's default, or the value the
spec declares under raised_quotas (a reviewed change, like any other). Counts come from the plans, which the
emitters follow one for one (tests/test_quotas.py holds the counts to the compiled blocks).

Accounts: an environment that names its AWS account (aws_account_id) is summed with the environments of that
account; environments that name none share one account, the platform's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import attrs

from tmsc import facts
from tmsc.derive import EnvironmentPlan, Refusal
from tmsc.model import Environment, Platform, RaisedQuota

# What one environment's stack creates that counts against each quota (network.py, cluster.py).
PER_ENVIRONMENT = {"vpcs": 1, "internet_gateways": 1, "eks_clusters": 1}


def account_of(env: Environment) -> str | None:
    """The AWS account an environment names, or None: environments naming none share the platform's account."""
    return env.aws_account_id


@attrs.frozen
class Usage:
    """One quota in one account and region (or zone): the count, who consumes it, and the limit that applies."""

    quota: facts.Quota
    account: str | None
    region: str
    zone: str | None  # the zone ID, for quotas AWS counts per Availability Zone
    by_environment: tuple[tuple[str, int], ...]
    limit: int
    raised: int | None  # index into platform.raised_quotas of the declaration that sets the limit

    @property
    def count(self) -> int:
        return sum(n for _, n in self.by_environment)

    @property
    def where(self) -> str:
        account = f"account {self.account}" if self.account else "the platform's account"
        return f"{account}, {self.region}" + (f" zone {self.zone}" if self.zone else "")


def consumption(plan: EnvironmentPlan) -> dict[tuple[str, str | None], int]:
    """(quota, zone ID or None) → what one environment's stack consumes of it."""
    used: dict[tuple[str, str | None], int] = {(key, None): n for key, n in PER_ENVIRONMENT.items()}
    nat_zones = plan.availability_zone_ids.value[: plan.nat_gateways.value]
    used[("elastic_ips", None)] = len(nat_zones)  # each NAT gateway holds one Elastic IP
    for zone in nat_zones:
        used[("nat_gateways_per_az", zone)] = 1
    return used


def budget(platform: Platform, plans: dict[str, EnvironmentPlan]) -> list[Usage]:
    """Every quota in use, per account, region and (where AWS counts so) zone, in a stable order."""
    table = facts.quotas()
    sums: dict[tuple[str, str | None, str | None], list[tuple[str, int]]] = defaultdict(list)
    for name in sorted(plans):
        account = account_of(plans[name].environment)
        for (quota, zone), n in consumption(plans[name]).items():
            sums[(quota, account, zone)].append((name, n))
    declared: dict[tuple[str, str | None], int] = {
        (q.quota, q.aws_account_id): i for i, q in enumerate(platform.raised_quotas)
    }
    usages = []
    for (quota, account, zone), users in sorted(
        sums.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2] or "")
    ):
        raised = declared.get((quota, account))
        limit = platform.raised_quotas[raised].value if raised is not None else table.quotas[quota].default
        usages.append(Usage(table.quotas[quota], account, platform.region, zone, tuple(users), limit, raised))
    return usages


def refusals(platform: Platform, plans: dict[str, EnvironmentPlan]) -> list[Refusal]:
    """Each quota the platform would exceed, and each raised-quota declaration that cannot apply."""
    found = list(_declaration_problems(platform.raised_quotas, {account_of(p.environment) for p in plans.values()}))
    if found:
        return found
    for usage in budget(platform, plans):
        if usage.count <= usage.limit:
            continue
        quota = usage.quota
        users = ", ".join(f"{name} {n}" for name, n in usage.by_environment if n)
        limit = (
            f"the quota declared in raised_quotas is {usage.limit}"
            if usage.raised is not None
            else f"AWS's default quota is {usage.limit} (quotas.json as of {facts.quotas().as_of.isoformat()}, {quota.source})"
        )
        code = f" (Service Quotas {quota.quota_code})" if quota.quota_code else ""
        path: tuple[str | int, ...]
        if usage.raised is not None:
            path = ("raised_quotas", usage.raised, "value")
        else:
            path = ("environments", _crossing(usage))
        found.append(
            Refusal(
                path,
                f"{quota.name}: the environments in {usage.where} would use {usage.count} ({users}; {quota.counts}), "
                f"and {limit}: the apply would fail halfway",
                f"request an increase of {quota.name}{code} to at least {usage.count} and declare it under raised_quotas "
                f"(quota: {quota.key}, value, reason), or move an environment to another account",
            )
        )
    return found


def _crossing(usage: Usage) -> str:
    """The environment (in name order) whose consumption takes the sum past the limit."""
    total = 0
    for name, n in usage.by_environment:
        total += n
        if total > usage.limit:
            return name
    return usage.by_environment[-1][0]


def _declaration_problems(declared: list[RaisedQuota], accounts: Iterable[str | None]) -> Iterable[Refusal]:
    known = set(accounts)
    seen: set[tuple[str, str | None]] = set()
    for i, entry in enumerate(declared):
        key = (entry.quota, entry.aws_account_id)
        if key in seen:
            yield Refusal(
                ("raised_quotas", i),
                f"{entry.quota} is declared twice for {entry.aws_account_id or 'the platform account'}",
                "keep one entry, with the quota AWS applies now",
            )
        seen.add(key)
        if entry.aws_account_id not in known:
            yield Refusal(
                ("raised_quotas", i, "aws_account_id"),
                f"no environment is in account {entry.aws_account_id}, so this raised quota applies to none"
                if entry.aws_account_id
                else "every environment names its account, so a raised quota without aws_account_id applies to none",
                "name the account of the environments it is for, or remove the entry",
            )


def budget_lines(platform: Platform, plans: dict[str, EnvironmentPlan]) -> Iterable[str]:
    """`tmsc explain`'s quota budget: each quota in use, its count, its limit and where the limit comes from."""
    for usage in budget(platform, plans):
        source = "raised_quotas" if usage.raised is not None else "AWS default"
        users = ", ".join(f"{name} {n}" for name, n in usage.by_environment if n)
        yield f"quota  {usage.quota.name} in {usage.where}: {usage.count} of {usage.limit} ({source}; {users})"
