"""The simulated World Cup: the same seed plays the same tournament, every match market is
listed by XIP, resolved through the resolution flow and settled, and no money appears or
disappears on the way."""

from typing import Any

import pytest
from django.core.management import call_command

from engine import services, tasks
from engine.sequencer import ShardWriter
from engine.services import shard_of
from governance.proposals.models import ProposalStatus
from governance.proposals.worldcup import (
    SYMBOL_PREFIX,
    tournament_play,
    worldcup_cast,
    worldcup_simulate,
)
from markets.models import Market, MarketStatus, Resolution

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def fresh_engine_memory():
    tasks._writers.clear()
    services._shards.clear()
    yield
    tasks._writers.clear()
    services._shards.clear()


def money(group: Any) -> tuple[int, dict[str, int]]:
    """Everything the group's engine holds in its collateral (balances, fees, insurance,
    escrows) and the escrow of each World Cup market, rebuilt from the journal."""
    shard = shard_of(risk_group=group)
    shard.refresh_from_db()
    engine = ShardWriter.recover(shard).engine
    engine.check_invariants()
    collateral = engine.collateral
    held = sum(
        balance.free + balance.locked
        for account in engine.accounts.values()
        for asset, balance in account.balances.items()
        if asset == collateral
    )
    held += engine.insurance + sum(engine.fees.protocol.values())
    held += sum(engine.fees.deployer.values())
    escrows = {market_id: market.escrow for market_id, market in engine.markets.items()}
    return held + sum(escrows.values()), {
        market_id: escrow for market_id, escrow in escrows.items() if market_id.startswith("WC26-S")
    }


def test_a_seeded_tournament_is_reproducible_settles_every_market_and_conserves_money(
    capsys: Any,
) -> None:
    call_command("seed_demo")
    cast = worldcup_cast()
    before, _ = money(cast.group)

    first = worldcup_simulate(seed=7, cast=cast)
    again = tournament_play(7)  # the same seed, without markets

    played = [
        (m.stage, m.home.name, m.away.name, m.home_goals, m.away_goals) for m in first.matches
    ]
    assert played == [
        (m.stage, m.home.name, m.away.name, m.home_goals, m.away_goals) for m in again.matches
    ]
    assert len(first.matches) == 104 and first.champion == first.matches[-1].winner
    markets = Market.objects.filter(symbol__startswith=SYMBOL_PREFIX + "S7-")
    assert markets.count() == 104
    assert set(markets.values_list("status", flat=True)) == {MarketStatus.SETTLED}
    assert set(markets.values_list("xip__status", flat=True)) == {ProposalStatus.FINAL}
    outcomes = dict(
        Resolution.objects.filter(market__in=markets).values_list("market__symbol", "final_outcome")
    )
    assert outcomes == {m.symbol: ("yes" if m.yes else "no") for m in first.matches}
    after, escrows = money(cast.group)
    assert after == before
    assert set(escrows.values()) == {0}
