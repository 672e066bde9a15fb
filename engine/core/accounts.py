"""Unified accounts: one per (trader, risk group), serving spot, perps and predictions."""

from engine.core.balances import Balance
from engine.core.book import Order
from engine.core.perp import Position
from engine.core.prediction import Holding


class Account:
    """Balances per asset, open orders, perp positions and prediction shares.

    `cash` is the balance of the risk group's collateral asset. `upnl`, `im` and `mm` are
    the sums of the positions' cached unrealised PnL, initial and maintenance margin at
    mark, kept up to date as positions and marks change, so a cross-margin check never
    rescans the positions.

    The rule after every command: an account with open positions has `equity()` of at
    least its maintenance margin `mm`, and its cash may be negative only while unrealised
    profit covers it that far (cross margin); an account without positions has no
    negative balance. The engine keeps it within the same command: an account that an
    oracle price, funding, a fill (perp, or a spot or prediction buy spending collateral
    that backed positions), a market update or a settlement left below maintenance is
    liquidated; one whose last position closed leaving its free collateral negative has
    the orders that lock collateral cancelled until it is not. What a liquidation cannot
    recover (after the insurance fund and the clawback of others' profit) is the risk
    group's `bad_debt`, in a `DeficitCovered` event, and the account is left at 0.
    `orders` holds the open orders oldest first, `reduce_only` those of them that are
    reduce-only.
    """

    __slots__ = (
        "account_id",
        "balances",
        "cash",
        "orders",
        "client_ids",
        "reduce_only",
        "positions",
        "holdings",
        "upnl",
        "im",
        "mm",
    )

    def __init__(self, account_id: int, collateral: str) -> None:
        self.account_id = account_id
        self.balances: dict[str, Balance] = {}
        self.cash = self.balance(collateral)
        self.orders: dict[int, Order] = {}
        self.client_ids: dict[str, int] = {}
        self.reduce_only: dict[int, Order] = {}
        self.positions: dict[str, Position] = {}
        self.holdings: dict[str, Holding] = {}
        self.upnl = 0
        self.im = 0
        self.mm = 0

    def balance(self, asset: str) -> Balance:
        balance = self.balances.get(asset)
        if balance is None:
            balance = self.balances[asset] = Balance(asset)
        return balance

    def margin_available(self) -> int:
        """Collateral that may back a new reservation or leave the account: free cash,
        less what the open positions' initial margin needs beyond their PnL."""
        free = self.cash.free
        if not self.positions:
            return free
        return min(free, free + self.upnl - self.im)

    def equity(self) -> int:
        cash = self.cash
        return cash.free + cash.locked + self.upnl
