"""Start a patched moto server on 127.0.0.1 for Terraform and boto3.

The server speaks HTTPS by default, with a certificate for 127.0.0.1 /
localhost issued at start by a throwaway CA (written to a temp dir that
``stop()`` removes). ``env()`` hands that CA to subprocesses as
``AWS_CA_BUNDLE`` (honoured by the Terraform AWS provider, boto3 and the AWS
CLI) and ``client()`` verifies against it. TLS matters beyond realism: bucket
policies that deny ``aws:SecureTransport = false`` (the standard TLS-only
policy) refuse every plain-HTTP object request, on AWS and -- with the
patch in patches.py -- on the emulator. ``tls=False`` serves plain HTTP.

In-process use (tests)::

    with start_emulator() as emu:
        emu.endpoint                 # "https://127.0.0.1:PORT"
        emu.env()                    # env vars for terraform / boto3 subprocesses
        emu.client("rds", "eu-west-1")

Manual use::

    python -m tests.emulator.server --port 5000 [--plain-http]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as _dt
import ipaddress
import logging
import os
import re
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .patches import apply_patches

_log = logging.getLogger("tmsc.emulator")

# Every retried write answered by RetryReplay in this process, for the test
# session's summary (tests/conftest.py).
REPLAYED: list[str] = []

DEFAULT_REGION = "eu-west-1"

# Settings the moto server itself reads from its process environment.
SERVER_ENV = {
    # Lets roles attach AWS managed policies (arn:aws:iam::aws:policy/...).
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
}

# One lock for every emulator in the process: moto's backends are module-level
# state shared by all servers in it (see _MotoServer).
_REQUEST_LOCK = threading.Lock()

# How many emulators run in this process: the first to start empties moto's backends (start_emulator).
_running = 0
_running_lock = threading.Lock()

# A client that connects and never completes the TLS handshake must not hold
# a worker thread for ever.
_TLS_HANDSHAKE_TIMEOUT = 30.0
RESET_TIMEOUT = 600.0


# Ports this process has served an emulator on. A Terraform provider orphaned by an interrupted or killed
# run goes on retrying its last requests against its emulator's port; were a later emulator handed the same
# port by the OS, those requests would land in it (resources of another test appearing mid-test). A port is
# therefore never served twice in one process.
_served_ports: set[int] = set()


def _start_on_a_fresh_port(host: str, port: int, serialize: bool, ssl_context: ssl.SSLContext | None) -> _MotoServer:
    refused: list[_MotoServer] = []
    try:
        for _ in range(50):
            server = _MotoServer(host, port, serialize=serialize, ssl_context=ssl_context)
            server.start()
            if port or server.port not in _served_ports:
                _served_ports.add(server.port)
                return server
            refused.append(server)  # kept open until a fresh port is found, so the OS cannot hand it out again
        raise RuntimeError("no port this process has not served an emulator on")
    finally:
        for server in refused:
            server.stop()


def write_tls_files(
    directory: str | os.PathLike[str], hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
) -> tuple[Path, Path, Path]:
    """Issue a throwaway CA and a server certificate for ``hosts`` signed by it.

    Returns (ca_cert, server_cert, server_key) paths in ``directory``. The CA
    certificate is what clients trust (AWS_CA_BUNDLE); its key is never
    written. A CA plus a leaf, rather than one self-signed leaf, because
    strict verifiers (Go's crypto/x509 in the Terraform provider, OpenSSL with
    X509_STRICT) want a trust anchor with CA:TRUE and a leaf with serverAuth.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = Path(directory)
    now = _dt.datetime.now(_dt.UTC)
    not_before, not_after = now - _dt.timedelta(hours=1), now + _dt.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tmsc emulator test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    ca_path, cert_path, key_path = (directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return ca_path, cert_path, key_path


class RetryReplay:
    """Answer an SDK retry of a write that already succeeded with the answer
    it was given, instead of performing the write twice.

    AWS SDKs retry a request when the connection fails before the response
    is read, and send one ``amz-sdk-invocation-id`` for every attempt of an
    operation (``amz-sdk-request: attempt=N``). A 2xx is never retried, so a
    retry that arrives after a 2xx means the response was lost on the way.
    With the Terraform provider that happens about once per apply of the dev
    environment, on an idle machine too: instrumented, the first attempt's
    connection had already been reset by the client when the server shut it
    down after writing the answer (ENOTCONN), and the retry came ~0.1 s later;
    a lingering close on the server side did not change that. A create
    performed twice then fails with ``...AlreadyExists`` (seen in CI:
    CreateUserGroup, CreateRoute; a revoke performed twice gives
    ``InvalidPermission.NotFound``). AWS deduplicates
    such retries for many APIs with client tokens; moto does not, so this
    does it for all of them. Reads are not recorded (re-running them is
    harmless); nothing but a retry of an answered invocation is ever
    replayed, and each replay is logged and counted (``replayed``).
    """

    _READS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, capacity: int = 4096):
        self.capacity = capacity
        self.replayed: list[str] = []
        self._answers: collections.OrderedDict[str, tuple[str, list[tuple[str, str]], bytes]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    @staticmethod
    def _attempt(environ: dict[str, Any]) -> int:
        match = re.search(r"attempt=(\d+)", environ.get("HTTP_AMZ_SDK_REQUEST", ""))
        return int(match.group(1)) if match else 1

    @staticmethod
    def _describe(environ: dict[str, Any]) -> str:
        """ "POST / CreateUserGroup": the operation, for the log (the request
        is answered from the record, so its body is free to read)."""
        operation = environ.get("HTTP_X_AMZ_TARGET", "")
        if not operation and "form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = urllib.parse.parse_qs(environ["wsgi.input"].read(length).decode(errors="replace"))
            operation = form.get("Action", [""])[0]
        return f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO', '')} {operation}".strip()

    def wrap(self, app: Any) -> Any:
        def replaying_app(environ: dict[str, Any], start_response: Any) -> Any:
            invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
            if not invocation or environ.get("REQUEST_METHOD", "GET") in self._READS:
                return app(environ, start_response)
            if self._attempt(environ) > 1:
                with self._lock:
                    answer = self._answers.get(invocation)
                if answer is not None:
                    status, headers, body = answer
                    label = self._describe(environ)
                    self.replayed.append(label)
                    REPLAYED.append(label)
                    _log.warning(
                        "replayed the answer to a retried write (%s): its first "
                        "attempt succeeded but the client never read the response",
                        label,
                    )
                    start_response(status, headers)
                    return [body]
            seen: dict[str, Any] = {}

            def recording_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                seen["status"], seen["headers"] = status, list(headers)
                return start_response(status, headers, exc_info)

            result = app(environ, recording_start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if str(seen.get("status", "")).startswith("2"):
                with self._lock:
                    self._answers[invocation] = (seen["status"], seen["headers"], body)
                    while len(self._answers) > self.capacity:
                        self._answers.popitem(last=False)
            return [body]

        return replaying_app


class _MotoServer:
    """moto's WSGI app on a threaded werkzeug server, optionally over TLS.

    Like moto's ThreadedMotoServer (same app, same request handler), with:

    * Serialized requests. moto's backends are not thread-safe, and several
      terraform processes applying at once made the threaded server answer the
      odd request with HTTP 500 ("OrderedDict mutated during iteration").
      Requests are short, so a lock costs little; the one catch is a long poll
      (e.g. SQS ReceiveMessage with WaitTimeSeconds) holding the server for its
      whole wait. The lock is process-wide (_REQUEST_LOCK) because the backends
      are: two emulators in one process share them.
    * TLS with the handshake in the worker thread. werkzeug's own ssl_context
      wraps the listening socket, so every handshake runs in the accept loop
      and one stalled client stalls the server. Here the listening socket stays
      plain and each connection is wrapped in its own thread; the server's
      ``ssl_context`` attribute is still set, which is what makes werkzeug
      report ``wsgi.url_scheme = "https"`` (and the S3 policy patch see
      ``aws:SecureTransport = true``).
    * The socket is bound in ``start()`` (port 0 = a free one, no race), so a
      bind error raises there instead of leaving a thread that never serves.
    """

    def __init__(self, host: str, port: int, *, serialize: bool = True, ssl_context: ssl.SSLContext | None = None):
        self.host = host
        self.requested_port = port
        self.serialize = serialize
        self.ssl_context = ssl_context
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.replay = RetryReplay()

    @property
    def port(self) -> int:
        assert self._server is not None, "call start() first"
        return int(self._server.server_address[1])

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import ThreadedWSGIServer

        app = DomainDispatcherApplication(create_backend_app)

        def serialized_app(environ: Any, start_response: Any) -> Any:
            with _REQUEST_LOCK:
                return app(environ, start_response)

        wsgi_app = self.replay.wrap(serialized_app if self.serialize else app)

        tls = self.ssl_context

        class Server(ThreadedWSGIServer):
            daemon_threads = True

            def process_request_thread(self, request: Any, client_address: Any) -> None:
                if tls is not None:
                    try:
                        request.settimeout(_TLS_HANDSHAKE_TIMEOUT)
                        request = tls.wrap_socket(request, server_side=True)
                        request.settimeout(None)
                    except OSError:  # ssl.SSLError included: bad client, plain HTTP, timeout
                        with contextlib.suppress(OSError):
                            request.close()
                        return
                super().process_request_thread(request, client_address)

        server = Server(self.host, self.requested_port, wsgi_app, handler=MotoRequestHandler)
        server.ssl_context = tls  # werkzeug: wsgi.url_scheme = "https" when set
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=f"moto-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        try:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=30)
        finally:
            self._server = None
            self._thread = None


class Emulator:
    """A patched moto server bound to 127.0.0.1 (HTTPS unless tls=False).

    Use as a context manager, or call start()/stop() yourself.
    ``ca_bundle`` is the path of the CA certificate clients must trust (None
    with tls=False or before start()).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        port: int | None = None,
        region: str = DEFAULT_REGION,
        verbose: bool = False,
        serialize_requests: bool = True,
        tls: bool = True,
    ):
        self.port = port or 0
        self.region = region
        self.verbose = verbose
        self.serialize_requests = serialize_requests
        self.tls = tls
        self.ca_bundle: str | None = None
        self._tls_dir: str | None = None
        self._server: _MotoServer | None = None
        self._saved_env: dict[str, str | None] = {}
        self._session: Any = None
        self._session_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------
    def start(self) -> Emulator:
        if self._server is not None:
            return self
        apply_patches()
        if not self.verbose:
            # One line per request from werkzeug's dev server otherwise.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)

        ssl_context = None
        if self.tls:
            self._tls_dir = tempfile.mkdtemp(prefix="tmsc-emu-tls-")
            ca, cert, key = write_tls_files(self._tls_dir, (self.host, "localhost"))
            ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ssl_context.load_cert_chain(cert, key)
            self.ca_bundle = str(ca)

        for key_, value in SERVER_ENV.items():
            self._saved_env[key_] = os.environ.get(key_)
            os.environ[key_] = value
        server = _start_on_a_fresh_port(self.host, self.port, self.serialize_requests, ssl_context)
        try:
            self._server = server
            self.port = server.port
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            if self._server is not None:
                self._server.stop()
        finally:
            self._server = None
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._saved_env.clear()
            if self._tls_dir is not None:
                shutil.rmtree(self._tls_dir, ignore_errors=True)
                self._tls_dir = None
                self.ca_bundle = None

    def _urlopen(self, req: str | urllib.request.Request, timeout: float) -> Any:
        context = ssl.create_default_context(cafile=self.ca_bundle) if self.tls else None
        return urllib.request.urlopen(req, timeout=timeout, context=context)

    def reset(self) -> None:
        """Forget every resource in every backend (moto's reset API)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        # The timeout guards a hang, not speed: a reset rebuilds IAM's AWS-managed policies, which took over
        # 30 s on this 2-core machine while other work loaded it (load average 20 and more).
        with self._urlopen(req, timeout=RESET_TIMEOUT) as resp:
            resp.read()

    def _wait_ready(self, timeout: float = 120.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while True:
            try:
                # /moto-api/config is cheap; data.json serializes every model
                # instance (seconds once IAM's managed policies are loaded).
                with self._urlopen(f"{self.endpoint}/moto-api/config", timeout=5):
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not answer on {self.endpoint}") from None
                time.sleep(0.1)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- access ----------------------------------------------------------
    @property
    def replayed(self) -> list[str]:
        """Retried writes answered from RetryReplay (empty on a calm run)."""
        return list(self._server.replay.replayed) if self._server is not None else []

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def env(self, region: str | None = None) -> dict[str, str]:
        """Environment variables pointing Terraform / AWS SDKs at this emulator.

        Merge into a copy of os.environ for a subprocess; nothing here is a
        real credential. With TLS, AWS_CA_BUNDLE names the emulator's CA (the
        Terraform AWS provider's ``custom_ca_bundle`` and boto3/the AWS CLI
        read it); it is only valid while the emulator runs.
        """
        region = region or self.region
        env = {
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
        if self.tls and self.ca_bundle:
            env["AWS_CA_BUNDLE"] = self.ca_bundle
        return env

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for this emulator, verifying its certificate (safe
        to call from several threads: clients are thread-safe, creating them
        from one session is not)."""
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
                verify=self.ca_bundle if self.tls else None,
                config=Config(retries={"max_attempts": 2, "mode": "standard"}, s3={"addressing_style": "path"}),
            )


@contextlib.contextmanager
def start_emulator(
    port: int | None = None,
    region: str = DEFAULT_REGION,
    verbose: bool = False,
    serialize_requests: bool = True,
    tls: bool = True,
) -> Iterator[Emulator]:
    """Apply the moto patches, start a server on 127.0.0.1 (free port unless
    given), yield the Emulator, stop it on exit. verbose=True logs every
    request (werkzeug) to stderr; serialize_requests=False lets moto handle
    requests concurrently (see _MotoServer); tls=False serves plain HTTP
    (object requests to a bucket with a TLS-only policy are then refused, as
    on AWS).

    An emulator started while no other runs in the process starts empty.
    moto's backends are process-wide, so without the reset a test module
    would see whatever an earlier module in the same process left behind (a
    failed apply's resources, names taken), and whether it passed would
    depend on which modules ran before it: under pytest-xdist that changes
    from run to run. One started beside a running emulator shares its
    backends (a second listener on the same resources, as the TLS test uses).
    """
    global _running
    emu = Emulator(port=port, region=region, verbose=verbose, serialize_requests=serialize_requests, tls=tls)
    emu.start()
    with _running_lock:
        alone, _running = _running == 0, _running + 1
    try:
        if alone:
            emu.reset()
        yield emu
    finally:
        with _running_lock:
            _running -= 1
        emu.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the patched moto emulator for tmsc.")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.add_argument(
        "--plain-http", action="store_true", help="serve plain HTTP instead of HTTPS with a throwaway CA"
    )
    args = parser.parse_args(argv)

    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    with start_emulator(
        port=args.port or None, region=args.region, verbose=not args.quiet, tls=not args.plain_http
    ) as emu:
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
