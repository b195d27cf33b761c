"""B2B login through the official Stytch Python SDK (B2BClient), with mail delivered to a real
SMTP server: organization magic links (login, sign-up by JIT provisioning, invites), the
organization's policy enforced, discovery (send, authenticate, organizations, exchange, create),
and the MFA an organization demands completed with TOTP on the intermediate session."""

import urllib.parse
import uuid

import pyotp
import pytest
from stytch.core.response_base import StytchError

from test_passwordless import mail_to

URL = "http://localhost:3000/b2b"
DISCOVERY_URL = "http://localhost:3000/discovery"


@pytest.fixture
def b2b(passwordless_server):
    return passwordless_server.b2b_client()


def domain() -> str:
    return f"d{uuid.uuid4().hex[:10]}.example"


def token_of(mail, token_type: str) -> str:
    for word in mail.text.split():
        if "stytch_token_type=" in word:
            query = urllib.parse.parse_qs(urllib.parse.urlparse(word).query)
            if query["stytch_token_type"] == [token_type]:
                return query["token"][0]
    raise AssertionError(f"no {token_type} link in {mail.text!r}")


def refused(call, status: int, error_type: str):
    with pytest.raises(StytchError) as error:
        call()
    assert (error.value.details.status_code, error.value.details.error_type) == (status, error_type), error.value


def organization(b2b, **settings):
    return b2b.organizations.create(
        organization_name="Acme", organization_slug=f"acme-{uuid.uuid4().hex[:10]}", **settings
    ).organization


def test_organization_magic_link_login_and_jit_sign_up(passwordless_server, b2b):
    allowed = domain()
    org = organization(b2b, email_jit_provisioning="RESTRICTED", email_allowed_domains=[allowed])
    # JIT: a new member of an allowed domain gets a sign-up link and is pending until it is used.
    email = f"ada@{allowed}"
    sent = b2b.magic_links.email.login_or_signup(
        organization_id=org.organization_id, email_address=email, signup_redirect_url=URL
    )
    assert sent.member_created is True and sent.member.status == "pending"
    token = token_of(mail_to(passwordless_server, email), "multi_tenant_magic_links")
    login = b2b.magic_links.authenticate(magic_links_token=token, session_duration_minutes=30)
    assert login.member_authenticated is True and login.intermediate_session_token == ""
    assert login.member.status == "active" and login.member.email_address_verified is True
    assert login.member_session.authentication_factors[0].type == "magic_link"
    local = b2b.sessions.authenticate_jwt_local(session_jwt=login.session_jwt)
    assert local.member_id == login.member_id
    refused(lambda: b2b.magic_links.authenticate(magic_links_token=token), 401, "unable_to_auth_magic_link")
    refused(lambda: b2b.magic_links.authenticate(magic_links_token="nope"), 404, "magic_link_not_found")
    # The same member again: a login link, no new member.
    again = b2b.magic_links.email.login_or_signup(
        organization_id=org.organization_id, email_address=email, login_redirect_url=URL
    )
    assert again.member_created is False and again.member_id == login.member_id
    mail_to(passwordless_server, email)
    # Another domain, or an organization without JIT, makes no member.
    refused(lambda: b2b.magic_links.email.login_or_signup(
        organization_id=org.organization_id, email_address=f"eve@{domain()}"), 400,
        "invalid_email_for_jit_provisioning")
    closed = organization(b2b)
    refused(lambda: b2b.magic_links.email.login_or_signup(
        organization_id=closed.organization_id, email_address=email), 400,
        "email_jit_provisioning_not_allowed")
    members = b2b.organizations.members.search(organization_ids=[closed.organization_id]).members
    assert members == []


def test_a_restricted_method_is_refused_and_invites_follow_the_policy(passwordless_server, b2b):
    org = organization(b2b, auth_methods="RESTRICTED", allowed_auth_methods=["password"])
    member = b2b.organizations.members.create(
        organization_id=org.organization_id, email_address=f"bob@{domain()}").member
    refused(lambda: b2b.magic_links.email.login_or_signup(
        organization_id=org.organization_id, email_address=member.email_address), 400,
        "operation_restricted_by_organization_auth_methods")
    # Invites: an invited member becomes active at the first authenticate, email verified.
    open_org = organization(b2b)
    email = f"carol@{domain()}"
    invited = b2b.magic_links.email.invite(
        organization_id=open_org.organization_id, email_address=email, invite_redirect_url=URL,
        name="Carol")
    assert invited.member.status == "invited" and invited.member.name == "Carol"
    token = token_of(mail_to(passwordless_server, email), "multi_tenant_magic_links")
    login = b2b.magic_links.authenticate(magic_links_token=token)
    assert login.member.status == "active" and login.member.email_address_verified
    refused(lambda: b2b.magic_links.email.invite(
        organization_id=open_org.organization_id, email_address=email), 400, "duplicate_member_email")
    no_invites = organization(b2b, email_invites="NOT_ALLOWED")
    refused(lambda: b2b.magic_links.email.invite(
        organization_id=no_invites.organization_id, email_address=f"dan@{domain()}"), 400,
        "email_invites_not_allowed")
    # A deleted member never gets in with a link sent before.
    dana = f"dana@{domain()}"
    b2b.magic_links.email.invite(organization_id=open_org.organization_id, email_address=dana,
                                 invite_redirect_url=URL)
    stale = token_of(mail_to(passwordless_server, dana), "multi_tenant_magic_links")
    member_id = b2b.organizations.members.get(organization_id=open_org.organization_id,
                                              email_address=dana).member.member_id
    b2b.organizations.members.delete(organization_id=open_org.organization_id, member_id=member_id)
    # Deleting the member revoked its invite.
    refused(lambda: b2b.magic_links.authenticate(magic_links_token=stale), 404, "magic_link_not_found")


