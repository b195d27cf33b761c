"""Real local stand-ins for the providers Latchkey delivers through, started by the suite.

- `SmtpSink`: an `aiosmtpd` SMTP server on 127.0.0.1 (plain SMTP, no TLS, no auth) that keeps
  every message it is handed, parsed with the `email` package.
- `TwilioRecorder`: an HTTP server that speaks Twilio's Messages API
  (`POST /2010-04-01/Accounts/<AccountSid>/Messages.json`, a form body, HTTP Basic auth) and
  keeps every request it gets.

Delivery is asynchronous (a worker sends from the outbox, off the request path), so a test
waits for what it expects with `wait_for(to=...)`, which takes the oldest message to that
recipient not taken yet.
"""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import html
import json
import re
import secrets
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

# What the suite configures Latchkey to send from: LATCHKEY_EMAIL_FROM and LATCHKEY_TWILIO_FROM.
EMAIL_FROM = "login@latchkey.test"
TWILIO_FROM = "+15550000000"

# The six-digit code of an OTP message: on a line of its own in a mail's plain text.
CODE_LINE = re.compile(r"^[ \t]*(\d{6})[ \t]*\r?$", re.MULTILINE)
# Any run of exactly six digits, as in an SMS body ("Your code is 123456").
CODE_ANYWHERE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
URL = re.compile(r"https?://[^\s<>\"']+")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Link:
    """A link found in a message: `url` as written, `base` (scheme, host and path, without the
    query) and its `stytch_token_type` and `token` query parameters."""

    url: str
    base: str
    token_type: str
    token: str
    query: dict


def links_in(text: str) -> list[Link]:
    found = []
    for match in URL.finditer(text or ""):
        url = match.group(0).rstrip(".,;:!?)]}>")
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        token_types = query.get("stytch_token_type", [])
        tokens = query.get("token", [])
        if len(token_types) == 1 and len(tokens) == 1:
            base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            found.append(Link(url, base, token_types[0], tokens[0], query))
    return found


def single(values: list, what: str, where: str):
    distinct = []
    for value in values:
        if value not in distinct:
            distinct.append(value)
    assert len(distinct) == 1, f"expected exactly one {what}, found {distinct!r} in:\n{where}"
    return distinct[0]


@dataclass
class Mail:
    """One message as the SMTP sink received it."""

    mail_from: str  # the envelope's MAIL FROM
    recipients: list[str]  # the envelope's RCPT TOs
    from_header: str  # the address of the From header
    to_header: list[str]  # the addresses of the To header
    subject: str
    text: str | None  # the text/plain part
    html: str | None  # the text/html part
    message: email.message.EmailMessage
    raw: bytes

    def link(self, token_type: str) -> Link:
        """The one link in the plain text whose `stytch_token_type` is `token_type`."""
        matching = [link for link in links_in(self.text) if link.token_type == token_type]
        return single(matching, f"link with stytch_token_type={token_type}", self.text or "<no text part>")

    def token(self, token_type: str) -> str:
        return self.link(token_type).token

    def code(self) -> str:
        """The six-digit code on a line of its own in the plain text."""
        return single(CODE_LINE.findall(self.text or ""), "six-digit code line", self.text or "<no text part>")

    def html_text(self) -> str:
        """The HTML part with its entities decoded (`&amp;` → `&`), to look for a link or code."""
        return html.unescape(self.html or "")


