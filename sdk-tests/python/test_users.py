"""The Users API driven by the official Stytch Python SDK. The SDK parses every response into
its pydantic models, so each call also checks field names and types against Stytch's own."""

import uuid

import pytest
from stytch.core.response_base import StytchError


def email(tag: str) -> str:
    return f"{tag}.{uuid.uuid4().hex}@example.com"


def test_create_get_update_delete(client):
    address = email("sdk")
    created = client.users.create(
        email=address.upper(),
        name={"first_name": "Ada", "last_name": "Lovelace"},
        trusted_metadata={"plan": "pro"},
        external_id=f"sdk-{uuid.uuid4().hex[:8]}",
        roles=["editor"],
    )
    assert created.status_code == 200
    assert created.request_id.startswith("request-id-test-")
    assert created.user_id.startswith("user-test-")
    assert created.status == "active"
    assert created.user.emails[0].email == address
    assert created.user.emails[0].verified is False
    assert created.user.name.first_name == "Ada"
    assert created.user.created_at is not None
    assert created.user.password is None
    assert created.user.is_locked is False

    got = client.users.get(user_id=created.user_id)
    assert got.user_id == created.user_id
    assert got.emails == created.user.emails
    assert got.roles == ["editor"]
    by_external = client.users.get(user_id=created.user.external_id)
    assert by_external.user_id == created.user_id

    updated = client.users.update(
        user_id=created.user_id,
        name={"middle_name": "King"},
        trusted_metadata={"plan": "enterprise", "seats": 3},
        untrusted_metadata={"theme": "dark"},
    )
    assert updated.user.name.middle_name == "King"
    assert updated.user.name.last_name == "Lovelace"
    assert updated.user.trusted_metadata == {"plan": "enterprise", "seats": 3}
    assert updated.emails == updated.user.emails

    deleted = client.users.delete(user_id=created.user_id)
    assert deleted.user_id == created.user_id
    with pytest.raises(StytchError) as error:
        client.users.get(user_id=created.user_id)
    assert error.value.details.status_code == 404
    assert error.value.details.error_type == "user_not_found"


def test_errors_arrive_as_stytch_errors(client, server):
    address = email("dup")
    client.users.create(email=address)
    with pytest.raises(StytchError) as error:
        client.users.create(email=address)
    assert error.value.details.error_type == "duplicate_email"
    assert error.value.details.status_code == 400
    assert error.value.details.request_id.startswith("request-id-test-")

    with pytest.raises(StytchError) as error:
        client.users.create(email="not an email")
    assert error.value.details.error_type == "invalid_email"

    with pytest.raises(StytchError) as error:
        client.users.create(phone_number="12345")
    assert error.value.details.error_type == "invalid_phone_number"

    with pytest.raises(StytchError) as error:
        server.client(secret="secret-test-wrong").users.search()
    assert error.value.details.status_code == 401
    assert error.value.details.error_type == "unauthorized_credentials"


def test_factor_deletes_and_exchange(client):
    created = client.users.create(email=email("factor"), phone_number="+14155550199")
    email_id = created.user.emails[0].email_id
    phone_id = created.user.phone_numbers[0].phone_id

    after_email = client.users.delete_email(email_id=email_id)
    assert after_email.user.emails == []
    assert len(after_email.user.phone_numbers) == 1

    exchanged = client.users.exchange_primary_factor(user_id=created.user_id, email_address=email("new"))
    assert exchanged.user.phone_numbers == []
    assert len(exchanged.user.emails) == 1

    with pytest.raises(StytchError) as error:
        client.users.delete_phone_number(phone_id=phone_id)
    assert error.value.details.error_type == "phone_number_not_found"

    with pytest.raises(StytchError) as error:
        client.users.delete_totp(totp_id="totp-test-00000000-0000-4000-8000-000000000000")
    assert error.value.details.error_type == "totp_not_found"


def test_search_filters_and_pages(client):
    tag = uuid.uuid4().hex[:10]
    ids = {client.users.create(email=f"{tag}.{i}@search.example.com").user_id for i in range(7)}

    query = {"operator": "AND", "operands": [{"filter_name": "email_address_fuzzy", "filter_value": tag}]}
    first = client.users.search(limit=3, query=query)
    assert first.results_metadata.total == 7
    assert len(first.results) == 3
    assert first.results_metadata.next_cursor

    seen = []
    for page in client.users.search_all(limit=3, query=query):
        seen.extend(user.user_id for user in page.results)
    assert sorted(seen) == sorted(ids)

    pending_query = {
        "operator": "AND",
        "operands": [
            {"filter_name": "email_address_fuzzy", "filter_value": tag},
            {"filter_name": "status", "filter_value": "pending"},
        ],
    }
    assert client.users.search(query=pending_query).results == []

    with pytest.raises(StytchError) as error:
        client.users.search(cursor="not-a-cursor")
    assert error.value.details.error_type == "invalid_search_cursor"
