"""The market maker from the book's side: every live outcome gets bids and asks on several
levels around a fair value whose probabilities sum to about 100%, takers trade against
them, everything through the membership gate and the engine service; a group where the
maker is no member is left alone."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from engine import models as engine
from engine.services import shard_of
from markets.models import Market
from markets.selectors import market_stats
from tests.factories import UserFactory
from tests.markets.factories import engine_deposit, member_create
from trading.market_maker import MarketMaker

pytestmark = pytest.mark.django_db


@pytest.fixture
def taker(world_cup):
    user = member_create(world_cup.group, UserFactory())
    engine_deposit(group=world_cup.group, user=user, amount=Decimal(10_000))
    return user


def test_every_outcome_is_quoted_on_levels_and_the_probabilities_sum_to_about_one(world_cup, taker):
    maker = MarketMaker(maker=world_cup.maker, taker=taker, levels=3, seed=7)
    # When the maker runs ten cycles
    for _ in range(10):
        submitted = maker.cycle()
        world_cup.process()
    assert submitted[shard_of(risk_group=world_cup.group).pk] > 0
    # Then every outcome and the single market has 3 YES bids and 3 asks (NO bids) resting
    # (the engine's order rows name the NO side only)
    shard = shard_of(risk_group=world_cup.group)
    resting = engine.Order.objects.filter(shard=shard, account=world_cup.maker.pk, status="open")
    for market_id in (
        "WC26-WINNER:Argentina",
        "WC26-WINNER:Brazil",
        "WC26-WINNER:France",
        "WC26-MEX-OPENER",
    ):
        sides = list(resting.filter(market_id=market_id).values_list("side", "outcome"))
        assert sorted(sides) == [("buy", "")] * 3 + [("buy", "no")] * 3, market_id
    # and the board's implied probabilities add up to about 100%
    stats = market_stats(list(Market.objects.all()), now=timezone.now())
    total = sum(s.probability for s in stats.values() if s.outcome)
    assert Decimal("0.95") <= total <= Decimal("1.05")
    # and the taker traded against the quotes
    assert engine.Fill.objects.filter(shard=shard, taker_account=taker.pk).exists()


def test_the_same_seed_quotes_the_same_book(world_cup):
    maker = MarketMaker(maker=world_cup.maker, levels=1, seed=11)
    maker.cycle()
    first = dict(maker.fair)
    again = MarketMaker(maker=world_cup.maker, levels=1, seed=11)
    again._walk(
        list(engine.MarketView.objects.filter(status="live").order_by("shard_id", "market_id"))
    )
    assert again.fair == first


def test_a_group_where_the_maker_is_no_member_is_left_alone(world_cup):
    outsider = UserFactory()
    MarketMaker(maker=outsider, seed=3).cycle()
    assert not engine.Command.objects.filter(account=outsider.pk).exists()


def test_the_command_runs_cycles_for_an_operator(world_cup, capsys):
    call_command(
        "market_maker", "--maker", world_cup.maker.email, "--cycles", "2", "--interval", "0"
    )
    assert "cycle 2:" in capsys.readouterr().out
    assert engine.Command.objects.filter(account=world_cup.maker.pk, kind="PlaceOrder").exists()
