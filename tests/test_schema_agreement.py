"""The schema says what tmsc says, as far as JSON Schema can (issue 13, item 4).

For generated specs, tmsc accepts ⇒ the schema accepts; for generated
mistakes the schema can express, tmsc and the schema both refuse. The schema
is checked in-process with jsonschema, and by check-jsonschema reading the YAML
files themselves, as the pull-request workflow and editors do. What the schema
cannot say is listed in tmsc/schema.py's docstring.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tmsc.derive import plan_platform
from tmsc.diagnostics import SpecError
from tmsc.load import load_spec_text
from tmsc.schema import platform_schema, public_cidr_pattern, vpc_cidr_pattern

from .conftest import EXAMPLE_SPEC, REPO, examples
from .strategies import spec_documents

VALIDATOR = jsonschema.Draft202012Validator(platform_schema())
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")

Doc = dict[str, Any]


def dump(doc: Doc) -> str:
    """YAML of a document, every string that any YAML version could read as something else quoted."""
    return yaml.dump(doc, Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True)


class _QuotingDumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    plain = value and value[0].isalpha() and value.lower() not in ("yes", "no", "on", "off", "y", "n", "true", "false")
    plain = plain and value.lower() not in ("null", "nan", "inf") and ":" not in value and "#" not in value
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if plain else '"')


_QuotingDumper.add_representer(str, _represent_str)


def tmsc_refusal(doc: Doc) -> str | None:
    """tmsc's diagnostics for the YAML of doc (load, validate, derive), or None when it accepts it."""
    try:
        spec = load_spec_text(dump(doc), "generated.yaml")
        plan_platform(spec.platform)
    except SpecError as error:
        return str(error)
    except Exception as error:  # derive.Infeasible
        if type(error).__name__ != "Infeasible":
            raise
        return str(error)
    return None


def schema_errors(doc: Doc) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(json.loads(json.dumps(doc)))]


# --------------------------------------------------------------------------- mistakes the schema can express

Mutation = Callable[[st.DrawFn, Doc], str]
MUTATIONS: list[Mutation] = []


def mutation(fn: Mutation) -> Mutation:
    MUTATIONS.append(fn)
    return fn


def _env(draw: st.DrawFn, doc: Doc) -> tuple[str, Doc]:
    name = draw(st.sampled_from(sorted(doc["environments"])))
    return name, doc["environments"][name]


def _service(doc: Doc, kind: str) -> Doc:
    return next(s for s in doc["services"].values() if s["kind"] == kind)


