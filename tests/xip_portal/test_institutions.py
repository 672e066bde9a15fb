"""Institutions: a user creates one and adds members, on pages and through the API; bad
input is refused with the field named and nothing written."""

import pytest
from django.test import Client

from tests.factories import InstitutionFactory, InstitutionMembershipFactory, UserFactory
from xip_portal.models import AuditEntry, Institution, InstitutionMembership

pytestmark = pytest.mark.django_db


def test_a_user_creates_an_institution_and_becomes_its_admin(user, login) -> None:
    client: Client = login(user)

    response = client.post("/institutions/new/", {"name": "Acme Markets", "website": "acme.test"})

    institution = Institution.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/institutions/{institution.slug}/"
    assert institution.website == "https://acme.test"
    assert InstitutionMembership.objects.get().role == InstitutionMembership.Role.ADMIN
    assert AuditEntry.objects.get().action == "institution.create"
    assert "Institution member" in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "x" * 201}, "name", "at most 200 characters"),
        ({"name": "Acme", "website": "not a url"}, "website", "Enter a valid URL."),
        ({"name": "!!!"}, "name", "at least one letter or digit"),
        ({"name": "taken"}, "name", "already exists"),
    ],
)
def test_bad_institution_input_is_shown_beside_the_field(user, login, data, field, message):
    InstitutionFactory(name="Taken", slug="taken")
    client: Client = login(user)

    response = client.post("/institutions/new/", data)

    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}_errors"' in page
    assert message in page
    assert Institution.objects.count() == 1
    assert not AuditEntry.objects.exists()


def test_an_admin_adds_a_member_and_a_member_cannot(user, login) -> None:
    institution = InstitutionFactory()
    InstitutionMembershipFactory(institution=institution, user=user, role="admin")
    newcomer, outsider = UserFactory(), UserFactory()
    client: Client = login(user)

    added = client.post(
        f"/institutions/{institution.slug}/", {"email": newcomer.email, "role": "member"}
    )

    assert added.status_code == 302
    assert institution.members.filter(pk=newcomer.pk).exists()
    as_member = login(newcomer).post(
        f"/institutions/{institution.slug}/", {"email": outsider.email, "role": "member"}
    )
    assert as_member.status_code == 403
    assert not institution.members.filter(pk=outsider.pk).exists()


@pytest.mark.parametrize(
    ("email", "message"),
    [("nobody@example.test", "No account has the address"), ("", "This field is required.")],
)
def test_adding_an_unknown_or_missing_member_says_so(user, login, email, message) -> None:
    institution = InstitutionFactory()
    InstitutionMembershipFactory(institution=institution, user=user, role="admin")

    response = login(user).post(
        f"/institutions/{institution.slug}/", {"email": email, "role": "member"}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert institution.members.count() == 1


def test_outsiders_cannot_see_an_institution(user, login) -> None:
    institution = InstitutionFactory()

    assert login(user).get(f"/institutions/{institution.slug}/").status_code == 404


def test_api_creates_lists_and_adds_members_with_a_token(user, api_client) -> None:
    from rest_framework.authtoken.models import Token

    newcomer = UserFactory()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    created = api_client.post("/api/v1/institutions/", {"name": "Bot Builders"}, format="json")
    listed = api_client.get("/api/v1/institutions/")
    member = api_client.post(
        "/api/v1/institutions/bot-builders/members/", {"email": newcomer.email}, format="json"
    )

    assert created.status_code == 201
    assert created.json()["slug"] == "bot-builders"
    assert [row["name"] for row in listed.json()] == ["Bot Builders"]
    assert member.status_code == 201
    assert member.json() == {"member": newcomer.display_name, "role": "member"}


@pytest.mark.parametrize(
    ("path", "payload", "status", "code", "field"),
    [
        ("/api/v1/institutions/", {}, 400, "invalid", "name"),
        ("/api/v1/institutions/", {"name": "A", "website": "nope"}, 400, "invalid", "website"),
        ("/api/v1/institutions/", {"name": "Taken"}, 409, "institution_exists", "name"),
        ("/api/v1/institutions/taken/members/", {"email": "x"}, 400, "invalid", "email"),
        (
            "/api/v1/institutions/taken/members/",
            {"email": "a@b.test", "role": "boss"},
            400,
            "invalid",
            "role",
        ),
        (
            "/api/v1/institutions/taken/members/",
            {"email": "ghost@b.test"},
            400,
            "user_not_found",
            "email",
        ),
    ],
)
def test_api_bad_input_gets_code_message_and_field(
    user, api_client, path, payload, status, code, field
):
    taken = InstitutionFactory(name="Taken", slug="taken")
    InstitutionMembershipFactory(institution=taken, user=user, role="admin")
    api_client.force_authenticate(user)

    response = api_client.post(path, payload, format="json")

    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert field in body["fields"]
    assert body["message"]
    assert Institution.objects.count() == 1


def test_api_refuses_anonymous_callers_with_401(api_client) -> None:
    response = api_client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_api_malformed_json_is_a_clear_400(user, api_client) -> None:
    api_client.force_authenticate(user)

    response = api_client.post(
        "/api/v1/institutions/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_api_unknown_path_is_json_404(api_client) -> None:
    response = api_client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "There is nothing here.",
        "fields": {},
    }
