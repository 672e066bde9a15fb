"""The perpetual lifecycle on its schedule, read back from the engine's events: the
scheduled time tick pays funding at each multiple of the market's interval (and not
before), the price that leaves an account under maintenance liquidates it, and the risk
group's insurance fund and the market's funding history show both."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from engine import selectors, tasks
from engine.models import FundingEntry, InsuranceEntry
from engine.rebuild import shard_verify
from engine.services import command_submit, shard_of
from governance.proposals.models import ProposalStatus
from governance.risk_groups.models import RiskGroup
from markets.models import Market
from markets.oracles import oracle_price_push
from markets.services import market_engine_config, market_list_from_xip, market_status_change
from tests.markets.factories import engine_deposit, member_create, perp_spec, proposal_make
from tests.markets.test_oracles import SIGNER, fresh_engine_memory, operator, process, signed
from xip_portal.models import User

pytestmark = pytest.mark.django_db
__all__ = ["fresh_engine_memory", "operator"]  # fixtures used here

START = datetime(2026, 6, 11, 0, 10, tzinfo=UTC)  # ten minutes past a funding hour
HOUR = timedelta(hours=1)


def listed_perp(group: RiskGroup, operator: User) -> Market:
    spec = perp_spec(
        oracle_signers=[SIGNER.address],
        oracle_max_age_seconds=4 * 3600,
        funding_interval_hours=1,
        funding_cap_bps=50,
    )
    market = market_list_from_xip(
        proposal=proposal_make(group=group, status=ProposalStatus.FINAL, spec=spec)
    )
    for move in ("schedule", "launch"):
        market_status_change(actor=operator, market=market, move=move, reason="go", launch_at=START)
    market.refresh_from_db()
    return market


def order(group, market, person, side, size, price) -> None:
    listed = market_engine_config(market)
    command_submit(
        risk_group=group,
        account=person.pk,
        command={
            "type": "PlaceOrder",
            "market": market.symbol,
            "side": side,
            "size": listed.size(Decimal(size)),
            "price": listed.price(Decimal(price)),
        },
    )


def tick(group: RiskGroup) -> None:
    """What beat does every second: a time command per risk group, then the writer."""
    tasks.shards_tick()
    process(group)


def test_funding_is_paid_at_each_interval_and_a_price_move_liquidates_into_the_fund(
    open_group: RiskGroup, operator: User, client, api_client
):
    shard = shard_of(risk_group=open_group)
    with time_machine.travel(START, tick=False) as clock:
        market = listed_perp(open_group, operator)
        process(open_group)
        oracle_price_push(market=market, **signed(market, "3000", START))
        long, short, maker = (member_create(open_group) for _ in range(3))
        for person, amount in ((long, 400), (short, 100_000), (maker, 100_000)):
            engine_deposit(group=open_group, user=person, amount=Decimal(amount))
        # 1 ETH changes hands at 3000; the maker's book above the mark makes longs pay
        order(open_group, market, short, "sell", "1", "3000")
        order(open_group, market, long, "buy", "1", "3000")
        order(open_group, market, maker, "buy", "0.1", "3009")
        order(open_group, market, maker, "sell", "0.1", "3021")
        process(open_group)

        clock.move_to(START + timedelta(minutes=49))  # 00:59: no funding time yet
        tick(open_group)
        assert not FundingEntry.objects.filter(shard=shard).exists()

        for hour in (1, 2):  # 01:00 and 02:00 (and a tick between pays nothing more)
            clock.move_to(START.replace(minute=0) + hour * HOUR)
            tick(open_group)
            clock.move_to(START.replace(minute=30) + hour * HOUR)
            tick(open_group)

        history = list(selectors.funding_of(shard=shard, market_id=market.symbol))
        assert [entry.ts for entry in history] == [
            int((START.replace(minute=0) + hour * HOUR).timestamp() * 1000) for hour in (2, 1)
        ]
        first = history[-1]
        # mid 3015 over mark 3000: 0.5%, capped at 50 bps = 5000 ppm; the long pays
        assert (first.rate_ppm, first.mark) == (5000, market_engine_config(market).price(3000))
        assert first.paid > 0 and first.paid >= first.received
        statement = selectors.statement_of(shard=shard, account=long.pk).filter(kind="funding")
        assert statement.count() == 2

        # 2700 leaves the long (400 USDC, 30 paid in funding) below its 5% maintenance
        crash = START.replace(minute=0) + 2 * HOUR + timedelta(seconds=5)
        clock.move_to(crash)
        oracle_price_push(market=market, **signed(market, "2700", crash))
        process(open_group)

    assert selectors.positions_of(shard=shard, account=long.pk) == []
    kinds = list(
        InsuranceEntry.objects.filter(shard=shard).order_by("id").values_list("kind", flat=True)
    )
    assert kinds[:2] == ["funding", "funding"]
    assert "liquidation_fee" in kinds
    fund = selectors.insurance_fund_of(shard=shard)
    assert fund.liquidations == 1
    # the fund's balance from its entries is the engine's own figure
    writer = tasks._writers[shard.pk]
    assert fund.balance == writer.engine.insurance
    assert fund.bad_debt == writer.engine.bad_debt
    assert fund.inflows - fund.payouts == fund.balance
    # a rebuild of the projections from the journal writes the same fund and funding rows
    shard_verify(shard=shard)

    # the fund's page and API, and the market's funding history, show the same events
    page = client.get(f"/risk-groups/{open_group.slug}/insurance-fund/").content.decode()
    balance = Decimal(fund.balance).scaleb(-12).normalize()
    assert f'id="insurance-balance">{balance:f} USDC<' in page
    assert "Liquidation fee" in page and "Funding remainder" in page
    answer = api_client.get(f"/api/v1/risk-groups/{open_group.slug}/insurance-fund/").json()
    assert (answer["balance"], answer["liquidations"]) == (f"{balance:f}", 1)
    entries = api_client.get(f"/api/v1/risk-groups/{open_group.slug}/insurance-fund/entries/")
    assert [row["kind"] for row in reversed(entries.json()["results"])] == kinds
    assert all("account" not in row for row in entries.json()["results"])
    funding = api_client.get(f"/api/v1/funding/{market.symbol}/").json()["results"]
    assert [row["rate"] for row in funding] == ["0.005", "0.005"]
    okx = client.get("/api/v5/public/funding-rate-history?instId=ETH-USDC-SWAP").json()
    assert [(row["fundingRate"], row["fundingTime"]) for row in okx["data"]] == [
        ("0.005", str(row["ts"])) for row in funding
    ]
    market_page = client.get(f"/markets/{market.symbol}/").content.decode()
    assert 'id="funding-history"' in market_page and "0.005" in market_page
    assert f"/risk-groups/{open_group.slug}/insurance-fund/" in market_page
