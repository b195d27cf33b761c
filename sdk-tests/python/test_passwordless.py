"""Consumer passwordless login driven by the official Stytch Python SDK, with real delivery:
email magic links, OTP by SMS, WhatsApp and email, and password reset by email (issue 21).

Latchkey delivers through real local servers the suite starts (see `delivery.py`): mail goes
over SMTP to `smtp_sink`, SMS and WhatsApp to `twilio_recorder`, which speaks Twilio's Messages
API. Each test takes the link or the code out of the delivered message, as a user would.

The PostgreSQL database is shared between runs, so every test uses a fresh email address and
phone number. The test project has an empty redirect allowlist, which accepts localhost URLs on
any port; each flow gets its own path so that a test can tell which URL a link was built from.
"""

import base64
import hashlib
import json
import re
import secrets
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import pytest
from stytch.core.response_base import StytchError

from conftest import BIN, Server, delivery_environment, free_port
from delivery import EMAIL_FROM, TWILIO_FROM

SIGNUP_URL = "http://localhost:3000/authenticate"
LOGIN_URL = "http://localhost:3000/login"
INVITE_URL = "http://localhost:3000/invite"
RESET_URL = "http://localhost:3000/reset"
URLS = {"login_magic_link_url": LOGIN_URL, "signup_magic_link_url": SIGNUP_URL}

PASSWORD = "Sdk-passphrase-for-tests-77"
NEW_PASSWORD = "Fresh-sdk-passphrase-after-reset-88"

SANDBOX_EMAIL = "sandbox@stytch.com"
SANDBOX_PHONE = "+10000000000"
SANDBOX_CODE = "000000"
SANDBOX_TOKEN_OK = "DOYoip3rvIMMW5lgItikFK-Ak1CfMsgjuiCyI7uuU94="
SANDBOX_TOKEN_USED = "3pzjQpgksDlGKWEwUq2Up--hCHC_0oamfLHyfspKDFU="
SANDBOX_TOKEN_UNKNOWN = "CprTtwhnRNiMBiUS2jSLcWYrfuO2POeBNdo5HhW6qTM="


@pytest.fixture
def client(passwordless_server):
    return passwordless_server.client()


def fresh_email() -> str:
    return f"u{uuid.uuid4().hex[:12]}@example.com"


def fresh_phone() -> str:
    # A valid US number (415 area code, exchange 2xx-9xx) that no earlier run used.
    return f"+1415{secrets.randbelow(8_000_000) + 2_000_000:07d}"


def with_log(server, error: AssertionError) -> AssertionError:
    return AssertionError(f"{error}\n--- latchkey's log, last lines ---\n{server.log()[-6000:]}")


def mail_to(server, address: str):
    """The next message delivered to `address`, checked to be a full message from Latchkey."""
    try:
        mail = server.smtp.wait_for(to=address, timeout=10)
    except AssertionError as error:
        raise with_log(server, error) from None
    assert mail.recipients == [address]
    assert address in mail.to_header
    assert EMAIL_FROM in (mail.mail_from, mail.from_header), (mail.mail_from, mail.from_header)
    assert mail.subject
    assert mail.text, "the mail must have a text/plain part"
    assert mail.html, "the mail must have a text/html part"
    return mail


def sms_to(server, to: str):
    """The next Twilio Messages request with `To` = `to`, checked to carry the configured
    account's credentials."""
    twilio = server.twilio
    try:
        request = twilio.wait_for(to=to, timeout=10)
    except AssertionError as error:
        raise with_log(server, error) from None
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    assert request.account_sid == twilio.account_sid
    assert request.authorization == twilio.expected_authorization
    assert request.content_type.split(";")[0].strip() == "application/x-www-form-urlencoded"
    assert request.answered == 201
    return request


