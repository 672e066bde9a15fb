"""`make demo` lists the World Cup market the way anyone would, with the rest of the demo."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from governance.proposals.demo import DEMO_LAST_CALL_LAPSES_AFTER
from governance.proposals.models import Proposal, ProposalStatus
from governance.proposals.services import proposals_last_call_conclude_due
from markets.config_hash import config_hash
from markets.models import Market, MarketStatus

pytestmark = pytest.mark.django_db


def test_the_demo_lists_the_world_cup_market_through_a_final_xip(capsys: Any) -> None:
    call_command("seed_demo")
    counts = (Market.objects.count(), Proposal.objects.count())
    call_command("seed_demo")

    assert (Market.objects.count(), Proposal.objects.count()) == counts  # idempotent
    world_cup = Market.objects.get(symbol="WC26-WINNER")
    assert world_cup.title == "2026 World Cup winner"
    assert len(world_cup.outcomes) == 48
    assert world_cup.status == MarketStatus.LIVE
    assert world_cup.config_hash == config_hash(world_cup.spec)
    xip = world_cup.xip
    assert xip.status == ProposalStatus.FINAL
    assert xip.institution is not None and xip.institution.slug == "exchange-os-house"
    assert [step.to_status for step in xip.transitions.all()] == [
        "draft",
        "review",
        "last_call",
        "final",
    ]
    types = set(Market.objects.values_list("market_type", flat=True))
    assert types == {"spot", "perp", "prediction"}
    assert Market.objects.filter(market_type="prediction", spec__outcomes=[]).count() >= 3
    spot = Market.objects.get(symbol="BTC-USDC")
    assert spot.xip.created_by.email == "builder@demo.exchange-os.test"
    statuses = set(Proposal.objects.values_list("status", flat=True))
    assert statuses == set(ProposalStatus.values)


def test_searching_the_demo_registry_for_the_world_cup_finds_all_its_markets(client) -> None:
    call_command("seed_demo")

    response = client.get("/markets/", {"q": "World Cup"})

    found = {row.market.symbol for row in response.context["page"]}
    assert found == set(
        Market.objects.filter(symbol__startswith="WC26-").values_list("symbol", flat=True)
    )
    assert len(found) == 5


def test_the_demo_scheduler_takes_a_lapsed_last_call_final_and_lists_its_market() -> None:
    # Given the demo, seeded now
    call_command("seed_demo")
    eth_spot = Proposal.objects.get(title="List ETH-USDC spot")
    assert eth_spot.status == ProposalStatus.LAST_CALL
    assert not Market.objects.filter(symbol="ETH-USDC").exists()
    # When the scheduler's Last Call task runs minutes later
    later = timezone.now() + DEMO_LAST_CALL_LAPSES_AFTER + timedelta(minutes=1)
    proposals_last_call_conclude_due(now=later)
    # Then the XIP is Final by itself and its market is listed
    eth_spot.refresh_from_db()
    assert eth_spot.status == ProposalStatus.FINAL
    assert Market.objects.filter(symbol="ETH-USDC").exists()
