"""Risk groups: site admins create them, operators edit their policy (audited, old and new
values, a no-op writes nothing), bad input names the field; the public pages and API."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from governance.risk_groups.models import MarketBounds, RiskGroup
from governance.risk_groups.services import (
    collateral_asset_remove,
    collateral_asset_set,
    risk_group_create,
    risk_group_policy_update,
)
from tests.factories import InstitutionFactory, UserFactory
from tests.governance.factories import (
    CollateralAssetFactory,
    MarketBoundsFactory,
    PermissionlessGroupFactory,
    RegulatedGroupFactory,
)
from xip_portal.errors import ApplicationError, NotFound, PermissionDenied
from xip_portal.models import AuditEntry, StaffRole

pytestmark = pytest.mark.django_db


def test_a_site_admin_creates_a_group_with_default_bounds(make_staff: Any) -> None:
    admin = make_staff(StaffRole.SITE_ADMIN)
    operator = InstitutionFactory()

    group = risk_group_create(
        actor=admin,
        name="Swiss Regulated",
        kind="kyc",
        operator=operator,
        policy={"blocked_jurisdictions": ["kp", "IR"], "proposal_bond_amount": "250.5"},
        bounds={"max_leverage": 10},
    )

    assert group.slug == "swiss-regulated"
    assert group.is_regulated
    assert group.blocked_jurisdictions == ["IR", "KP"]
    assert group.proposal_bond_amount == Decimal("250.5")
    assert group.bounds.max_leverage == 10
    entry = AuditEntry.objects.get(action="risk_group.create")
    assert entry.actor == admin
    assert entry.new_values["operator"] == operator.name


def test_only_site_admins_create_groups(make_staff: Any) -> None:
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR)

    with pytest.raises(PermissionDenied):
        risk_group_create(actor=operator, name="Mine", kind="kyc")
    assert not RiskGroup.objects.filter(name="Mine").exists()


def test_an_operator_edits_the_policy_and_each_change_is_audited(make_staff: Any) -> None:
    group = RegulatedGroupFactory(last_call_minutes=168, vote_quorum=3)
    MarketBoundsFactory(risk_group=group)
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, group)

    risk_group_policy_update(
        actor=operator,
        risk_group=group,
        policy={"last_call_minutes": 72, "vote_quorum": 3, "high_risk_countries": ["ru"]},
        bounds={"max_leverage": 5},
        reason="Shorter Last Call after the pilot",
    )

    group.refresh_from_db()
    assert group.last_call_minutes == 72
    assert group.high_risk_countries == ["RU"]
    assert group.bounds.max_leverage == 5
    entry = AuditEntry.objects.get(action="risk_group.policy_update")
    assert entry.old_values == {
        "last_call_minutes": 168,
        "high_risk_countries": [],
        "bounds.max_leverage": 20,
    }
    assert entry.new_values == {
        "last_call_minutes": 72,
        "high_risk_countries": ["RU"],
        "bounds.max_leverage": 5,
    }
    assert entry.reason == "Shorter Last Call after the pilot"

    # The same values again change nothing and write nothing.
    risk_group_policy_update(
        actor=operator,
        risk_group=group,
        policy={"last_call_minutes": 72},
        bounds={"max_leverage": 5},
    )
    assert AuditEntry.objects.filter(action="risk_group.policy_update").count() == 1


def test_an_operator_of_another_group_cannot_edit(make_staff: Any) -> None:
    group = RegulatedGroupFactory()
    outsider = make_staff(StaffRole.RISK_GROUP_OPERATOR, RegulatedGroupFactory())

    with pytest.raises(PermissionDenied):
        risk_group_policy_update(actor=outsider, risk_group=group, policy={"vote_quorum": 9})
    group.refresh_from_db()
    assert group.vote_quorum == 3


@pytest.mark.parametrize(
    ("policy", "bounds", "field"),
    [
        ({"blocked_jurisdictions": ["XX"]}, {}, "blocked_jurisdictions"),
        ({"vote_threshold_bps": 10001}, {}, "vote_threshold_bps"),
        ({"proposal_bond_amount": "-1"}, {}, "proposal_bond_amount"),
        ({"proposal_bond_amount": "0.0000001"}, {}, "proposal_bond_amount"),
        ({"last_call_minutes": 0}, {}, "last_call_minutes"),
        ({"name": "Renamed"}, {}, "name"),
        ({}, {"min_tick": "1", "max_tick": "0.5"}, "max_tick"),
        ({}, {"allowed_oracle_kinds": ["crystal-ball"]}, "allowed_oracle_kinds"),
        ({}, {"min_taker_fee_bps": -1}, "min_taker_fee_bps"),
    ],
)
def test_bad_policy_input_names_the_field_and_writes_nothing(
    make_staff: Any, policy: dict[str, Any], bounds: dict[str, Any], field: str
) -> None:
    group = RegulatedGroupFactory()
    MarketBoundsFactory(risk_group=group)
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, group)

    with pytest.raises(ApplicationError) as refused:
        risk_group_policy_update(actor=operator, risk_group=group, policy=policy, bounds=bounds)

    assert field in refused.value.fields
    assert not AuditEntry.objects.filter(action="risk_group.policy_update").exists()


def test_collateral_assets_with_haircuts(make_staff: Any) -> None:
    group = RegulatedGroupFactory()
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, group)

    collateral_asset_set(actor=operator, risk_group=group, symbol="usdc", haircut_bps=0)
    collateral_asset_set(actor=operator, risk_group=group, symbol="ETH", haircut_bps=1500)
    collateral_asset_set(actor=operator, risk_group=group, symbol="ETH", haircut_bps=1500)
    collateral_asset_set(actor=operator, risk_group=group, symbol="ETH", haircut_bps=2000)
    with pytest.raises(ApplicationError) as refused:
        collateral_asset_set(actor=operator, risk_group=group, symbol="BTC", haircut_bps=10000)
    collateral_asset_remove(actor=operator, risk_group=group, symbol="usdc")
    with pytest.raises(NotFound):
        collateral_asset_remove(actor=operator, risk_group=group, symbol="usdc")

    assert "haircut_bps" in refused.value.fields
    assert [(a.symbol, a.haircut_bps) for a in group.collateral_assets.all()] == [("ETH", 2000)]
    actions = list(
        AuditEntry.objects.filter(object_type="governance.riskgroup", object_id=str(group.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "risk_group.collateral_add",
        "risk_group.collateral_add",
        "risk_group.collateral_update",
        "risk_group.collateral_remove",
    ]


def test_the_public_list_page_in_a_fixed_number_of_queries(
    client: Client, django_assert_num_queries: Any
) -> None:
    for _ in range(3):
        RegulatedGroupFactory()
        PermissionlessGroupFactory()

    with django_assert_num_queries(1):
        response = client.get("/risk-groups/")

    assert response.status_code == 200
    assert response.content.decode().count("/risk-groups/") >= 6


def test_the_detail_page_shows_kind_operator_policy_bounds_and_collateral(
    client: Client, django_assert_num_queries: Any
) -> None:
    group = RegulatedGroupFactory(name="Alpine", vote_quorum=7, blocked_jurisdictions=["KP"])
    MarketBoundsFactory(risk_group=group, max_leverage=15)
    CollateralAssetFactory(risk_group=group, symbol="ETH", haircut_bps=1500)

    with django_assert_num_queries(4):
        response = client.get(f"/risk-groups/{group.slug}/")

    page = response.content.decode()
    assert "KYC-regulated" in page
    assert group.operator.name in page
    assert "7 votes" in page
    assert "KP" in page
    assert "15×" in page
    assert "ETH" in page and "1500 bps" in page
    assert "Apply for KYC" not in page  # anonymous visitors are asked to log in


def test_the_detail_page_for_a_member_in_a_fixed_number_of_queries(
    login: Any, django_assert_num_queries: Any
) -> None:
    group = RegulatedGroupFactory()
    MarketBoundsFactory(risk_group=group)
    client = login(UserFactory())
    client.get(f"/risk-groups/{group.slug}/")  # warm the session

    with django_assert_num_queries(10):
        response = client.get(f"/risk-groups/{group.slug}/")
    assert "Apply for KYC" in response.content.decode()


def test_the_api_lists_groups_in_a_fixed_number_of_queries(
    api_client: APIClient, django_assert_num_queries: Any
) -> None:
    for _ in range(3):
        group = RegulatedGroupFactory()
        MarketBoundsFactory(risk_group=group)
        CollateralAssetFactory(risk_group=group)

    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/risk-groups/")

    assert response.status_code == 200
    body = response.json()
    assert len(body) == 3
    assert body[0]["bounds"]["max_leverage"] == 20
    assert body[0]["collateral_assets"] == [{"symbol": "USDC", "haircut_bps": 0}]


def test_the_api_patch_edits_the_policy_for_operators(
    api_client: APIClient, make_staff: Any
) -> None:
    group = RegulatedGroupFactory()
    MarketBounds.objects.create(risk_group=group)
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, group)
    api_client.force_authenticate(operator)

    response = api_client.patch(
        f"/api/v1/risk-groups/{group.slug}/",
        {"vote_quorum": 5, "bounds": {"max_leverage": 3}, "reason": "pilot"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["vote_quorum"] == 5
    assert response.json()["bounds"]["max_leverage"] == 3

    typo = api_client.patch(f"/api/v1/risk-groups/{group.slug}/", {"vote_qorum": 5}, format="json")
    assert typo.status_code == 400
    assert typo.json()["fields"] == {"vote_qorum": ["Unknown field."]}


def test_a_site_admin_creates_and_edits_a_group_in_the_admin_with_audit(
    make_staff: Any, login: Any
) -> None:
    admin_user = make_staff(StaffRole.SITE_ADMIN)
    client = login(admin_user)
    form = {
        "name": "Admin Made",
        "slug": "admin-made",
        "kind": "permissionless",
        "last_call_minutes": 48,
        "vote_quorum": 2,
        "vote_threshold_bps": 5000,
        "stagnant_after_days": 90,
        "proposal_bond_amount": "10",
        "proposal_bond_asset": "USDC",
        "faucet_daily_amount": "0",
        "reverification_days": 365,
        "high_risk_countries": "[]",
        "blocked_jurisdictions": '["KP"]',
        "allowed_jurisdictions": "[]",
    }

    created = client.post("/admin/governance/riskgroup/add/", form)
    group = RiskGroup.objects.get(slug="admin-made")
    changed = client.post(
        f"/admin/governance/riskgroup/{group.pk}/change/", {**form, "vote_quorum": 6}
    )

    assert created.status_code == 302 and changed.status_code == 302
    group.refresh_from_db()
    assert group.vote_quorum == 6
    assert group.bounds.max_leverage == 20
    actions = list(
        AuditEntry.objects.filter(object_type="governance.riskgroup").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["risk_group.create", "risk_group.policy_update"]


def policy_form(group: RiskGroup, **changes: Any) -> dict[str, Any]:
    bounds = group.bounds
    form = {
        "description": group.description,
        "last_call_minutes": group.last_call_minutes,
        "vote_quorum": group.vote_quorum,
        "vote_threshold_bps": group.vote_threshold_bps,
        "stagnant_after_days": group.stagnant_after_days,
        "proposal_bond_amount": group.proposal_bond_amount,
        "proposal_bond_asset": group.proposal_bond_asset,
        "faucet_daily_amount": group.faucet_daily_amount,
        "reverification_days": group.reverification_days,
        "high_risk_countries": "",
        "blocked_jurisdictions": "",
        "allowed_jurisdictions": "",
        "terms": group.terms,
        "min_tick": bounds.min_tick,
        "max_tick": bounds.max_tick,
        "min_lot": bounds.min_lot,
        "max_lot": bounds.max_lot,
        "min_maker_fee_bps": bounds.min_maker_fee_bps,
        "max_maker_fee_bps": bounds.max_maker_fee_bps,
        "min_taker_fee_bps": bounds.min_taker_fee_bps,
        "max_taker_fee_bps": bounds.max_taker_fee_bps,
        "max_leverage": bounds.max_leverage,
        "allowed_market_types": bounds.allowed_market_types,
        "allowed_oracle_kinds": bounds.allowed_oracle_kinds,
    }
    form.update(changes)
    return form


def test_the_operator_edits_the_policy_on_the_staff_page(make_staff: Any, login: Any) -> None:
    group = RegulatedGroupFactory()
    MarketBoundsFactory(risk_group=group)
    client = login(make_staff(StaffRole.RISK_GROUP_OPERATOR, group))

    bad = client.post(
        f"/staff/risk-groups/{group.slug}/",
        policy_form(group, blocked_jurisdictions="KP, ZZ", min_tick="2", max_tick="1"),
    )
    saved = client.post(
        f"/staff/risk-groups/{group.slug}/",
        policy_form(group, blocked_jurisdictions="kp, ir", reason="Sanctions list update"),
    )

    assert bad.status_code == 400
    page = bad.content.decode()
    assert "Not ISO 3166 alpha-2 codes: ZZ." in page
    assert "Must be at least min tick" in page
    assert saved.status_code == 302
    group.refresh_from_db()
    assert group.blocked_jurisdictions == ["IR", "KP"]
    entry = AuditEntry.objects.get(action="risk_group.policy_update")
    assert entry.new_values == {"blocked_jurisdictions": ["IR", "KP"]}
    assert entry.reason == "Sanctions list update"


def test_a_site_admin_creates_a_group_on_the_staff_page(make_staff: Any, login: Any) -> None:
    client = login(make_staff(StaffRole.SITE_ADMIN))
    operator = InstitutionFactory()

    response = client.post(
        "/staff/risk-groups/new/",
        {"name": "Pacific Open", "kind": "permissionless", "operator": operator.pk},
    )
    duplicate = client.post("/staff/risk-groups/new/", {"name": "pacific open", "kind": "kyc"})

    assert response.status_code == 302
    assert RiskGroup.objects.get(slug="pacific-open").operator == operator
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.content.decode()
