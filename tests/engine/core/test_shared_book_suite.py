"""One suite, two books: the real engine (with money that never runs out and no fees) and
the naive reference book must produce the very same events for the same commands.

The scenario tests read like exchange-core's OrderBookBaseTest; the hypothesis test
throws random command streams at both and compares every event of every command. The
engine runs as the suite's CheckedEngine, so invariants are checked after each command.
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core import (
    AddMarket,
    AdvanceTime,
    AmendOrder,
    CancelAll,
    CancelOrder,
    Command,
    Deposit,
    Event,
    MarketConfig,
    MarketKind,
    OrderType,
    PlaceOrder,
    SelfTradePrevention,
    Side,
    TimeInForce,
)
from engine.core.reference_book import ReferenceBook

M = "SUITE"
CONFIG = MarketConfig(
    M, MarketKind.SPOT, "USDC", base_asset="BTC", tick_size=10, lot_size=5, min_size=10
)
ACCOUNTS = (1, 2, 3)
BUY, SELL = Side.BUY, Side.SELL


class EngineBook:
    def __init__(self, engine_class) -> None:
        self.engine = engine_class("suite", "USDC")
        self.engine.apply(AddMarket(CONFIG))
        for account in ACCOUNTS:
            self.engine.apply(Deposit(account, "USDC", 10**15, f"u{account}"))
            self.engine.apply(Deposit(account, "BTC", 10**12, f"b{account}"))

    def apply(self, command: Command) -> list[Event]:
        return self.engine.apply(command)


@pytest.fixture(params=["engine", "reference"])
def book(request, checked_engine):
    if request.param == "engine":
        return EngineBook(checked_engine)
    return ReferenceBook(CONFIG)


def kinds(events):
    return [type(e).__name__ for e in events]


def test_resting_orders_do_not_trade(book):
    assert kinds(book.apply(PlaceOrder(1, M, BUY, 10, price=990))) == ["OrderAccepted"]
    assert kinds(book.apply(PlaceOrder(2, M, SELL, 10, price=1000))) == ["OrderAccepted"]


def test_a_crossing_order_sweeps_levels_in_price_then_time_order(book):
    book.apply(PlaceOrder(2, M, SELL, 10, price=1010))
    book.apply(PlaceOrder(2, M, SELL, 10, price=1000))
    book.apply(PlaceOrder(3, M, SELL, 10, price=1000))
    events = book.apply(PlaceOrder(1, M, BUY, 25, price=1010))
    assert [(e.maker_order_id, e.size) for e in events[1:]] == [(2, 10), (3, 10), (1, 5)]


def test_ioc_and_fok(book):
    book.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    assert kinds(book.apply(PlaceOrder(2, M, BUY, 20, price=1000, tif=TimeInForce.FOK))) == [
        "Rejected"
    ]
    events = book.apply(PlaceOrder(2, M, BUY, 20, price=1000, tif=TimeInForce.IOC))
    assert kinds(events) == ["OrderAccepted", "Fill", "OrderCancelled"]


def test_amend_and_cancel(book):
    book.apply(PlaceOrder(1, M, SELL, 20, price=1000))
    book.apply(PlaceOrder(2, M, SELL, 20, price=1000))
    assert kinds(book.apply(AmendOrder(1, 1, size=10))) == ["OrderAmended"]
    assert kinds(book.apply(AmendOrder(2, 2, price=990))) == ["OrderAmended"]
    events = book.apply(PlaceOrder(3, M, BUY, 30, price=1000))
    assert [(e.maker_order_id, e.size) for e in events[1:]] == [(2, 20), (1, 10)]
    assert kinds(book.apply(CancelOrder(1, 1))) == ["Rejected"]


def test_self_trade_prevention(book):
    book.apply(PlaceOrder(1, M, SELL, 10, price=1000))
    book.apply(PlaceOrder(2, M, SELL, 10, price=1000))
    oldest = SelfTradePrevention.CANCEL_OLDEST
    events = book.apply(PlaceOrder(1, M, BUY, 10, price=1000, stp=oldest))
    assert kinds(events) == ["OrderAccepted", "OrderCancelled", "Fill"]


def test_gtd_expiry(book):
    book.apply(PlaceOrder(1, M, SELL, 10, price=1000, tif=TimeInForce.GTD, expiry_ts=10))
    events = book.apply(AdvanceTime(10))
    assert kinds(events) == ["OrderCancelled"]


# ------------------------------------------------------------------ random streams

place = st.builds(
    lambda account, buy, tick, off_tick, size, tif, post_only, stp, market, coid, expiry_in: (
        "place",
        account,
        buy,
        960 + 10 * tick + (5 if off_tick == 0 else 0),
        size,
        tif,
        post_only,
        stp,
        market,
        coid,
        expiry_in,
    ),
    st.sampled_from(ACCOUNTS),
    st.booleans(),
    st.integers(0, 8),
    st.integers(0, 15),
    st.sampled_from([10, 10, 15, 20, 25, 40, 10, 15, 20, 5, 12]),
    st.sampled_from([TimeInForce.GTC] * 4 + list(TimeInForce)),
    st.booleans(),
    st.sampled_from(list(SelfTradePrevention)),
    st.integers(0, 9),
    st.sampled_from(["", "", "", "a", "b"]),
    st.integers(-2, 30),
)
# amend and cancel name one of the last few orders placed, usually by its owner
amend = st.tuples(
    st.just("amend"),
    st.integers(0, 4),
    st.integers(0, 7),
    st.sampled_from([0, 0, 960, 990, 1000, 1005, 1010, 1040]),
    st.sampled_from([0, 5, 10, 15, 30]),
)
cancel = st.tuples(
    st.just("cancel"), st.integers(0, 4), st.integers(0, 7), st.sampled_from(["", "", "a"])
)
cancel_all = st.tuples(st.just("cancel_all"), st.sampled_from(ACCOUNTS))
tick = st.tuples(st.just("time"), st.integers(1, 5))
steps = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.one_of(place, place, place, place, amend, amend, cancel, cancel_all, tick),
    ),
    min_size=5,
    max_size=60,
)


def to_commands(script) -> list[Command]:
    commands: list[Command] = []
    placed: list[int] = []  # the account of each order id - 1
    ts = 0
    for pause, op in script:
        ts += pause
        kind = op[0]
        if kind == "place":
            _, account, buy, price, size, tif, post_only, stp, market, coid, expiry_in = op
            placed.append(account)
            commands.append(
                PlaceOrder(
                    account,
                    M,
                    BUY if buy else SELL,
                    size,
                    price=price,
                    order_type=OrderType.MARKET if market == 0 else OrderType.LIMIT,
                    tif=tif,
                    post_only=post_only,
                    stp=stp,
                    client_order_id=coid,
                    expiry_ts=ts + expiry_in,
                    ts=ts,
                )
            )
        elif kind in ("amend", "cancel"):
            order_id = max(len(placed) - op[1], 1)
            owner = placed[order_id - 1] if placed else 1
            account = owner if op[2] else owner % len(ACCOUNTS) + 1
            if kind == "amend":
                commands.append(AmendOrder(account, order_id, price=op[3], size=op[4], ts=ts))
            elif op[3]:
                commands.append(CancelOrder(account, client_order_id=op[3], ts=ts))
            else:
                commands.append(CancelOrder(account, order_id, ts=ts))
        elif kind == "cancel_all":
            commands.append(CancelAll(op[1], M, ts=ts))
        else:
            ts += op[1]
            commands.append(AdvanceTime(ts))
    return commands


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=steps)
def test_random_streams_give_the_same_events_on_both_books(script, checked_engine):
    real = EngineBook(checked_engine)
    reference = ReferenceBook(CONFIG)
    for number, command in enumerate(to_commands(script)):
        assert real.apply(command) == reference.apply(command), f"command {number}: {command}"


def random_stream(seed: int, length: int) -> list[Command]:
    """A busier stream than hypothesis' shrinkable one: many crossings, amends of live
    orders, all order types."""
    rng = random.Random(seed)
    commands: list[Command] = []
    placed: list[int] = []
    ts = 0
    for _ in range(length):
        ts += rng.choice((0, 0, 1, 2))
        roll = rng.random()
        if roll < 0.55 or not placed:
            account = rng.choice(ACCOUNTS)
            placed.append(account)
            tif = rng.choice([TimeInForce.GTC] * 5 + list(TimeInForce))
            commands.append(
                PlaceOrder(
                    account,
                    M,
                    rng.choice((BUY, SELL)),
                    rng.choice((10, 15, 20, 25, 50, 5, 12)),
                    price=rng.randrange(960, 1050, 10) + (5 if rng.random() < 0.05 else 0),
                    order_type=OrderType.MARKET if rng.random() < 0.08 else OrderType.LIMIT,
                    tif=tif,
                    post_only=rng.random() < 0.15,
                    stp=rng.choice(list(SelfTradePrevention)),
                    client_order_id=rng.choice(["", "", "", "a", "b"]),
                    expiry_ts=ts + rng.randint(-1, 20),
                    ts=ts,
                )
            )
            continue
        order_id = max(len(placed) - rng.randint(0, 6), 1)
        owner = placed[order_id - 1]
        account = owner if rng.random() < 0.9 else owner % len(ACCOUNTS) + 1
        if roll < 0.8:
            price = rng.choice((0, rng.randrange(960, 1050, 10)))
            size = rng.choice((0, 5, 10, 15, 30))
            commands.append(AmendOrder(account, order_id, price=price, size=size, ts=ts))
        elif roll < 0.92:
            commands.append(CancelOrder(account, order_id, ts=ts))
        elif roll < 0.96:
            commands.append(CancelAll(account, M, ts=ts))
        else:
            ts += rng.randint(1, 10)
            commands.append(AdvanceTime(ts))
    return commands


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_busy_random_streams_give_the_same_events_on_both_books(seed, checked_engine):
    real = EngineBook(checked_engine)
    reference = ReferenceBook(CONFIG)
    for number, command in enumerate(random_stream(seed, 150)):
        assert real.apply(command) == reference.apply(command), f"command {number}: {command}"
