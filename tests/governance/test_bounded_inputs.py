"""Values beyond what the database or the code can hold, found by an attacker's sweep, are
refused naming the field and nothing is stored: XIP spec numbers and times, risk-group
policy integers (API, page and create), a huge re-verification period, a huge bond in a
new-risk-group XIP, KYB owner shares with too many decimals, NUL bytes in reasons."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from governance.kyc.models import KycApplication
from governance.proposals.models import Proposal, ProposalStatus, ProposalType
from governance.risk_groups.models import RiskGroup
from tests.factories import InstitutionMembershipFactory
from tests.governance.factories import MarketBoundsFactory, RegulatedGroupFactory
from tests.governance.risk_groups.test_risk_groups import policy_form
from tests.markets.factories import member_create, prediction_spec, proposal_make, spot_spec
from xip_portal.models import InstitutionMembership, StaffRole

pytestmark = pytest.mark.django_db


def _draft(api: APIClient, group: RiskGroup, proposal_type: str, spec: dict[str, Any]) -> Any:
    body = {"title": "Hostile", "proposal_type": proposal_type, "risk_group": group.slug}
    return api.post("/api/v1/proposals/", body | {"spec": spec}, format="json")


@pytest.mark.parametrize(
    ("spec", "field", "limit"),
    [
        (spot_spec(tick="1e1000000"), "tick", "1e12"),
        (spot_spec(lot="1e-1000000"), "lot", "18 decimal places"),
        (spot_spec(min_size=str(10**30)), "min_size", "1e12"),
        (spot_spec(maker_fee_bps=2**31), "maker_fee_bps", "10000"),
        (prediction_spec(close_time="2030-02-30T00:00:00Z"), "close_time", "real date"),
        (prediction_spec(close_time="9999-12-31T23:00:00-05:00"), "close_time", "9000-01-01"),
    ],
)
def test_market_xip_spec_values_beyond_their_limits_are_refused(
    api_client: APIClient, open_group: RiskGroup, spec, field, limit
) -> None:
    api_client.force_authenticate(member_create(open_group))

    response = _draft(api_client, open_group, ProposalType.MARKET, spec)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_spec"
    assert limit in " ".join(response.json()["fields"][field])
    assert not Proposal.objects.exists()


def test_the_largest_min_size_in_the_smallest_lots_is_checked_exactly(
    api_client: APIClient, open_group: RiskGroup
) -> None:
    open_group.bounds.min_lot = Decimal("0.000000000000000001")
    open_group.bounds.save()
    api_client.force_authenticate(member_create(open_group))
    tiny = "0.000000000000000001"
    whole = spot_spec(min_size="999999999999.999999999999999999", lot=tiny)
    off = spot_spec(min_size="999999999999.999999999999999999", lot="0.000000000000000002")

    accepted = _draft(api_client, open_group, ProposalType.MARKET, whole)
    refused = _draft(api_client, open_group, ProposalType.MARKET, off)

    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["spec"]["min_size"] == "999999999999.999999999999999999"
    assert refused.json()["fields"]["min_size"] == ["Must be a whole number of lots."]


def test_a_nul_byte_in_a_spec_string_is_refused(api_client: APIClient, open_group) -> None:
    api_client.force_authenticate(member_create(open_group))

    response = _draft(api_client, open_group, ProposalType.MARKET, spot_spec(symbol="BTC\x00USDC"))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_characters"
    assert not Proposal.objects.exists()


def test_a_new_risk_group_xip_with_a_bond_its_column_cannot_hold_is_refused(
    api_client: APIClient, open_group: RiskGroup
) -> None:
    api_client.force_authenticate(member_create(open_group))
    spec = {
        "name": "Huge bond",
        "slug": "huge-bond",
        "kind": "permissionless",
        "last_call_minutes": 24,
        "vote_quorum": 1,
        "vote_threshold_bps": 5000,
        "stagnant_after_days": 30,
        "proposal_bond_amount": str(10**30),
    }

    response = _draft(api_client, open_group, ProposalType.RISK_GROUP, spec)

    assert response.status_code == 400
    assert "1e14" in response.json()["fields"]["proposal_bond_amount"][0]
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"vote_quorum": 2**31}, "vote_quorum"),
        ({"reverification_days": 1_000_000_000}, "reverification_days"),
        ({"last_call_minutes": 10**30}, "last_call_minutes"),
        ({"proposal_bond_amount": "1e1000000"}, "proposal_bond_amount"),
        ({"faucet_daily_amount": "1e15"}, "faucet_daily_amount"),
        ({"faucet_daily_amount": "-1"}, "faucet_daily_amount"),
        ({"faucet_daily_amount": "0.0000001"}, "faucet_daily_amount"),
        ({"simulated_collateral": "maybe"}, "simulated_collateral"),
        ({"bounds": {"max_leverage": 2**31}}, "bounds"),
        ({"bounds": {"min_tick": "NaN"}}, "bounds"),
    ],
)
def test_policy_values_beyond_their_columns_are_refused_by_the_api(
    api_client: APIClient, make_staff: Any, policy, field
) -> None:
    group = RegulatedGroupFactory()
    MarketBoundsFactory(risk_group=group)
    api_client.force_authenticate(make_staff(StaffRole.RISK_GROUP_OPERATOR, group))
    before = RiskGroup.objects.values().get(pk=group.pk)

    response = api_client.patch(f"/api/v1/risk-groups/{group.slug}/", policy, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert RiskGroup.objects.values().get(pk=group.pk) == before


def test_the_operator_makes_the_collateral_simulated_with_a_faucet(
    api_client: APIClient, make_staff: Any
) -> None:
    group = RegulatedGroupFactory()
    MarketBoundsFactory(risk_group=group)
    api_client.force_authenticate(make_staff(StaffRole.RISK_GROUP_OPERATOR, group))

    response = api_client.patch(
        f"/api/v1/risk-groups/{group.slug}/",
        {"simulated_collateral": True, "faucet_daily_amount": "10000.5"},
        format="json",
    )

    assert response.status_code == 200, response.content
    group.refresh_from_db()
    assert group.simulated_collateral and group.faucet_daily_amount == Decimal("10000.5")
    assert response.json()["faucet_daily_amount"] == "10000.500000"


def test_a_huge_reverification_period_is_refused_on_the_staff_page(
    make_staff: Any, login: Any
) -> None:
    group = RegulatedGroupFactory()
    MarketBoundsFactory(risk_group=group)
    client = login(make_staff(StaffRole.RISK_GROUP_OPERATOR, group))

    response = client.post(
        f"/staff/risk-groups/{group.slug}/",
        policy_form(group, reverification_days="1000000000", vote_quorum=str(2**31)),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "must be between 1 and 36500" in page
    assert "must be between 1 and 2147483647" in page
    group.refresh_from_db()
    assert group.reverification_days == 365


def test_a_site_admin_cannot_create_a_group_with_policy_beyond_its_columns(
    api_client: APIClient, make_staff: Any
) -> None:
    api_client.force_authenticate(make_staff(StaffRole.SITE_ADMIN))

    response = api_client.post(
        "/api/v1/risk-groups/",
        {"name": "Big", "kind": "permissionless", "stagnant_after_days": 2**31},
        format="json",
    )

    assert response.status_code == 400
    assert "stagnant_after_days" in response.json()["fields"]
    assert not RiskGroup.objects.filter(name="Big").exists()


def test_a_kyb_owner_share_with_more_decimals_than_the_api_allows_is_refused_on_the_page(
    login: Any,
) -> None:
    group = RegulatedGroupFactory()
    admin = InstitutionMembershipFactory(role=InstitutionMembership.Role.ADMIN)
    client = login(admin.user)
    client.post(
        f"/risk-groups/{group.slug}/apply/",
        {"kind": "institution", "institution": admin.institution.pk},
    )
    application = KycApplication.objects.get(institution=admin.institution)

    response = client.post(
        f"/kyc/{application.pk}/",
        {
            "registration_number": "HRB 1",
            "jurisdiction": "DE",
            "beneficial_owners": "Ada Owner; DE; 33.3333333333",
        },
    )

    assert response.status_code == 400
    assert "at most 3 decimal places" in response.content.decode()
    application.refresh_from_db()
    assert application.beneficial_owners == []


def test_a_nul_byte_in_a_withdraw_reason_is_refused_and_nothing_changes(
    login: Any, open_group: RiskGroup
) -> None:
    author = member_create(open_group)
    proposal = proposal_make(group=open_group, author=author, status=ProposalStatus.REVIEW)
    client: Client = login(author)

    response = client.post(f"/proposals/{proposal.pk}/withdraw/", {"reason": "bye\x00"})

    assert response.status_code == 400
    assert "invalid_characters" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.REVIEW


def test_an_xip_body_longer_than_the_page_can_render_quickly_is_refused(
    api_client: APIClient, open_group: RiskGroup
) -> None:
    api_client.force_authenticate(member_create(open_group))
    body = {"title": "Long", "proposal_type": ProposalType.PROCESS, "risk_group": open_group.slug}

    response = api_client.post("/api/v1/proposals/", body | {"body": "[" * 50_001}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["body"] == ["At most 50000 characters."]
    assert not Proposal.objects.exists()
