"""Write what the README and docs/ show of the spec and the rules, so they cannot drift apart.

    python docs/generate.py           rewrite the generated regions of README.md and docs/architecture.svg
    python docs/generate.py --check   exit 1 when either is stale (tests/test_delivery_docs.py runs this)

Generated, never hand-copied:

- README "What each requirement derives": which requirement drives each
  setting (found by varying each requirement of the example's environments and
  watching which derive.py decisions change), the settings of the example's
  environments, the requirements tmsc refuses (by asking the rules), and the
  full `tmsc explain` of the example;
- README "Delivery": the CI roles and the OIDC subject each trusts (services/delivery.py);
- docs/architecture.svg: the compiled platform, drawn from the spec and the derived plans.

A README region is the text between `<!-- generated: NAME ... -->` and
`<!-- end generated: NAME -->`; everything outside the regions is prose the
generator never touches.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import attrs

from tmsc.derive import EnvironmentPlan, Infeasible, plan_environment, plan_platform
from tmsc.diagnostics import SpecError
from tmsc.explain import explain_lines
from tmsc.model import Api, EksCluster, Platform, Postgres, RabbitMQ, Redis
from tmsc.pipeline import check

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "spec" / "platform.yaml"
README = REPO / "README.md"
SVG = REPO / "docs" / "architecture.svg"

REGION = re.compile(
    r"(<!-- generated: (?P<name>[a-z-]+) [^>]*-->\n)(?P<body>.*?)(<!-- end generated: (?P=name) -->)", re.DOTALL
)

# The requirements of an environment and values to try for each: together they
# cross every threshold of derive.py (the single-AZ SLA, log shipping, purposes).
REQUIREMENTS: dict[str, tuple[tuple[str, ...], tuple[Any, ...]]] = {
    "purpose": (("purpose",), ("development", "preproduction", "production")),
    "availability": (("availability", "target_percent"), (95.0, 99.0, 99.5, 99.6, 99.9)),
    "RPO": (("recovery", "rpo_minutes"), (5, 15, 60, 1440)),
    "RTO": (("recovery", "rto_hours"), (1, 4, 24, 72)),
    "regional DR": (("recovery", "cross_region_backup_region"), (None, "eu-central-1", "us-east-1")),
    # Prefix lengths, applied to the environment's own network (VPC ranges must not overlap).
    "VPC CIDR": (("network", "cidr"), (16, 20, 22)),
    # A size the spec may pin (None: derived); the AMI type follows the instance types' architecture.
    "node instance types": (("sizing", "cluster", "instance_types"), (None, ["m6i.large"], ["m7g.large"])),
    "business hours": (
        ("availability", "business_hours"),
        (
            {"days": "mon-fri", "start": "08:00", "end": "18:00", "timezone": "America/New_York"},
            {"days": "mon-sun", "start": "06:00", "end": "22:00", "timezone": "Asia/Kolkata"},
        ),
    ),
}


def _value(platform: Platform, env: str, label: str, value: Any) -> Any:
    if label == "VPC CIDR":
        return f"{platform.environments[env].network.network.network_address}/{value}"
    return value


# --------------------------------------------------------------------------- what each requirement derives


def _with(document: dict[str, Any], env: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    import copy

    changed = copy.deepcopy(document)
    target = changed["environments"][env]
    for key in path[:-1]:
        target = target.setdefault(key, {})
    if value is None:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return changed


def _decisions(plan: EnvironmentPlan) -> dict[str, Any]:
    return {setting: decision.value for setting, decision in plan.decisions()}


def drivers(platform: Platform) -> dict[str, list[str]]:
    """Setting → the requirements whose change changes it, found by asking the rules."""
    document = platform.model_dump(mode="json", exclude_none=True)
    found: dict[str, set[str]] = {}
    for env in sorted(platform.environments):
        base = _decisions(plan_environment(platform, env))
        for label, (path, values) in REQUIREMENTS.items():
            for value in (_value(platform, env, label, v) for v in values):
                if value == platform.region:
                    continue
                try:
                    varied = Platform.model_validate(_with(document, env, path, value))
                    decisions = _decisions(plan_environment(varied, env))
                except (ValueError, Infeasible):
                    continue  # a value the model or the rules refuse: see "What tmsc refuses"
                for setting, before in base.items():
                    if decisions[setting] != before:
                        found.setdefault(setting, set()).add(label)
    order = list(REQUIREMENTS)
    settings = [setting for setting, _ in next(iter(plan_platform(platform).values())).decisions()]
    return {setting: sorted(found.get(setting, set()), key=order.index) for setting in settings}


def refusals(platform: Platform) -> list[tuple[str, str, str]]:
    """(what was asked, why it is refused, the fix) for a requirement beyond each limit the rules know."""
    document = platform.model_dump(mode="json", exclude_none=True)
    env = max(platform.environments, key=lambda name: platform.environments[name].availability.target_percent)
    asks = [
        ("availability 99.95%", ("availability", "target_percent"), 99.95),
        ("RPO 1 minute", ("recovery", "rpo_minutes"), 1),
        ("RPO 10 minutes with regional DR", ("recovery", "rpo_minutes"), 10),
        ("RTO 30 minutes", ("recovery", "rto_hours"), 0.5),
        ("a /24 VPC", ("network", "cidr"), _value(platform, env, "VPC CIDR", 24)),
        (f"regional DR in {platform.region}", ("recovery", "cross_region_backup_region"), platform.region),
        ("an mq.t3.micro broker", ("sizing", "broker_instance_type"), "mq.t3.micro"),
        (
            "business hours round the clock",
            ("availability", "business_hours"),
            {"days": "mon-sun", "start": "00:00", "end": "23:59", "timezone": "Europe/Berlin"},
        ),
    ]
    rows = []
    for asked, path, value in asks:
        varied = Platform.model_validate(_with(document, env, path, value))
        try:
            plan_environment(varied, env)
        except Infeasible as refused:
            for refusal in refused.refusals:
                rows.append((asked, refusal.message, refusal.hint))
            continue
        raise AssertionError(f"the rules accepted {asked}: update the asks of refusals() in docs/generate.py")
    return rows


def _short(value: Any) -> str:
    if attrs.has(type(value)):
        tiers = attrs.asdict(value)
        return ", ".join(f"{len(cidrs)} × /{cidrs[0].split('/')[1]} {tier}" for tier, cidrs in tiers.items() if cidrs)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def nfr_region(platform: Platform, spec_path: Path) -> str:
    plans = plan_platform(platform)
    envs = sorted(plans, key=lambda name: (platform.environments[name].availability.target_percent, name))
    heads = []
    for name in envs:
        env = platform.environments[name]
        heads.append(
            f"{name}: {env.availability.target_percent:g}%, RPO {env.recovery.rpo_minutes} min, RTO {env.recovery.rto_hours:g} h"
        )
    lines = [
        f"| setting | derived from | {' | '.join(heads)} |",
        "|---|---|" + "---|" * len(envs),
    ]
    by_env = {name: _decisions(plans[name]) for name in envs}
    for setting, requirements in drivers(platform).items():
        cells = [_cell(_short(by_env[name][setting])) for name in envs]
        lines.append(
            f"| `{setting}` | {', '.join(requirements) or 'nothing: the same for every spec tmsc accepts'} | {' | '.join(cells)} |"
        )
    lines += ["", "Refused, with the reason the rules give (`tmsc validate` exits 2 and names the key):", ""]
    lines += ["| asked for | refused because | fix |", "|---|---|---|"]
    lines += [f"| {_cell(asked)} | {_cell(why)} | {_cell(fix)} |" for asked, why, fix in refusals(platform)]
    explained = "\n".join(line.rstrip() for line in explain_lines([plans[name] for name in envs]))
    lines += [
        "",
        f"<details><summary><code>tmsc explain {spec_path.relative_to(REPO).as_posix()}</code>: every setting with its reason</summary>",
        "",
        "```",
        explained,
        "```",
        "",
        "</details>",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the CI roles


def roles_region(platform: Platform) -> str:
    from tmsc.services.delivery import (
        CI_PATH,
        apply_address,
        branch_subject,
        environment_subject,
        plan_key_alias,
        pull_request_environments,
        pull_request_subject,
        role_names,
    )

    delivery = platform.delivery
    if delivery is None:
        return "The spec has no `delivery:` section: the bootstrap stack holds no CI identity.\n"
    names = role_names(platform)
    plannable = pull_request_environments(platform, platform.environments)
    others = sorted(set(platform.environments) - set(plannable))
    rows = (
        [
            (
                names["pr_plan"],
                pull_request_subject(delivery),
                f"pull-request plans of {', '.join(plannable)}: reads configuration, their state (with its lock) and "
                f"connection secret values; nothing of {', '.join(others)}",
            )
        ]
        if plannable
        else []
    )
    rows += [
        (
            names["main_plan"],
            branch_subject(delivery),
            "the drift check and the plan shown before each apply: reads configuration, every environment's state "
            f"and connection secret values; seals each saved plan with `{plan_key_alias(platform)}`",
        ),
    ]
    rows += [
        (
            names[apply_address(env)],
            environment_subject(delivery, env),
            f"applies `out/{env}/`: changes only what {env}'s stack manages, writes only {env}'s state; "
            f"the only role that opens {env}'s sealed plans",
        )
        for env in sorted(
            platform.environments, key=lambda name: (platform.environments[name].availability.target_percent, name)
        )
    ]
    lines = ["| role (path `" + CI_PATH + "`) | the one OIDC subject it trusts | for |", "|---|---|---|"]
    lines += [f"| `{name}` | `{subject}` | {what} |" for name, subject, what in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- README regions


def readme_regions(platform: Platform) -> dict[str, Callable[[], str]]:
    return {"nfr-derivations": lambda: nfr_region(platform, SPEC), "ci-roles": lambda: roles_region(platform)}


def render_readme(text: str, platform: Platform) -> str:
    regions = readme_regions(platform)
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in regions:
            return match.group(0)
        seen.add(name)
        return match.group(1) + regions[name]() + match.group(4)

    rendered = REGION.sub(replace, text)
    missing = set(regions) - seen
    if missing:
        raise SystemExit(f"README.md lacks the generated region(s) {', '.join(sorted(missing))}")
    return rendered


# --------------------------------------------------------------------------- docs/architecture.svg

FONT = 'font-family="Helvetica, Arial, sans-serif"'
COLORS = {
    "aws": ("#fdf6ec", "#d8a25a"),
    "vpc": ("#f1f8f1", "#6aa86a"),
    "tier": ("#ffffff", "#9bc59b"),
    "service": ("#eef4fb", "#5b8fc9"),
    "data": ("#fbeef2", "#c0607f"),
    "ci": ("#f3f0fa", "#8a72c4"),
    "note": ("#ffffff", "#bbbbbb"),
}


class Svg:
    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.items: list[str] = []

    def box(
        self, x: int, y: int, w: int, h: int, style: str, title: str, lines: Iterable[str] = (), dashed: bool = False
    ) -> tuple[int, int, int, int]:
        fill, stroke = COLORS[style]
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        self.items.append(
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>'
        )
        self.text(x + 8, y + 17, title, bold=True)
        for i, line in enumerate(lines):
            self.text(x + 8, y + 34 + 15 * i, line, size=11)
        return x, y, w, h

    def text(
        self, x: int, y: int, text: str, size: int = 12, bold: bool = False, anchor: str = "start", color: str = "#222"
    ) -> None:
        weight = ' font-weight="bold"' if bold else ""
        self.items.append(
            f'<text x="{x}" y="{y}" {FONT} font-size="{size}"{weight} text-anchor="{anchor}" fill="{color}">{html.escape(text)}</text>'
        )

    def arrow(self, x1: int, y1: int, x2: int, y2: int, label: str = "", dashed: bool = False) -> None:
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        self.items.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#555" stroke-width="1.3" marker-end="url(#arrow)"{dash}/>'
        )
        if label:
            self.text((x1 + x2) // 2 + 4, (y1 + y2) // 2 - 4, label, size=10, color="#555")

    def path(self, points: list[tuple[int, int]], label: str = "", dashed: bool = False) -> None:
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        d = " ".join(f"{x},{y}" for x, y in points)
        self.items.append(
            f'<polyline points="{d}" fill="none" stroke="#555" stroke-width="1.3" marker-end="url(#arrow)"{dash}/>'
        )
        if label:
            (x1, y1), (x2, _) = points[-2], points[-1]
            self.text((x1 + x2) // 2, y1 - 5, label, size=10, anchor="middle", color="#555")

    def render(self) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" viewBox="0 0 {self.width} {self.height}">\n'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>\n'
            f'<rect width="{self.width}" height="{self.height}" fill="#ffffff"/>\n'
        )
        return head + "\n".join(self.items) + "\n</svg>\n"


_Service = TypeVar("_Service")


def _service(platform: Platform, name: str, model: type[_Service]) -> _Service:
    """The service of that name, which its kind makes a `model`."""
    service = platform.services[name]
    if not isinstance(service, model):
        raise TypeError(f"service {name} is a {type(service).__name__}, not a {model.__name__}")
    return service


def architecture_svg(platform: Platform) -> str:
    plans = plan_platform(platform)
    envs = sorted(plans, key=lambda name: (platform.environments[name].availability.target_percent, name))
    name_of = {
        kind: platform.service_of_kind(kind)[0] for kind in ("eks", "postgres", "redis", "rabbitmq", "bucket", "api")
    }
    max_azs = max(p.az_count.value for p in plans.values())
    width, height = 1180, 860
    svg = Svg(width, height)
    svg.text(
        20,
        30,
        f"{platform.platform} on AWS ({platform.region}): compiled from spec/platform.yaml, one stack per environment",
        size=16,
        bold=True,
    )
    svg.text(
        20,
        50,
        "generated by docs/generate.py; the per-environment decisions are in the table at the bottom",
        size=11,
        color="#666",
    )

    # Clients and the public entry.
    svg.box(20, 80, 150, 50, "note", "clients", ["TMS users, apps, partners"])
    api = _service(platform, name_of["api"], Api)
    svg.box(
        210,
        70,
        230,
        70,
        "service",
        f"API Gateway HTTP API '{name_of['api']}'",
        [
            f"{api.authorization.upper()} on every route",
            f"throttle {api.throttle_rate_limit:g} rps / burst {api.throttle_burst_limit}",
        ],
    )
    svg.arrow(170, 105, 208, 105)
    svg.text(189, 99, "HTTPS", size=10, anchor="middle", color="#555")

    # The account's region box and the VPC.
    svg.box(20, 160, 900, 490, "aws", f"AWS account, {platform.region}", [])
    vpc_x, vpc_y, vpc_w, vpc_h = 40, 190, 620, 440
    svg.box(
        vpc_x,
        vpc_y,
        vpc_w,
        vpc_h,
        "vpc",
        "VPC per environment",
        [f"{'/'.join(str(plans[e].az_count.value) for e in envs)} AZs ({', '.join(envs)})"],
    )
    tier_w = vpc_w - 40
    svg.box(
        vpc_x + 20,
        vpc_y + 50,
        tier_w,
        60,
        "tier",
        "public subnets",
        ["internet gateway; NAT gateway per AZ or one shared (derived); nothing gets a public IP"],
    )
    private_y = vpc_y + 125
    svg.box(vpc_x + 20, private_y, tier_w, 170, "tier", "private subnets", [])
    svg.box(
        vpc_x + 35, private_y + 28, 150, 56, "service", "internal ALB", ["from the VPC link", "target group for pods"]
    )
    cluster = _service(platform, name_of["eks"], EksCluster)
    eks_x = vpc_x + 205
    svg.box(
        eks_x,
        private_y + 28,
        380,
        130,
        "service",
        f"EKS {cluster.version} '{name_of['eks']}'",
        [f"one managed node group per AZ (up to {max_azs}), IMDSv2", "access entries, secrets encrypted with a CMK"],
    )
    for i, workload in enumerate(sorted(platform.workloads)):
        wx = eks_x + 12 + (i % 3) * 122
        wy = private_y + 92 + (i // 3) * 30
        svg.items.append(f'<rect x="{wx}" y="{wy}" width="114" height="24" rx="4" fill="#ffffff" stroke="#5b8fc9"/>')
        svg.text(wx + 57, wy + 16, f"{workload} (IRSA)", size=10, anchor="middle")
    svg.arrow(325, 140, 120, private_y + 26, "VPC link")
    svg.arrow(185, private_y + 56, eks_x - 2, private_y + 56)

    data_y = private_y + 185
    svg.box(vpc_x + 20, data_y, tier_w, 110, "tier", "database subnets (no route out of the VPC)", [])
    db = _service(platform, name_of["postgres"], Postgres)
    cache = _service(platform, name_of["redis"], Redis)
    broker = _service(platform, name_of["rabbitmq"], RabbitMQ)
    data_boxes = [
        (f"RDS PostgreSQL {db.engine_version}", name_of["postgres"], ["PITR, CMK, TLS only"]),
        (f"ElastiCache {cache.engine} {cache.engine_version}", name_of["redis"], ["IAM auth, TLS, CMK"]),
        (f"Amazon MQ RabbitMQ {broker.engine_version}", name_of["rabbitmq"], ["AMQPS 5671, private"]),
    ]
    for i, (title, name, lines) in enumerate(data_boxes):
        svg.box(vpc_x + 35 + i * 190, data_y + 28, 180, 70, "data", title, [f"'{name}'", *lines])
    svg.arrow(eks_x + 190, private_y + 158, eks_x + 190, data_y + 26, "from the cluster's security group only")

    # Regional services outside the VPC.
    side_x = 690
    svg.box(
        side_x,
        190,
        210,
        70,
        "data",
        f"S3 '{name_of['bucket']}'",
        ["attachments: versioned, SSE-KMS,", "gateway endpoint, TLS only"],
    )
    readers = sorted({r for w in platform.workloads.values() for r in w.reads})
    svg.box(
        side_x,
        275,
        210,
        85,
        "service",
        "Secrets Manager",
        ["a connection secret per data service", f"({', '.join(readers)}),", "for its declared readers only"],
    )
    svg.box(side_x, 375, 210, 70, "service", "KMS", ["a CMK per data store, logs", "and secrets; yearly rotation"])
    svg.box(
        side_x,
        460,
        210,
        70,
        "service",
        "CloudWatch Logs",
        ["flow logs, EKS, RDS, cache, API", "access logs, KMS-encrypted"],
    )
    svg.arrow(eks_x + 380, private_y + 60, side_x - 2, 225, "")
    svg.arrow(eks_x + 380, private_y + 80, side_x - 2, 315, "")
    dr = sorted({p.database_cross_region_backup.value for p in plans.values() if p.database_cross_region_backup.value})
    if dr:
        dr_envs = [e for e in envs if plans[e].database_cross_region_backup.value]
        svg.box(
            side_x,
            550,
            210,
            80,
            "aws",
            f"{', '.join(dr)} (DR region)",
            ["replicated automated RDS", f"backups under a CMK ({', '.join(dr_envs)})"],
            dashed=True,
        )
        svg.path(
            [
                (vpc_x + 125, data_y + 98),
                (vpc_x + 125, data_y + 120),
                (side_x - 20, data_y + 120),
                (side_x - 20, 590),
                (side_x - 2, 590),
            ],
            dashed=True,
        )
        svg.text(vpc_x + 400, data_y + 116, "automated backups replicated", size=10, anchor="middle", color="#555")

    # The bootstrap stack and delivery.
    boot_x = 940
    svg.box(
        boot_x,
        160,
        220,
        200,
        "ci",
        "bootstrap stack",
        [
            "applied by a person, local state",
            "S3 state bucket (KMS, versioned)",
            "DynamoDB lock table",
            "a state key per environment",
            *(
                [
                    "GitHub OIDC provider",
                    "CI roles: pr-plan, main-plan,",
                    f"apply-{{{', '.join(envs)}}}",
                ]
                if platform.delivery
                else ["no delivery: section"]
            ),
        ],
    )
    if platform.delivery:
        svg.box(
            boot_x,
            390,
            220,
            140,
            "ci",
            "GitHub Actions",
            [
                platform.delivery.github_repository,
                "pull request: plan + comment",
                f"merge: apply {', '.join(envs)}",
                "production behind reviewers",
                "daily drift check: issue",
            ],
        )
        svg.arrow(boot_x + 110, 390, boot_x + 110, 362, "OIDC")
        svg.arrow(boot_x - 2, 545, 922, 545)
        svg.text(931, 560, "terraform", size=10, color="#555")

    # The per-environment decisions.
    table_y = 675
    svg.text(
        20,
        table_y,
        "derived per environment (docs/generate.py reads derive.py; `tmsc explain` gives the reasons)",
        size=12,
        bold=True,
    )
    rows = [
        (
            "availability / RPO / RTO",
            lambda e: (
                f"{platform.environments[e].availability.target_percent:g}% / {platform.environments[e].recovery.rpo_minutes} min / {platform.environments[e].recovery.rto_hours:g} h"
            ),
        ),
        (
            "AZs / NAT gateways / node groups",
            lambda e: (
                f"{plans[e].az_count.value} / {plans[e].nat_gateways.value} / {plans[e].cluster_node_groups.value}"
            ),
        ),
        (
            "RDS Multi-AZ / backup days",
            lambda e: f"{_short(plans[e].database_multi_az.value)} / {plans[e].database_backup_retention_days.value}",
        ),
        (
            "cache replicas / failover",
            lambda e: f"{plans[e].cache_replicas.value} / {_short(plans[e].cache_automatic_failover.value)}",
        ),
        ("broker mode", lambda e: plans[e].broker_deployment_mode.value),
        (
            "deletion protection / log days",
            lambda e: f"{_short(plans[e].deletion_protection.value)} / {plans[e].log_retention_days.value}",
        ),
        ("regional DR", lambda e: _short(plans[e].database_cross_region_backup.value)),
    ]
    col0, colw = 260, (width - 40 - 260) // max(len(envs), 1)
    y = table_y + 22
    svg.text(20, y, "", size=11)
    for i, env in enumerate(envs):
        svg.text(20 + col0 + i * colw, y, env, size=12, bold=True)
    for label, value in rows:
        y += 20
        svg.items.append(f'<line x1="20" y1="{y - 14}" x2="{width - 20}" y2="{y - 14}" stroke="#e3e3e3"/>')
        svg.text(20, y, label, size=11)
        for i, env in enumerate(envs):
            svg.text(20 + col0 + i * colw, y, value(env), size=11)
    return svg.render()


# --------------------------------------------------------------------------- main


def outputs(spec: Path = SPEC) -> dict[Path, str]:
    # Raises SpecError located in the spec, as tmsc prints it, for a spec that is wrong or infeasible.
    platform = check(spec).spec.platform
    return {README: render_readme(README.read_text(), platform), SVG: architecture_svg(platform)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md or docs/architecture.svg is stale")
    parser.add_argument(
        "--defer-spec-errors",
        action="store_true",
        help="for a spec that does not validate, one line instead of its errors (the pre-commit hook: "
        "the tmsc-validate hook prints them)",
    )
    parser.add_argument("--spec", type=Path, default=SPEC, help="the spec the docs show (default: %(default)s)")
    args = parser.parse_args(argv)
    stale = []
    try:
        generated = outputs(args.spec)
    except SpecError as error:
        if args.defer_spec_errors:
            print(f"{args.spec} does not validate, so the docs were not regenerated", file=sys.stderr)
        else:
            for diagnostic in error.diagnostics:
                print(diagnostic.render(), file=sys.stderr)
        return 2
    for path, text in generated.items():
        if not path.is_file() or path.read_text() != text:
            stale.append(path.relative_to(REPO).as_posix())
            if not args.check:
                path.write_text(text)
    if args.check and stale:
        print(f"stale: {', '.join(stale)}; run `make docs`", file=sys.stderr)
        return 1
    print(("rewrote " + ", ".join(stale)) if stale and not args.check else "docs are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
