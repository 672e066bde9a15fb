"""The engine benches' market and order mix (engine_service.py, engine_writer.py): one spot
market, 1,000 accounts, limit orders around a mid of 10,000 ticks, a quarter crossing.
Imported after Django is set up (BatchItem is the engine service's)."""

import random

from engine.core import MarketConfig, MarketKind
from engine.services import BatchItem

SPOT = MarketConfig(
    "BTC-USDC",
    MarketKind.SPOT,
    "USDC",
    base_asset="BTC",
    tick_size=1,
    lot_size=1,
    min_size=1,
    taker_fee_bps=5,
)
ACCOUNTS = 1_000


def order_stream(rng: random.Random, count: int) -> list[BatchItem]:
    items = []
    for _ in range(count):
        side = rng.choice(("buy", "sell"))
        crossing = rng.random() < 0.25
        offset = rng.randint(1, 50)
        price = 10_000 + (offset if (side == "buy") == crossing else -offset) * (
            1 if side == "buy" else -1
        )
        command = {
            "type": "PlaceOrder",
            "market": "BTC-USDC",
            "side": side,
            "size": rng.randint(1, 20),
            "price": max(1, price),
        }
        items.append(BatchItem(rng.randint(1, ACCOUNTS), command))
    return items
