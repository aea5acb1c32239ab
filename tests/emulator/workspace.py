"""Run a compiled Terraform JSON stack against the emulator, in a scratch copy.

    ws = TerraformWorkspace("out/dev", emu, tmp_path, teardown=True)
    ws.init(); ws.apply()
    assert ws.plan() == 0          # terraform plan -detailed-exitcode: no drift
    ws.destroy()

The source directory is never written to. The copy gets one extra, test-only
file, ``emulator_override.tf.json`` (Terraform merges ``*_override.tf.json``
files over the rest), which

  * replaces any backend with ``backend "local"`` inside the workspace;
  * points every ``aws`` provider block at the emulator's quirks:
    path-style S3, no credential / metadata checks, few retries (moto answers
    an unimplemented call with HTTP 500, which the SDK otherwise retries for
    minutes). The endpoint itself comes from ``AWS_ENDPOINT_URL``;
  * sets ``recovery_window_in_days = 0`` on every ``aws_secretsmanager_secret``
    (a secret deleted with a recovery window blocks re-creating its name, on
    AWS as on moto);
  * with ``teardown=True``: switches off deletion protection, skips final
    snapshots and ``prevent_destroy`` so that ``destroy`` can finish.

Every terraform run writes its log to ``<workspace>/.logs/NN-<verb>.log``; a
failure raises TerraformError carrying the log's tail.

With ``keep_s3_backend=True`` the stack's own ``backend "s3"`` is kept -- same
bucket, key, DynamoDB table, ``use_lockfile`` and ``encrypt`` -- and only
pointed at the emulator (endpoints, path-style, its CA, no credential checks);
the bucket and table must exist there first (apply out/bootstrap). State then
lives in the emulator's bucket: ``read_state()`` pulls it (``terraform state
pull``). ``start()`` / ``start_apply()`` run terraform in the background and
return a RunningTerraform that can be signalled (SIGINT = an operator's
Ctrl-C, SIGKILL = a runner that died) and waited for.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

OVERRIDE_NAME = "emulator_override.tf.json"
PROVIDER_NAME = "emulator_provider.tf.json"  # only when the stack has no aws provider block

# Provider arguments for the emulator (merged over the stack's own aws blocks).
EMULATOR_PROVIDER_SETTINGS: dict[str, Any] = {
    "s3_use_path_style": True,
    "skip_credentials_validation": True,
    "skip_metadata_api_check": True,
    "skip_requesting_account_id": False,  # moto's STS answers GetCallerIdentity
    "max_retries": 2,
}

# S3 backend arguments (Terraform >= 1.6 names; 1.11's backend deprecates the
# flat ``endpoint`` / ``dynamodb_endpoint`` / ``force_path_style`` spellings)
# merged over the stack's own backend "s3" block with keep_s3_backend=True. The
# endpoints themselves (s3, dynamodb, sts, iam) and the CA bundle come from the
# running emulator. Retries stay low for the same reason as the provider's: an
# unimplemented call answers HTTP 500 and would be retried for minutes; a lock
# conflict (S3 412 PreconditionFailed, DynamoDB ConditionalCheckFailed) is not
# retried by the backend whatever this says.
EMULATOR_S3_BACKEND_SETTINGS: dict[str, Any] = {
    "use_path_style": True,
    "skip_credentials_validation": True,
    "skip_metadata_api_check": True,
    "skip_requesting_account_id": False,  # moto's STS answers GetCallerIdentity
    "max_retries": 2,
}
S3_BACKEND_ENDPOINT_SERVICES = ("s3", "dynamodb", "sts", "iam")

# Provider arguments that would pin a real account / credentials source; they
# are nulled in the override when the stack sets them (moto's account is
# 123456789012, its credentials are "testing").
_ACCOUNT_PINNING_ARGS = (
    "allowed_account_ids",
    "forbidden_account_ids",
    "profile",
    "shared_config_files",
    "shared_credentials_files",
)

# (resource type, argument, value) applied with teardown=True.
TEARDOWN_SETTINGS: tuple[tuple[str, str, Any], ...] = (
    ("aws_db_instance", "deletion_protection", False),
    ("aws_db_instance", "skip_final_snapshot", True),
    ("aws_rds_cluster", "deletion_protection", False),
    ("aws_rds_cluster", "skip_final_snapshot", True),
    ("aws_dynamodb_table", "deletion_protection_enabled", False),
    ("aws_lb", "enable_deletion_protection", False),
    # Buckets that keep their objects on destroy (data outside development) are emptied:
    # the test owns the data it uploaded and discards it on purpose.
    ("aws_s3_bucket", "force_destroy", True),
)

# Variables / secrets that should never leak from the developer's shell into
# a run against the emulator.
_SCRUBBED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


# Errors of the connection to the emulator itself, not answers from it. The
# provider's SDK retries them (max_retries above), but on a loaded 2-core
# machine both attempts of one read have failed this way (CI: "reading IAM
# Policies attached to Role ...: decomposing response: read tcp ...: use of
# closed network connection", after a 200). AWS would not be involved in such
# a failure, so an apply, plan or destroy whose every error is one of these
# is run once more; an error AWS (or moto) answered is never retried.
_TRANSPORT_ERROR = re.compile(r"use of closed network connection|connection reset by peer|broken pipe")
# "<workspace log>: <first error line>" for each command run again, for the
# session summary (tests/conftest.py).
RETRIED_RUNS: list[str] = []


def only_transport_errors(log_text: str) -> bool:
    """True when the log names at least one error and every one is a
    connection failure (_TRANSPORT_ERROR)."""
    errors = [line for line in log_text.splitlines() if line.startswith("Error: ")]
    return bool(errors) and all(_TRANSPORT_ERROR.search(line) for line in errors)


class TerraformError(RuntimeError):
    """A terraform command failed; the message ends with its log's tail."""

    def __init__(self, verb: str, returncode: int | None, log_path: Path, tail: str):
        self.verb = verb
        self.returncode = returncode
        self.log_path = log_path
        self.tail = tail
        status = "timed out" if returncode is None else f"exited {returncode}"
        super().__init__(f"terraform {verb} {status}; log: {log_path}\n--- last lines ---\n{tail}")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


