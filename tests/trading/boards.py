"""A World Cup venue for the trader pages' tests: the categorical winner market and a
single-match market live in a regulated group, a funded maker quoting every outcome, and
helpers to quote and trade through the engine service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from engine.services import command_submit, shard_of
from engine.tasks import shard_process
from governance.risk_groups.models import RiskGroup
from markets.models import Market
from markets.services import market_engine_config
from tests.factories import UserFactory
from tests.markets.factories import engine_deposit, member_create, prediction_spec
from tests.trading.fixtures import market_go_live
from xip_portal.models import StaffRole, User

# outcome -> (bid, ask) of the maker's quotes
QUOTES = {"Argentina": ("0.49", "0.51"), "Brazil": ("0.29", "0.31"), "France": ("0.19", "0.21")}


@dataclass
class WorldCupVenue:
    group: RiskGroup
    market: Market
    single: Market
    maker: User

    def order(self, user: User, market_id: str, side: str, size: int, price: str, **extra: Any):
        listed = market_engine_config(
            self.single if market_id == self.single.symbol else self.market
        )
        return command_submit(
            risk_group=self.group,
            account=user.pk,
            command={
                "type": "PlaceOrder",
                "market": market_id,
                "side": side,
                "size": listed.size(size),
                "price": listed.price(price),
                **extra,
            },
        )

    def quote(self, *, levels: int = 1) -> None:
        """The maker's bids and asks on every outcome, `levels` ticks deep."""
        tick = Decimal("0.01")
        for outcome, (bid, ask) in QUOTES.items():
            for level in range(levels):
                for side, price in (
                    ("buy", Decimal(bid) - level * tick),
                    ("sell", Decimal(ask) + level * tick),
                ):
                    self.order(self.maker, f"WC26-WINNER:{outcome}", side, 5, str(price))
        self.order(self.maker, self.single.symbol, "buy", 5, "0.60")
        self.order(self.maker, self.single.symbol, "sell", 5, "0.64")
        self.process()

    def process(self) -> None:
        shard_process(shard_of(risk_group=self.group).pk)


@pytest.fixture
def world_cup(regulated_group: RiskGroup, make_staff: Callable[..., User]) -> WorldCupVenue:
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, regulated_group)
    market = market_go_live(regulated_group, operator, prediction_spec())
    single_spec = prediction_spec(symbol="WC26-MEX-OPENER", name="Mexico win the opening match")
    del single_spec["outcomes"]
    single = market_go_live(regulated_group, operator, single_spec)
    maker = member_create(regulated_group, UserFactory())
    shard_process(shard_of(risk_group=regulated_group).pk)
    engine_deposit(group=regulated_group, user=maker, amount=Decimal(1_000_000))
    return WorldCupVenue(regulated_group, market, single, maker)


@pytest.fixture
def trader(world_cup: WorldCupVenue) -> User:
    """A member of the World Cup's group with 1,000 USDC."""
    user = member_create(world_cup.group, UserFactory())
    engine_deposit(group=world_cup.group, user=user, amount=Decimal(1_000))
    return user
