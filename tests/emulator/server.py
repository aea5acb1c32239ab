"""Start a patched moto server on 127.0.0.1 for Terraform and boto3.

In-process use (tests)::

    with start_emulator() as emu:
        emu.endpoint                 # "http://127.0.0.1:PORT"
        emu.env()                    # env vars for terraform / boto3 subprocesses
        emu.client("rds", "eu-west-1")

Manual use::

    python -m tests.emulator.server --port 5000
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

from .patches import apply_patches

DEFAULT_REGION = "eu-west-1"

# Settings the moto server itself reads from its process environment.
SERVER_ENV = {
    # Lets roles attach AWS managed policies (arn:aws:iam::aws:policy/...).
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
}


def _serialized_server_class() -> type:
    """ThreadedMotoServer whose WSGI app handles one request at a time.

    moto's backends are not thread-safe, and several terraform processes
    applying at once made the threaded server answer the odd request with
    HTTP 500 ("OrderedDict mutated during iteration"). Requests are short, so
    a lock costs little; the one catch is a long poll (e.g. SQS ReceiveMessage
    with WaitTimeSeconds) holding the server for its whole wait.
    """
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class SerializedMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:  # same as moto's, plus the lock
            app = DomainDispatcherApplication(create_backend_app)
            lock = threading.Lock()

            def locked_app(environ: Any, start_response: Any) -> Any:
                with lock:
                    return app(environ, start_response)

            self._server = make_server(self._ip_address, self._port, locked_app, True,
                                       request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return SerializedMotoServer


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Emulator:
    """A patched moto ThreadedMotoServer bound to 127.0.0.1.

    Use as a context manager, or call start()/stop() yourself.
    """

    host = "127.0.0.1"

    def __init__(self, port: int | None = None, region: str = DEFAULT_REGION,
                 verbose: bool = False, serialize_requests: bool = True):
        self.port = port or 0
        self.region = region
        self.verbose = verbose
        self.serialize_requests = serialize_requests
        self._server: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._session: Any = None
        self._session_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------
    def start(self) -> Emulator:
        if self._server is not None:
            return self
        apply_patches()
        for key, value in SERVER_ENV.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        from moto.server import ThreadedMotoServer

        server_cls = _serialized_server_class() if self.serialize_requests else ThreadedMotoServer
        if not self.verbose:
            # One line per request from werkzeug's dev server otherwise.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)

        if not self.port:
            self.port = _free_port(self.host)
        self._server = server_cls(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        self._wait_ready()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        try:
            self._server.stop()
        finally:
            self._server = None
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._saved_env.clear()

    def reset(self) -> None:
        """Forget every resource in every backend (moto's reset API)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2):
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not answer on {self.endpoint}")
                time.sleep(0.1)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- access ----------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self, region: str | None = None) -> dict[str, str]:
        """Environment variables pointing Terraform / AWS SDKs at this emulator.

        Merge into a copy of os.environ for a subprocess; nothing here is a
        real credential.
        """
        region = region or self.region
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            # Never read a developer's real config / credentials by accident.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            **SERVER_ENV,
        }

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for this emulator (safe to call from several threads:
        clients are thread-safe, creating them from one session is not)."""
        import boto3
        from botocore.config import Config

        with self._session_lock:
            if self._session is None:
                self._session = boto3.session.Session()
            return self._session.client(
                service,
                region_name=region or self.region,
                endpoint_url=self.endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"max_attempts": 2, "mode": "standard"},
                              s3={"addressing_style": "path"}),
            )


@contextlib.contextmanager
def start_emulator(port: int | None = None, region: str = DEFAULT_REGION,
                   verbose: bool = False, serialize_requests: bool = True) -> Iterator[Emulator]:
    """Apply the moto patches, start a server on 127.0.0.1 (free port unless
    given), yield the Emulator, stop it on exit. verbose=True logs every
    request (werkzeug) to stderr; serialize_requests=False lets moto handle
    requests concurrently (see _serialized_server_class)."""
    emu = Emulator(port=port, region=region, verbose=verbose,
                   serialize_requests=serialize_requests)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the patched moto emulator for tmsc.")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    with start_emulator(port=args.port or None, region=args.region,
                        verbose=not args.quiet) as emu:
        print(emu.endpoint, flush=True)
        print("# export these to point terraform / the AWS CLI at it:", file=sys.stderr)
        for key, value in emu.env().items():
            print(f"export {key}={value!r}", file=sys.stderr)
        sys.stderr.flush()
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
