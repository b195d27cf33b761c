"""Starts the real `latchkey` binary for the official Stytch SDK to talk to.

Each module runs once per storage engine. The project is made with `latchkey project create`,
exactly as an operator would, and the server is stopped with SIGTERM, which must end it cleanly.
"""

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest
import stytch

BIN = os.environ.get("LATCHKEY_BIN", os.path.join(os.path.dirname(__file__), "../../target/debug/latchkey"))
POSTGRES_URL = os.environ.get("LATCHKEY_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
SKIP_POSTGRES = os.environ.get("LATCHKEY_SKIP_POSTGRES") == "1"
# The secrets key for PostgreSQL (SQLite keeps its generated key beside the database file). It
# is the HTTP suite's key too: both suites share the test database, whose secrets it seals.
TEST_SECRETS_KEY = "bGF0Y2hrZXktdGVzdC12YXVsdC1rZXktMzItYnl0ZXM="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`latchkey serve` on `database_url` with `serve_args`, for `project` (by default a new one,
    made with `project create`)."""

    def __init__(self, database_url: str, *serve_args: str, project: dict | None = None):
        self.database_url = database_url
        if project is None:
            created = subprocess.run(
                [BIN, "project", "create", "--name", "sdk-suite", "--database-url", database_url],
                check=True,
                capture_output=True,
                text=True,
            )
            lines = [line for line in created.stdout.splitlines() if line.strip()]
            assert len(lines) == 1, f"project create must print exactly one JSON object: {created.stdout!r}"
            project = json.loads(lines[0])
        self.project = project
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}/"
        self.process = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{port}", "--database-url", database_url, *serve_args],
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.base_url + "readyz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"latchkey did not start: {self.process.stderr.read()}")
            time.sleep(0.05)

    def environment(self) -> dict:
        env = dict(os.environ)
        env.pop("LATCHKEY_SECRETS_KEY", None)
        env.pop("LATCHKEY_OLD_SECRETS_KEYS", None)
        if not self.database_url.startswith("sqlite"):
            env["LATCHKEY_SECRETS_KEY"] = TEST_SECRETS_KEY
        return env

    def client(self, secret: str | None = None) -> stytch.Client:
        return stytch.Client(
            project_id=self.project["project_id"],
            secret=secret or self.project["secret"],
            environment=self.base_url,
            suppress_warnings=True,
        )

    def b2b_client(self) -> stytch.B2BClient:
        return stytch.B2BClient(
            project_id=self.project["project_id"],
            secret=self.project["secret"],
            environment=self.base_url,
            suppress_warnings=True,
        )

    def create_project(self, name: str) -> dict:
        """Another project in the same database, made by the CLI while the server runs."""
        created = subprocess.run(
            [BIN, "project", "create", "--name", name, "--database-url", self.database_url],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(created.stdout)

    def client_for(self, project: dict) -> stytch.Client:
        """A client for another project on the same server."""
        return stytch.Client(
            project_id=project["project_id"],
            secret=project["secret"],
            environment=self.base_url,
            suppress_warnings=True,
        )

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        assert code == 0, f"latchkey must exit cleanly on SIGTERM, exited {code}"


def engines():
    yield pytest.param("sqlite", id="sqlite")
    yield pytest.param(
        "postgres",
        id="postgres",
        marks=pytest.mark.skipif(SKIP_POSTGRES, reason="LATCHKEY_SKIP_POSTGRES=1"),
    )


@pytest.fixture(scope="module", params=list(engines()))
def server(request):
    if request.param == "sqlite":
        directory = tempfile.mkdtemp(prefix="latchkey-sdk-")
        url = f"sqlite://{directory}/latchkey.db"
    else:
        url = POSTGRES_URL
    server = Server(url)
    yield server
    server.stop()


@pytest.fixture
def client(server) -> stytch.Client:
    return server.client()


@pytest.fixture
def b2b_client(server) -> stytch.B2BClient:
    return server.b2b_client()
