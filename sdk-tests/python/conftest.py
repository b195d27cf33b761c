"""Starts the real `latchkey` binary for the official Stytch SDK to talk to.

Each module runs once per storage engine. The project is made with `latchkey project create`,
exactly as an operator would, and the server is stopped with SIGTERM, which must end it cleanly.

`passwordless_server` is that server wired to real local delivery: the `smtp_sink` (an aiosmtpd
SMTP server) for email and the `twilio_recorder` (Twilio's Messages API) for SMS and WhatsApp;
see `delivery.py`.
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

from delivery import EMAIL_FROM, TWILIO_FROM, SmtpSink, TwilioRecorder

BIN = os.environ.get("LATCHKEY_BIN", os.path.join(os.path.dirname(__file__), "../../target/debug/latchkey"))
POSTGRES_URL = os.environ.get("LATCHKEY_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
SKIP_POSTGRES = os.environ.get("LATCHKEY_SKIP_POSTGRES") == "1"
# The secrets key for PostgreSQL (SQLite keeps its generated key beside the database file). It
# is the HTTP suite's key too: both suites share the test database, whose secrets it seals.
TEST_SECRETS_KEY = "bGF0Y2hrZXktdGVzdC12YXVsdC1rZXktMzItYnl0ZXM="
# The delivery settings: none is inherited from the caller's environment, so a server without
# `env` keeps every message in the development outbox, whatever the shell has set.
DELIVERY_VARIABLES = (
    "LATCHKEY_SMTP_URL",
    "LATCHKEY_EMAIL_FROM",
    "LATCHKEY_TWILIO_ACCOUNT_SID",
    "LATCHKEY_TWILIO_AUTH_TOKEN",
    "LATCHKEY_TWILIO_FROM",
    "LATCHKEY_TWILIO_API_BASE",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`latchkey serve` on `database_url` with `serve_args`, for `project` (by default a new one,
    made with `project create`). `env` adds variables to its environment. With `log_file`, its
    output goes to a file that `log()` reads (a pipe nobody reads could fill and stall it)."""

    def __init__(
        self,
        database_url: str,
        *serve_args: str,
        project: dict | None = None,
        env: dict | None = None,
        log_file: bool = False,
    ):
        self.database_url = database_url
        self.extra_env = dict(env or {})
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
        self.log_path = None
        output = subprocess.PIPE
        if log_file:
            handle, self.log_path = tempfile.mkstemp(prefix="latchkey-serve-", suffix=".log")
            output = os.fdopen(handle, "w")
        self.process = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{port}", "--database-url", database_url, *serve_args],
            env=self.environment(),
            stdout=output,
            stderr=subprocess.STDOUT if log_file else subprocess.PIPE,
            text=True,
        )
        if log_file:
            output.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.base_url + "readyz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"latchkey did not start: {self.log()}")
            time.sleep(0.05)

    def environment(self) -> dict:
        env = dict(os.environ)
        env.pop("LATCHKEY_SECRETS_KEY", None)
        env.pop("LATCHKEY_OLD_SECRETS_KEYS", None)
        for name in DELIVERY_VARIABLES:
            env.pop(name, None)
        if not self.database_url.startswith("sqlite"):
            env["LATCHKEY_SECRETS_KEY"] = TEST_SECRETS_KEY
        env.update(self.extra_env)
        return env

    def log(self) -> str:
        """What the server has written so far, with `log_file`; else its stderr once it exited."""
        if self.log_path is not None:
            with open(self.log_path) as log:
                return log.read()
        return self.process.stderr.read() if self.process.poll() is not None else "<still running>"

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

    def create_project(self, name: str, live: bool = False) -> dict:
        """Another project in the same database, made by the CLI while the server runs (a test
        project, or with `live` a live one)."""
        created = subprocess.run(
            [BIN, "project", "create", "--name", name, "--database-url", self.database_url]
            + (["--live"] if live else []),
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


def database_url(engine: str) -> str:
    """A new SQLite database, or the shared PostgreSQL test database."""
    if engine == "sqlite":
        directory = tempfile.mkdtemp(prefix="latchkey-sdk-")
        return f"sqlite://{directory}/latchkey.db"
    return POSTGRES_URL


@pytest.fixture(scope="module", params=list(engines()))
def server(request):
    server = Server(database_url(request.param))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def smtp_sink():
    """A real SMTP server on 127.0.0.1 that keeps the mail Latchkey delivers."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def twilio_recorder():
    """Twilio's Messages API on 127.0.0.1, with a fresh account SID and auth token."""
    recorder = TwilioRecorder(from_number=TWILIO_FROM).start()
    yield recorder
    recorder.stop()


def delivery_environment(sink: SmtpSink, recorder: TwilioRecorder) -> dict:
    return {
        "LATCHKEY_SMTP_URL": sink.url,
        "LATCHKEY_EMAIL_FROM": EMAIL_FROM,
        "LATCHKEY_TWILIO_ACCOUNT_SID": recorder.account_sid,
        "LATCHKEY_TWILIO_AUTH_TOKEN": recorder.auth_token,
        "LATCHKEY_TWILIO_FROM": recorder.from_number,
        "LATCHKEY_TWILIO_API_BASE": recorder.api_base,
    }


@pytest.fixture(scope="module", params=list(engines()))
def passwordless_server(request, smtp_sink, twilio_recorder):
    """`server`, per engine, delivering email to `smtp_sink` and SMS/WhatsApp to
    `twilio_recorder` (also reachable as `.smtp` and `.twilio`)."""
    server = Server(
        database_url(request.param), env=delivery_environment(smtp_sink, twilio_recorder), log_file=True
    )
    server.smtp = smtp_sink
    server.twilio = twilio_recorder
    yield server
    server.stop()


@pytest.fixture
def client(server) -> stytch.Client:
    return server.client()


@pytest.fixture
def b2b_client(server) -> stytch.B2BClient:
    return server.b2b_client()
