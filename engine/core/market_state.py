"""A market's live state inside an engine: its book, status and the money it holds."""

from engine.core.book import Book
from engine.core.fees import MarketFees
from engine.core.markets import MarketConfig, MarketKind, MarketStatus
from engine.core.perp import Position
from engine.core.prediction import Holding


class Market:
    """A market's live state. `escrow` (prediction) holds `payout` per outstanding
    share pair; `pool` (perp) is the clearing account from which realised PnL is paid,
    so that pool + sum of open entry notionals is always 0."""

    __slots__ = (
        "config",
        "book",
        "status",
        "last_price",
        "mark",
        "positions",
        "holders",
        "escrow",
        "pool",
        "resolution",
        "resolution_ts",
        "next_funding_ts",
        "fees",
    )

    def __init__(self, config: MarketConfig, fees: MarketFees) -> None:
        self.config = config
        self.fees = fees
        self.book = Book()
        self.status = MarketStatus.LIVE
        self.last_price = 0
        self.mark = 0
        self.positions: dict[int, Position] = {}
        self.holders: dict[int, Holding] = {}
        self.escrow = 0
        self.pool = 0
        self.resolution = ""
        self.resolution_ts = 0
        self.next_funding_ts = 0

    def reference_price(self) -> int:
        """The price a limit order's band is measured from (0: no reference yet)."""
        return self.mark if self.config.kind is MarketKind.PERP else self.last_price
