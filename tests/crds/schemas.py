"""Validation of the custom resources `tmsc kubernetes` renders, against the schemas of their CRDs.

For each (apiVersion, kind) the first of these that has it is used (README.md beside this file):

1. A CRD in `$TMSC_CRD_DIR`, or else in tests/crds/ itself (`*.yaml`, none committed): the OpenAPI schema of
   each served version, checked with jsonschema.
2. A CRD extracted into the cache of the install step (fetch.py): the TargetGroupBinding CRD, the same way.
3. A validator module of an npm package installed in that cache (ExternalSecret and SecretStore), run by
   `node` (validate.mjs).

Both ways reject fields the schema does not declare, as the API server does under strict field validation
(the default of `kubectl apply`): a CRD's object schemas get `additionalProperties: false` wherever they list
their properties and neither set `additionalProperties` nor `x-kubernetes-preserve-unknown-fields`;
validate.mjs reports the fields its validator never read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from . import fetch

HERE = Path(__file__).resolve().parent
Key = tuple[str, str]  # (apiVersion, kind)

NPM_VALIDATORS: dict[Key, str] = {
    ("external-secrets.io/v1", "ExternalSecret"): (
        "@kubernetes-models/external-secrets/_schemas/ComGithubExternalSecretsExternalSecretsApisExternalsecretsV1ExternalSecret.js"
    ),
    ("external-secrets.io/v1", "SecretStore"): (
        "@kubernetes-models/external-secrets/_schemas/ComGithubExternalSecretsExternalSecretsApisExternalsecretsV1SecretStore.js"
    ),
}


def strict(schema: Any) -> Any:
    """The schema with unknown fields forbidden wherever the Kubernetes API server would reject them."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def crd_schemas(directory: Path) -> dict[Key, Any]:
    """The openAPIV3Schema of every served version of every CRD in the directory's *.yaml files."""
    schemas: dict[Key, Any] = {}
    for path in sorted(directory.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if version.get("served"):
                    schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


def messages(error: Any) -> list[str]:
    """`/json/pointer: what is wrong`, as validate.mjs writes them; an unknown field at its own path."""
    at = "".join(f"/{p}" for p in error.absolute_path)
    if error.validator == "additionalProperties" and error.validator_value is False:
        return [f"{at}/{k}: unknown field" for k in sorted(set(error.instance) - set(error.schema["properties"]))]
    return [f"{at or '/'}: {error.message}"]


class CustomResources:
    """The validators found for each (apiVersion, kind), and what each is."""

    def __init__(self) -> None:
        import jsonschema

        given = os.environ.get("TMSC_CRD_DIR")
        directory = Path(given) if given else HERE
        cache = fetch.installed()
        self.sources: dict[Key, str] = {}
        self.validators: dict[Key, jsonschema.Draft7Validator] = {}
        self.modules: dict[Key, Path] = {}
        for place, schemas in [
            (f"CRD in {directory}", crd_schemas(directory)),
            (f"CRD in {cache}/crds (fetch.py)", crd_schemas(cache / "crds") if cache else {}),
        ]:
            for key, schema in schemas.items():
                if key not in self.sources:
                    self.sources[key] = place
                    self.validators[key] = jsonschema.Draft7Validator(strict(schema))
        self.node = shutil.which("node")
        if cache and self.node:
            for key, module in NPM_VALIDATORS.items():
                path = cache / "npm" / "node_modules" / module
                if key not in self.sources and path.is_file():
                    self.sources[key] = f"npm {module} in {cache} (fetch.py)"
                    self.modules[key] = path

    def missing(self, keys: set[Key]) -> str | None:
        """Why some of these kinds cannot be checked here, or None."""
        absent = sorted(keys - set(self.sources))
        if not absent:
            return None
        return (
            f"no schema for {', '.join(f'{a}/{k}' for a, k in absent)}: the install step has not filled "
            f"{fetch.cache_dir()} (make crds, or python -m tests.crds.fetch; the npm validators also need node "
            f"on PATH) and TMSC_CRD_DIR names no CRD of it; see tests/skips.yaml (kubernetes-crds)"
        )

    def errors(self, documents: list[dict[str, Any]]) -> list[list[str]]:
        """For each document, its errors against the schema of its kind ([] when valid)."""
        results: list[list[str] | None] = [None] * len(documents)
        batch: list[tuple[int, list[Any]]] = []
        for i, doc in enumerate(documents):
            key = (doc["apiVersion"], doc["kind"])
            if key in self.validators:
                results[i] = sorted(m for e in self.validators[key].iter_errors(doc) for m in messages(e))
            elif key in self.modules:
                batch.append((i, [str(self.modules[key]), doc]))
            else:
                raise KeyError(f"no schema for {key}: {self.missing({key})}")
        if batch:
            assert self.node is not None
            run = subprocess.run(
                [self.node, str(HERE / "validate.mjs")],
                input=json.dumps([item for _, item in batch]),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert run.returncode == 0, f"node tests/crds/validate.mjs exited {run.returncode}: {run.stderr}"
            for (i, _), found in zip(batch, json.loads(run.stdout), strict=True):
                results[i] = found
        return [r if r is not None else [] for r in results]
