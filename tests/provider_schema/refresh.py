"""Regenerate the trimmed hashicorp/aws provider schema used by check.py.

    python -m tests.provider_schema.refresh [--types-from out/] [--extra-type aws_x ...]

Steps: write a minimal Terraform JSON config pinning hashicorp/aws to
PROVIDER_VERSION in a temp dir, ``terraform init`` (with
``-plugin-dir=$TMSC_TF_PLUGIN_DIR`` when that env var is set, plain init
otherwise), ``terraform providers schema -json``, then keep only

* the provider configuration schema,
* resource / data / ephemeral types used by any ``*.tf.json`` under the
  ``--types-from`` directories (default: ``<repo>/out`` if it exists),
* ``--extra-type`` names (``aws_x`` = whichever kinds exist, or qualified
  ``data.aws_x`` / ``ephemeral.aws_x`` / ``resource.aws_x``),
* the DEFAULT_* lists below (unknown names are dropped with a warning),

strip ``description`` / ``description_kind`` and write ``aws-<ver>.json``
next to this file (sorted keys, no indentation, one line per type).
``--check`` regenerates into memory and exits 1 if the committed file differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .check import _objects  # HCL JSON allows an object or an array of objects at each block level

PROVIDER_SOURCE = "hashicorp/aws"
PROVIDER_VERSION = "5.100.0"
HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
SCHEMA_PATH = HERE / f"aws-{PROVIDER_VERSION}.json"
PLUGIN_DIR_ENV = "TMSC_TF_PLUGIN_DIR"

DEFAULT_RESOURCE_TYPES = [
    "aws_vpc",
    "aws_subnet",
    "aws_internet_gateway",
    "aws_nat_gateway",
    "aws_eip",
    "aws_route_table",
    "aws_route",
    "aws_route_table_association",
    "aws_flow_log",
    "aws_cloudwatch_log_group",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_iam_policy",
    "aws_iam_role_policy_attachment",
    "aws_iam_openid_connect_provider",
    "aws_vpc_endpoint",
    "aws_default_security_group",
    "aws_security_group",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
    "aws_kms_key",
    "aws_kms_alias",
    "aws_s3_bucket",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_logging",
    "aws_dynamodb_table",
    "aws_eks_cluster",
    "aws_eks_node_group",
    "aws_eks_addon",
    "aws_eks_access_entry",
    "aws_eks_access_policy_association",
    "aws_launch_template",
    "aws_db_instance",
    "aws_db_parameter_group",
    "aws_db_subnet_group",
    "aws_db_instance_automated_backups_replication",
    "aws_elasticache_replication_group",
    "aws_elasticache_subnet_group",
    "aws_elasticache_parameter_group",
    "aws_elasticache_user",
    "aws_elasticache_user_group",
    "aws_mq_broker",
    "aws_mq_configuration",
    "aws_secretsmanager_secret",
    "aws_secretsmanager_secret_version",
    "aws_secretsmanager_secret_policy",
    "aws_apigatewayv2_api",
    "aws_apigatewayv2_stage",
    "aws_apigatewayv2_vpc_link",
    "aws_apigatewayv2_integration",
    "aws_apigatewayv2_route",
    "aws_lb",
    "aws_lb_listener",
    "aws_lb_target_group",
    "aws_wafv2_web_acl",
    "aws_wafv2_web_acl_association",
    "aws_api_gateway_rest_api",
    "aws_api_gateway_stage",
    "aws_api_gateway_deployment",
    "aws_api_gateway_vpc_link",
    "aws_api_gateway_method_settings",
    "aws_api_gateway_account",
    "aws_sns_topic",
]
DEFAULT_DATA_SOURCE_TYPES = [
    "aws_caller_identity",
    "aws_partition",
    "aws_region",
    "aws_availability_zones",
    "aws_iam_policy_document",
    "aws_ec2_managed_prefix_list",
    "aws_eks_cluster_auth",
    "aws_secretsmanager_secret_version",
]
# Ephemeral types kept by default: explicit ones, anything password-like, and
# ephemeral twins of default data sources (aws_eks_cluster_auth, ...).
DEFAULT_EPHEMERAL_TYPES = ["aws_secretsmanager_random_password"]
EPHEMERAL_KEEP_SUBSTRINGS = ("random_password", "password")

# top-level Terraform JSON key -> section of `terraform providers schema -json`
KIND_TO_SECTION = {
    "resource": "resource_schemas",
    "data": "data_source_schemas",
    "ephemeral": "ephemeral_resource_schemas",
}
STRIP_KEYS = {"description", "description_kind"}


def warn(msg: str) -> None:
    print(f"refresh: warning: {msg}", file=sys.stderr)


# --------------------------------------------------------------------------- #
# collecting types used by compiled output
# --------------------------------------------------------------------------- #
def types_in_file(path: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {k: set() for k in KIND_TO_SECTION}
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        warn(f"skipping {path}: {exc}")
        return found
    for top in _objects(doc):
        for kind in KIND_TO_SECTION:
            for by_type in _objects(top.get(kind)):
                found[kind].update(by_type.keys())
    return found


def types_in_dirs(dirs: Iterable[Path]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {k: set() for k in KIND_TO_SECTION}
    for d in dirs:
        if not d.exists():
            warn(f"--types-from {d} does not exist; ignored")
            continue
        files = [d] if d.is_file() else sorted(d.rglob("*.tf.json"))
        for f in files:
            for kind, names in types_in_file(f).items():
                found[kind] |= names
    return found


# --------------------------------------------------------------------------- #
# terraform
# --------------------------------------------------------------------------- #
def _run(cmd: list[str], cwd: Path) -> str:
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"refresh: `{' '.join(cmd)}` failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
    return proc.stdout


def dump_raw_schema(terraform: str = "terraform") -> tuple[dict, dict]:
    """Return (raw `providers schema -json`, `terraform version -json`)."""
    tf = shutil.which(terraform) or terraform
    with tempfile.TemporaryDirectory(prefix="tmsc-schema-") as tmp:
        work = Path(tmp)
        config = {
            "terraform": {"required_providers": {"aws": {"source": PROVIDER_SOURCE, "version": PROVIDER_VERSION}}}
        }
        (work / "main.tf.json").write_text(json.dumps(config, indent=2))
        init = [tf, "init", "-input=false", "-no-color", "-backend=false"]
        plugin_dir = os.environ.get(PLUGIN_DIR_ENV)
        if plugin_dir:
            init.append(f"-plugin-dir={plugin_dir}")
        try:
            _run(init, work)
        except SystemExit as exc:
            if not plugin_dir:
                raise SystemExit(
                    f"{exc}\nhint: registry unreachable? set {PLUGIN_DIR_ENV}="
                    "/path/to/provider/mirror (e.g. /opt/tf-plugins)"
                ) from None
            raise
        raw = json.loads(_run([tf, "providers", "schema", "-json"], work))
        version = json.loads(_run([tf, "version", "-json"], work))
    return raw, version


# --------------------------------------------------------------------------- #
# trimming
# --------------------------------------------------------------------------- #
def _strip_block(block: dict) -> dict:
    """Drop description fields of a schema Block *structurally*: attribute
    names (e.g. an attribute called "description") and object type keys
    must survive."""
    out = {k: v for k, v in block.items() if k not in STRIP_KEYS}
    if "attributes" in out:
        out["attributes"] = {name: _strip_attribute(a) for name, a in out["attributes"].items()}
    if "block_types" in out:
        out["block_types"] = {
            name: {**{k: v for k, v in bt.items() if k not in STRIP_KEYS}, "block": _strip_block(bt["block"])}
            for name, bt in out["block_types"].items()
        }
    return out


def _strip_attribute(attr: dict) -> dict:
    out = {k: v for k, v in attr.items() if k not in STRIP_KEYS}
    if "nested_type" in out:
        out["nested_type"] = _strip_block(out["nested_type"])  # has "attributes" + nesting_mode
    return out


def strip_descriptions(schema: dict) -> dict:
    """Strip a provider/resource Schema object ({"version", "block"})."""
    return {**schema, "block": _strip_block(schema["block"])}


def _aws_provider(raw: dict) -> tuple[str, dict]:
    for addr, prov in raw.get("provider_schemas", {}).items():
        if addr.endswith("/" + PROVIDER_SOURCE):
            return addr, prov
    raise SystemExit(f"refresh: {PROVIDER_SOURCE} not in `providers schema -json` output")


def select_types(
    prov: dict,
    used: dict[str, set[str]],
    extra: Iterable[str] = (),
) -> dict[str, set[str]]:
    available = {kind: set(prov.get(sec) or {}) for kind, sec in KIND_TO_SECTION.items()}
    wanted: dict[str, set[str]] = {k: set() for k in KIND_TO_SECTION}

    def want(kind: str, name: str, origin: str) -> None:
        if name in available[kind]:
            wanted[kind].add(name)
        else:
            warn(f"{origin}: {kind} type {name!r} not in {PROVIDER_SOURCE} {PROVIDER_VERSION}; dropped")

    for name in DEFAULT_RESOURCE_TYPES:
        want("resource", name, "default list")
    for name in DEFAULT_DATA_SOURCE_TYPES:
        want("data", name, "default list")
    for name in DEFAULT_EPHEMERAL_TYPES:
        if available["ephemeral"]:
            want("ephemeral", name, "default list")
    for name in available["ephemeral"]:
        if any(s in name for s in EPHEMERAL_KEEP_SUBSTRINGS) or name in wanted["data"]:
            wanted["ephemeral"].add(name)

    for kind, names in used.items():
        for name in sorted(names):
            if name.startswith("aws_"):
                want(kind, name, "--types-from")
            # non-aws types (random_*, terraform_data, ...) are not ours to keep

    for spec in extra:
        kind, _, name = spec.rpartition(".")
        if kind:
            if kind not in KIND_TO_SECTION:
                raise SystemExit(f"refresh: bad --extra-type {spec!r} (kind must be resource/data/ephemeral)")
            want(kind, name, "--extra-type")
        else:
            hits = [k for k in KIND_TO_SECTION if name in available[k]]
            if not hits:
                warn(f"--extra-type: {name!r} is not a resource/data/ephemeral type; dropped")
            for k in hits:
                wanted[k].add(name)
    return wanted


def build_trimmed(raw: dict, version: dict, wanted: dict[str, set[str]]) -> dict:
    addr, prov = _aws_provider(raw)
    selected = version.get("provider_selections", {}).get(addr)
    if selected and selected != PROVIDER_VERSION:
        raise SystemExit(f"refresh: terraform selected {addr} {selected}, expected {PROVIDER_VERSION}")
    out: dict[str, Any] = {
        "//": "generated by `python -m tests.provider_schema.refresh`; do not edit",
        "format_version": raw.get("format_version"),
        "provider_address": addr,
        "provider_version": PROVIDER_VERSION,
        "terraform_version": version.get("terraform_version"),
        "provider": strip_descriptions(prov["provider"]),
        # every type name the provider has, so the checker can tell
        # "typo" apart from "real type, just not in the trimmed file"
        "all_type_names": {kind: sorted(prov.get(sec) or {}) for kind, sec in KIND_TO_SECTION.items()},
    }
    for kind, sec in KIND_TO_SECTION.items():
        section = prov.get(sec) or {}
        out[sec] = {name: strip_descriptions(section[name]) for name in sorted(wanted[kind])}
    return out


def share_repeated_blocks(doc: dict, min_chars: int = 200) -> dict:
    """Replace nested schema blocks that occur more than once with {"$ref": id}.

    aws_wafv2_web_acl alone is ~1.3 MB because its recursive `statement`
    tree repeats the same sub-blocks thousands of times; sharing them cuts it
    to a few tens of KB. Bodies live in doc["shared_blocks"][id];
    check.load_schema() resolves the refs back into (shared) dicts.
    """
    canon = lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"))  # noqa: E731
    shared: dict[str, dict] = {}

    def hoist(block: dict) -> dict:
        # bottom-up: children first, so identical subtrees hash identically
        for bt in (block.get("block_types") or {}).values():
            bt["block"] = hoist(bt["block"])
        text = canon(block)
        if len(text) < min_chars:
            return block
        ref = hashlib.sha1(text.encode()).hexdigest()[:12]
        shared.setdefault(ref, block)
        return {"$ref": ref}

    def children(block: dict):
        return (block.get("block_types") or {}).values()

    sections = [k for k in doc if k.endswith("_schemas")]
    roots = [doc["provider"]["block"]] + [s["block"] for sec in sections for s in doc[sec].values()]
    for root in roots:
        for bt in children(root):
            bt["block"] = hoist(bt["block"])

    # count references in the final graph (each shared body counted once)
    uses: dict[str, int] = {}
    seen: set[str] = set()

    def count(block: dict) -> None:
        for bt in children(block):
            ref = bt["block"].get("$ref")
            if ref is None:
                count(bt["block"])
                continue
            uses[ref] = uses.get(ref, 0) + 1
            if ref not in seen:
                seen.add(ref)
                count(shared[ref])

    for root in roots:
        count(root)

    # put back refs used only once
    def inline(block: dict) -> None:
        for bt in children(block):
            ref = bt["block"].get("$ref")
            if ref is not None and uses[ref] == 1:
                bt["block"] = shared[ref]
            if "$ref" not in bt["block"]:
                inline(bt["block"])

    for root in roots:
        inline(root)
    for ref in sorted(seen):
        if uses[ref] > 1:
            inline(shared[ref])
    doc["shared_blocks"] = {r: shared[r] for r in sorted(seen) if uses[r] > 1}
    return doc


def render(doc: dict) -> str:
    """Sorted keys, compact, but one line per top-level entry / type so diffs stay readable."""
    dump = lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"))  # noqa: E731
    lines = ["{"]
    keys = sorted(doc)
    for i, key in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        value = doc[key]
        if key in ("all_type_names", "shared_blocks") or key.endswith("_schemas"):
            if not value:
                lines.append(f"{dump(key)}:{{}}{comma}")
                continue
            lines.append(f"{dump(key)}:{{")
            names = sorted(value)
            for j, name in enumerate(names):
                c2 = "," if j < len(names) - 1 else ""
                lines.append(f" {dump(name)}:{dump(value[name])}{c2}")
            lines.append(f"}}{comma}")
        else:
            lines.append(f"{dump(key)}:{dump(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.provider_schema.refresh",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--types-from",
        action="append",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory (recursive) or file of *.tf.json whose types to keep; "
        "repeatable; default: <repo>/out if it exists",
    )
    ap.add_argument(
        "--extra-type",
        action="append",
        default=[],
        metavar="TYPE",
        help="extra type to keep: aws_x, or data.aws_x / ephemeral.aws_x / resource.aws_x",
    )
    ap.add_argument("--output", type=Path, default=SCHEMA_PATH)
    ap.add_argument("--terraform", default=os.environ.get("TERRAFORM", "terraform"))
    ap.add_argument(
        "--check", action="store_true", help="don't write; exit 1 if --output differs from a fresh regeneration"
    )
    args = ap.parse_args(argv)

    dirs = args.types_from
    if dirs is None:
        dirs = [REPO_ROOT / "out"] if (REPO_ROOT / "out").exists() else []
    used = types_in_dirs(dirs)
    raw, version = dump_raw_schema(args.terraform)
    _, prov = _aws_provider(raw)
    wanted = select_types(prov, used, args.extra_type)
    text = render(share_repeated_blocks(build_trimmed(raw, version, wanted)))
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"refresh: {args.output} is stale; rerun without --check", file=sys.stderr)
            return 1
        print(f"refresh: {args.output} is up to date")
        return 0
    args.output.write_text(text)
    counts = ", ".join(f"{len(wanted[k])} {k}" for k in KIND_TO_SECTION)
    print(
        f"refresh: wrote {args.output} ({len(text.encode())} bytes; {counts}; "
        f"terraform {version.get('terraform_version')})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
