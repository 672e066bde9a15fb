"""The operator's launch time, on the page and in the API, is refused when the date is
impossible or beyond what a datetime holds; the market stays as it was."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from governance.proposals.models import ProposalStatus
from governance.risk_groups.models import RiskGroup
from markets.models import Market
from markets.services import market_list_from_xip
from tests.markets.factories import proposal_make, spot_spec
from xip_portal.models import StaffRole

pytestmark = pytest.mark.django_db

HOSTILE_TIMES = ["2030-02-30T00:00", "9999-12-31T23:00:00-05:00", "10000-01-01T00:00"]


@pytest.fixture
def market(open_group: RiskGroup) -> Market:
    proposal = proposal_make(group=open_group, status=ProposalStatus.FINAL, spec=spot_spec())
    return market_list_from_xip(proposal=proposal)


@pytest.mark.parametrize("launch_at", HOSTILE_TIMES)
def test_the_launch_form_refuses_an_impossible_time(
    market: Market, open_group: RiskGroup, make_staff: Any, login: Any, launch_at: str
) -> None:
    client = login(make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group))
    status_before = market.status

    response = client.post(
        f"/staff/markets/{market.symbol}/status/",
        {"move": "schedule", "reason": "go", "launch_at": launch_at},
        follow=True,
    )

    assert response.status_code == 200
    assert "Launch time: " in response.content.decode()
    market.refresh_from_db()
    assert market.status == status_before and market.launch_at is None


@pytest.mark.parametrize("launch_at", HOSTILE_TIMES)
def test_the_status_api_refuses_an_impossible_time(
    api_client: APIClient, market: Market, open_group: RiskGroup, make_staff: Any, launch_at: str
) -> None:
    api_client.force_authenticate(make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group))

    response = api_client.post(
        f"/api/v1/markets/{market.symbol}/status/",
        {"move": "schedule", "reason": "go", "launch_at": launch_at},
        format="json",
    )

    assert response.status_code == 400
    assert "launch_at" in response.json()["fields"]
    market.refresh_from_db()
    assert market.launch_at is None
