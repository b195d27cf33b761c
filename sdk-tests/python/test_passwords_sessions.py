"""Passwords and sessions driven by the official Stytch Python SDK: migrate a bcrypt user,
log in, and validate the session JWT locally the way the SDK does (PyJWT against our JWKS,
checking signature, audience, issuer and times)."""

import uuid

import bcrypt
import jwt
import pytest
from stytch.core.response_base import StytchError

PASSWORD = "Sdk-passphrase-for-tests-77"


def email(tag: str) -> str:
    return f"{tag}.{uuid.uuid4().hex}@example.com"


def test_migrate_login_and_local_jwt_validation(client):
    address = email("sdk-pw")
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    migrated = client.passwords.migrate(email=address, hash=hashed, hash_type="bcrypt", set_email_verified=True)
    assert migrated.user_created is True
    assert migrated.user.password is not None

    with pytest.raises(StytchError) as wrong:
        client.passwords.authenticate(email=address, password="not it")
    assert wrong.value.details.error_type == "unauthorized_credentials"

    login = client.passwords.authenticate(
        email=address, password=PASSWORD, session_duration_minutes=60, session_custom_claims={"tier": "gold"}
    )
    assert login.session is not None
    assert login.session.authentication_factors[0].type == "password"
    assert len(login.session_token) == 43

    # Local validation: the SDK fetches our JWKS and checks the JWT itself, no API call.
    local = client.sessions.authenticate_jwt_local(session_jwt=login.session_jwt)
    assert local is not None, "the SDK refused our JWT"
    assert local.session_id == login.session.session_id
    assert local.user_id == migrated.user_id
    assert local.custom_claims == {"tier": "gold"}
    assert local.roles == ["stytch_user"]

    # Remote validation and refresh through the API, by token and by JWT.
    by_token = client.sessions.authenticate(session_token=login.session_token)
    assert by_token.user.user_id == migrated.user_id
    by_jwt = client.sessions.authenticate_jwt(session_jwt=login.session_jwt)
    assert by_jwt.session.session_id == login.session.session_id

    listed = client.sessions.get(user_id=migrated.user_id)
    assert [s.session_id for s in listed.sessions] == [login.session.session_id]
    client.sessions.revoke(session_id=login.session.session_id)
    with pytest.raises(StytchError) as gone:
        client.sessions.authenticate(session_token=login.session_token)
    assert gone.value.details.error_type == "session_not_found"


def test_jwks_and_strength_check_parse(server, client):
    jwks = client.sessions.get_jwks(project_id=server.project["project_id"])
    assert jwks.keys[0].alg == "RS256"
    check = client.passwords.strength_check(password="password")
    assert check.valid_password is False
    assert check.feedback is not None and check.feedback.luds_requirements is not None


def test_another_projects_jwt_is_refused_locally(server):
    first = server.client()
    other = server.client_for(server.create_project("other"))
    address = email("sdk-iso")
    first.passwords.create(email=address, password=PASSWORD)
    login = first.passwords.authenticate(email=address, password=PASSWORD, session_duration_minutes=30)
    # The other project's JWKS does not have the signing key: PyJWT refuses the token.
    with pytest.raises(jwt.exceptions.PyJWKClientError):
        other.sessions.authenticate_jwt_local(session_jwt=login.session_jwt)
    # And the API refuses it for the other project too.
    with pytest.raises(StytchError) as refused:
        other.sessions.authenticate(session_jwt=login.session_jwt)
    assert refused.value.details.error_type == "unable_to_parse_session_jwt"
