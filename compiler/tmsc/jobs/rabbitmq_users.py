"""Create or update each workload's RabbitMQ user through the broker's management API; run by the migration identity.

Amazon MQ creates only the administrator through its own API; every other user lives in RabbitMQ. This script is
what the broker bootstrap Job runs (tmsc kubernetes puts it in a ConfigMap; python:3 image, standard library only).
It is idempotent: PUT /api/users/{name} creates or updates the user (its password from the workload's own secret),
PUT /api/permissions/{vhost}/{name} sets its permissions on the vhost; running it twice changes nothing.

Inputs (files, mounted from Secrets the ExternalSecrets fill; no password is ever in an argument, an environment
variable of the Job spec or the log):
  /admin/host, /admin/username, /admin/password     the broker and its administrator
  /users/<workload>/username, /users/<workload>/password
  VHOST (environment, default "/")

The management API of Amazon MQ for RabbitMQ listens on HTTPS port 443 of the broker's host.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

# Each workload may configure, write and read within the vhost; the administrator tag is never given.
PERMISSIONS = {"configure": ".*", "write": ".*", "read": ".*"}

Send = Callable[[str, str, dict[str, object]], int]


def calls(users: dict[str, str], vhost: str) -> list[tuple[str, str, dict[str, object]]]:
    """The management API calls, in order: (method, path, JSON body). Passwords only in bodies."""
    quoted_vhost = urllib.parse.quote(vhost, safe="")
    result: list[tuple[str, str, dict[str, object]]] = []
    for name in sorted(users):
        quoted = urllib.parse.quote(name, safe="")
        result.append(("PUT", f"/api/users/{quoted}", {"password": users[name], "tags": ""}))
        result.append(("PUT", f"/api/permissions/{quoted_vhost}/{quoted}", dict(PERMISSIONS)))
    return result


def http_sender(base_url: str, username: str, password: str, context: ssl.SSLContext | None = None) -> Send:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()

    def send(method: str, path: str, body: dict[str, object]) -> int:
        request = urllib.request.Request(
            base_url.rstrip("/") + path,
            data=json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return int(response.status)

    return send


def apply(users: dict[str, str], vhost: str, send: Send) -> list[str]:
    """Send every call; a status other than 201 (created) or 204 (updated) stops the run. Returns log lines
    (user names and statuses, never a password)."""
    log: list[str] = []
    for method, path, body in calls(users, vhost):
        status = send(method, path, body)
        if status not in (201, 204):
            raise RuntimeError(f"{method} {path}: HTTP {status}")
        log.append(f"{method} {path}: {status}")
    return log


def read_users(root: Path) -> dict[str, str]:
    users: dict[str, str] = {}
    for directory in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        users[(directory / "username").read_text().strip()] = (directory / "password").read_text().strip()
    return users


def main() -> int:
    admin = Path(os.environ.get("ADMIN_DIR", "/admin"))
    host = (admin / "host").read_text().strip()
    sender = http_sender(
        f"https://{host}:443", (admin / "username").read_text().strip(), (admin / "password").read_text().strip()
    )
    users = read_users(Path(os.environ.get("USERS_DIR", "/users")))
    for line in apply(users, os.environ.get("VHOST", "/"), sender):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
