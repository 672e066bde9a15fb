"""Unified accounts: one per (trader, risk group), serving spot, perps and predictions."""

from engine.core.book import Order
from engine.core.perp import Position
from engine.core.prediction import Holding


class Account:
    """Free and locked (reserved by open orders) balances per asset, open orders, perp
    positions and prediction shares.

    `upnl`, `im` and `mm` are the sums of the positions' cached unrealised PnL, initial
    and maintenance margin at mark, kept up to date as positions and marks change, so a
    cross-margin check never rescans the positions. The collateral balance of an account
    with open positions may be negative while unrealised profit covers it (cross margin);
    without positions it never is.
    """

    __slots__ = (
        "account_id",
        "free",
        "locked",
        "orders",
        "client_ids",
        "positions",
        "holdings",
        "upnl",
        "im",
        "mm",
    )

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        self.free: dict[str, int] = {}
        self.locked: dict[str, int] = {}
        self.orders: dict[int, Order] = {}
        self.client_ids: dict[str, int] = {}
        self.positions: dict[str, Position] = {}
        self.holdings: dict[str, Holding] = {}
        self.upnl = 0
        self.im = 0
        self.mm = 0

    def margin_available(self, collateral: str) -> int:
        """Collateral that may back a new reservation or leave the account: free
        collateral, less what the open positions' initial margin needs beyond their PnL."""
        free = self.free.get(collateral, 0)
        if not self.positions:
            return free
        return min(free, free + self.upnl - self.im)

    def equity(self, collateral: str) -> int:
        return self.free.get(collateral, 0) + self.locked.get(collateral, 0) + self.upnl

    def lock(self, asset: str, amount: int) -> None:
        free = self.free
        free[asset] = free.get(asset, 0) - amount
        locked = self.locked
        locked[asset] = locked.get(asset, 0) + amount

    def credit(self, asset: str, amount: int) -> None:
        free = self.free
        free[asset] = free.get(asset, 0) + amount