def _part(message: email.message.EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    return part.get_content()


class _SinkHandler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        self.sink._store(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every message it is handed."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.port = free_port()
        self._mails: list[Mail] = []
        self._taken: set[int] = set()
        self._changed = threading.Condition()
        self._controller = Controller(
            _SinkHandler(self), hostname=host, port=self.port, enable_SMTPUTF8=True, ready_timeout=10
        )

    @property
    def url(self) -> str:
        """What `LATCHKEY_SMTP_URL` is set to: plain SMTP, no TLS, no credentials."""
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def _store(self, mail_from: str, recipients: list[str], raw: bytes) -> None:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        try:
            headers = {
                "from_header": email.utils.parseaddr(str(message.get("From", "")))[1],
                "to_header": [a for _, a in email.utils.getaddresses([str(v) for v in message.get_all("To", [])])],
                "subject": str(message.get("Subject", "")),
            }
            text, html_part = _part(message, "plain"), _part(message, "html")
        except Exception as error:  # keep the message: the test's own assertions then say what is wrong
            headers = {"from_header": "", "to_header": [], "subject": f"<unparseable: {error!r}>"}
            text = html_part = None
        mail = Mail(
            mail_from=mail_from, recipients=recipients, text=text, html=html_part, message=message, raw=raw, **headers
        )
        with self._changed:
            self._mails.append(mail)
            self._changed.notify_all()

    @staticmethod
    def _is_to(mail: Mail, to: str) -> bool:
        to = to.lower()
        return any(r.lower() == to for r in mail.recipients) or any(r.lower() == to for r in mail.to_header)

    def received(self, to: str | None = None, settle: float = 0.0) -> list[Mail]:
        """Every message received so far (to `to`, if given), after waiting `settle` seconds."""
        if settle:
            time.sleep(settle)
        with self._changed:
            return [m for m in self._mails if to is None or self._is_to(m, to)]

    def wait_for(self, to: str, timeout: float = 10.0) -> Mail:
        """The oldest message to `to` that no earlier `wait_for` returned, waiting up to
        `timeout` seconds for one to arrive."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, mail in enumerate(self._mails):
                    if index not in self._taken and self._is_to(mail, to):
                        self._taken.add(index)
                        return mail
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [m.recipients for m in self._mails]
                    raise AssertionError(f"no mail to {to} within {timeout}s; the sink has mail to {seen}")
                self._changed.wait(left)

    def expect_nothing(self, to: str, within: float = 2.0) -> None:
        """Waits `within` seconds and checks that nothing was ever sent to `to`."""
        got = self.received(to, settle=within)
        assert got == [], f"expected no mail to {to}, got {[(m.subject, m.text) for m in got]}"


@dataclass
class TwilioRequest:
    """One request the Twilio recorder received."""

    method: str
    path: str
    account_sid: str | None  # from the path, when it is a Messages path
    authorization: str | None  # the Authorization header as sent
    content_type: str | None
    form: dict  # each form field's value (the last one, if repeated)
    form_lists: dict  # each form field's values, as parse_qs gives them
    raw: bytes
    answered: int  # the HTTP status the recorder answered

    @property
    def to(self) -> str | None:
        return self.form.get("To")

    @property
    def from_(self) -> str | None:
        return self.form.get("From")

    @property
    def body(self) -> str | None:
        return self.form.get("Body")

    def code(self) -> str:
        """The one six-digit code in `Body`."""
        return single(CODE_ANYWHERE.findall(self.body or ""), "six-digit code", self.body or "<no Body>")


MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")


class TwilioRecorder:
    """Twilio's Messages API on 127.0.0.1: checks the path and the Basic auth, answers 201 with
    a Twilio-like message resource, and keeps every request."""

    def __init__(self, account_sid: str | None = None, auth_token: str | None = None, from_number: str = TWILIO_FROM):
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self.from_number = from_number
        self._requests: list[TwilioRequest] = []
        self._taken: set[int] = set()
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="twilio-recorder", daemon=True)

    @property
    def api_base(self) -> str:
        """What `LATCHKEY_TWILIO_API_BASE` is set to."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def expected_authorization(self) -> str:
        credentials = f"{self.account_sid}:{self.auth_token}".encode()
        return "Basic " + base64.b64encode(credentials).decode()

    def start(self) -> TwilioRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, request: TwilioRequest) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    def _handler_class(self):
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # quiet
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, code: int, message: str) -> dict:
                return {
                    "code": code,
                    "message": message,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status,
                }

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = urllib.parse.urlsplit(self.path).path
                match = MESSAGES_PATH.match(path)
                content_type = self.headers.get("Content-Type")
                form_lists = {}
                if content_type and content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
                    form_lists = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
                form = {key: values[-1] for key, values in form_lists.items()}
                authorization = self.headers.get("Authorization")

                if self.command != "POST" or match is None:
                    status, body = 404, self._error(404, 20404, f"The requested resource {path} was not found")
                elif match.group(1) != recorder.account_sid or authorization != recorder.expected_authorization:
                    status, body = 401, self._error(401, 20003, "Authenticate")
                elif not form.get("To") or not form.get("From") or not form.get("Body"):
                    status, body = 400, self._error(400, 21604, "A 'To', 'From' and 'Body' are required")
                else:
                    sid = "SM" + secrets.token_hex(16)
                    now = email.utils.formatdate(usegmt=True)
                    status, body = 201, {
                        "sid": sid,
                        "account_sid": recorder.account_sid,
                        "to": form["To"],
                        "from": form["From"],
                        "body": form["Body"],
                        "status": "queued",
                        "direction": "outbound-api",
                        "num_segments": "1",
                        "num_media": "0",
                        "price": None,
                        "price_unit": "USD",
                        "error_code": None,
                        "error_message": None,
                        "api_version": "2010-04-01",
                        "date_created": now,
                        "date_updated": now,
                        "date_sent": None,
                        "messaging_service_sid": None,
                        "uri": f"/2010-04-01/Accounts/{recorder.account_sid}/Messages/{sid}.json",
                        "subresource_uris": {
                            "media": f"/2010-04-01/Accounts/{recorder.account_sid}/Messages/{sid}/Media.json"
                        },
                    }
                recorder._record(
                    TwilioRequest(
                        method=self.command,
                        path=path,
                        account_sid=match.group(1) if match else None,
                        authorization=authorization,
                        content_type=content_type,
                        form=form,
                        form_lists=form_lists,
                        raw=raw,
                        answered=status,
                    )
                )
                self._answer(status, body)

            do_POST = _handle
            do_GET = _handle
            do_PUT = _handle
            do_DELETE = _handle

        return Handler

    def received(self, to: str | None = None, settle: float = 0.0) -> list[TwilioRequest]:
        """Every request received so far (with `To` = `to`, if given), after waiting `settle`
        seconds."""
        if settle:
            time.sleep(settle)
        with self._changed:
            return [r for r in self._requests if to is None or r.to == to]

    def wait_for(self, to: str, timeout: float = 10.0) -> TwilioRequest:
        """The oldest request with `To` = `to` that no earlier `wait_for` returned, waiting up to
        `timeout` seconds for one to arrive. WhatsApp messages have `To=whatsapp:<E.164>`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, request in enumerate(self._requests):
                    if index not in self._taken and request.to == to:
                        self._taken.add(index)
                        return request
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(r.path, r.to, r.answered) for r in self._requests]
                    raise AssertionError(f"no Twilio request to {to} within {timeout}s; the recorder has {seen}")
                self._changed.wait(left)

    def expect_nothing(self, to: str, within: float = 2.0) -> None:
        """Waits `within` seconds and checks that nothing was ever sent to `to`."""
        got = self.received(to, settle=within)
        assert got == [], f"expected no Twilio request to {to}, got {[(r.path, r.form) for r in got]}"
