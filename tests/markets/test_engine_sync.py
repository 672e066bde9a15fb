"""The engine follows the registry: a market going live enters its risk group's engine
with its spec converted exactly; halt, resume, close, delisting and Final parameter XIPs
reach the engine as commands in the same transaction as the move."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from engine import selectors, services, tasks
from engine.errors import SpecNotConvertible
from engine.services import command_submit, shard_of
from governance.proposals.models import ProposalStatus
from governance.risk_groups.models import RiskGroup
from markets.models import Market, MarketChange, MarketStatus
from markets.services import (
    market_engine_config,
    market_list_from_xip,
    market_status_change,
    markets_timers_run,
)
from tests.markets.factories import perp_spec, prediction_spec, proposal_make, spot_spec
from xip_portal.models import StaffRole, User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_engine_memory():
    tasks._writers.clear()
    services._shards.clear()
    yield
    tasks._writers.clear()
    services._shards.clear()


@pytest.fixture
def operator(make_staff: Callable[..., User], open_group: RiskGroup) -> User:
    return make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)


def live(group: RiskGroup, operator: User, spec: dict) -> Market:
    market = market_list_from_xip(
        proposal=proposal_make(group=group, status=ProposalStatus.FINAL, spec=spec)
    )
    market_status_change(
        actor=operator, market=market, move="schedule", reason="ready", launch_at=timezone.now()
    )
    market_status_change(actor=operator, market=market, move="launch", reason="go")
    tasks.shard_process(shard_of(risk_group=group).pk)
    return market


def engine_status(group: RiskGroup, market_id: str) -> str:
    return selectors.market_get(shard=shard_of(risk_group=group), market_id=market_id).status


def test_a_spot_market_going_live_enters_the_engine_converted_exactly(open_group, operator):
    market = live(open_group, operator, spot_spec())
    view = selectors.market_get(shard=shard_of(risk_group=open_group), market_id="BTC-USDC")
    # USDC (6 decimals, the collateral) counts in 10^-12, BTC (6 decimals here) in 10^-6:
    # a tick of 0.01 USDC per BTC is 10,000 engine units, a lot of 0.001 BTC is 1,000
    assert (view.status, view.config["tick_size"], view.config["lot_size"]) == (
        "live",
        10_000,
        1_000,
    )
    listed = market_engine_config(market)
    assert listed.price(Decimal("65000.01")) == 65_000_010_000
    assert listed.size(Decimal("0.5")) == 500_000


def test_halt_resume_close_and_delisting_follow_the_registry(open_group, operator):
    market = live(open_group, operator, perp_spec())
    shard = shard_of(risk_group=open_group)
    market_status_change(actor=operator, market=market, move="halt", reason="oracle stale")
    tasks.shard_process(shard.pk)
    assert engine_status(open_group, "ETH-PERP") == "halted"
    market_status_change(actor=operator, market=market, move="resume", reason="oracle back")
    tasks.shard_process(shard.pk)
    assert engine_status(open_group, "ETH-PERP") == "live"
    market_status_change(actor=operator, market=market, move="close", reason="wind down")
    tasks.shard_process(shard.pk)
    assert engine_status(open_group, "ETH-PERP") == "closed"


def test_a_categorical_prediction_market_lists_each_outcome(open_group, operator):
    live(open_group, operator, prediction_spec())
    shard = shard_of(risk_group=open_group)
    statuses = {m.market_id: m.status for m in selectors.markets_of(shard=shard)}
    assert statuses == {
        "WC26-WINNER": "live",
        "WC26-WINNER:Argentina": "live",
        "WC26-WINNER:Brazil": "live",
        "WC26-WINNER:France": "live",
    }
    # a share pays one USDC: 10^12 engine units per lot of one share
    assert (
        selectors.market_get(shard=shard, market_id="WC26-WINNER:Brazil").config["payout"] == 10**12
    )


def test_a_prediction_market_closes_in_the_engine_at_its_close_time(open_group, operator):
    close = timezone.now() + timedelta(days=60)
    live(open_group, operator, prediction_spec(now=close - timedelta(days=60)))
    markets_timers_run(now=close + timedelta(minutes=1))
    tasks.shard_process(shard_of(risk_group=open_group).pk)
    assert engine_status(open_group, "WC26-WINNER") == "closed"


def test_a_final_parameter_change_updates_the_engine(open_group, operator):
    market = live(open_group, operator, spot_spec())
    change = MarketChange.objects.create(
        market=market,
        xip=proposal_make(
            group=open_group, status=ProposalStatus.FINAL, spec=spot_spec(symbol="X-Y")
        ),
        kind=MarketChange.Kind.PARAMETERS,
        changes={"taker_fee_bps": 7},
        effective_at=timezone.now(),
    )
    markets_timers_run()
    tasks.shard_process(shard_of(risk_group=open_group).pk)
    view = selectors.market_get(shard=shard_of(risk_group=open_group), market_id="BTC-USDC")
    assert view.config["taker_fee_bps"] == 7
    assert change.pk


def test_a_spec_that_does_not_convert_is_refused_and_the_move_undone(open_group, operator):
    # a tick finer than the collateral's engine unit per base unit (10^-12 USDC per 10^-6 BTC)
    spec = spot_spec(tick="0.0000001")
    market = market_list_from_xip(
        proposal=proposal_make(group=open_group, status=ProposalStatus.FINAL, spec=spec)
    )
    market_status_change(
        actor=operator, market=market, move="schedule", reason="ready", launch_at=timezone.now()
    )
    with pytest.raises(SpecNotConvertible) as refused:
        market_status_change(actor=operator, market=market, move="launch", reason="go")
    assert refused.value.fields == {"tick": [refused.value.message]}
    market.refresh_from_db()
    assert market.status == MarketStatus.SCHEDULED


def test_a_listed_market_trades_through_the_engine(open_group, operator):
    market = live(open_group, operator, spot_spec())
    listed = market_engine_config(market)
    group = open_group
    for account, asset, amount in ((1, "USDC", "100000"), (2, "BTC", "10")):
        unit = Decimal("1e-12") if asset == "USDC" else Decimal("1e-6")
        command_submit(
            risk_group=group,
            account=account,
            command={
                "type": "Deposit",
                "asset": asset,
                "amount": int(Decimal(amount) / unit),
                "external_id": f"{asset}-{account}",
            },
        )
    order = {
        "type": "PlaceOrder",
        "market": "BTC-USDC",
        "price": listed.price("65000"),
        "size": listed.size("0.5"),
    }
    command_submit(risk_group=group, account=2, command={**order, "side": "sell"})
    receipt = command_submit(risk_group=group, account=1, command={**order, "side": "buy"})
    tasks.shard_process(shard_of(risk_group=group).pk)
    assert services.command_receipt(command_id=receipt.command_id).result == "filled"