def magic_link(mail, base: str, token_type: str = "magic_links") -> str:
    """The token of the mail's link of `token_type`, checked to point straight at `base`."""
    link = mail.link(token_type)
    assert link.base == base
    quoted = urllib.parse.quote(link.token, safe="")
    assert link.url == f"{base}?stytch_token_type={token_type}&token={quoted}"
    # At least 256 random bits, URL-safe.
    assert len(link.token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", link.token), link.token
    assert link.token in mail.html_text(), "the HTML part must carry the same link"
    return link.token


def refused(call, status: int, error_type: str):
    with pytest.raises(StytchError) as error:
        call()
    assert (error.value.details.status_code, error.value.details.error_type) == (status, error_type), error.value
    return error.value


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


# Email magic links


def test_magic_link_sign_up_then_login(passwordless_server, client):
    address = fresh_email()
    sent = client.magic_links.email.login_or_create(email=address, **URLS)
    assert sent.status_code == 200
    assert sent.user_created is True
    assert sent.user_id.startswith("user-test-")
    assert sent.email_id.startswith("email-test-")
    user = client.users.get(user_id=sent.user_id)
    assert user.status == "active"
    assert [(e.email_id, e.email, e.verified) for e in user.emails] == [(sent.email_id, address, False)]

    # A new user gets the sign-up link, straight to the sign-up URL.
    mail = mail_to(passwordless_server, address)
    token = magic_link(mail, SIGNUP_URL)

    auth = client.magic_links.authenticate(token=token, session_duration_minutes=60)
    assert auth.status_code == 200
    assert auth.user_id == sent.user_id
    assert auth.method_id == sent.email_id
    assert auth.session_token and auth.session_jwt
    assert auth.session is not None and auth.session.user_id == sent.user_id
    [factor] = auth.session.authentication_factors
    assert (factor.type, factor.delivery_method) == ("magic_link", "email")
    assert (factor.email_factor.email_id, factor.email_factor.email_address) == (sent.email_id, address)
    assert auth.user.status == "active"
    assert [(e.email_id, e.verified) for e in auth.user.emails] == [(sent.email_id, True)]
    assert client.users.get(user_id=sent.user_id).emails[0].verified is True
    assert client.sessions.authenticate(session_token=auth.session_token).session.session_id == auth.session.session_id

    # Single use; an unknown token is not found.
    refused(lambda: client.magic_links.authenticate(token=token), 401, "unable_to_auth_magic_link")
    refused(
        lambda: client.magic_links.authenticate(token=secrets.token_urlsafe(32)), 404, "magic_link_not_found"
    )

    # The user exists now: a login link, straight to the login URL.
    again = client.magic_links.email.login_or_create(email=address, **URLS)
    assert again.user_created is False
    assert (again.user_id, again.email_id) == (sent.user_id, sent.email_id)
    second = magic_link(mail_to(passwordless_server, address), LOGIN_URL)
    assert second != token
    login = client.magic_links.authenticate(token=second)
    assert (login.user_id, login.method_id) == (sent.user_id, sent.email_id)
    assert login.session is None, "no session_duration_minutes: no session"


def test_create_user_as_pending_until_the_first_authenticate(passwordless_server, client):
    address = fresh_email()
    sent = client.magic_links.email.login_or_create(email=address, create_user_as_pending=True, **URLS)
    assert sent.user_created is True
    assert client.users.get(user_id=sent.user_id).status == "pending"

    token = magic_link(mail_to(passwordless_server, address), SIGNUP_URL)
    assert client.users.get(user_id=sent.user_id).status == "pending", "sending does not activate"
    auth = client.magic_links.authenticate(token=token, session_duration_minutes=60)
    assert auth.user.status == "active"
    assert auth.user.emails[0].verified is True
    assert client.users.get(user_id=sent.user_id).status == "active"


def test_send_needs_an_existing_user(passwordless_server, client):
    unknown = fresh_email()
    refused(lambda: client.magic_links.email.send(email=unknown, **URLS), 404, "email_not_found")

    address = fresh_email()
    created = client.users.create(email=address)
    assert created.status == "active"
    sent = client.magic_links.email.send(email=address, **URLS)
    assert sent.status_code == 200
    assert (sent.user_id, sent.email_id) == (created.user_id, created.email_id)
    token = magic_link(mail_to(passwordless_server, address), LOGIN_URL)
    auth = client.magic_links.authenticate(token=token, session_duration_minutes=60)
    assert (auth.user_id, auth.method_id) == (created.user_id, created.email_id)
    assert auth.user.emails[0].verified is True

    # Nothing was ever delivered for the refused send.
    passwordless_server.smtp.expect_nothing(unknown, within=0.5)


def test_pkce_needs_the_right_verifier_and_failures_keep_the_token(passwordless_server, client):
    address = fresh_email()
    verifier, challenge = pkce_pair()
    sent = client.magic_links.email.login_or_create(email=address, code_challenge=challenge, **URLS)
    token = magic_link(mail_to(passwordless_server, address), SIGNUP_URL)

    refused(lambda: client.magic_links.authenticate(token=token), 400, "pkce_expected_code_verifier")
    refused(
        lambda: client.magic_links.authenticate(token=token, code_verifier=secrets.token_urlsafe(32)),
        400,
        "pkce_mismatch",
    )
    auth = client.magic_links.authenticate(token=token, code_verifier=verifier, session_duration_minutes=60)
    assert (auth.user_id, auth.method_id) == (sent.user_id, sent.email_id)
    assert auth.session is not None
    refused(
        lambda: client.magic_links.authenticate(token=token, code_verifier=verifier), 401, "unable_to_auth_magic_link"
    )


def test_invite_creates_a_pending_user_and_revoke_kills_the_link(passwordless_server, client):
    address = fresh_email()
    invited = client.magic_links.email.invite(
        email=address, invite_magic_link_url=INVITE_URL, name={"first_name": "Ada", "last_name": "Lovelace"}
    )
    assert invited.status_code == 200
    user = client.users.get(user_id=invited.user_id)
    assert user.status == "pending"
    assert [(e.email_id, e.email, e.verified) for e in user.emails] == [(invited.email_id, address, False)]
    assert (user.name.first_name, user.name.last_name) == ("Ada", "Lovelace")

    token = magic_link(mail_to(passwordless_server, address), INVITE_URL)
    auth = client.magic_links.authenticate(token=token, session_duration_minutes=60)
    assert (auth.user_id, auth.method_id) == (invited.user_id, invited.email_id)
    assert auth.user.status == "active"
    assert auth.user.emails[0].verified is True
    [factor] = auth.session.authentication_factors
    assert (factor.type, factor.delivery_method) == ("magic_link", "email")

    # A revoked invite's link no longer works.
    revoked_address = fresh_email()
    client.magic_links.email.invite(email=revoked_address, invite_magic_link_url=INVITE_URL)
    revoked_token = magic_link(mail_to(passwordless_server, revoked_address), INVITE_URL)
    assert client.magic_links.email.revoke_invite(email=revoked_address).status_code == 200
    with pytest.raises(StytchError) as error:
        client.magic_links.authenticate(token=revoked_token)
    assert (error.value.details.status_code, error.value.details.error_type) in {
        (404, "magic_link_not_found"),
        (401, "unable_to_auth_magic_link"),
    }, error.value


def test_embeddable_magic_link_authenticates_without_verifying(passwordless_server, client):
    address = fresh_email()
    created = client.users.create(email=address)
    embedded = client.magic_links.create(user_id=created.user_id)
    assert embedded.status_code == 200
    assert embedded.user_id == created.user_id
    assert len(embedded.token) >= 43

    auth = client.magic_links.authenticate(token=embedded.token, session_duration_minutes=60)
    assert auth.user_id == created.user_id
    assert auth.session is not None
    [factor] = auth.session.authentication_factors
    assert (factor.type, factor.delivery_method) == ("magic_link", "embedded")
    assert auth.user.emails[0].verified is False, "an embedded token proves no email"
    assert client.users.get(user_id=created.user_id).emails[0].verified is False
    refused(lambda: client.magic_links.authenticate(token=embedded.token), 401, "unable_to_auth_magic_link")
    passwordless_server.smtp.expect_nothing(address, within=0.5)


def test_step_up_adds_the_magic_link_to_the_existing_session(passwordless_server, client):
    address = fresh_email()
    client.passwords.create(email=address, password=PASSWORD)
    login = client.passwords.authenticate(email=address, password=PASSWORD, session_duration_minutes=60)
    assert [f.type for f in login.session.authentication_factors] == ["password"]

    client.magic_links.email.send(email=address, **URLS)
    token = magic_link(mail_to(passwordless_server, address), LOGIN_URL)
    auth = client.magic_links.authenticate(
        token=token, session_token=login.session_token, session_duration_minutes=60
    )
    assert auth.session.session_id == login.session.session_id
    assert sorted(f.type for f in auth.session.authentication_factors) == ["magic_link", "password"]
    assert len(client.sessions.get(user_id=login.user_id).sessions) == 1
    checked = client.sessions.authenticate(session_token=auth.session_token)
    assert checked.session.session_id == login.session.session_id
    assert len(checked.session.authentication_factors) == 2


def test_send_with_a_session_adds_a_factor_and_unverified_factors_are_limited(passwordless_server, client):
    # A user with a verified email and a session adds a phone by sending it a code.
    address = fresh_email()
    client.magic_links.email.login_or_create(email=address, **URLS)
    token = magic_link(mail_to(passwordless_server, address), SIGNUP_URL)
    login = client.magic_links.authenticate(token=token, session_duration_minutes=60)

    phone = fresh_phone()
    sent = client.otps.sms.send(phone_number=phone, session_token=login.session_token)
    assert sent.user_id == login.user_id
    phones = client.users.get(user_id=login.user_id).phone_numbers
    assert [(p.phone_id, p.phone_number, p.verified) for p in phones] == [(sent.phone_id, phone, False)]
    code = sms_to(passwordless_server, phone).code()
    auth = client.otps.authenticate(
        method_id=sent.phone_id, code=code, session_token=login.session_token, session_duration_minutes=60
    )
    assert auth.user_id == login.user_id
    assert auth.session.session_id == login.session.session_id
    assert sorted(f.type for f in auth.session.authentication_factors) == ["magic_link", "otp"]
    assert [(p.phone_id, p.verified) for p in auth.user.phone_numbers] == [(sent.phone_id, True)]

    # A user whose email is not verified yet cannot be given another unverified factor.
    unverified = client.users.create(email=fresh_email())
    extra = fresh_email()
    refused(
        lambda: client.magic_links.email.send(email=extra, user_id=unverified.user_id, **URLS),
        400,
        "too_many_unverified_factors",
    )
    passwordless_server.smtp.expect_nothing(extra, within=0.5)


# OTP


def test_otp_by_sms(passwordless_server, client):
    phone = fresh_phone()
    sent = client.otps.sms.login_or_create(phone_number=phone)
    assert sent.status_code == 200
    assert sent.user_created is True
    assert sent.phone_id.startswith("phone-number-test-")
    user = client.users.get(user_id=sent.user_id)
    assert user.status == "active"
    assert [(p.phone_id, p.phone_number, p.verified) for p in user.phone_numbers] == [(sent.phone_id, phone, False)]

    request = sms_to(passwordless_server, phone)
    assert request.to == phone
    assert request.from_ == TWILIO_FROM
    code = request.code()
    assert len(passwordless_server.twilio.received(to=phone, settle=1.0)) == 1, "delivered exactly once"

    refused(lambda: client.otps.authenticate(method_id=sent.phone_id, code=other_code(code)), 404, "otp_code_not_found")
    auth = client.otps.authenticate(method_id=sent.phone_id, code=code, session_duration_minutes=60)
    assert auth.status_code == 200
    assert (auth.user_id, auth.method_id) == (sent.user_id, sent.phone_id)
    assert auth.session_token and auth.session is not None
    [factor] = auth.session.authentication_factors
    assert (factor.type, factor.delivery_method) == ("otp", "sms")
    assert (factor.phone_number_factor.phone_id, factor.phone_number_factor.phone_number) == (sent.phone_id, phone)
    assert [(p.phone_id, p.verified) for p in auth.user.phone_numbers] == [(sent.phone_id, True)]
    # Spent.
    refused(lambda: client.otps.authenticate(method_id=sent.phone_id, code=code), 404, "otp_code_not_found")

    # A new send replaces the code: the earlier one dies, the later one works, both were sent.
    resent = client.otps.sms.send(phone_number=phone)
    assert (resent.user_id, resent.phone_id) == (sent.user_id, sent.phone_id)
    first = sms_to(passwordless_server, phone).code()
    client.otps.sms.send(phone_number=phone)
    second = sms_to(passwordless_server, phone).code()
    assert first != second
    refused(lambda: client.otps.authenticate(method_id=sent.phone_id, code=first), 404, "otp_code_not_found")
    assert client.otps.authenticate(method_id=sent.phone_id, code=second).user_id == sent.user_id
    assert len(passwordless_server.twilio.received(to=phone, settle=0.5)) == 3


def test_otp_sends_in_a_row_are_each_delivered_once(passwordless_server, client):
    phone = fresh_phone()
    sent = client.otps.sms.login_or_create(phone_number=phone)
    client.otps.sms.send(phone_number=phone)  # before the first was necessarily delivered
    codes = [sms_to(passwordless_server, phone).code() for _ in range(2)]
    assert len(passwordless_server.twilio.received(to=phone, settle=1.0)) == 2
    assert codes[0] != codes[1]
    # Only the later code is live, whichever order the two arrived in.
    outcomes = []
    for code in codes:
        try:
            client.otps.authenticate(method_id=sent.phone_id, code=code)
            outcomes.append("ok")
        except StytchError as error:
            outcomes.append(error.details.error_type)
    assert sorted(outcomes) == ["ok", "otp_code_not_found"], outcomes


def test_otp_by_whatsapp(passwordless_server, client):
    phone = fresh_phone()
    sent = client.otps.whatsapp.login_or_create(phone_number=phone)
    assert sent.user_created is True
    request = sms_to(passwordless_server, f"whatsapp:{phone}")
    assert request.from_ == f"whatsapp:{TWILIO_FROM}"
    code = request.code()
    assert len(passwordless_server.twilio.received(to=f"whatsapp:{phone}", settle=1.0)) == 1
    assert passwordless_server.twilio.received(to=phone) == [], "WhatsApp only, no SMS"

    refused(lambda: client.otps.authenticate(method_id=sent.phone_id, code=other_code(code)), 404, "otp_code_not_found")
    auth = client.otps.authenticate(method_id=sent.phone_id, code=code, session_duration_minutes=60)
    assert (auth.user_id, auth.method_id) == (sent.user_id, sent.phone_id)
    [factor] = auth.session.authentication_factors
    assert (factor.type, factor.delivery_method) == ("otp", "whatsapp")
    assert factor.phone_number_factor.phone_number == phone
    assert [(p.phone_number, p.verified) for p in auth.user.phone_numbers] == [(phone, True)]
    refused(lambda: client.otps.authenticate(method_id=sent.phone_id, code=code), 404, "otp_code_not_found")


def test_otp_by_email(passwordless_server, client):
    address = fresh_email()
    sent = client.otps.email.login_or_create(email=address)
    assert sent.status_code == 200
    assert sent.user_created is True
    mail = mail_to(passwordless_server, address)
    code = mail.code()
    assert code in mail.html_text()

    refused(lambda: client.otps.authenticate(method_id=sent.email_id, code=other_code(code)), 404, "otp_code_not_found")
    auth = client.otps.authenticate(method_id=sent.email_id, code=code, session_duration_minutes=60)
    assert (auth.user_id, auth.method_id) == (sent.user_id, sent.email_id)
    [factor] = auth.session.authentication_factors
    # Stytch's docs list both `otp` and `email_otp` for an email code; the delivery is `email`.
    assert factor.type in ("otp", "email_otp") and factor.delivery_method == "email"
    assert factor.email_factor.email_id == sent.email_id
    assert [(e.email, e.verified) for e in auth.user.emails] == [(address, True)]
    refused(lambda: client.otps.authenticate(method_id=sent.email_id, code=code), 404, "otp_code_not_found")

    again = client.otps.email.login_or_create(email=address)
    assert (again.user_created, again.user_id, again.email_id) == (False, sent.user_id, sent.email_id)
    assert mail_to(passwordless_server, address).code() != code


# Password reset by email


def test_password_reset_by_email(passwordless_server, client):
    address = fresh_email()
    created = client.passwords.create(email=address, password=PASSWORD)
    old = client.passwords.authenticate(email=address, password=PASSWORD, session_duration_minutes=60)

    started = client.passwords.email.reset_start(
        email=address, reset_password_redirect_url=RESET_URL, login_redirect_url=LOGIN_URL
    )
    assert started.status_code == 200
    assert (started.user_id, started.email_id) == (created.user_id, created.email_id)
    token = magic_link(mail_to(passwordless_server, address), RESET_URL, "reset_password")

    refused(lambda: client.passwords.email.reset(token=token, password="password"), 400, "weak_password")
    reset = client.passwords.email.reset(token=token, password=NEW_PASSWORD, session_duration_minutes=60)
    assert reset.status_code == 200
    assert reset.user_id == created.user_id
    assert reset.session is not None and reset.session_token and reset.session_jwt
    assert reset.session.session_id != old.session.session_id
    assert reset.user.emails[0].verified is True

    # Every earlier session is revoked; the new one lives.
    refused(lambda: client.sessions.authenticate(session_token=old.session_token), 404, "session_not_found")
    assert client.sessions.authenticate(session_token=reset.session_token).user.user_id == created.user_id
    assert [s.session_id for s in client.sessions.get(user_id=created.user_id).sessions] == [reset.session.session_id]

    # The new password is the password now.
    assert client.passwords.authenticate(email=address, password=NEW_PASSWORD).user_id == created.user_id
    refused(lambda: client.passwords.authenticate(email=address, password=PASSWORD), 401, "unauthorized_credentials")

    # The token is spent.
    with pytest.raises(StytchError) as error:
        client.passwords.email.reset(token=token, password="Yet-another-sdk-passphrase-99")
    assert error.value.details.status_code in (401, 404), error.value


# Sandbox values, test projects only


def test_sandbox_values(passwordless_server, client):
    sent = client.magic_links.email.login_or_create(email=SANDBOX_EMAIL, **URLS)
    assert sent.status_code == 200
    assert client.magic_links.email.send(email=SANDBOX_EMAIL, **URLS).status_code == 200

    assert client.magic_links.authenticate(token=SANDBOX_TOKEN_OK).status_code == 200
    refused(lambda: client.magic_links.authenticate(token=SANDBOX_TOKEN_USED), 401, "unable_to_auth_magic_link")
    refused(lambda: client.magic_links.authenticate(token=SANDBOX_TOKEN_UNKNOWN), 404, "magic_link_not_found")

    sms = client.otps.sms.send(phone_number=SANDBOX_PHONE)
    assert client.otps.authenticate(method_id=sms.phone_id, code=SANDBOX_CODE).status_code == 200
    whatsapp = client.otps.whatsapp.send(phone_number=SANDBOX_PHONE)
    assert client.otps.authenticate(method_id=whatsapp.phone_id, code=SANDBOX_CODE).status_code == 200
    email_otp = client.otps.email.send(email=SANDBOX_EMAIL)
    assert client.otps.authenticate(method_id=email_otp.email_id, code=SANDBOX_CODE).status_code == 200

    # Nothing was delivered for any of them.
    passwordless_server.smtp.expect_nothing(SANDBOX_EMAIL, within=2.0)
    passwordless_server.twilio.expect_nothing(SANDBOX_PHONE, within=0)
    passwordless_server.twilio.expect_nothing(f"whatsapp:{SANDBOX_PHONE}", within=0)


def test_live_projects_refuse_sandbox_tokens(passwordless_server):
    live = passwordless_server.client_for(passwordless_server.create_project("sdk-live", live=True))
    refused(lambda: live.magic_links.authenticate(token=SANDBOX_TOKEN_OK), 404, "magic_link_not_found")


def test_a_token_from_another_project_never_works(passwordless_server, client):
    other = passwordless_server.client_for(passwordless_server.create_project("sdk-other"))
    address = fresh_email()
    sent = client.magic_links.email.login_or_create(email=address, **URLS)
    token = magic_link(mail_to(passwordless_server, address), SIGNUP_URL)
    refused(lambda: other.magic_links.authenticate(token=token), 404, "magic_link_not_found")
    # It is still good for its own project.
    assert client.magic_links.authenticate(token=token).user_id == sent.user_id


# The project's own wording, and delivery that survives a restart


def test_a_project_template_words_the_mail(passwordless_server, client, tmp_path):
    server = passwordless_server
    text = tmp_path / "login.txt"
    text.write_text("Hello from {{project_name}}!\nYour link ({{minutes}} minutes):\n{{link}}\n")
    html = tmp_path / "login.html"
    html.write_text('<p><a href="{{link}}">Log in to {{project_name}}</a></p>')
    set_template = [BIN, "project", "template", "--project-id", server.project["project_id"],
                    "--kind", "login", "--database-url", server.database_url]
    shown = subprocess.run(set_template + ["--subject", "Your {{project_name}} link",
                                           "--text-file", str(text), "--html-file", str(html)],
                           check=True, capture_output=True, text=True, env=server.environment())
    assert json.loads(shown.stdout)["template"]["subject"] == "Your {{project_name}} link"
    # A template without the link is refused: every mail keeps it in plain text.
    bare = tmp_path / "bare.txt"
    bare.write_text("Hello\n")
    refused_template = subprocess.run(set_template + ["--subject", "x", "--text-file", str(bare)],
                                      capture_output=True, text=True, env=server.environment())
    assert refused_template.returncode != 0 and "{{link}}" in refused_template.stderr
    try:
        email_address = fresh_email()
        client.users.create(email=email_address)
        client.magic_links.email.send(email=email_address, **{"login_magic_link_url": LOGIN_URL})
        mail = mail_to(server, email_address)
        assert mail.subject == "Your sdk-suite link"
        assert mail.text.replace("\r\n", "\n").startswith("Hello from sdk-suite!\nYour link (60 minutes):\n")
        token = magic_link(mail, LOGIN_URL)
        assert "&amp;token=" in mail.html
        assert client.magic_links.authenticate(token=token).user_id
    finally:
        subprocess.run(set_template + ["--reset"], check=True, capture_output=True,
                       env=server.environment())


def test_a_message_queued_before_a_restart_is_delivered_after_it(smtp_sink, twilio_recorder):
    """A server whose SMTP server is down keeps the message queued; the next server on the same
    database (with SMTP back) delivers it."""
    directory = tempfile.mkdtemp(prefix="latchkey-restart-")
    url = f"sqlite://{directory}/latchkey.db"
    down = dict(delivery_environment(smtp_sink, twilio_recorder),
                LATCHKEY_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    first = Server(url, env=down, log_file=True)
    address = fresh_email()
    first.client().magic_links.email.login_or_create(email=address,
                                                     signup_magic_link_url=SIGNUP_URL)
    time.sleep(1.5)
    first.stop()
    assert not smtp_sink.received(address, settle=0.2)
    listed = subprocess.run([BIN, "project", "outbox", "--project-id", first.project["project_id"],
                             "--database-url", url], check=True, capture_output=True, text=True,
                            env=first.environment())
    message = json.loads(listed.stdout.splitlines()[0])
    assert (message["to"], message["status"]) == (address, "queued")
    assert message["attempts"] >= 1 and message["last_error"]
    second = Server(url, project=first.project, env=delivery_environment(smtp_sink, twilio_recorder),
                    log_file=True)
    try:
        mail = smtp_sink.wait_for(to=address, timeout=20)
        assert magic_link(mail, SIGNUP_URL)
    finally:
        second.stop()
