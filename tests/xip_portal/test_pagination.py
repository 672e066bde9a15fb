"""Every paginated list has a maximum page size: no limit, offset or page number a query
string can carry makes it fail."""

from typing import Any

import pytest
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from governance.proposals.models import ProposalStatus
from governance.risk_groups.models import RiskGroup
from markets.services import market_list_from_xip
from tests.governance.factories import KycApplicationFactory
from tests.markets.factories import proposal_make, spot_spec
from xip_portal.models import StaffRole
from xip_portal.pagination import MAX_PAGE_SIZE, BoundedLimitOffsetPagination

HUGE = str(10**30)


def test_a_limit_above_the_maximum_gets_the_largest_page() -> None:
    request = Request(APIRequestFactory().get("/", {"limit": HUGE}))

    assert BoundedLimitOffsetPagination().get_limit(request) == MAX_PAGE_SIZE


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/proposals/", "/api/v1/markets/", "/api/v1/staff/kyc/applications/"]
)
@pytest.mark.parametrize(
    "query", [f"limit={HUGE}", f"offset={HUGE}", f"limit={HUGE}&offset={HUGE}", "limit=x"]
)
def test_no_limit_or_offset_breaks_a_list(
    path: str, query: str, make_staff: Any, open_group: RiskGroup
) -> None:
    # One row in each list, so the database is asked for a slice.
    final = proposal_make(group=open_group, status=ProposalStatus.FINAL, spec=spot_spec())
    market_list_from_xip(proposal=final)
    KycApplicationFactory(submitted=True)
    client = APIClient()
    client.force_authenticate(make_staff(StaffRole.SITE_ADMIN))

    response = client.get(f"{path}?{query}")

    # Served (nothing this far) or refused with a clear code; never a server error.
    if response.status_code == 400:
        assert response.json()["code"] == "invalid"
        assert set(response.json()["fields"]) <= {"limit", "offset"}
    else:
        assert response.status_code == 200, response.content
        expected = 0 if "offset" in query else 1
        assert len(response.json()["results"]) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/proposals/", "/markets/"])
@pytest.mark.parametrize("page", [HUGE, "-1", "x"])
def test_no_page_number_breaks_a_page(client: Any, path: str, page: str) -> None:
    assert client.get(f"{path}?page={page}").status_code == 200
