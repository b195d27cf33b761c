"""Projects made by the CLI while the server runs, seen through the SDK."""

import json
import subprocess

import pytest
from stytch.core.response_base import StytchError

from conftest import BIN


def test_project_created_while_serving_is_usable_and_isolated(server, client):
    created = subprocess.run(
        [BIN, "project", "create", "--name", "second", "--database-url", server.database_url],
        check=True,
        capture_output=True,
        text=True,
    )
    project = json.loads(created.stdout)
    assert set(project) >= {"project_id", "secret", "name", "environment"}
    assert project["project_id"].startswith("project-test-")
    assert project["secret"].startswith("secret-test-")
    assert project["environment"] == "test"

    mine = client.users.create(email=f"owner.{project['project_id']}@isolation.example.com")
    second = server.client_for(project)
    assert second.users.search().results == []
    with pytest.raises(StytchError) as error:
        second.users.get(user_id=mine.user_id)
    assert error.value.details.error_type == "user_not_found"

    listed = subprocess.run(
        [BIN, "project", "list", "--database-url", server.database_url],
        check=True,
        capture_output=True,
        text=True,
    )
    rows = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
    assert project["project_id"] in {row["project_id"] for row in rows}
    assert all("secret" not in row for row in rows), "project list never shows secrets"
    assert project["secret"] not in listed.stdout + listed.stderr


def test_live_projects_mint_live_ids(server):
    created = subprocess.run(
        [BIN, "project", "create", "--name", "prod", "--live", "--database-url", server.database_url],
        check=True,
        capture_output=True,
        text=True,
    )
    project = json.loads(created.stdout)
    assert project["project_id"].startswith("project-live-")
    assert project["environment"] == "live"
    live = server.client_for(project)
    user = live.users.create(phone_number="+14155550142")
    assert user.user_id.startswith("user-live-")
    assert user.request_id.startswith("request-id-live-")
    assert user.user.phone_numbers[0].phone_id.startswith("phone-number-live-")
