"""The market maker: keeps every live market's book alive around a fair value, with a few
takers trading against it, through the same gate and engine service as any trader.

Each cycle, per market: the fair value is the oracle's mark where there is one (a perp
without one is not quoted: the engine needs its mark), else a random walk seeded per
market (a prediction market's in log-odds; the outcomes of a categorical market are
renormalised so that their probabilities sum to 100%). The maker replaces its quotes
(cancel, then `levels` bids and asks a tick or more apart, a prediction market's YES asks
as NO bids at payout - p); the taker sends a few small market orders. The random walk is
a simulation: prices leave it as whole ticks, sizes as whole lots.
"""

from __future__ import annotations

import logging
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from engine import models as engine
from engine.errors import CommandRefused
from governance.memberships.services import MembershipRequired
from xip_portal.errors import ApplicationError
from xip_portal.models import User

from .instruments import tradables
from .services import quotes_submit

logger = logging.getLogger(__name__)

WALK_STEP = 0.002  # a spot or perp price's typical move per cycle, as a fraction
LOGIT_STEP = 0.03  # a prediction market's typical move per cycle, in log-odds
TAKE_CHANCE = 0.3  # per market and cycle


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@dataclass
class MarketMaker:
    """`initial`: a starting fair price (engine units) for markets with no oracle and no
    trade yet (others without one are left alone)."""

    maker: User
    taker: User | None = None
    levels: int = 3
    seed: int = 2026
    initial: dict[str, int] = field(default_factory=dict)
    # engine market id -> fair value: a price (spot, perp) or a probability (prediction)
    fair: dict[str, float] = field(default_factory=dict)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 (a simulation, not a secret)

    def cycle(self) -> dict[int, int]:
        """One round of quotes and takes in every live market; the commands submitted per
        shard. A group where the maker may not trade is skipped (and logged)."""
        by_shard: dict[int, list[engine.MarketView]] = defaultdict(list)
        views = engine.MarketView.objects.filter(status="live").select_related("shard__risk_group")
        for view in views.order_by("shard_id", "market_id"):
            by_shard[view.shard_id].append(view)
        submitted = {}
        for markets in by_shard.values():
            group = markets[0].shard.risk_group
            self._walk(markets)
            quotes, takes = [], []
            for view in markets:
                if view.config.get("outcomes") or view.market_id not in self.fair:
                    continue  # a categorical parent trades through its outcomes
                quotes += self._quotes(view)
                if self.taker is not None and self.rng.random() < TAKE_CHANCE:
                    takes.append(self._take(view))
            try:
                quotes_submit(user=self.maker, risk_group=group, commands=quotes)
                if takes and self.taker is not None:
                    quotes_submit(user=self.taker, risk_group=group, commands=takes)
            except (MembershipRequired, CommandRefused) as refused:
                # not a member, or a market closed since the cycle read it (the demo's
                # World Cup closes one at every kick-off): the next cycle quotes again
                logger.warning("market maker skips %s: %s", group.name, refused.message)
                continue
            submitted[markets[0].shard_id] = len(quotes) + len(takes)
        return submitted

    # ------------------------------------------------------------------ fair values

    def _walk(self, markets: list[engine.MarketView]) -> None:
        rng = self.rng
        children: dict[str, list[engine.MarketView]] = defaultdict(list)
        for view in markets:
            config = view.config
            if config.get("outcomes"):
                continue
            market_id = view.market_id
            if view.kind == "prediction":
                parent = market_id.split(":", 1)[0] if ":" in market_id else ""
                if parent:
                    children[parent].append(view)
                    continue
                p = self.fair.get(market_id) or self._probability(view) or rng.uniform(0.2, 0.8)
                self.fair[market_id] = _sigmoid(_logit(p) + rng.gauss(0, LOGIT_STEP))
            else:
                mark = int(view.mark)
                start = (
                    self.fair.get(market_id)
                    or int(view.last_price)
                    or self.initial.get(market_id, 0)
                )
                if mark:
                    self.fair[market_id] = float(mark)
                elif start and view.kind != "perp":  # a perp trades only at a mark
                    self.fair[market_id] = start * math.exp(rng.gauss(0, WALK_STEP))
        for outcomes in children.values():
            weights = {}
            for view in outcomes:
                # a first look: a few favourites and a long tail, as bookmakers see it
                p = self.fair.get(view.market_id) or self._probability(view)
                weight = p or rng.paretovariate(1.1)
                weights[view.market_id] = weight * math.exp(rng.gauss(0, LOGIT_STEP))
            total = sum(weights.values())
            for market_id, weight in weights.items():
                self.fair[market_id] = weight / total

    def _probability(self, view: engine.MarketView) -> float:
        payout = int(view.config.get("payout") or 0)
        return int(view.last_price) / payout if payout and int(view.last_price) else 0.0

    # ------------------------------------------------------------------ orders

    def _price_ticks(self, view: engine.MarketView) -> tuple[int, int, int]:
        """(fair value in ticks, tick, the highest tick a price may be)."""
        config = view.config
        tick = int(config["tick_size"])
        payout = int(config.get("payout") or 0)
        fair = self.fair[view.market_id] * payout if payout else self.fair[view.market_id]
        ceiling = payout // tick - 1 if payout else 10**30
        return max(1, min(round(fair / tick), ceiling)), tick, ceiling

    def _size(self, view: engine.MarketView, most: int) -> int:
        config = view.config
        lot, least = int(config["lot_size"]), int(config["min_size"])
        return max(least, lot) * self.rng.randint(1, most) // lot * lot

    def _quotes(self, view: engine.MarketView) -> list[dict[str, Any]]:
        fair, tick, ceiling = self._price_ticks(view)
        payout = int(view.config.get("payout") or 0)
        commands: list[dict[str, Any]] = [{"type": "CancelAll", "market": view.market_id}]
        for level in range(self.levels):
            bid, ask = fair - 1 - level, fair + 1 + level
            if bid >= 1:
                commands.append(self._order(view, "buy", bid * tick, self._size(view, 5)))
            if ask <= ceiling:
                size = self._size(view, 5)
                if payout:  # a YES ask is a NO bid at payout - p
                    commands.append(
                        self._order(view, "buy", payout - ask * tick, size, outcome="no")
                    )
                else:
                    commands.append(self._order(view, "sell", ask * tick, size))
        return commands

    def _take(self, view: engine.MarketView) -> dict[str, Any]:
        size = self._size(view, 2)
        if view.kind == "prediction":
            outcome = self.rng.choice(("yes", "no"))
            return self._order(view, "buy", 0, size, outcome=outcome, order_type="market")
        side = self.rng.choice(("buy", "sell"))
        return self._order(view, side, 0, size, order_type="market")

    @staticmethod
    def _order(
        view: engine.MarketView,
        side: str,
        price: int,
        size: int,
        *,
        outcome: str = "",
        order_type: str = "limit",
    ) -> dict[str, Any]:
        command: dict[str, Any] = {
            "type": "PlaceOrder",
            "market": view.market_id,
            "side": side,
            "size": size,
            "order_type": order_type,
            "tif": "ioc" if order_type == "market" else "gtc",
        }
        if price:
            command["price"] = price
        if outcome:
            command["outcome"] = outcome
        return command


def initial_prices(pairs: list[str]) -> dict[str, int]:
    """["BTC-USDC=60000", ...] as engine prices by engine market id (ApplicationError
    naming a pair that is not SYMBOL=PRICE of a tradable market)."""
    known = tradables()
    prices = {}
    for pair in pairs:
        symbol, _, value = pair.partition("=")
        if symbol not in known or not value:
            raise ApplicationError(f"{pair!r}: give SYMBOL=PRICE of a live market.")
        prices[symbol] = known[symbol].listed.price(value)
    return prices