class TerraformWorkspace:
    """A scratch copy of a compiled stack wired to an emulator.

    source_dir  directory with the stack's ``*.tf.json`` (never modified)
    emulator    anything with ``.env()`` (tests.emulator.server.Emulator)
    tmp_dir     where the copy lives (``<tmp_dir>/stack``)
    teardown    also switch off deletion protection / final snapshots
    timeout     seconds allowed for one terraform command
    keep_s3_backend  keep the stack's backend "s3" (pointed at the emulator)
                instead of replacing it with a local one; the stack must
                declare one. ``backend_config`` holds the merged block.
    """

    def __init__(
        self,
        source_dir: str | os.PathLike[str],
        emulator: Any,
        tmp_dir: str | os.PathLike[str],
        *,
        teardown: bool = False,
        timeout: float = 900.0,
        terraform: str = "terraform",
        keep_s3_backend: bool = False,
    ):
        self.source_dir = Path(source_dir).resolve()
        if not self.source_dir.is_dir():
            raise FileNotFoundError(f"no stack directory at {self.source_dir}")
        if not list(self.source_dir.glob("*.tf.json")) and not list(self.source_dir.glob("*.tf")):
            raise FileNotFoundError(f"{self.source_dir} holds no *.tf.json")
        self.emulator = emulator
        self.teardown = teardown
        self.keep_s3_backend = keep_s3_backend
        self.backend_config: dict[str, Any] | None = None
        self.timeout = timeout
        self.terraform = terraform
        self.dir = Path(tmp_dir).resolve() / "stack"
        self.log_dir = self.dir / ".logs"
        self.state_path = self.dir / "terraform.tfstate"
        self.last_log: Path | None = None
        self._runs = 0
        self._copy_source()
        self._write_override()

    # -- preparation -------------------------------------------------------
    def _copy_source(self) -> None:
        if self.dir.exists():
            shutil.rmtree(self.dir)

        def ignore(_d: str, names: list[str]) -> list[str]:
            return [
                n
                for n in names
                if n in (".terraform", ".logs") or n.startswith("terraform.tfstate") or n.endswith(".tfplan")
            ]

        shutil.copytree(self.source_dir, self.dir, ignore=ignore, symlinks=False)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in (OVERRIDE_NAME, PROVIDER_NAME):
            if (self.dir / name).exists():
                raise ValueError(
                    f"{self.source_dir} already has {name}; that name is reserved for the emulator harness"
                )
        # An empty CLI config: no stray ~/.terraformrc, no warning about a missing one.
        (self.dir / ".terraformrc").write_text("")

    def _stack_documents(self) -> list[dict[str, Any]]:
        docs = []
        for path in sorted(self.dir.glob("*.tf.json")):
            if path.name in (OVERRIDE_NAME, PROVIDER_NAME):
                continue
            docs.append(json.loads(path.read_text()))
        return docs

    def override_document(self) -> dict[str, Any]:
        """The override merged over the stack (also written to the workspace)."""
        docs = self._stack_documents()

        aws_blocks: list[dict[str, Any]] = []
        resources: dict[str, dict[str, Any]] = {}  # type -> {name: body}
        for doc in docs:
            # "provider": {"aws": {...} | [{...}, {"alias": ...}]}, or a list of such objects
            for pblock in _as_list(doc.get("provider")):
                if isinstance(pblock, dict):
                    aws_blocks.extend(b for b in _as_list(pblock.get("aws")) if isinstance(b, dict))
            for rblock in _as_list(doc.get("resource")):
                if not isinstance(rblock, dict):
                    continue
                for rtype, named in rblock.items():
                    for named_block in _as_list(named):
                        if not isinstance(named_block, dict):
                            continue  # a "//" comment
                        for rname, body in named_block.items():
                            if rname != "//":
                                resources.setdefault(rtype, {})[rname] = body

        if self.keep_s3_backend:
            backend = {"s3": self._emulator_s3_backend(docs)}
        else:
            backend = {"local": {"path": str(self.state_path)}}
        override: dict[str, Any] = {
            "//": "test-only: generated by tests/emulator/workspace.py",
            "terraform": {"backend": backend},
        }

        provider_overrides = []
        seen_aliases: set[str | None] = set()
        for block in aws_blocks:
            alias = block.get("alias")
            if alias in seen_aliases:
                continue
            seen_aliases.add(alias)
            body = dict(EMULATOR_PROVIDER_SETTINGS)
            if alias is not None:
                body["alias"] = alias
            for arg in _ACCOUNT_PINNING_ARGS:
                if arg in block:
                    body[arg] = None
            provider_overrides.append(body)
        if provider_overrides:
            override["provider"] = {"aws": provider_overrides}

        res_override: dict[str, dict[str, Any]] = {}

        def put(rtype: str, rname: str, arg: str, value: Any) -> None:
            res_override.setdefault(rtype, {}).setdefault(rname, {})[arg] = value

        for rname in resources.get("aws_secretsmanager_secret", {}):
            put("aws_secretsmanager_secret", rname, "recovery_window_in_days", 0)
        if self.teardown:
            for rtype, arg, value in TEARDOWN_SETTINGS:
                for rname in resources.get(rtype, {}):
                    put(rtype, rname, arg, value)
            for rtype, named in resources.items():
                for rname, body in named.items():
                    lifecycle = body.get("lifecycle") if isinstance(body, dict) else None
                    for lc in _as_list(lifecycle):
                        if isinstance(lc, dict) and lc.get("prevent_destroy"):
                            put(rtype, rname, "lifecycle", {"prevent_destroy": False})
        if res_override:
            override["resource"] = res_override
        return override

    def _emulator_s3_backend(self, docs: list[dict[str, Any]]) -> dict[str, Any]:
        """The stack's backend "s3" arguments plus the emulator's.

        Terraform replaces a backend block named in an override file as a
        whole (it does not merge its arguments), so the override repeats every
        argument the stack declares -- bucket, key, region, dynamodb_table,
        use_lockfile, encrypt -- unchanged, and adds only how to reach the
        emulator.
        """
        declared: list[dict[str, Any]] = []
        for doc in docs:
            for tblock in _as_list(doc.get("terraform")):
                if not isinstance(tblock, dict):
                    continue
                for bblock in _as_list(tblock.get("backend")):
                    if isinstance(bblock, dict) and isinstance(bblock.get("s3"), dict):
                        declared.append(bblock["s3"])
        if len(declared) != 1:
            raise ValueError(
                f"keep_s3_backend: {self.source_dir} declares {len(declared)} "
                'backend "s3" blocks; exactly one is needed'
            )
        endpoint = self.emulator.endpoint
        merged = dict(declared[0])
        for arg in _ACCOUNT_PINNING_ARGS:
            merged.pop(arg, None)
        merged.update(EMULATOR_S3_BACKEND_SETTINGS)
        merged["endpoints"] = {service: endpoint for service in S3_BACKEND_ENDPOINT_SERVICES}
        ca_bundle = getattr(self.emulator, "ca_bundle", None)
        if ca_bundle:
            merged["custom_ca_bundle"] = ca_bundle
        self.backend_config = merged
        return merged

    def _write_override(self) -> None:
        override = self.override_document()
        (self.dir / OVERRIDE_NAME).write_text(json.dumps(override, indent=2, sort_keys=True) + "\n")
        if "provider" not in override:
            # The stack relies on an implicit provider: give it an explicit one
            # (an override may only refine a block that exists).
            provider = {"provider": {"aws": dict(EMULATOR_PROVIDER_SETTINGS)}}
            (self.dir / PROVIDER_NAME).write_text(json.dumps(provider, indent=2) + "\n")

    # -- running terraform -------------------------------------------------
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env.update(self.emulator.env())
        env.update(
            {
                "TF_CLI_CONFIG_FILE": str(self.dir / ".terraformrc"),
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "CHECKPOINT_DISABLE": "1",
            }
        )
        env.pop("TF_WORKSPACE", None)
        return env

    def run(
        self, verb: str, *args: str, ok_codes: tuple[int, ...] = (0,), capture_stdout: bool = False
    ) -> tuple[int, str]:
        """Run ``terraform <verb> <args>`` in the workspace; log to a file.

        Returns (exit code, stdout if capture_stdout else ""). Raises
        TerraformError unless the exit code is in ok_codes.
        """
        self._runs += 1
        log_path = self.log_dir / f"{self._runs:02d}-{verb}.log"
        self.last_log = log_path
        cmd = [self.terraform, verb, *args]
        with open(log_path, "w") as log:
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            stdout_target: Any = subprocess.PIPE if capture_stdout else log
            proc = subprocess.Popen(
                cmd,
                cwd=self.dir,
                env=self.env(),
                stdout=stdout_target,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
            try:
                out, _ = proc.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                raise TerraformError(verb, None, log_path, _tail(log_path)) from None
            if capture_stdout and proc.returncode not in ok_codes:
                log.write(out or "")
        if proc.returncode not in ok_codes:
            raise TerraformError(verb, proc.returncode, log_path, _tail(log_path))
        return proc.returncode, (out or "") if capture_stdout else ""

    def init(self) -> None:
        args = ["-input=false", "-no-color"]
        plugin_dir = os.environ.get("TMSC_TF_PLUGIN_DIR")
        if plugin_dir:
            args.append(f"-plugin-dir={plugin_dir}")
        self.run("init", *args)

    def run_past_a_dropped_connection(self, verb: str, *args: str, ok_codes: tuple[int, ...] = (0,)) -> int:
        """``run``, once more when the command failed on the connection alone
        (only_transport_errors). Safe for apply and destroy, whose first run
        left in the state what it did, and for plan, which changes nothing."""
        try:
            return self.run(verb, *args, ok_codes=ok_codes)[0]
        except TerraformError as err:
            log_text = err.log_path.read_text(errors="replace")
            if err.returncode != 1 or not only_transport_errors(log_text):
                raise
            first = next(line for line in log_text.splitlines() if line.startswith("Error: "))
            RETRIED_RUNS.append(f"{err.log_path}: {first}")
            return self.run(verb, *args, ok_codes=ok_codes)[0]

    def apply(self, *extra: str) -> None:
        self.run_past_a_dropped_connection("apply", "-input=false", "-no-color", "-auto-approve", *extra)

    def plan(self, *extra: str, detailed_exitcode: bool = True) -> int:
        """Return terraform plan's exit code: 0 = no changes, 2 = changes
        (with detailed_exitcode). The plan text is in ``self.last_log``."""
        args = ["-input=false", "-no-color", "-lock=false", *extra]
        if detailed_exitcode:
            return self.run_past_a_dropped_connection("plan", *args, "-detailed-exitcode", ok_codes=(0, 2))
        return self.run_past_a_dropped_connection("plan", *args)

    def plan_text(self) -> str:
        """The text of the last command's log (e.g. the drift a plan found)."""
        return self.last_log.read_text() if self.last_log else ""

    def destroy(self, *extra: str) -> None:
        self.run_past_a_dropped_connection("destroy", "-input=false", "-no-color", "-auto-approve", *extra)

    def output(self, raw: bool = False) -> dict[str, Any]:
        """``terraform output -json`` as {name: value} (raw=True: as printed)."""
        _, out = self.run("output", "-json", "-no-color", capture_stdout=True)
        data = json.loads(out or "{}")
        return data if raw else {k: v.get("value") for k, v in data.items()}

    def state_json(self) -> dict[str, Any]:
        """``terraform show -json`` of the current state."""
        _, out = self.run("show", "-json", "-no-color", capture_stdout=True)
        return json.loads(out or "{}")

    def read_state(self) -> dict[str, Any]:
        """The local state file, parsed (no terraform run: cheap). {} before
        the first apply. With keep_s3_backend: the remote state, pulled."""
        if self.keep_s3_backend:
            return self.pull_state()
        if not self.state_path.exists():
            return {}
        return json.loads(self.state_path.read_text())

    def pull_state(self) -> dict[str, Any]:
        """``terraform state pull``: the backend's current state ({} when it
        holds none). Takes no lock, so it works while another run holds one."""
        _, out = self.run("state", "pull", capture_stdout=True)
        return json.loads(out) if out.strip() else {}

    def force_unlock(self, lock_id: str) -> None:
        """``terraform force-unlock -force <lock_id>``: the operator's step
        after a run that died holding the lock."""
        self.run("force-unlock", "-force", lock_id)

    # -- background runs ---------------------------------------------------
    def start(self, verb: str, *args: str, env: dict[str, str] | None = None) -> RunningTerraform:
        """Start ``terraform <verb> <args>`` without waiting for it; its log
        goes to ``.logs/NN-<verb>.log`` like run()'s. ``env`` adds variables.
        The process leads its own process group, so a signal can reach
        terraform and its provider plugins together, as a terminal's Ctrl-C
        or a dying runner would."""
        self._runs += 1
        log_path = self.log_dir / f"{self._runs:02d}-{verb}.log"
        self.last_log = log_path
        cmd = [self.terraform, verb, *args]
        full_env = self.env()
        full_env.update(env or {})
        log = open(log_path, "w")  # noqa: SIM115  # outlives this call: RunningTerraform.wait() closes it
        try:
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=self.dir,
                env=full_env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
            )
        except BaseException:
            log.close()
            raise
        return RunningTerraform(verb, proc, log, log_path, self.timeout)

    def start_apply(self, *extra: str, env: dict[str, str] | None = None) -> RunningTerraform:
        """``terraform apply -auto-approve`` in the background (see start())."""
        return self.start("apply", "-input=false", "-no-color", "-auto-approve", *extra, env=env)

    def resource_addresses(self) -> list[str]:
        """Addresses of the managed resource instances in the local state."""
        found = []
        for res in self.read_state().get("resources", []):
            if res.get("mode") != "managed":
                continue
            prefix = f"{res['module']}." if res.get("module") else ""
            for inst in res.get("instances", []):
                key = inst.get("index_key")
                suffix = "" if key is None else f"[{json.dumps(key)}]"
                found.append(f"{prefix}{res['type']}.{res['name']}{suffix}")
        return sorted(found)