def test_discovery_then_exchange_then_mfa(passwordless_server, b2b):
    org = organization(b2b, mfa_policy="REQUIRED_FOR_ALL")
    email = f"erin@{domain()}"
    member = b2b.organizations.members.create(
        organization_id=org.organization_id, email_address=email).member
    secret = pyotp.random_base32()
    b2b.totps.migrate(organization_id=org.organization_id, member_id=member.member_id,
                      secret=secret, recovery_codes=[])

    b2b.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=DISCOVERY_URL)
    token = token_of(mail_to(passwordless_server, email), "discovery")
    # An organization's endpoint refuses a discovery token, and leaves it usable.
    refused(lambda: b2b.magic_links.authenticate(magic_links_token=token), 404, "magic_link_not_found")
    found = b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token)
    assert found.email_address == email
    ist = found.intermediate_session_token
    [entry] = [o for o in found.discovered_organizations
               if o.organization.organization_id == org.organization_id]
    assert entry.membership.type == "active_member"
    assert entry.member_authenticated is False and entry.mfa_required is not None
    refused(lambda: b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token), 401,
            "unable_to_auth_magic_link")
    # Listing leaves the token usable.
    listed = b2b.discovery.organizations.list(intermediate_session_token=ist)
    assert org.organization_id in [o.organization.organization_id for o in listed.discovered_organizations]
    # The exchange still owes MFA: the same token comes back, bound to the member.
    exchanged = b2b.discovery.intermediate_sessions.exchange(
        intermediate_session_token=ist, organization_id=org.organization_id)
    assert exchanged.member_authenticated is False
    assert exchanged.intermediate_session_token == ist
    assert exchanged.mfa_required.member_options.totp_registration_id
    # A wrong code leaves it usable; the right one completes it.
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"
    refused(lambda: b2b.totps.authenticate(organization_id=org.organization_id,
                                           member_id=member.member_id, code=wrong,
                                           intermediate_session_token=ist), 401,
            "unable_to_authenticate_totp")
    done = b2b.totps.authenticate(organization_id=org.organization_id, member_id=member.member_id,
                                  code=pyotp.TOTP(secret).now(), intermediate_session_token=ist,
                                  session_duration_minutes=45)
    kinds = sorted(f.type for f in done.member_session.authentication_factors)
    assert kinds == ["magic_link", "totp"]
    remote = b2b.sessions.authenticate(session_token=done.session_token)
    assert remote.member_session.member_session_id == done.member_session.member_session_id
    local = b2b.sessions.authenticate_jwt_local(session_jwt=done.session_jwt)
    assert local.member_id == member.member_id
    # Used up: the token is gone.
    refused(lambda: b2b.discovery.organizations.list(intermediate_session_token=ist), 404,
            "intermediate_session_not_found")


def test_discovery_creates_an_organization(passwordless_server, b2b):
    email = f"frank@{domain()}"
    b2b.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=DISCOVERY_URL)
    token = token_of(mail_to(passwordless_server, email), "discovery")
    found = b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token)
    assert found.discovered_organizations == []
    slug = f"new-{uuid.uuid4().hex[:10]}"
    created = b2b.discovery.organizations.create(
        intermediate_session_token=found.intermediate_session_token, organization_name="Frank's",
        organization_slug=slug, session_duration_minutes=20)
    assert created.member_authenticated is True
    assert created.organization.organization_slug == slug
    assert created.member.email_address == email and created.member.status == "active"
    assert "stytch_admin" in [role.role_id for role in created.member.roles]
    refused(lambda: b2b.discovery.organizations.create(
        intermediate_session_token=found.intermediate_session_token, organization_name="Again"),
        404, "intermediate_session_not_found")


