"""Registry pages and API: filters, the market page with its spec, XIP, config hash and
status history, and bounded queries."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from governance.proposals.models import ProposalStatus
from governance.risk_groups.models import RiskGroup
from markets.models import Market, MarketChange, MarketStatus
from markets.services import market_list_from_xip, market_status_change
from tests.markets.factories import perp_spec, prediction_spec, proposal_make, spot_spec
from xip_portal.models import StaffRole, User

pytestmark = pytest.mark.django_db


def listed(group: RiskGroup, spec: dict[str, Any]) -> Market:
    proposal = proposal_make(group=group, status=ProposalStatus.FINAL, spec=spec)
    return market_list_from_xip(proposal=proposal)


@pytest.fixture
def markets(open_group: RiskGroup, regulated_group: RiskGroup) -> list[Market]:
    return [
        listed(open_group, spot_spec()),
        listed(open_group, perp_spec()),
        listed(regulated_group, prediction_spec()),
    ]


def test_the_registry_filters_by_type_group_and_status(
    client: Client, markets: list[Market], regulated_group: RiskGroup
) -> None:
    Market.objects.filter(symbol="ETH-PERP").update(status=MarketStatus.LIVE)

    def symbols(**params: str) -> list[str]:
        response = client.get("/markets/", params)
        assert response.status_code == 200
        return [row.market.symbol for row in response.context["page"]]

    assert symbols() == ["BTC-USDC", "ETH-PERP", "WC26-WINNER"]
    assert symbols(type="prediction") == ["WC26-WINNER"]
    assert symbols(group=regulated_group.slug) == ["WC26-WINNER"]
    assert symbols(status="live") == ["ETH-PERP"]
    assert symbols(q="world cup") == ["WC26-WINNER"]
    assert symbols(q="brazil") == ["WC26-WINNER"]  # an outcome of the market


def test_the_registry_page_queries_are_bounded(
    client: Client, markets: list[Market], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(5):
        response = client.get("/markets/")

    assert response.status_code == 200


def test_the_market_page_shows_spec_xip_config_hash_and_history(
    client: Client, markets: list[Market], django_assert_max_num_queries: Any
) -> None:
    market = markets[2]

    # the categorical market's timeline also reads the outcomes it eliminated (one query)
    with django_assert_max_num_queries(9):
        response = client.get(f"/markets/{market.symbol}/")

    html = response.content.decode()
    assert market.config_hash in html
    assert market.xip.label in html
    assert "2026 World Cup winner" in html
    assert "Argentina" in html
    assert "Listed by" in html and "Approved" in html


def test_the_market_page_shows_its_decided_changes_and_who_moved_it(
    client: Client,
    markets: list[Market],
    open_group: RiskGroup,
    make_staff: Callable[..., User],
    django_assert_max_num_queries: Any,
) -> None:
    # given a market an operator scheduled, with a fee change and its delisting decided
    market = markets[0]
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)
    operator.display_name = "Olive Operator"
    operator.save()
    market_status_change(
        actor=operator, market=market, move="schedule", reason="soon", launch_at=timezone.now()
    )
    effective = timezone.now() + timedelta(days=10)
    xips = []
    for kind, spec in (
        (MarketChange.Kind.PARAMETERS, {"market": market.symbol, "changes": {"taker_fee_bps": 7}}),
        (MarketChange.Kind.DELISTING, {"market": market.symbol}),
    ):
        xip = proposal_make(group=open_group, status=ProposalStatus.FINAL, spec=spec)
        MarketChange.objects.create(
            market=market,
            xip=xip,
            kind=kind,
            changes=spec.get("changes", {}),
            effective_at=effective,
        )
        xips.append(xip)
    # when anyone opens its page
    with django_assert_max_num_queries(9):
        html = client.get(f"/markets/{market.symbol}/").content.decode()
    # then each change shows with its XIP, and the timeline says who moved the market
    decided = html[html.index("<h2>Decided changes</h2>") :]
    for xip, words in zip(xips, ("Parameter change", "Delisting"), strict=True):
        assert f'{words} of {market.symbol} at {effective:%Y-%m-%d %H:%M} — <a href="' in decided
        assert f'{xip.get_absolute_url()}">{xip.label}</a> (pending)' in decided
    timeline = html[html.index('id="market-timeline"') :]
    assert "automatic: Listed by" in timeline and "Olive Operator: soon" in timeline


def test_the_api_lists_and_shows_markets(
    api_client: APIClient, markets: list[Market], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(3):
        listing = api_client.get("/api/v1/markets/?type=perp")
    detail = api_client.get("/api/v1/markets/BTC-USDC/")
    missing = api_client.get("/api/v1/markets/NOPE/")

    assert [row["symbol"] for row in listing.json()["results"]] == ["ETH-PERP"]
    body = detail.json()
    assert body["config_hash"] == markets[0].config_hash
    assert body["spec"]["tick"] == "0.01"
    assert body["xip"] == markets[0].xip.label
    assert [step["to_status"] for step in body["history"]] == ["approved"]
    assert missing.status_code == 404


def test_an_operator_halts_a_market_through_the_api(
    api_client: APIClient,
    markets: list[Market],
    open_group: RiskGroup,
    make_staff: Callable[..., User],
) -> None:
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)
    api_client.force_authenticate(operator)
    url = "/api/v1/markets/BTC-USDC/status/"

    api_client.post(
        url, {"move": "schedule", "reason": "go", "launch_at": timezone.now().isoformat()}
    )
    api_client.post(url, {"move": "launch", "reason": "go"})
    no_reason = api_client.post(url, {"move": "halt"})
    halted = api_client.post(url, {"move": "halt", "reason": "Oracle stale"})
    wrong_group = api_client.post(
        "/api/v1/markets/WC26-WINNER/status/", {"move": "close", "reason": "x"}
    )

    assert no_reason.status_code == 400 and "reason" in no_reason.json()["fields"]
    assert halted.status_code == 200
    assert halted.json()["status"] == "halted"
    assert halted.json()["history"][-1]["reason"] == "Oracle stale"
    assert wrong_group.status_code == 403
