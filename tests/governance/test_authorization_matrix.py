"""Every role against every page and API endpoint of risk groups, KYC and memberships.

A view added to the page or API routes of governance.risk_groups, .memberships or .kyc without
a row here fails test_every_route_is_in_the_matrix, so nothing slips through unchecked.

Expectations: "ok" (the gate let the request through: any answer below 500 other than a
login redirect, 401, 403 or 404; a 400 or 409 from the service counts as through), "login"
(anonymous: redirected to log in, or 401 from the API), 403, 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver

from governance.kyc import api_urls as kyc_api_urls
from governance.kyc import urls as kyc_urls
from governance.kyc.models import KycApplication
from governance.kyc.services import kyc_application_submit
from governance.memberships import api_urls as membership_api_urls
from governance.memberships import urls as membership_urls
from governance.risk_groups import api_urls as risk_group_api_urls
from governance.risk_groups import urls as risk_group_urls
from governance.risk_groups.models import RiskGroup
from tests.factories import UserFactory
from tests.governance.conftest import upload, with_documents
from tests.governance.factories import (
    KycApplicationFactory,
    MarketBoundsFactory,
    MembershipFactory,
    PermissionlessGroupFactory,
    RegulatedGroupFactory,
)
from xip_portal.models import StaffRole, User

ROLES = [
    "anonymous",
    "trader",
    "applicant",
    "kyc_admin_a",
    "kyc_admin_b",
    "operator",
    "site_admin",
]


def expect(default: str, **per_role: str) -> dict[str, str]:
    return {role: per_role.get(role, default) for role in ROLES}


EVERYONE = expect("ok")
SIGNED_IN = expect("ok", anonymous="login")
OWN = expect("404", anonymous="login", applicant="ok")
QUEUE = expect("403", anonymous="login", kyc_admin_a="ok", kyc_admin_b="ok", site_admin="ok")
CASE = expect("403", anonymous="login", kyc_admin_a="ok", kyc_admin_b="404", site_admin="ok")
OPERATE = expect("403", anonymous="login", operator="ok", site_admin="ok")
OPERATE_OTHER_PAGE = expect("403", anonymous="login", operator="404", site_admin="ok")
SITE_ADMIN_ONLY = expect("403", anonymous="login", site_admin="ok")
MEMBERS = expect("403", anonymous="login", kyc_admin_a="ok", operator="ok", site_admin="ok")


@dataclass
class World:
    group_a: RiskGroup
    group_b: RiskGroup
    open_group: RiskGroup
    application: KycApplication
    document_id: int
    membership_id: int
    users: dict[str, User | None]


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    data: dict[str, Any] | None
    expected: dict[str, str]


def endpoints(world: World) -> list[Endpoint]:
    a, b, p = world.group_a.slug, world.group_b.slug, world.open_group.slug
    app, doc, member = world.application.pk, world.document_id, world.membership_id
    join = {"country_of_residence": "BR", "accept_terms": True}
    decision = {"decision": "needs_info", "note": "Add the flat number."}
    policy = {"vote_quorum": 4}
    profile = {"address": "1 Rue de Rivoli, flat 4"}
    pdf = {"kind": "identity_document"}
    return [
        # Pages
        Endpoint("riskgroup_list", "get", "/risk-groups/", None, EVERYONE),
        Endpoint("riskgroup_detail", "get", f"/risk-groups/{a}/", None, EVERYONE),
        Endpoint("riskgroup_join", "post", f"/risk-groups/{p}/join/", join, SIGNED_IN),
        Endpoint("kyc_apply", "get", f"/risk-groups/{a}/apply/", None, SIGNED_IN),
        Endpoint("kyc_my_applications", "get", "/kyc/", None, SIGNED_IN),
        Endpoint("kyc_application", "get", f"/kyc/{app}/", None, OWN),
        Endpoint("kyc_application", "post", f"/kyc/{app}/", profile, OWN),
        Endpoint("kyc_document_upload", "post", f"/kyc/{app}/documents/", pdf, OWN),
        Endpoint("kyc_document_delete", "post", f"/kyc/{app}/documents/{doc}/delete/", {}, OWN),
        Endpoint("kyc_submit", "post", f"/kyc/{app}/submit/", {}, OWN),
        Endpoint("kyc_document_download", "get", f"/kyc/documents/{doc}/", None, OWN),
        Endpoint("kyc_queue", "get", "/staff/kyc/", None, QUEUE),
        Endpoint("kyc_review", "get", f"/staff/kyc/{app}/", None, CASE),
        Endpoint("kyc_review", "post", f"/staff/kyc/{app}/", decision, CASE),
        Endpoint("kyc_review_document", "get", f"/staff/kyc/documents/{doc}/", None, CASE),
        Endpoint("riskgroup_new", "get", "/staff/risk-groups/new/", None, SITE_ADMIN_ONLY),
        Endpoint("riskgroup_edit", "get", f"/staff/risk-groups/{a}/", None, OPERATE),
        Endpoint("riskgroup_edit", "get", f"/staff/risk-groups/{b}/", None, OPERATE_OTHER_PAGE),
        Endpoint(
            "riskgroup_collateral",
            "post",
            f"/staff/risk-groups/{a}/collateral/",
            {"symbol": "ETH", "haircut_bps": 1500},
            OPERATE,
        ),
        Endpoint("riskgroup_members", "get", f"/staff/risk-groups/{a}/members/", None, MEMBERS),
        Endpoint(
            "membership_revoke",
            "post",
            f"/staff/memberships/{member}/revoke/",
            {"reason": "Left"},
            MEMBERS,
        ),
        # API
        Endpoint("api_riskgroups", "get", "/api/v1/risk-groups/", None, EVERYONE),
        Endpoint(
            "api_riskgroups",
            "post",
            "/api/v1/risk-groups/",
            {"name": "New group", "kind": "permissionless"},
            SITE_ADMIN_ONLY,
        ),
        Endpoint("api_riskgroup", "get", f"/api/v1/risk-groups/{a}/", None, EVERYONE),
        Endpoint("api_riskgroup", "patch", f"/api/v1/risk-groups/{a}/", policy, OPERATE),
        Endpoint(
            "api_riskgroup",
            "patch",
            f"/api/v1/risk-groups/{b}/",
            policy,
            expect("403", anonymous="login", site_admin="ok"),
        ),
        Endpoint(
            "api_riskgroup_collateral",
            "put",
            f"/api/v1/risk-groups/{a}/collateral/ETH/",
            {"haircut_bps": 1000},
            OPERATE,
        ),
        Endpoint(
            "api_riskgroup_collateral",
            "delete",
            f"/api/v1/risk-groups/{a}/collateral/ETH/",
            None,
            OPERATE,
        ),
        Endpoint("api_riskgroup_join", "post", f"/api/v1/risk-groups/{p}/join/", join, SIGNED_IN),
        Endpoint("api_memberships", "get", "/api/v1/memberships/", None, SIGNED_IN),
        Endpoint("api_kyc_applications", "get", "/api/v1/kyc/applications/", None, SIGNED_IN),
        Endpoint(
            "api_kyc_applications",
            "post",
            "/api/v1/kyc/applications/",
            {"risk_group": a, "kind": "person"},
            SIGNED_IN,
        ),
        Endpoint("api_kyc_application", "get", f"/api/v1/kyc/applications/{app}/", None, OWN),
        Endpoint("api_kyc_application", "patch", f"/api/v1/kyc/applications/{app}/", profile, OWN),
        Endpoint(
            "api_kyc_documents", "post", f"/api/v1/kyc/applications/{app}/documents/", pdf, OWN
        ),
        Endpoint(
            "api_kyc_document_delete",
            "delete",
            f"/api/v1/kyc/applications/{app}/documents/{doc}/",
            None,
            OWN,
        ),
        Endpoint("api_kyc_submit", "post", f"/api/v1/kyc/applications/{app}/submit/", {}, OWN),
        Endpoint("api_kyc_document", "get", f"/api/v1/kyc/documents/{doc}/", None, OWN),
        Endpoint("api_kyc_queue", "get", "/api/v1/staff/kyc/applications/", None, QUEUE),
        Endpoint("api_kyc_case", "get", f"/api/v1/staff/kyc/applications/{app}/", None, CASE),
        Endpoint(
            "api_kyc_decision",
            "post",
            f"/api/v1/staff/kyc/applications/{app}/decision/",
            decision,
            CASE,
        ),
        Endpoint(
            "api_kyc_review_document", "get", f"/api/v1/staff/kyc/documents/{doc}/", None, CASE
        ),
        Endpoint(
            "api_riskgroup_members", "get", f"/api/v1/staff/risk-groups/{a}/members/", None, MEMBERS
        ),
        Endpoint(
            "api_membership_revoke",
            "post",
            f"/api/v1/staff/memberships/{member}/revoke/",
            {"reason": "Left"},
            MEMBERS,
        ),
    ]


@pytest.fixture
def world(db: Any, make_staff: Any) -> World:
    group_a, group_b = RegulatedGroupFactory(), RegulatedGroupFactory()
    for group in (group_a, group_b):
        MarketBoundsFactory(risk_group=group)
    open_group = PermissionlessGroupFactory()
    application = with_documents(KycApplicationFactory(risk_group=group_a))
    kyc_application_submit(actor=application.applicant, application=application)
    users: dict[str, User | None] = {
        "anonymous": None,
        "trader": UserFactory(),
        "applicant": application.applicant,
        "kyc_admin_a": make_staff(StaffRole.KYC_ADMIN, group_a),
        "kyc_admin_b": make_staff(StaffRole.KYC_ADMIN, group_b),
        "operator": make_staff(StaffRole.RISK_GROUP_OPERATOR, group_a),
        "site_admin": make_staff(StaffRole.SITE_ADMIN),
    }
    document_id = application.documents.values_list("pk", flat=True).first()
    assert document_id is not None
    membership = MembershipFactory(risk_group=group_a)
    return World(group_a, group_b, open_group, application, document_id, membership.pk, users)


def outcome(response: Any, *, api: bool) -> str:
    status = response.status_code
    assert status < 500, f"server error {status}"
    if status in (401, 403, 404):
        return "login" if status == 401 else str(status)
    if status == 302 and "/accounts/login/" in response.get("Location", ""):
        return "login"
    return "ok"


def call(client: Client, endpoint: Endpoint) -> Any:
    api = endpoint.path.startswith("/api/")
    data = dict(endpoint.data) if endpoint.data is not None else None
    if endpoint.name in ("kyc_document_upload", "api_kyc_documents") and data is not None:
        data["file"] = upload()
        return client.post(endpoint.path, data)
    method = getattr(client, endpoint.method)
    if data is None:
        return method(endpoint.path)
    if api:
        return method(endpoint.path, data, content_type="application/json")
    return method(endpoint.path, data)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_it_may(role: str, world: World, client: Client) -> None:
    user = world.users[role]
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")

    seen = {}
    wanted = {}
    for endpoint in endpoints(world):
        key = f"{endpoint.method.upper()} {endpoint.path}"
        seen[key] = outcome(call(client, endpoint), api=endpoint.path.startswith("/api/"))
        wanted[key] = endpoint.expected[role]

    assert seen == wanted


def _names(patterns: list[URLPattern | URLResolver]) -> set[str]:
    return {
        pattern.name for pattern in patterns if isinstance(pattern, URLPattern) and pattern.name
    }


@pytest.mark.django_db
def test_every_route_is_in_the_matrix() -> None:
    group = RegulatedGroupFactory.build(slug="x")
    application = KycApplicationFactory.build(pk=1)
    world = World(group, group, group, application, 1, 1, {})

    covered = {endpoint.name for endpoint in endpoints(world)}

    routes = set().union(
        *(
            _names(urls.urlpatterns)
            for urls in (
                risk_group_urls,
                risk_group_api_urls,
                membership_urls,
                membership_api_urls,
                kyc_urls,
                kyc_api_urls,
            )
        )
    )
    assert routes - covered == set()