def fresh_phone() -> str:
    return f"+1415{uuid.uuid4().int % 8_000_000 + 2_000_000:07d}"


def test_sms_mfa_after_a_magic_link(passwordless_server, b2b):
    from test_passwordless import sms_to

    org = organization(b2b, mfa_policy="REQUIRED_FOR_ALL")
    email = f"gina@{domain()}"
    member = b2b.organizations.members.create(
        organization_id=org.organization_id, email_address=email).member
    b2b.magic_links.email.login_or_signup(
        organization_id=org.organization_id, email_address=email, login_redirect_url=URL)
    token = token_of(mail_to(passwordless_server, email), "multi_tenant_magic_links")
    first = b2b.magic_links.authenticate(magic_links_token=token)
    assert first.member_authenticated is False and first.member_session is None
    assert first.session_token == "" and first.mfa_required.member_options is None
    ist = first.intermediate_session_token
    # Not yet enrolled: the member gives a phone during the intermediate session.
    phone = fresh_phone()
    b2b.otps.sms.send(organization_id=org.organization_id, member_id=member.member_id,
                      mfa_phone_number=phone, intermediate_session_token=ist)
    code = sms_to(passwordless_server, phone).code()
    refused(lambda: b2b.otps.sms.authenticate(organization_id=org.organization_id,
                                              member_id=member.member_id, code=code), 400,
            "bad_request")
    done = b2b.otps.sms.authenticate(organization_id=org.organization_id,
                                     member_id=member.member_id, code=code,
                                     intermediate_session_token=ist)
    assert sorted(f.type for f in done.member_session.authentication_factors) == ["magic_link", "otp"]
    assert done.member.mfa_enrolled is True and done.member.mfa_phone_number_verified is True
    assert done.member.default_mfa_method == "sms_otp"
    # Enrolled now: without an intermediate session or session, no one may send to another phone.
    refused(lambda: b2b.otps.sms.send(organization_id=org.organization_id,
                                      member_id=member.member_id, mfa_phone_number=fresh_phone()),
            404, "intermediate_session_not_found")
    # The next login sends the SMS code at once.
    b2b.magic_links.email.login_or_signup(
        organization_id=org.organization_id, email_address=email, login_redirect_url=URL)
    token = token_of(mail_to(passwordless_server, email), "multi_tenant_magic_links")
    second = b2b.magic_links.authenticate(magic_links_token=token)
    assert second.mfa_required.secondary_auth_initiated == "sms_otp"
    assert second.mfa_required.member_options.mfa_phone_number == phone
    code = sms_to(passwordless_server, phone).code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused(lambda: b2b.otps.sms.authenticate(organization_id=org.organization_id,
                                              member_id=member.member_id, code=wrong,
                                              intermediate_session_token=second.intermediate_session_token),
            404, "otp_code_not_found")
    ok = b2b.otps.sms.authenticate(organization_id=org.organization_id, member_id=member.member_id,
                                   code=code, intermediate_session_token=second.intermediate_session_token)
    assert ok.member_session is not None


def test_email_otp_login_and_discovery(passwordless_server, b2b):
    allowed = domain()
    org = organization(b2b, email_jit_provisioning="RESTRICTED", email_allowed_domains=[allowed])
    email = f"hal@{allowed}"
    sent = b2b.otps.email.login_or_signup(organization_id=org.organization_id, email_address=email)
    assert sent.member_created is True and sent.member.status == "pending"
    code = mail_to(passwordless_server, email).code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused(lambda: b2b.otps.email.authenticate(organization_id=org.organization_id,
                                                email_address=email, code=wrong), 404,
            "otp_code_not_found")
    login = b2b.otps.email.authenticate(organization_id=org.organization_id, email_address=email,
                                        code=code, session_duration_minutes=30)
    assert login.member_authenticated is True and login.member.status == "active"
    assert login.member_session.authentication_factors[0].type == "email_otp"
    refused(lambda: b2b.otps.email.authenticate(organization_id=org.organization_id,
                                                email_address=email, code=code), 404,
            "otp_code_not_found")
    restricted = organization(b2b, auth_methods="RESTRICTED", allowed_auth_methods=["magic_link"])
    b2b.organizations.members.create(organization_id=restricted.organization_id, email_address=email)
    refused(lambda: b2b.otps.email.login_or_signup(organization_id=restricted.organization_id,
                                                   email_address=email), 400,
            "operation_restricted_by_organization_auth_methods")
    # Discovery by passcode: the email's organizations, and an exchange into one of them.
    b2b.otps.email.discovery.send(email_address=email)
    code = mail_to(passwordless_server, email).code()
    found = b2b.otps.email.discovery.authenticate(email_address=email, code=code)
    ids = {o.organization.organization_id: o for o in found.discovered_organizations}
    assert ids[org.organization_id].membership.type == "active_member"
    assert ids[org.organization_id].member_authenticated is True
    assert ids[restricted.organization_id].primary_required.allowed_auth_methods == ["magic_link"]
    refused(lambda: b2b.discovery.intermediate_sessions.exchange(
        intermediate_session_token=found.intermediate_session_token,
        organization_id=restricted.organization_id), 400,
        "operation_restricted_by_organization_auth_methods")
    entered = b2b.discovery.intermediate_sessions.exchange(
        intermediate_session_token=found.intermediate_session_token,
        organization_id=org.organization_id)
    assert entered.member_authenticated is True
    assert entered.member_session.authentication_factors[0].type == "email_otp"