def _rename(mapping: Doc, old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


BAD_NAMES = ["Staging_2", "Dev", "dev_eu", "stag--ing", "dev-", "2dev", "d", "x" * 33, "-dev", "dev.eu", "dév"]


@mutation
def bad_environment_name(draw: st.DrawFn, doc: Doc) -> str:
    name, _ = _env(draw, doc)
    new = draw(st.sampled_from([*BAD_NAMES, "bootstrap"]))
    _rename(doc["environments"], name, new)
    if draw(st.booleans()):
        doc["environments"][new] = {"purpose": "banana"}  # the issue's example: any body under such a name
    return f"environment named {new!r}"


@mutation
def state_scope_environment_name(draw: st.DrawFn, doc: Doc) -> str:
    name, _ = _env(draw, doc)
    _rename(doc["environments"], name, "tfstate")
    doc.setdefault("delivery", {"github_repository": "example-org/tms"})
    return "environment named 'tfstate' with delivery"


@mutation
def bad_service_or_workload_name(draw: st.DrawFn, doc: Doc) -> str:
    section = draw(st.sampled_from(["services", "workloads"] if doc["workloads"] else ["services"]))
    name = draw(st.sampled_from(sorted(doc[section])))
    new = draw(st.sampled_from(BAD_NAMES))
    _rename(doc[section], name, new)
    return f"{section} entry named {new!r}"


@mutation
def unknown_key(draw: st.DrawFn, doc: Doc) -> str:
    _, env = _env(draw, doc)
    targets: dict[str, Doc] = {
        "top": doc,
        "environment": env,
        "availability": env["availability"],
        "recovery": env["recovery"],
        "network": env["network"],
        "service": doc["services"][draw(st.sampled_from(sorted(doc["services"])))],
    }
    if doc["workloads"]:
        targets["workload"] = doc["workloads"][draw(st.sampled_from(sorted(doc["workloads"])))]
    where = draw(st.sampled_from(sorted(targets)))
    key = draw(st.sampled_from(["colour", "replicas", "rpo_minuts", "purpse", "kind_", "password"]))
    if key in targets[where]:
        key += "x"
    targets[where][key] = draw(st.sampled_from([1, "x", True, None, []]))
    return f"unknown key {key!r} in {where}"


@mutation
def enum_value(draw: st.DrawFn, doc: Doc) -> str:
    _, env = _env(draw, doc)
    choice = draw(st.integers(0, 5))
    if choice == 0:
        env["purpose"] = draw(st.sampled_from(["banana", "Production", "prod", ""]))
    elif choice == 1:
        _service(doc, "postgres")["kind"] = draw(st.sampled_from(["mysql", "Postgres", "aurora"]))
    elif choice == 2:
        _service(doc, "rabbitmq")["maintenance_day"] = draw(st.sampled_from(["sunday", "Sun", "SUN"]))
    elif choice == 3:
        _service(doc, "redis")["engine"] = "memcached"
    elif choice == 4:
        env["availability"]["business_hours"] = {"days": draw(st.sampled_from(["weekdays", "mon-thu", "MON-FRI"]))}
    else:
        _service(doc, "api")["authorization"] = draw(st.sampled_from(["none", "JWT", "cognito"]))
    return f"enum value, case {choice}"


@mutation
def out_of_bounds(draw: st.DrawFn, doc: Doc) -> str:
    _, env = _env(draw, doc)
    field, value = draw(
        st.sampled_from(
            [
                (("availability", "target_percent"), 0),
                (("availability", "target_percent"), -5.0),
                (("availability", "target_percent"), 99.95),  # derive: above what one region can meet
                (("availability", "target_percent"), 100),
                (("availability", "target_percent"), 150.5),
                (("recovery", "rpo_minutes"), 0),
                (("recovery", "rpo_minutes"), 4),  # derive: below RDS's log shipping
                (("recovery", "rpo_minutes"), 10081),
                (("recovery", "rto_hours"), 0),
                (("recovery", "rto_hours"), 0.5),  # derive: shorter than a restore
                (("recovery", "rto_hours"), 169),
                (("sizing", "database_storage_gib"), 10),
                (("sizing", "cluster", "disk_gib"), 10),
                (("sizing", "cluster", "nodes_per_az_max"), 0),
            ]
        )
    )
    target = env
    for part in field[:-1]:
        target = target.setdefault(part, {})
    target[field[-1]] = value
    if field[-1] == "nodes_per_az_max":
        target.update(nodes_per_az_min=0, nodes_per_az_desired=0)
    return f"{'.'.join(field)} = {value}"


@mutation
def service_bounds(draw: st.DrawFn, doc: Doc) -> str:
    kind, field, value = draw(
        st.sampled_from(
            [
                ("bucket", "noncurrent_version_days", 0),
                ("redis", "snapshot_retention_days", 36),
                ("api", "target_port", 70000),
                ("api", "throttle_rate_limit", 0),
                ("postgres", "log_min_duration_ms", -2),
            ]
        )
    )
    _service(doc, kind)[field] = value
    return f"{kind}.{field} = {value}"


@mutation
def wrong_type(draw: st.DrawFn, doc: Doc) -> str:
    _, env = _env(draw, doc)
    choice = draw(st.integers(0, 8))
    if choice == 0:
        env["availability"]["target_percent"] = draw(st.sampled_from(["99.9", True, None, [99.9]]))
    elif choice == 1:
        env["recovery"]["rpo_minutes"] = draw(st.sampled_from([15.5, "15", False, {"minutes": 15}]))
    elif choice == 2:
        _service(doc, "eks")["admin_role_name"] = draw(st.sampled_from([5, 1.5, True, ["admin"]]))
    elif choice == 3:
        env["network"]["cidr"] = draw(st.sampled_from([10, None, ["10.0.0.0/16"]]))
    elif choice == 4:
        doc["environments"] = [doc["environments"]]
    elif choice == 5:
        env["network"] = [env["network"]]
    elif choice == 6:
        doc["region"] = None
    elif choice == 7:
        _service(doc, "api")["jwt_audience"] = "tms"
    else:
        doc["services"] = draw(st.sampled_from([None, "all", 3]))
    return f"wrong type, case {choice}"


@mutation
def missing_key(draw: st.DrawFn, doc: Doc) -> str:
    _, env = _env(draw, doc)
    holders: list[tuple[Doc, str]] = [
        (doc, "platform"),
        (doc, "region"),
        (doc, "environments"),
        (doc, "services"),
        (env, "purpose"),
        (env, "availability"),
        (env, "recovery"),
        (env, "network"),
        (env["availability"], "target_percent"),
        (env["recovery"], "rpo_minutes"),
        (env["recovery"], "rto_hours"),
        (env["network"], "cidr"),
        (_service(doc, "eks"), "admin_role_name"),
        (doc["services"][draw(st.sampled_from(sorted(doc["services"])))], "kind"),
    ]
    if doc["workloads"]:
        workload = doc["workloads"][draw(st.sampled_from(sorted(doc["workloads"])))]
        holders += [(workload, "namespace"), (workload, "service_account")]
    if "delivery" in doc:
        holders.append((doc["delivery"], "github_repository"))
    holder, key = draw(st.sampled_from(holders))
    del holder[key]
    return f"missing {key!r}"


@mutation
def bad_vpc_cidr(draw: st.DrawFn, doc: Doc) -> str:
    _, env = _env(draw, doc)
    env["network"]["cidr"] = value = draw(
        st.sampled_from(
            [
                "8.8.0.0/16",  # public
                "127.0.0.0/16",  # loopback: private to ipaddress, not RFC 1918
                "169.254.0.0/16",
                "10.10.0.1/16",  # host bits
                "10.10.0.0/24",  # derive: subnets smaller than /28
                "10.10.0.0/25",
                "10.0.0.0/8",
                "172.32.0.0/16",
                "10.10.0.0",
                "10.10.0.0/255.255.0.0",
                "010.10.0.0/16",
                "10.10.0.0/016",
                "not-a-cidr",
                "2001:db8::/48",
                " 10.10.0.0/16",
            ]
        )
    )
    return f"VPC CIDR {value!r}"


@mutation
def bad_public_cidr(draw: st.DrawFn, doc: Doc) -> str:
    _, env = _env(draw, doc)
    value = draw(
        st.sampled_from(
            ["0.0.0.0/0", "::/0", "203.0.113.1/24", "203.0.113.7", "203.0.113.0/255.255.255.0", "office", "1.2.3.0/33"]
        )
    )
    env["cluster_public_access_cidrs"] = [value]
    return f"public CIDR {value!r}"


@mutation
def bad_pattern(draw: st.DrawFn, doc: Doc) -> str:
    _, env = _env(draw, doc)
    choice = draw(st.integers(0, 9))
    if choice == 0:
        doc["region"] = draw(st.sampled_from(["EU-WEST-1", "eu-west", "europe-1", "eu-west-0"]))
    elif choice == 1:
        env["recovery"]["cross_region_backup_region"] = "us-west"
    elif choice == 2:
        env["availability"]["business_hours"] = {"timezone": draw(st.sampled_from(["europe/berlin", "Europe Berlin"]))}
    elif choice == 3:
        _service(doc, "eks")["version"] = draw(st.sampled_from(["1.3", "1.31.2", "v1.31"]))
    elif choice == 4:
        _service(doc, "postgres")["engine_version"] = "15"
    elif choice == 5:
        env.setdefault("sizing", {}).setdefault("cluster", {})["instance_types"] = ["m6i"]
    elif choice == 6:
        env.setdefault("sizing", {})["database_instance_class"] = "t4g.medium"
    elif choice == 7:
        doc["delivery"] = {"github_repository": draw(st.sampled_from(["not a repo", "owner", "-owner/repo"]))}
    elif choice == 8:
        env["availability"]["business_hours"] = {"start": draw(st.sampled_from(["6:00", "24:00", "06:60"]))}
    else:
        doc["workloads"]["uploader"] = {"namespace": "tms", "service_account": "uploader", "attachments_prefix": "x"}
    return f"pattern, case {choice}"


@mutation
def reserved_platform_or_bucket_name(draw: st.DrawFn, doc: Doc) -> str:
    if draw(st.booleans()):
        doc["platform"] = value = draw(st.sampled_from(["sg", "sg-tms", "internal", "internal-x", "sthree-a"]))
        return f"platform {value!r}"
    doc["state"] = {"bucket": (value := draw(st.sampled_from(["tms-state-s3alias", "sthree-tms", "tms--x-s3"])))}
    return f"state bucket {value!r}"


@mutation
def jwt_without_issuer(draw: st.DrawFn, doc: Doc) -> str:
    api = _service(doc, "api")
    choice = draw(st.integers(0, 3))
    if choice == 0:
        del api["jwt_issuer"]
    elif choice == 1:
        api["jwt_audience"] = []
    elif choice == 2:
        api["jwt_issuer"] = None
    else:
        del api["authorization"]
        del api["jwt_audience"]
    return f"jwt authorization without issuer or audience, case {choice}"


@mutation
def mixed_architectures(draw: st.DrawFn, doc: Doc) -> str:
    _, env = _env(draw, doc)
    types = draw(st.permutations(["m6i.large", draw(st.sampled_from(["m7g.large", "c6gn.xlarge", "t4g.medium"]))]))
    env.setdefault("sizing", {}).setdefault("cluster", {})["instance_types"] = types
    return f"instance types {types}"


@mutation
def broker_maintenance_half_given(draw: st.DrawFn, doc: Doc) -> str:
    broker = _service(doc, "rabbitmq")
    key = draw(st.sampled_from(["maintenance_day", "maintenance_time"]))
    broker[key] = "SUNDAY" if key == "maintenance_day" else "02:00"
    return f"broker {key} without the other"


@mutation
def empty_mapping(draw: st.DrawFn, doc: Doc) -> str:
    section = draw(st.sampled_from(["environments", "services"]))
    doc[section] = {}
    return f"no {section}"


@st.composite
def mistakes(draw: st.DrawFn) -> tuple[str, Doc]:
    doc = copy.deepcopy(draw(spec_documents(max_environments=3, delivery=True)))
    return draw(st.sampled_from(MUTATIONS))(draw, doc), doc


# --------------------------------------------------------------------------- properties

AGREEMENT = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@AGREEMENT
@given(spec_documents(delivery=True))
def test_a_spec_tmsc_accepts_the_schema_accepts(doc: Doc) -> None:
    assert tmsc_refusal(doc) is None
    assert schema_errors(doc) == []


@AGREEMENT
@given(mistakes())
def test_a_mistake_the_schema_can_express_is_refused_by_both(mistake: tuple[str, Doc]) -> None:
    label, doc = mistake
    assert tmsc_refusal(doc) is not None, f"tmsc accepts {label}"
    assert schema_errors(doc), f"the schema accepts {label}:\n{dump(doc)}"


def test_every_mutation_is_drawn() -> None:
    """Each kind of mistake above is exercised, not only defined."""
    seen: set[str] = set()

    @settings(max_examples=300, database=None, derandomize=True, phases=[Phase.generate])
    @given(st.sampled_from(MUTATIONS))
    def collect(fn: Mutation) -> None:
        seen.add(fn.__name__)

    collect()
    assert seen == {fn.__name__ for fn in MUTATIONS}


def _sample(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    found: list[Any] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


def check_jsonschema(files: list[Path]) -> set[str]:
    """check-jsonschema over the YAML files, as the pull-request workflow runs it: the names of those it refuses."""
    schema = REPO / "spec" / "platform.schema.json"
    proc = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--schemafile", str(schema), "-o", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(proc.stdout)
    assert not report["parse_errors"], report["parse_errors"]
    assert proc.returncode == (1 if report["errors"] else 0), proc.stderr
    return {Path(error["filename"]).name for error in report["errors"]}


def test_check_jsonschema_reading_the_yaml_agrees(tmp_path: Path) -> None:
    """check-jsonschema reads each file itself (ruamel.yaml, ECMAScript regexes), as editors do."""
    good = _sample(spec_documents(max_environments=3, delivery=True), 25)
    bad = _sample(mistakes(), 80)
    files: dict[str, tuple[str, Doc]] = {}
    for i, doc in enumerate(good):
        files[f"good-{i:03}.yaml"] = ("valid", doc)
    for i, (label, doc) in enumerate(bad):
        files[f"bad-{i:03}.yaml"] = (label, doc)
    for name, (_, doc) in files.items():
        (tmp_path / name).write_text(dump(doc))
    refused = check_jsonschema([tmp_path / name for name in files])
    for name, (label, doc) in files.items():
        tmsc_refuses = tmsc_refusal(doc) is not None
        if name.startswith("good"):
            assert not tmsc_refuses and name not in refused, f"{name}: check-jsonschema refuses a valid spec"
        else:
            assert tmsc_refuses, f"{name}: tmsc accepts {label}"
            assert name in refused, f"{name}: check-jsonschema accepts {label}:\n{dump(doc)}"


# --------------------------------------------------------------------------- the issue's examples, and the CIDR forms


def test_the_issues_examples_are_refused_by_the_schema(tmp_path: Path) -> None:
    text = EXAMPLE_SPEC.read_text()
    named = tmp_path / "staging_2.yaml"
    named.write_text(text.replace("\n  staging:\n", "\n  Staging_2:\n"))
    banana = tmp_path / "banana.yaml"
    banana.write_text(text.replace("\n  staging:\n", "\n  Staging_2:\n    purpose: banana\n  staging-x:\n"))
    assert check_jsonschema([EXAMPLE_SPEC, named, banana]) == {"staging_2.yaml", "banana.yaml"}


@pytest.mark.parametrize(
    ("cidr", "valid"),
    [
        ("10.0.0.0/16", True),
        ("10.255.254.0/23", True),
        ("172.16.0.0/12", False),
        ("172.31.128.0/17", True),
        ("192.168.0.0/16", True),
        ("192.168.2.0/23", True),
        ("192.168.1.0/23", False),
        ("10.10.0.0/24", False),
        ("10.10.0.0/15", False),
    ],
)
def test_vpc_cidr_pattern(cidr: str, valid: bool) -> None:
    import re

    assert (re.match(vpc_cidr_pattern(), cidr) is not None) == valid


@pytest.mark.parametrize(
    ("cidr", "valid"),
    [
        ("203.0.113.0/24", True),
        ("203.0.113.128/25", True),
        ("203.0.113.64/25", False),
        ("128.0.0.0/1", True),
        ("64.0.0.0/1", False),
        ("1.2.3.4/32", True),
        ("2001:db8::/32", True),
        ("2001:DB8::/48", True),
        ("::/0", False),
        ("1.2.3.4", False),
    ],
)
def test_public_cidr_pattern(cidr: str, valid: bool) -> None:
    import re

    assert (re.match(public_cidr_pattern(), cidr) is not None) == valid


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("cidr: 10.10.0.0/255.255.0.0", "fix: write it as 10.10.0.0/16"),
        ("cidr: 127.0.0.0/16", "is not a private (RFC 1918) range"),
    ],
)
def test_tmsc_refuses_what_terraform_would(edit: str, expected: str) -> None:
    """The two VPC CIDRs ipaddress reads but a VPC cannot take: a netmask, and a private range outside RFC 1918."""
    text = EXAMPLE_SPEC.read_text().replace("cidr: 10.10.0.0/16", edit)
    with pytest.raises(SpecError) as refused:
        load_spec_text(text, "spec.yaml")
    assert "environments.dev.network.cidr" in str(refused.value) and expected in str(refused.value)
