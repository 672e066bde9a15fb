"""A user creates, lists and revokes API keys on a page and through /api/v1/; the secret is
shown once and kept only encrypted; creation and revocation are audited."""

import re

import pytest
from django.test import Client

from tests.factories import UserFactory
from trading.key_vault import secret_decrypt
from trading.models import ApiKey
from xip_portal.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_secret_once_and_keeps_it_encrypted(user, login) -> None:
    client: Client = login(user)

    page = client.post(
        "/account/api-keys/",
        {
            "name": "market maker",
            "passphrase": "Passphrase-1",
            "scopes": ["read", "trade"],
            "ip_allowlist": "10.1.2.3\n192.168.0.0/24",
        },
    ).content.decode()

    secret = re.search(r'id="api-key-secret">([0-9A-F]{32})<', page).group(1)
    api_key = ApiKey.objects.get(user=user)
    assert api_key.scopes == ["read", "trade"]
    assert api_key.ip_allowlist == ["10.1.2.3", "192.168.0.0/24"]
    assert secret not in api_key.secret_encrypted
    assert "Passphrase-1" not in api_key.passphrase_hash
    assert secret_decrypt(api_key.secret_encrypted) == secret
    later = client.get("/account/api-keys/").content.decode()
    assert api_key.key in later
    assert secret not in later


def test_the_page_revokes_and_audits(user, login) -> None:
    client: Client = login(user)
    client.post(
        "/account/api-keys/", {"name": "bot", "passphrase": "Passphrase-1", "scopes": ["read"]}
    )
    api_key = ApiKey.objects.get(user=user)

    client.post(f"/account/api-keys/{api_key.key}/revoke/")

    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    actions = list(
        AuditEntry.objects.filter(object_type="trading.apikey")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["api_key.create", "api_key.revoke"]
    assert "revoked" in client.get("/account/api-keys/").content.decode()


def test_a_refused_key_shows_the_problem_beside_its_field(user, login) -> None:
    page = login(user).post(
        "/account/api-keys/",
        {
            "name": "bot",
            "passphrase": "Passphrase-1",
            "scopes": ["read"],
            "ip_allowlist": "nowhere",
        },
    )

    assert "&#x27;nowhere&#x27; is not an IP address or network." in page.content.decode()
    assert not ApiKey.objects.exists()


def test_the_api_creates_lists_and_revokes(user, api_client) -> None:
    api_client.force_authenticate(user)

    created = api_client.post(
        "/api/v1/api-keys/",
        {"name": "agent", "passphrase": "Passphrase-1", "scopes": ["read", "trade"]},
        format="json",
    )
    listed = api_client.get("/api/v1/api-keys/").json()["results"]
    revoked = api_client.delete(f"/api/v1/api-keys/{created.json()['key']}/")
    again = api_client.delete(f"/api/v1/api-keys/{created.json()['key']}/")

    assert created.status_code == 201
    assert len(created.json()["secret"]) == 32
    assert [item["name"] for item in listed] == ["agent"]
    assert "secret" not in listed[0]
    assert listed[0]["scopes"] == ["read", "trade"]
    assert revoked.json()["is_active"] is False
    assert (again.status_code, again.json()["code"]) == (409, "key_revoked")


def test_the_api_refuses_bad_input_with_its_code(user, api_client) -> None:
    api_client.force_authenticate(user)

    bad_ip = api_client.post(
        "/api/v1/api-keys/",
        {"name": "a", "passphrase": "Passphrase-1", "ip_allowlist": ["300.1.1.1"]},
        format="json",
    )
    bad_scope = api_client.post(
        "/api/v1/api-keys/",
        {"name": "a", "passphrase": "Passphrase-1", "scopes": ["admin"]},
        format="json",
    )
    short = api_client.post(
        "/api/v1/api-keys/", {"name": "a", "passphrase": "short"}, format="json"
    )

    assert (bad_ip.status_code, bad_ip.json()["code"]) == (400, "bad_ip_allowlist")
    assert bad_scope.status_code == 400 and "scopes" in bad_scope.json()["fields"]
    assert short.status_code == 400 and "passphrase" in short.json()["fields"]
    assert not ApiKey.objects.exists()


def test_nobody_revokes_another_users_key(user, make_api_key, api_client) -> None:
    other = make_api_key(user)

    api_client.force_authenticate(UserFactory())

    answer = api_client.delete(f"/api/v1/api-keys/{other.key}/")

    assert answer.status_code == 404
    other.api_key.refresh_from_db()
    assert other.api_key.is_active
