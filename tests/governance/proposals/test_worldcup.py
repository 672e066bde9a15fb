"""The simulated World Cup: the same seed plays the same tournament, every match market is
listed by XIP, resolved through the resolution flow and settled, every team knocked out
resolves NO in the winner market as it goes out and the champion YES, and no money appears
or disappears on the way."""

from typing import Any

import pytest
from django.core.management import call_command

from engine import services, tasks
from engine.models import MarketView, StatementEntry
from engine.sequencer import ShardWriter
from engine.services import shard_of
from governance.proposals.models import ProposalStatus
from governance.proposals.worldcup import (
    SYMBOL_PREFIX,
    THIRD_PLACE,
    tournament_play,
    worldcup_cast,
    worldcup_simulate,
)
from markets.models import Market, MarketStatus, Resolution
from markets.selectors import market_resolution, market_timeline

pytestmark = pytest.mark.django_db(transaction=False)
WINNER = SYMBOL_PREFIX + "S7-WINNER"


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
    champion = first.champion.name
    markets = Market.objects.filter(symbol__startswith=SYMBOL_PREFIX + "S7-")
    assert markets.count() == 104 + 1  # the matches and the winner market
    assert set(markets.values_list("status", flat=True)) == {MarketStatus.SETTLED}
    assert set(markets.values_list("xip__status", flat=True)) == {ProposalStatus.FINAL}
    outcomes = dict(
        Resolution.objects.filter(market__in=markets).values_list("market__symbol", "final_outcome")
    )
    assert outcomes == {m.symbol: ("yes" if m.yes else "no") for m in first.matches} | {
        WINNER: champion
    }
    # every team but the champion was knocked out of the winner market as the tournament
    # went, in the order it went out: the 16 of the group stage, then each knockout's loser
    winner = Market.objects.get(symbol=WINNER)
    eliminated = list(winner.eliminations.values_list("outcome", flat=True))
    losers = [m.loser.name for m in first.matches if m.knockout and m.stage != THIRD_PLACE]
    assert sorted(eliminated) == sorted(set(winner.outcomes) - {champion})
    assert eliminated[-len(losers) :] == losers
    timeline = [entry.title for entry in market_timeline(winner, market_resolution(winner))]
    assert timeline.count("Outcome eliminated: " + losers[0]) == 1
    # every outcome of the winner market paid its holders: the NO of each eliminated team
    # and the YES of the champion went to the traders' statements
    yes_holder, no_holder = cast.traders
    paid = StatementEntry.objects.filter(kind="payout", market_id__startswith=WINNER + ":")
    assert set(
        paid.filter(account=no_holder.pk, amount__gt=0).values_list("market_id", flat=True)
    ) == {f"{WINNER}:{team}" for team in eliminated}
    assert set(
        paid.filter(account=yes_holder.pk, amount__gt=0).values_list("market_id", flat=True)
    ) == {f"{WINNER}:{champion}"}
    engine_markets = MarketView.objects.filter(market_id__startswith=WINNER + ":")
    assert set(engine_markets.values_list("status", flat=True)) == {"settled"}
    after, escrows = money(cast.group)
    assert after == before
    assert len(escrows) == 104 + 48 and set(escrows.values()) == {0}
