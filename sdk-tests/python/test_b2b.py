"""B2B driven by the official Stytch Python SDK (B2BClient): an organization and its members,
seed 004's TOTP migration, a TOTP login into a member session that the SDK validates locally
against our JWKS, recovery codes, and the member lifecycle."""

import uuid

import jwt
import pyotp
import pytest
from stytch.core.response_base import StytchError

# Seed 004's secret and recovery codes.
SEED_SECRET = "BTGNX5RKJRMQWQFRQKTG34JCF6XDRHZS"
SEED_CODES = [
    "ckss-2skx-ebow", "spbc-424h-usy0", "hi08-n5tk-lns5", "1n6i-l5na-8axe", "aduj-eufq-w6yy",
    "i4l3-dxyt-urmx", "ayyi-utb0-gj0s", "lz0m-02bi-psbx", "l2qm-zrk1-8ujs", "c2qd-k7m4-ifmc",
]


def test_organization_members_and_totp_login(client, b2b_client):
    slug = f"sdk-{uuid.uuid4().hex[:12]}"
    organization = b2b_client.organizations.create(
        organization_name="SDK Org", organization_slug=slug, mfa_policy="REQUIRED_FOR_ALL"
    ).organization
    org_id = organization.organization_id
    # Created with an auth setting (mfa_policy) but no email_invites: Stytch's default is then
    # NOT_ALLOWED; with no setting at all it is ALL_ALLOWED.
    assert organization.email_invites == "NOT_ALLOWED"
    bare = b2b_client.organizations.create(
        organization_name="SDK Bare Org", organization_slug=f"{slug}-bare"
    ).organization
    assert bare.email_invites == "ALL_ALLOWED"
    assert b2b_client.organizations.get(organization_id=slug).organization.organization_id == org_id

    email = f"sdk-member.{uuid.uuid4().hex}@example.com"
    created = b2b_client.organizations.members.create(
        organization_id=org_id, email_address=email, name="Ada", create_member_as_pending=True,
        trusted_metadata={"tier": "gold"}, roles=["editor"],
    )
    member = created.member
    assert member.status == "pending"
    assert [role.role_id for role in member.roles] == ["stytch_member", "editor"]
    got = b2b_client.organizations.members.get(organization_id=org_id, email_address=email.upper())
    assert got.member.member_id == member.member_id
    with pytest.raises(StytchError) as duplicate:
        b2b_client.organizations.members.create(organization_id=org_id, email_address=email)
    assert duplicate.value.details.error_type == "duplicate_member_email"

    # Seed 004: the member's existing authenticator and recovery codes come along.
    migrated = b2b_client.totps.migrate(
        organization_id=org_id, member_id=member.member_id, secret=SEED_SECRET, recovery_codes=SEED_CODES
    )
    assert migrated.totp_registration_id.startswith("member-totp-test-")
    assert migrated.recovery_codes == SEED_CODES
    assert migrated.member.totp_registration_id == migrated.totp_registration_id

    code = pyotp.TOTP(SEED_SECRET).now()
    login = b2b_client.totps.authenticate(
        organization_id=org_id, member_id=member.member_id, code=code,
        set_mfa_enrollment="enroll", session_duration_minutes=30,
    )
    assert login.member.status == "active"
    assert login.member.mfa_enrolled is True
    assert login.member_session.organization_id == org_id
    assert login.member_session.authentication_factors[0].type == "totp"
    # The official SDK fetches our JWKS and validates the member session JWT itself.
    local = b2b_client.sessions.authenticate_jwt_local(session_jwt=login.session_jwt)
    assert local is not None
    assert local.member_id == member.member_id
    assert local.organization_id == org_id
    assert local.member_session_id == login.member_session.member_session_id
    # Each SDK accepts only its own kind of JWT: the consumer client, which fetches the consumer
    # key set, does not take a member session's JWT for a session of its own.
    with pytest.raises(jwt.PyJWKClientError):
        client.sessions.authenticate_jwt_local(session_jwt=login.session_jwt)
    remote = b2b_client.sessions.authenticate(session_token=login.session_token)
    assert remote.member_session.member_session_id == login.member_session.member_session_id

    with pytest.raises(StytchError) as replay:
        b2b_client.totps.authenticate(organization_id=org_id, member_id=member.member_id, code=code)
    assert replay.value.details.error_type == "totp_code_already_authenticated"

    recovered = b2b_client.recovery_codes.recover(
        organization_id=org_id, member_id=member.member_id, recovery_code=SEED_CODES[0]
    )
    assert recovered.recovery_codes_remaining == 9
    rotated = b2b_client.recovery_codes.rotate(organization_id=org_id, member_id=member.member_id)
    assert len(rotated.recovery_codes) == 10
    with pytest.raises(StytchError) as old:
        b2b_client.recovery_codes.recover(
            organization_id=org_id, member_id=member.member_id, recovery_code=SEED_CODES[1]
        )
    assert old.value.details.error_type == "unable_to_authenticate_recovery_code"

    sessions = b2b_client.sessions.get(organization_id=org_id, member_id=member.member_id)
    assert len(sessions.member_sessions) == 2
    b2b_client.sessions.revoke(member_id=member.member_id)
    assert b2b_client.sessions.get(organization_id=org_id, member_id=member.member_id).member_sessions == []

    # Search, update, delete and reactivate.
    found = b2b_client.organizations.members.search(
        organization_ids=[org_id],
        query={"operator": "AND", "operands": [{"filter_name": "member_roles", "filter_value": ["editor"]}]},
    )
    assert [m.member_id for m in found.members] == [member.member_id]
    assert org_id in found.organizations
    updated = b2b_client.organizations.members.update(
        organization_id=org_id, member_id=member.member_id, name="Ada L.", roles=["stytch_admin"]
    )
    assert updated.member.is_admin is True
    deleted_totp = b2b_client.organizations.members.delete_totp(
        organization_id=org_id, member_id=member.member_id
    )
    assert deleted_totp.member.totp_registration_id == ""
    b2b_client.organizations.members.delete(organization_id=org_id, member_id=member.member_id)
    with pytest.raises(StytchError) as gone:
        b2b_client.organizations.members.get(organization_id=org_id, member_id=member.member_id)
    assert gone.value.details.error_type == "member_not_found"
    # Stytch reactivates only a member whose email is verified; this one logged in by TOTP alone
    # and never verified it (the HTTP suite reactivates a verified member).
    with pytest.raises(StytchError) as unverified:
        b2b_client.organizations.members.reactivate(organization_id=org_id, member_id=member.member_id)
    assert unverified.value.details.error_type == "member_email_not_verified"
    assert unverified.value.details.status_code == 400


def test_a_consumer_jwt_is_no_member_jwt(client, b2b_client):
    """The B2B client, which fetches the B2B key set, refuses a consumer session's JWT with the
    error of an unknown key, instead of crashing on its claims."""
    email = f"sdk-consumer.{uuid.uuid4().hex}@example.com"
    created = client.passwords.create(
        email=email, password="vRIQomL!faE2S44s-lantern", session_duration_minutes=60
    )
    assert client.sessions.authenticate_jwt_local(session_jwt=created.session_jwt) is not None
    with pytest.raises(jwt.PyJWKClientError):
        b2b_client.sessions.authenticate_jwt_local(session_jwt=created.session_jwt)
