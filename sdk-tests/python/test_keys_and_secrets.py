"""The operator's key commands, run as an operator would, checked through the SDK: `keys retire`
and `keys list` for JWT signing keys, and a rotation of the secrets key with `secrets reseal`.
On a fresh SQLite database of its own (the rotation changes the whole database's key)."""

import base64
import json
import os
import subprocess
import tempfile
import time

import pyotp
import pytest
from stytch.core.response_base import StytchError

from conftest import BIN, Server

PASSWORD = "vRIQomL!faE2S44s-lantern"


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("LATCHKEY_SECRETS_KEY", None)
    env.pop("LATCHKEY_OLD_SECRETS_KEYS", None)
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=env)


def json_lines(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def kid_of(jwt: str) -> str:
    header = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


@pytest.fixture
def database():
    directory = tempfile.mkdtemp(prefix="latchkey-keys-")
    url = f"sqlite://{directory}/latchkey.db"
    created = run("project", "create", "--name", "keys", "--database-url", url)
    assert created.returncode == 0, created.stderr
    return directory, url, json.loads(created.stdout)


def test_a_retired_key_signs_nothing_but_its_jwts_still_validate(database):
    _, url, project = database
    server = Server(url, project=project)
    try:
        client = server.client()
        first = client.passwords.create(
            email="retire@example.com", password=PASSWORD, session_duration_minutes=60
        )
        listed = json_lines(run("keys", "list", "--project-id", project["project_id"],
                                "--database-url", url).stdout)
        assert [key["kid"] for key in listed] == [kid_of(first.session_jwt)]
        assert listed[0]["signs"] and listed[0]["published"] and listed[0]["retired_at"] is None
        assert all("private" not in field for key in listed for field in key)

        retired = run("keys", "retire", "--project-id", project["project_id"],
                      "--kid", listed[0]["kid"], "--database-url", url)
        assert retired.returncode == 0, retired.stderr
        shown = json.loads(retired.stdout)
        assert shown["signs"] is False and shown["published"] is True
        assert shown["published_until"] > shown["retired_at"]
        time.sleep(1.1)  # the server's one-second cache of the project's keys
        second = client.passwords.authenticate(
            email="retire@example.com", password=PASSWORD, session_duration_minutes=60
        )
        assert kid_of(second.session_jwt) != listed[0]["kid"]
        # The SDK validates both locally, with the JWKS that still publishes the retired key.
        assert client.sessions.authenticate_jwt_local(session_jwt=first.session_jwt) is not None
        assert client.sessions.authenticate_jwt_local(session_jwt=second.session_jwt) is not None

        unknown = run("keys", "retire", "--project-id", project["project_id"],
                      "--kid", "jwk-test-00000000-0000-4000-8000-000000000000",
                      "--database-url", url)
        assert unknown.returncode != 0 and "no signing key" in unknown.stderr
    finally:
        server.stop()


def test_the_secrets_key_rotates_without_losing_a_secret(database):
    directory, url, project = database
    old_key = f"{directory}/latchkey.db.key"
    server = Server(url, project=project)
    try:
        client = server.client()
        user = client.users.create(email="rotate@example.com")
        totp = client.totps.create(user_id=user.user_id)
        codes = list(totp.recovery_codes)
        client.totps.authenticate(user_id=user.user_id, totp_code=pyotp.TOTP(totp.secret).now())
        session = client.passwords.create(
            email="rotate-jwt@example.com", password=PASSWORD, session_duration_minutes=60
        )
    finally:
        server.stop()

    new_key = f"{directory}/new.key"
    with open(new_key, "w") as handle:
        handle.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    # The new key alone does not match the database yet.
    refused = run("secrets", "reseal", "--database-url", url, "--secrets-key-file", new_key)
    assert refused.returncode != 0 and "does not match" in refused.stderr

    # Step 1: serving with both keys; step 2: the re-seal pass, while it serves.
    both = ("--secrets-key-file", new_key, "--old-secrets-key-file", old_key)
    server = Server(url, *both, project=project)
    try:
        resealed = run("secrets", "reseal", "--database-url", url, *both)
        assert resealed.returncode == 0, resealed.stderr
        report = json.loads(resealed.stdout)
        assert report["totps"] == 1 and report["signing_keys"] >= 1 and report["check_value"]
        assert report["unmovable_recovery_codes"] == 0
        again = json.loads(run("secrets", "reseal", "--database-url", url, *both).stdout)
        assert again == {"signing_keys": 0, "totps": 0, "member_totps": 0,
                         "check_value": False, "unmovable_recovery_codes": 0,
                         "messages": 0, "unopenable_messages": 0}
    finally:
        server.stop()

    # Step 3: the new key alone serves every secret; the old key alone no longer starts.
    with pytest.raises(RuntimeError):
        Server(url, "--secrets-key-file", old_key, project=project)
    server = Server(url, "--secrets-key-file", new_key, project=project)
    try:
        client = server.client()
        recovered = client.totps.recover(user_id=user.user_id, recovery_code=codes[0])
        assert recovered.user_id == user.user_id
        shown = client.totps.recovery_codes(user_id=user.user_id)
        assert list(shown.totps[0].recovery_codes) == codes[1:]
        with pytest.raises(StytchError) as reused:
            client.totps.recover(user_id=user.user_id, recovery_code=codes[0])
        assert reused.value.details.error_type == "unable_to_authenticate_recovery_code"
        refreshed = client.sessions.authenticate(session_jwt=session.session_jwt)
        assert client.sessions.authenticate_jwt_local(session_jwt=refreshed.session_jwt) is not None
    finally:
        server.stop()
