"""Snapshots: the whole state of an engine as versioned, canonical JSON.

Loading parses JSON and rebuilds objects field by field: nothing in a snapshot is ever
executed. Books are written best price first and FIFO within a level, and every dict
whose order the engine relies on is written in that order, so a restored engine
continues exactly as the original would: replaying the same commands on both gives the
same events and the same `state_hash`.
"""

import hashlib
import json
from typing import TYPE_CHECKING, Any

from engine.core.accounts import Account
from engine.core.book import Order
from engine.core.commands import SelfTradePrevention
from engine.core.market_state import Market
from engine.core.markets import MarketConfig, MarketStatus

if TYPE_CHECKING:
    from engine.core.engine import Engine

FORMAT = "exchange-os-engine-snapshot"
VERSION = 1


class SnapshotError(ValueError):
    """The bytes are not a snapshot this version of the engine can load."""


def _order_row(order: Order) -> list[Any]:
    return [
        order.order_id,
        order.account,
        order.is_bid,
        order.price,
        order.size,
        str(order.stp),
        order.client_order_id,
        order.expiry_ts,
        order.post_only,
        order.reduce_only,
        order.reserve.asset,
        order.unit_reserve,
        order.reserved_shares,
        order.outcome_no,
    ]


def to_state(engine: "Engine") -> dict[str, Any]:
    markets = []
    for market in engine.markets.values():
        markets.append(
            {
                "config": market.config.to_dict(),
                "status": str(market.status),
                "last_price": market.last_price,
                "mark": market.mark,
                "escrow": market.escrow,
                "pool": market.pool,
                "resolution": market.resolution,
                "resolution_ts": market.resolution_ts,
                "next_funding_ts": market.next_funding_ts,
                "positions": [
                    [p.account, p.size, p.entry, p.realised, p.funding]
                    for p in market.positions.values()
                ],
                "holders": [
                    [account_id, h.yes, h.no, h.yes_locked, h.no_locked]
                    for account_id, h in market.holders.items()
                ],
                "orders": [_order_row(order) for order in market.book.orders()],
            }
        )
    accounts = [
        {
            "id": account.account_id,
            "balances": [[b.asset, b.free, b.locked] for b in account.balances.values()],
            "orders": list(account.orders),
        }
        for account in engine.accounts.values()
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "risk_group": engine.risk_group,
        "collateral": engine.collateral,
        "now": engine.now,
        "next_order_id": engine.next_order_id,
        "insurance": engine.insurance,
        "bad_debt": engine.bad_debt,
        "inflow": engine.inflow,
        "outflow": engine.outflow,
        "request_ids": sorted(engine.request_ids),
        "fees_protocol": engine.fees.protocol,
        "fees_deployer": engine.fees.deployer,
        "categorical": {key: list(value) for key, value in engine.categorical.items()},
        "markets": markets,
        "accounts": accounts,
        "timers": [list(timer) for timer in sorted(engine.timers)],
    }


def dump(engine: "Engine") -> bytes:
    return json.dumps(to_state(engine), sort_keys=True, separators=(",", ":")).encode()


def state_hash(engine: "Engine") -> str:
    return hashlib.sha256(dump(engine)).hexdigest()


def load_into(engine: "Engine", data: bytes) -> None:
    """Fill a freshly made engine with the state in `data`."""
    try:
        state = json.loads(data)
    except ValueError as error:
        raise SnapshotError(f"not JSON: {error}") from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SnapshotError("not an engine snapshot")
    if state.get("version") != VERSION:
        raise SnapshotError(f"snapshot version {state.get('version')!r}, expected {VERSION}")
    if engine.markets or engine.accounts:
        raise SnapshotError("restore into a fresh engine only")
    engine.risk_group = state["risk_group"]
    engine.collateral = state["collateral"]
    engine.now = state["now"]
    engine.next_order_id = state["next_order_id"]
    engine.insurance = state["insurance"]
    engine.bad_debt = state["bad_debt"]
    engine.inflow = dict(state["inflow"])
    engine.outflow = dict(state["outflow"])
    engine.request_ids = set(state["request_ids"])
    engine.fees.restored = dict(state["fees_protocol"])
    engine.categorical = {key: tuple(value) for key, value in state["categorical"].items()}
    engine.timers = [
        (timer[0], timer[1], timer[2], timer[3]) for timer in state["timers"]
    ]  # a sorted list is a valid heap
    for row in state["accounts"]:
        account = engine.accounts[row["id"]] = Account(row["id"], engine.collateral)
        for asset, free, locked in row["balances"]:
            balance = account.balance(asset)
            balance.free, balance.locked = free, locked
    orders: dict[int, Order] = {}
    for row in state["markets"]:
        config = MarketConfig.from_dict(row["config"])
        fees = engine.fees.of(config.market_id, config.quote_asset)
        market = engine.markets[config.market_id] = Market(config, fees)
        fees.deployer = state["fees_deployer"].get(config.market_id, 0)
        market.status = MarketStatus(row["status"])
        market.last_price = row["last_price"]
        market.mark = row["mark"]
        market.escrow = row["escrow"]
        market.pool = row["pool"]
        market.resolution = row["resolution"]
        market.resolution_ts = row["resolution_ts"]
        market.next_funding_ts = row["next_funding_ts"]
        for account_id, size, entry, realised, funding in row["positions"]:
            account = engine.accounts[account_id]
            position = engine._position(market, account)
            position.size, position.entry = size, entry
            position.realised, position.funding = realised, funding
            engine._refresh_position(market, account, position)
        for account_id, yes, no, yes_locked, no_locked in row["holders"]:
            holding = engine._holding(market, engine.accounts[account_id])
            holding.yes, holding.no = yes, no
            holding.yes_locked, holding.no_locked = yes_locked, no_locked
        for values in row["orders"]:
            order = Order(
                values[0],
                values[1],
                config.market_id,
                values[2],
                values[3],
                values[4],
                SelfTradePrevention(values[5]),
                values[6],
                values[7],
                values[8],
                values[9],
                engine.accounts[values[1]].balance(values[10]),
                values[11],
                values[12],
                values[13],
            )
            market.book.add(order)
            orders[order.order_id] = order
    for row in state["accounts"]:
        account = engine.accounts[row["id"]]
        for order_id in row["orders"]:
            engine._register_order(account, orders[order_id])
