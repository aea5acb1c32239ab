"""Running the terraform binary from tests: one provider install per session, shared by every stack.

The AWS provider binary is ~700 MB; `terraform init -plugin-dir` would copy it
into every working directory. Instead a CLI configuration installs it from the
filesystem mirror named by TMSC_TF_PLUGIN_DIR (when set; otherwise from the
registry as on any user's machine) into a plugin cache, from which each
`terraform init` only links it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

PLUGIN_DIR_VARIABLE = "TMSC_TF_PLUGIN_DIR"


@cache
def cli_config() -> Path:
    root = Path(tempfile.mkdtemp(prefix="tmsc-tf-"))
    cache_dir = root / "plugin-cache"
    cache_dir.mkdir()
    lines = [f'plugin_cache_dir = "{cache_dir}"', "plugin_cache_may_break_dependency_lock_file = true"]
    mirror = os.environ.get(PLUGIN_DIR_VARIABLE)
    if mirror:
        lines += [
            "provider_installation {",
            f'  filesystem_mirror {{\n    path = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }}',
            '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }',
            "}",
        ]
    config = root / "terraformrc"
    config.write_text("\n".join(lines) + "\n")
    return config


def terraform_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {"TF_CLI_CONFIG_FILE": str(cli_config()), "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    )
    env.update(extra or {})
    return env


def terraform(
    args: list[str], cwd: Path, extra_env: dict[str, str] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    if shutil.which("terraform") is None:
        raise RuntimeError("terraform is not on PATH")
    return subprocess.run(
        ["terraform", *args], cwd=cwd, env=terraform_env(extra_env), capture_output=True, text=True, timeout=timeout
    )