def test_a_primary_factor_still_short_of_mfa_keeps_the_token(passwordless_server, b2b):
    org = organization(b2b, mfa_policy="REQUIRED_FOR_ALL")
    email = f"ivy@{domain()}"
    member = b2b.organizations.members.create(
        organization_id=org.organization_id, email_address=email).member
    b2b.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=DISCOVERY_URL)
    ist = b2b.magic_links.discovery.authenticate(
        discovery_magic_links_token=token_of(mail_to(passwordless_server, email), "discovery")
    ).intermediate_session_token
    b2b.magic_links.email.login_or_signup(
        organization_id=org.organization_id, email_address=email, login_redirect_url=URL)
    token = token_of(mail_to(passwordless_server, email), "multi_tenant_magic_links")
    again = b2b.magic_links.authenticate(magic_links_token=token, intermediate_session_token=ist)
    assert again.member_authenticated is False
    assert again.intermediate_session_token == ist
    # The member enrolls TOTP within the intermediate session and completes it.
    created = b2b.totps.create(organization_id=org.organization_id, member_id=member.member_id,
                               intermediate_session_token=ist)
    done = b2b.totps.authenticate(organization_id=org.organization_id, member_id=member.member_id,
                                  code=pyotp.TOTP(created.secret).now(),
                                  intermediate_session_token=ist)
    assert sorted(f.type for f in done.member_session.authentication_factors) == ["magic_link", "totp"]


def test_restricted_primary_methods_are_not_bypassed(passwordless_server, b2b):
    org = organization(b2b, auth_methods="RESTRICTED", allowed_auth_methods=["sso"])
    email = f"jon@{domain()}"
    member = b2b.organizations.members.create(
        organization_id=org.organization_id, email_address=email).member
    secret = pyotp.random_base32()
    b2b.totps.migrate(organization_id=org.organization_id, member_id=member.member_id,
                      secret=secret, recovery_codes=[])
    # A TOTP code alone is no primary login here.
    refused(lambda: b2b.totps.authenticate(organization_id=org.organization_id,
                                           member_id=member.member_id,
                                           code=pyotp.TOTP(secret).now()), 400,
            "operation_restricted_by_organization_auth_methods")
    # Nor does a discovery magic link's intermediate session make one.
    b2b.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=DISCOVERY_URL)
    ist = b2b.magic_links.discovery.authenticate(
        discovery_magic_links_token=token_of(mail_to(passwordless_server, email), "discovery")
    ).intermediate_session_token
    refused(lambda: b2b.totps.authenticate(organization_id=org.organization_id,
                                           member_id=member.member_id,
                                           code=pyotp.TOTP(secret).now(),
                                           intermediate_session_token=ist), 400,
            "operation_restricted_by_organization_auth_methods")


def test_a_session_is_exchanged_for_another_organization(passwordless_server, b2b):
    email = f"kim@{domain()}"
    home = organization(b2b)
    other = organization(b2b)
    strict = organization(b2b, mfa_policy="REQUIRED_FOR_ALL")
    for org in (home, other, strict):
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
    stranger = organization(b2b)
    b2b.magic_links.email.login_or_signup(
        organization_id=home.organization_id, email_address=email, login_redirect_url=URL)
    token = token_of(mail_to(passwordless_server, email), "multi_tenant_magic_links")
    login = b2b.magic_links.authenticate(magic_links_token=token, session_duration_minutes=30)
    moved = b2b.sessions.exchange(organization_id=other.organization_id,
                                  session_token=login.session_token)
    assert moved.member_authenticated is True
    assert moved.member_session.organization_id == other.organization_id
    assert moved.member_session.authentication_factors[0].type == "magic_link"
    # Where MFA is demanded, an intermediate session carries the magic link over.
    short = b2b.sessions.exchange(organization_id=strict.organization_id,
                                  session_token=login.session_token)
    assert short.member_authenticated is False and short.intermediate_session_token
    # No membership by domain is made by an exchange.
    refused(lambda: b2b.sessions.exchange(organization_id=stranger.organization_id,
                                          session_token=login.session_token), 404,
            "member_not_found")
