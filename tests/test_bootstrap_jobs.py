"""The migration identity's bootstrap Jobs, run as far as this machine allows.

Database users: the SQL tmsc kubernetes renders runs against a real PostgreSQL from Debian's packages (the
Debian release here ships PostgreSQL 15, not 16: the statements used exist unchanged in both) set up like RDS:
the master user is not a superuser but has CREATEROLE and owns the database, and `rds_iam` — RDS's role for IAM
authentication, which plain PostgreSQL lacks — is a stand-in NOLOGIN role the master may grant (on RDS the
master's rds_superuser membership gives that). Not reproduced: IAM token authentication itself (RDS's
pg_hba rule for rds_iam members); the test checks membership and privileges instead.

Broker users: jobs/rabbitmq_users.py against a local HTTP server that answers like RabbitMQ's management API
(PUT /api/users/{name} {"password","tags"} → 201 created / 204 updated; PUT /api/permissions/{vhost}/{user}
{"configure","write","read"} → 201/204; 401 without the administrator's Basic credentials). No RabbitMQ
server runs here.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tmsc.jobs import rabbitmq_users
from tmsc.kubernetes import database_bootstrap_sql
from tmsc.load import load_platform
from tmsc.model import Platform

from .conftest import EXAMPLE_SPEC

PG_ROOTS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Postgres:
    def __init__(self, bin_dir: Path, data: Path, port: int):
        self.bin, self.data, self.port = bin_dir, data, port
        # initdb and postgres refuse to run as root: run them as the packages' postgres user.
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=120)

    def psql(self, user: str, sql: str, *extra: str, database: str = "tms") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, str(self.bin / "psql"), "--no-psqlrc", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
             "-h", str(self.data), "-p", str(self.port), "-U", user, "-d", database, *extra],
            input=sql, capture_output=True, text=True, timeout=120,
        )  # fmt: skip


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    if not PG_ROOTS:
        pytest.skip("no PostgreSQL server here (apt-get install postgresql): see tests/skips.yaml (postgresql)")
    # Outside pytest's own temporary directory, which only root may enter.
    root = Path(tempfile.mkdtemp(prefix="tmsc-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    server = Postgres(PG_ROOTS[0], data, free_port())
    init = server.run(str(server.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    assert init.returncode == 0, init.stderr
    start = server.run(
        str(server.bin / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "log"),
        "-o", f"-c listen_addresses='' -c unix_socket_directories={data} -p {server.port}", "start",
    )  # fmt: skip
    assert start.returncode == 0, start.stderr + (data / "log").read_text()
    try:
        # RDS as the master user sees it: CREATEROLE, not superuser, owner of the database; rds_iam grantable.
        setup = server.psql(
            "postgres",
            "CREATE ROLE rds_iam NOLOGIN;"
            "CREATE ROLE tms_admin LOGIN CREATEROLE CREATEDB;"
            "GRANT rds_iam TO tms_admin WITH ADMIN OPTION;"
            "CREATE DATABASE tms OWNER tms_admin;",
            database="postgres",
        )
        assert setup.returncode == 0, setup.stderr
        yield server
    finally:
        server.run(str(server.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def bootstrap(server: Postgres, platform: Platform) -> None:
    result = server.psql("tms_admin", database_bootstrap_sql(platform), "--single-transaction")
    assert result.returncode == 0, result.stderr


def query(server: Postgres, sql: str, user: str = "postgres") -> str:
    result = server.psql(user, sql)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_database_users_get_exactly_their_privileges_and_reruns_change_nothing(postgres: Postgres) -> None:
    platform = load_platform(EXAMPLE_SPEC)
    bootstrap(postgres, platform)
    # Migrations run as the master user: a table created after the bootstrap falls under the default privileges.
    query(postgres, "CREATE TABLE tms.shipments (id serial PRIMARY KEY, ref text);", user="tms_admin")
    before = query(postgres, "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole FROM pg_roles ORDER BY 1;")
    bootstrap(postgres, platform)  # idempotent: a second run succeeds and changes no role
    assert query(postgres, "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole FROM pg_roles ORDER BY 1;") == before
    members = query(
        postgres,
        "SELECT string_agg(m.rolname, ',' ORDER BY m.rolname) FROM pg_auth_members a "
        "JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = 'rds_iam';",
    )
    assert members == "dispatch,odoo,reporting,tms_admin"  # tracking reads no database: no user
    for user, expected in (("odoo", "t|t|t|t"), ("dispatch", "t|t|t|t"), ("reporting", "t|f|f|f")):
        privileges = query(
            postgres,
            f"SELECT has_table_privilege('{user}', 'tms.shipments', 'SELECT'), "
            f"has_table_privilege('{user}', 'tms.shipments', 'INSERT'), "
            f"has_table_privilege('{user}', 'tms.shipments', 'UPDATE'), "
            f"has_table_privilege('{user}', 'tms.shipments', 'DELETE');",
        )
        assert privileges == expected, user
        assert query(postgres, f"SELECT has_schema_privilege('{user}', 'tms', 'CREATE');") == "f", user
        assert query(postgres, f"SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = '{user}';") == "t|f"
    # What a user does, as that user: reporting reads, cannot write; odoo writes (its sequence too).
    query(postgres, "SET ROLE odoo; INSERT INTO tms.shipments (ref) VALUES ('a');")
    assert query(postgres, "SET ROLE reporting; SELECT count(*) FROM tms.shipments;") == "1"
    denied = postgres.psql("postgres", "SET ROLE reporting; INSERT INTO tms.shipments (ref) VALUES ('b');")
    assert denied.returncode != 0 and "permission denied" in denied.stderr
    # No workload may reach the master's role or create objects in public.
    assert query(postgres, "SELECT pg_has_role('odoo', 'tms_admin', 'MEMBER');") == "f"
    assert query(postgres, "SELECT has_schema_privilege('odoo', 'public', 'CREATE');") == "f"


def test_a_change_of_database_access_converges(postgres: Postgres) -> None:
    platform = load_platform(EXAMPLE_SPEC)
    document = platform.model_dump(mode="json", exclude_none=True)
    document["workloads"]["reporting"]["database_access"] = "read_write"
    bootstrap(postgres, Platform.model_validate(document))
    assert query(postgres, "SELECT has_table_privilege('reporting', 'tms.shipments', 'INSERT');") == "t"
    bootstrap(postgres, platform)  # back to read_only: the write privileges are taken away again
    assert query(postgres, "SELECT has_table_privilege('reporting', 'tms.shipments', 'INSERT');") == "f"
    query(postgres, "CREATE TABLE tms.later (id int);", user="tms_admin")
    assert query(postgres, "SELECT has_table_privilege('reporting', 'tms.later', 'INSERT');") == "f"
    assert query(postgres, "SELECT has_table_privilege('reporting', 'tms.later', 'SELECT');") == "t"


# --------------------------------------------------------------------------- RabbitMQ management API


class FakeManagementApi(BaseHTTPRequestHandler):
    """The parts of RabbitMQ's HTTP API the Job uses, with its status codes and body rules."""

    users: dict[str, dict[str, Any]]
    permissions: dict[tuple[str, str], dict[str, Any]]
    calls: list[tuple[str, str]]
    admin = ("tms", "admin-password")

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_PUT(self) -> None:
        self.calls.append(("PUT", self.path))
        expected = "Basic " + base64.b64encode(":".join(self.admin).encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.end_headers()
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        parts = self.path.split("/")
        if len(parts) == 4 and parts[1:3] == ["api", "users"]:
            # RabbitMQ requires password (or password_hash) and tags; 201 when created, 204 when updated.
            if not {"password", "tags"} <= body.keys():
                self.send_response(400)
            else:
                self.send_response(204 if parts[3] in self.users else 201)
                self.users[parts[3]] = body
        elif len(parts) == 5 and parts[1:3] == ["api", "permissions"]:
            if parts[3] != "%2F" or not {"configure", "write", "read"} <= body.keys() or parts[4] not in self.users:
                self.send_response(400)
            else:
                self.send_response(204 if (parts[3], parts[4]) in self.permissions else 201)
                self.permissions[(parts[3], parts[4])] = body
        else:
            self.send_response(404)
        self.end_headers()


@pytest.fixture
def management_api() -> Iterator[tuple[str, type[FakeManagementApi]]]:
    handler = type("Handler", (FakeManagementApi,), {"users": {}, "permissions": {}, "calls": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()


def test_broker_users_are_created_then_updated_without_a_password_in_the_log(
    management_api: tuple[str, type[FakeManagementApi]],
) -> None:
    url, api = management_api
    users = {"odoo": "p-odoo", "dispatch": "p-dispatch"}
    send = rabbitmq_users.http_sender(url, *FakeManagementApi.admin)
    first = rabbitmq_users.apply(users, "/", send)
    assert first == [
        "PUT /api/users/dispatch: 201",
        "PUT /api/permissions/%2F/dispatch: 201",
        "PUT /api/users/odoo: 201",
        "PUT /api/permissions/%2F/odoo: 201",
    ]
    assert api.users == {"dispatch": {"password": "p-dispatch", "tags": ""}, "odoo": {"password": "p-odoo", "tags": ""}}
    assert api.permissions[("%2F", "odoo")] == {"configure": ".*", "write": ".*", "read": ".*"}
    second = rabbitmq_users.apply(users, "/", send)  # idempotent: the same calls, now updates
    assert [line.rsplit(" ", 1)[1] for line in second] == ["204"] * 4
    assert not any("p-odoo" in line or "p-dispatch" in line for line in first + second)


def test_broker_job_stops_on_a_refusal(management_api: tuple[str, type[FakeManagementApi]]) -> None:
    url, _ = management_api
    import urllib.error

    with pytest.raises(urllib.error.HTTPError, match="401"):
        rabbitmq_users.apply({"odoo": "x"}, "/", rabbitmq_users.http_sender(url, "tms", "wrong"))


def test_broker_job_reads_its_mounted_secrets(
    management_api: tuple[str, type[FakeManagementApi]], tmp_path: Path
) -> None:
    """The files the Job mounts (Secret volumes, with Kubernetes' ..data entries) become the calls."""
    for workload, password in (("odoo", "p1"), ("tracking", "p2")):
        directory = tmp_path / "users" / workload
        (directory / "..data").mkdir(parents=True)
        (directory / "username").write_text(workload)
        (directory / "password").write_text(password + "\n")
    (tmp_path / "users" / "..data").mkdir()
    assert rabbitmq_users.read_users(tmp_path / "users") == {"odoo": "p1", "tracking": "p2"}
    assert [c[:2] for c in rabbitmq_users.calls({"a/b": "x"}, "/")] == [
        ("PUT", "/api/users/a%2Fb"),
        ("PUT", "/api/permissions/%2F/a%2Fb"),
    ]
