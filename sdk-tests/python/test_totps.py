"""Consumer TOTP driven by the official Stytch Python SDK, with codes computed by pyotp (an
independent implementation): create, authenticate into a session, replay refused, recovery
codes single use."""

import time
import uuid

import pyotp
import pytest
from stytch.core.response_base import StytchError


def test_totp_enrolment_login_and_recovery(client):
    user = client.users.create(email=f"sdk-totp.{uuid.uuid4().hex}@example.com")
    created = client.totps.create(user_id=user.user_id)
    assert created.totp_id.startswith("totp-test-")
    assert created.qr_code.startswith("data:image/png;base64,")
    assert len(created.recovery_codes) == 10

    code = pyotp.TOTP(created.secret).now()
    login = client.totps.authenticate(user_id=user.user_id, totp_code=code, session_duration_minutes=30)
    assert login.totp_id == created.totp_id
    assert login.user.totps[0].verified is True
    assert login.session.authentication_factors[0].type == "totp"
    assert login.session.authentication_factors[0].authenticator_app_factor.totp_id == created.totp_id
    local = client.sessions.authenticate_jwt_local(session_jwt=login.session_jwt)
    assert local is not None and local.user_id == user.user_id

    with pytest.raises(StytchError) as replay:
        client.totps.authenticate(user_id=user.user_id, totp_code=code)
    assert replay.value.details.error_type == "totp_code_already_authenticated"

    recovered = client.totps.recover(user_id=user.user_id, recovery_code=created.recovery_codes[0])
    assert recovered.totp_id == created.totp_id
    with pytest.raises(StytchError) as reused:
        client.totps.recover(user_id=user.user_id, recovery_code=created.recovery_codes[0])
    assert reused.value.details.error_type == "unable_to_authenticate_recovery_code"

    listed = client.totps.recovery_codes(user_id=user.user_id)
    assert [t.totp_id for t in listed.totps] == [created.totp_id]
    assert listed.totps[0].verified is True
    # The unused codes, shown again as Stytch shows them.
    assert listed.totps[0].recovery_codes == created.recovery_codes[1:]
