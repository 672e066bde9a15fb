"""API access: a user creates, rotates and revokes a token on a page; /api/v1/me tells who
they are, with session or token."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from xip_portal.models import AuditEntry, StaffRole

pytestmark = pytest.mark.django_db


def test_token_page_creates_rotates_and_revokes(user, login, api_client) -> None:
    client: Client = login(user)

    client.post("/account/api-token/change/", {"action": "rotate"})
    first = Token.objects.get(user=user).key
    assert first in client.get("/account/api-token/").content.decode()
    client.post("/account/api-token/change/", {"action": "rotate"})
    second = Token.objects.get(user=user).key

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert api_client.get("/api/v1/me/").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert api_client.get("/api/v1/me/").json()["email"] == user.email

    client.post("/account/api-token/change/", {"action": "revoke"})
    assert api_client.get("/api/v1/me/").status_code == 401
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["api_token.create", "api_token.rotate", "api_token.revoke"]


def test_token_changes_need_post_and_login(client: Client, user, login) -> None:
    assert client.post("/account/api-token/change/").status_code == 302  # to the login page
    assert login(user).get("/account/api-token/change/").status_code == 405


def test_me_lists_roles_two_factor_and_institutions(make_staff, api_client) -> None:
    editor = make_staff(StaffRole.XIP_EDITOR)
    api_client.force_authenticate(editor)

    body = api_client.get("/api/v1/me/").json()

    assert body["email"] == editor.email
    assert body["roles"] == ["Trader", "XIP editor"]
    assert body["two_factor_enabled"] is True
    assert body["institutions"] == []


def test_schema_and_docs_are_served_from_this_site(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/me/", "/api/v1/institutions/"} <= set(paths)
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "swagger-ui" in page
    assert "//cdn" not in page and "https://" not in page.split("<body")[0]
    assert client.get("/api/docs/?script=").status_code == 200