class RunningTerraform:
    """A terraform command started by TerraformWorkspace.start().

    ``interrupt()`` sends SIGINT to its process group (what Ctrl-C in a
    terminal does: terraform stops gracefully, its plugins ignore it);
    ``kill()`` sends SIGKILL to the group (a runner that vanished). ``wait()``
    reaps it, closes the log and returns the exit code (-9 after a SIGKILL);
    with ``ok_codes`` any other code raises TerraformError. Always wait() or
    kill() what you start: ``stop()`` does both for clean-up paths.
    """

    def __init__(self, verb: str, proc: subprocess.Popen[str], log: Any, log_path: Path, timeout: float):
        self.verb = verb
        self.proc = proc
        self.log_path = log_path
        self.timeout = timeout
        self._log = log

    def poll(self) -> int | None:
        return self.proc.poll()

    def log_text(self) -> str:
        """What the command has written so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _signal_group(self, sig: int) -> None:
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def interrupt(self) -> None:
        self._signal_group(signal.SIGINT)

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)

    def wait(self, timeout: float | None = None, ok_codes: tuple[int, ...] | None = None) -> int:
        try:
            code = self.proc.wait(timeout=self.timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise TerraformError(self.verb, None, self.log_path, _tail(self.log_path)) from None
        finally:
            if self.proc.poll() is not None and not self._log.closed:
                self._log.close()
        if ok_codes is not None and code not in ok_codes:
            raise TerraformError(self.verb, code, self.log_path, _tail(self.log_path))
        return code

    def stop(self) -> None:
        """Kill the whole group (plugins included) if still running, and reap it."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        # The provider plugins share terraform's group, so the SIGKILL reached
        # them too. Once the leader is reaped its group id is not signalled
        # again: the id could by then name someone else's group.
        self.proc.wait()
        if not self._log.closed:
            self._log.close()


def scratch_dir(prefix: str = "tmsc-emu-") -> Path:
    """A fresh temp dir (for manual use outside pytest's tmp_path)."""
    return Path(tempfile.mkdtemp(prefix=prefix))
