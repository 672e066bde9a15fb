"""`check_invariants`: the rules an engine's state must always keep."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

from engine.core.markets import MarketKind, MarketStatus
from engine.core.perp import margin_at

if TYPE_CHECKING:
    from engine.core.engine import Engine


class InvariantViolation(Exception):
    """The engine's state broke one of its own rules: a bug, never a trader's error."""


def check_invariants(engine: "Engine") -> None:
    """Raise InvariantViolation naming the first broken rules."""
    problems = list(_problems(engine))
    if problems:
        raise InvariantViolation("; ".join(problems[:5]))


def _problems(engine: "Engine") -> Iterator[str]:
    collateral = engine.collateral
    held: dict[str, int] = {}

    def add(asset: str, amount: int) -> None:
        held[asset] = held.get(asset, 0) + amount

    # accounts: balances, locks against open orders
    for account_id, account in engine.accounts.items():
        if account.cash is not account.balances.get(collateral):
            yield f"account {account_id} cash is not its {collateral} balance"
        expected: dict[str, int] = {}
        for order_id, order in account.orders.items():
            if engine.orders.get(order_id) is not order or order.account != account_id:
                yield f"order {order_id} of account {account_id} is not in the engine"
            if order.level is None:
                yield f"open order {order_id} is not in a book"
            if account.balances.get(order.reserve.asset) is not order.reserve:
                yield f"order {order_id} reserves from a balance not its account's"
            reserved = order.reserved()
            if reserved < 0 or order.reserved_shares < 0:
                yield f"order {order_id} reserves a negative amount"
            expected[order.reserve.asset] = expected.get(order.reserve.asset, 0) + reserved
        for asset, balance in account.balances.items():
            add(asset, balance.free + balance.locked)
            if balance.asset != asset:
                yield f"account {account_id} files its {balance.asset} balance under {asset}"
            if balance.free < 0 and not (asset == collateral and account.positions):
                yield f"account {account_id} has negative free {asset}: {balance.free}"
            if balance.locked != expected.get(asset, 0):
                wanted = expected.get(asset, 0)
                yield f"account {account_id} locks {balance.locked} {asset}, its orders {wanted}"
        for client_id, order_id in account.client_ids.items():
            named = account.orders.get(order_id)
            if named is None or named.client_order_id != client_id:
                yield f"client order id {client_id!r} of account {account_id} is stale"
    if len(engine.orders) != sum(len(a.orders) for a in engine.accounts.values()):
        yield "engine orders and account orders differ"
    if engine.reduce_only_open != sum(len(a.reduce_only) for a in engine.accounts.values()):
        yield "the count of open reduce-only orders is stale"

    add(collateral, engine.insurance - engine.bad_debt)
    if engine.insurance < 0 or engine.bad_debt < 0:
        yield "negative insurance fund or bad debt"
    for asset, amount in engine.fees.protocol.items():
        add(asset, amount)
    for market_id, amount in engine.fees.deployer.items():
        add(engine.markets[market_id].config.quote_asset, amount)

    for market_id, market in engine.markets.items():
        yield from _book_problems(engine, market_id)
        kind = market.config.kind
        if kind is MarketKind.PREDICTION:
            add(collateral, market.escrow)
            yield from _prediction_problems(engine, market_id)
        elif kind is MarketKind.PERP:
            add(collateral, market.pool)
            yield from _perp_problems(engine, market_id)

    for account_id, account in engine.accounts.items():
        reduce_only = [o for o in account.orders.values() if o.reduce_only]
        if reduce_only != list(account.reduce_only.values()):
            yield f"account {account_id} reduce-only index differs from its orders"
        for market_id in {o.market for o in reduce_only}:
            position = account.positions.get(market_id)
            size = position.size if position is not None else 0
            mine = [o for o in reduce_only if o.market == market_id]
            if any((size > 0) is o.is_bid for o in mine) or sum(o.size for o in mine) > abs(size):
                yield f"account {account_id} reduce-only orders in {market_id} could increase"
        upnl = sum(p.upnl for p in account.positions.values())
        im = sum(p.im for p in account.positions.values())
        mm = sum(p.mm for p in account.positions.values())
        if (upnl, im, mm) != (account.upnl, account.im, account.mm):
            yield f"account {account_id} margin totals are stale"

    assets = set(held) | set(engine.inflow) | set(engine.outflow)
    for asset in sorted(assets):
        net = engine.inflow.get(asset, 0) - engine.outflow.get(asset, 0)
        if held.get(asset, 0) != net:
            yield f"{asset}: {net} came in net, {held.get(asset, 0)} is accounted for"


def _book_problems(engine: "Engine", market_id: str) -> Iterator[str]:
    market = engine.markets[market_id]
    book = market.book
    if book.bid_keys != sorted(book.bid_keys) or book.ask_keys != sorted(book.ask_keys):
        yield f"{market_id}: price levels out of order"
    if sorted(book.bids) != book.bid_keys or sorted(-p for p in book.asks) != book.ask_keys:
        yield f"{market_id}: level index and levels differ"
    best_bid, best_ask = book.best_bid(), book.best_ask()
    if best_bid is not None and best_ask is not None and best_bid >= best_ask:
        yield f"{market_id}: crossed book {best_bid} >= {best_ask}"
    if market.status in (MarketStatus.CLOSED, MarketStatus.SETTLED) and (book.bids or book.asks):
        yield f"{market_id}: orders rest in a closed market"
    for side in (book.bids, book.asks):
        for price, level in side.items():
            total = count = 0
            order = level.head
            previous = None
            while order is not None:
                if order.prev is not previous or order.level is not level or order.price != price:
                    yield f"{market_id}: level {price} links are broken"
                    break
                if order.size <= 0 or engine.orders.get(order.order_id) is not order:
                    yield f"{market_id}: order {order.order_id} in book is not open"
                if order.market != market_id or order.is_bid is not (side is book.bids):
                    yield f"{market_id}: order {order.order_id} on the wrong book or side"
                total += order.size
                count += 1
                previous, order = order, order.next
            if level.tail is not previous or (total, count) != (level.total, level.count):
                yield f"{market_id}: level {price} totals are wrong"
            if not count:
                yield f"{market_id}: empty level {price}"


def _prediction_problems(engine: "Engine", market_id: str) -> Iterator[str]:
    market = engine.markets[market_id]
    yes = no = 0
    locked_yes: dict[int, int] = {}
    locked_no: dict[int, int] = {}
    for order in market.book.orders():
        target = locked_no if order.is_bid else locked_yes
        target[order.account] = target.get(order.account, 0) + order.reserved_shares
    for account_id, holding in market.holders.items():
        if engine.accounts[account_id].holdings.get(market_id) is not holding:
            yield f"{market_id}: holding of {account_id} not on its account"
        if min(holding.yes, holding.no, holding.yes_locked, holding.no_locked) < 0:
            yield f"{market_id}: negative shares for {account_id}"
        if holding.yes and holding.no:
            yield f"{market_id}: {account_id} holds unmerged complete sets"
        if holding.yes_locked != locked_yes.get(account_id, 0):
            yield f"{market_id}: {account_id} locked YES differs from its orders"
        if holding.no_locked != locked_no.get(account_id, 0):
            yield f"{market_id}: {account_id} locked NO differs from its orders"
        yes += holding.yes + holding.yes_locked
        no += holding.no + holding.no_locked
    if yes != no or market.escrow != yes * market.config.payout:
        yield f"{market_id}: escrow {market.escrow} for {yes} YES / {no} NO shares"


def _perp_problems(engine: "Engine", market_id: str) -> Iterator[str]:
    market = engine.markets[market_id]
    size = entry = 0
    for account_id, position in market.positions.items():
        if engine.accounts[account_id].positions.get(market_id) is not position:
            yield f"{market_id}: position of {account_id} not on its account"
        if not position.size:
            yield f"{market_id}: empty position of {account_id} kept"
        size += position.size
        entry += position.entry
        upnl = position.size * market.mark - position.entry
        margins = margin_at(abs(position.size) * market.mark, market.config.margin_tiers)
        if (upnl, *margins) != (position.upnl, position.im, position.mm):
            yield f"{market_id}: cached PnL/margin of {account_id} is stale"
    if size:
        yield f"{market_id}: positions sum to {size}, not 0"
    if market.pool + entry:
        yield f"{market_id}: realised PnL does not net to zero (pool {market.pool}, entry {entry})"
