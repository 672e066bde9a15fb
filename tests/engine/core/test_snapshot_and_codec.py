"""state_hash, snapshot/restore, replay from a snapshot, and the command codec."""

import json
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core import (
    COMMAND_TYPES,
    AddMarket,
    AdvanceTime,
    AmendOrder,
    CancelAll,
    CancelOrder,
    CloseMarket,
    Command,
    Deposit,
    DisputeResolution,
    EliminateOutcome,
    Engine,
    FundInsurance,
    HaltMarket,
    MarginTier,
    MarketConfig,
    MarketKind,
    OraclePrice,
    OrderType,
    Outcome,
    PlaceOrder,
    ProposeResolution,
    ResumeMarket,
    SelfTradePrevention,
    SettleMarket,
    Side,
    SnapshotError,
    TimeInForce,
    TransferIn,
    TransferOut,
    UpdateMarket,
    Withdraw,
    command_from_dict,
    command_from_record,
    command_to_dict,
    command_to_record,
    event_to_dict,
)


def test_restore_gives_back_the_same_state(spot):
    spot.apply(PlaceOrder(1, "BTC-USDC", Side.SELL, 10, price=1000, client_order_id="x"))
    spot.apply(PlaceOrder(2, "BTC-USDC", Side.BUY, 20, price=990, tif=TimeInForce.GTD, expiry_ts=9))
    restored = Engine.restore(spot.snapshot())
    assert restored.state_hash() == spot.state_hash()
    restored.check_invariants()
    # and both carry on identically, expiry timers included
    for engine in (spot, restored):
        engine.apply(AdvanceTime(10))
    assert restored.state_hash() == spot.state_hash()


def test_the_hash_changes_with_the_state(spot):
    before = spot.state_hash()
    spot.apply(Deposit(1, "USDC", 1, "one-more"))
    assert spot.state_hash() != before


def test_a_snapshot_is_versioned_json_and_nothing_else_loads():
    data = json.loads(Engine("g").snapshot())
    assert data["version"] == 1
    for bad in (b"\x80\x04K\x01.", b"[]", b'{"format": "other"}'):
        with pytest.raises(SnapshotError):
            Engine.restore(bad)
    data["version"] = 99
    with pytest.raises(SnapshotError):
        Engine.restore(json.dumps(data).encode())


def test_commands_round_trip_through_plain_json(configs):
    commands = [
        AddMarket(configs["perp"]),
        AddMarket(configs["world_cup"]),
        PlaceOrder(1, "WC26:ARG", Side.SELL, 5, price=10, outcome=Outcome.NO, ts=3),
        AmendOrder(1, 4, price=20),
        ProposeResolution("WC26", "ARG"),
        EliminateOutcome("WC26", "BRA"),
        Withdraw(1, "USDC", 5, "w"),
    ]
    for command in commands:
        text = json.dumps(command_to_dict(command))
        assert command_from_dict(json.loads(text)) == command


def test_every_command_round_trips_through_its_journal_record(configs):
    commands = [
        AddMarket(configs["world_cup"], ts=1),
        UpdateMarket(configs["perp"], ts=2),
        HaltMarket("P", ts=3),
        ResumeMarket("P", ts=4),
        CloseMarket("P", ts=5),
        SettleMarket("P", price=7, ts=6),
        OraclePrice("P", 99, ts=7),
        ProposeResolution("WC26", "ARG", ts=8),
        DisputeResolution("WC26", ts=9),
        EliminateOutcome("WC26", "BRA", ts=9),
        Deposit(3, "USDC", 10**30, "tx", ts=10),
        Withdraw(3, "USDC", 5, "w", ts=11),
        TransferOut(3, "USDC", 5, "t", "rg-2", ts=12),
        TransferIn(3, "USDC", 5, "t", "rg-1", ts=13),
        FundInsurance(8, "seed", ts=14),
        PlaceOrder(
            4,
            "WC26:ARG",
            Side.SELL,
            5,
            price=10,
            order_type=OrderType.MARKET,
            tif=TimeInForce.GTD,
            post_only=True,
            reduce_only=True,
            stp=SelfTradePrevention.CANCEL_BOTH,
            client_order_id="c-1",
            expiry_ts=99,
            outcome=Outcome.NO,
            ts=15,
        ),
        AmendOrder(4, 6, price=20, size=3, ts=16),
        CancelOrder(4, 0, "c-1", ts=17),
        CancelAll(4, "P", ts=18),
        AdvanceTime(19),
    ]
    assert {type(command) for command in commands} == set(COMMAND_TYPES.values())
    for command in commands:
        record = json.loads(json.dumps(command_to_record(command)))
        assert record[0] == type(command).__name__
        # the fields in declared order, as the command's dict has them
        assert record[1:] == list(command_to_dict(command).values())[1:]
        decoded = command_from_record(record)
        assert decoded == command
        assert type(decoded.ts) is int


def test_a_record_of_the_wrong_length_is_refused():
    record = command_to_record(Deposit(3, "USDC", 5, "tx"))
    with pytest.raises(ValueError, match="Deposit"):
        command_from_record(record[:-1])


def test_events_are_plain_dicts(spot):
    events = spot.apply(PlaceOrder(1, "BTC-USDC", Side.SELL, 5, price=1000))
    assert (
        json.loads(json.dumps([event_to_dict(e) for e in events]))[0]["reason"] == "below_min_size"
    )


# ------------------------------------------------------------------ random mixed streams

MARKETS = [
    MarketConfig(
        "S",
        MarketKind.SPOT,
        "USDC",
        base_asset="ETH",
        maker_fee_bps=-1,
        taker_fee_bps=7,
        deployer_share_bps=3_000,
    ),
    MarketConfig(
        "P",
        MarketKind.PERP,
        "USDC",
        margin_tiers=(MarginTier(50_000, 1_000, 500), MarginTier(10**9, 2_000, 1_000)),
        funding_interval_ms=50,
        funding_cap_ppm=500,
        liquidation_fee_bps=50,
        taker_fee_bps=5,
    ),
    MarketConfig(
        "Q",
        MarketKind.PREDICTION,
        "USDC",
        payout=100,
        close_ts=400,
        dispute_window_ms=20,
        taker_fee_bps=20,
        maker_fee_bps=5,
        deployer_share_bps=5_000,
    ),
]


def retuned(rng: random.Random, config: MarketConfig) -> MarketConfig:
    """`config` with other fees and, for a perp, other margin rates at the same steps."""
    fees = {"taker_fee_bps": rng.randint(0, 40), "maker_fee_bps": rng.randint(-1, 20)}
    if config.kind is MarketKind.PERP:
        im = rng.randint(500, 3_000)
        tiers = tuple(
            MarginTier(tier.max_notional, im * step, im * step // 2)
            for step, tier in enumerate(config.margin_tiers, 1)
        )
        return replace(config, margin_tiers=tiers, **fees)
    return replace(config, **fees)


def random_order(
    rng: random.Random,
    account: int,
    market: str,
    price: int,
    ts: int,
    *,
    market_orders: float,
    post_only: float,
    reduce_only: float,
) -> PlaceOrder:
    """Any kind of order, with the given shares of market, post-only and reduce-only."""
    return PlaceOrder(
        account,
        market,
        rng.choice((Side.BUY, Side.SELL)),
        rng.randint(1, 60),
        price=price,
        ts=ts,
        order_type=OrderType.MARKET if rng.random() < market_orders else OrderType.LIMIT,
        tif=rng.choice([TimeInForce.GTC] * 4 + list(TimeInForce)),
        expiry_ts=ts + rng.randint(1, 30),
        post_only=rng.random() < post_only,
        reduce_only=rng.random() < reduce_only,
        stp=rng.choice(list(SelfTradePrevention)),
        outcome=rng.choice((Outcome.YES, Outcome.NO)),
    )


def random_amend(
    rng: random.Random,
    account: int,
    last_order: int,
    prices: tuple[int, int],
    ts: int,
    first_order: int = 1,
) -> AmendOrder:
    """A new price, size, both or neither for an order that may or may not exist."""
    return AmendOrder(
        account,
        rng.randint(first_order, last_order),
        price=rng.choice((0, rng.randint(*prices))),
        size=rng.choice((0, rng.randint(1, 40))),
        ts=ts,
    )


def mixed_stream(seed: int, length: int) -> list[Command]:
    rng = random.Random(seed)
    commands: list[Command] = [AddMarket(config) for config in MARKETS]
    commands.append(FundInsurance(2_000, "seed"))
    for account in range(1, 6):
        commands.append(Deposit(account, "USDC", rng.randint(2_000, 40_000), f"u{account}"))
        commands.append(Deposit(account, "ETH", rng.randint(0, 200), f"e{account}"))
    commands.append(OraclePrice("P", 100))
    ts = 0
    placed = 0
    for _ in range(length):
        ts += rng.randint(0, 3)
        roll = rng.random()
        account = rng.randint(1, 5)
        market = rng.choice("SPQ")
        if roll < 0.55:
            placed += 1
            price = rng.randint(1, 99) if market == "Q" else rng.randint(85, 115)
            reduce_only = 0.1 if market == "P" else 0.0
            commands.append(
                random_order(
                    rng,
                    account,
                    market,
                    price,
                    ts,
                    market_orders=0.05,
                    post_only=0.1,
                    reduce_only=reduce_only,
                )
            )
        elif roll < 0.7:
            commands.append(random_amend(rng, account, placed + 1, (85, 99), ts))
        elif roll < 0.8:
            commands.append(CancelOrder(account, rng.randint(1, placed + 1), ts=ts))
        elif roll < 0.83:
            commands.append(CancelAll(account, rng.choice(("", market)), ts=ts))
        elif roll < 0.93:
            commands.append(OraclePrice("P", rng.randint(70, 130), ts=ts))
        elif roll < 0.96:
            commands.append(Withdraw(account, "USDC", rng.randint(1, 5_000), f"w{ts}", ts=ts))
        elif roll < 0.97:
            commands.append(UpdateMarket(retuned(rng, rng.choice(MARKETS)), ts=ts))
        else:
            commands.append(AdvanceTime(ts + rng.randint(1, 40)))
            ts += 40
    commands.append(AdvanceTime(ts + 500))
    commands.append(ProposeResolution("Q", rng.choice(("yes", "no", "void"))))
    commands.append(AdvanceTime(ts + 600))
    commands.append(SettleMarket("Q"))
    return commands


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cut=st.integers(0, 300))
def test_replaying_from_a_snapshot_reproduces_events_and_hash(seed, cut, checked_engine):
    commands = mixed_stream(seed, 300)
    original = checked_engine("rg", "USDC")
    for command in commands[:cut]:
        original.apply(command)
    restored = checked_engine.restore(original.snapshot())
    assert type(restored) is checked_engine
    assert restored.state_hash() == original.state_hash()
    for command in commands[cut:]:
        assert restored.apply(command) == original.apply(command)
    assert restored.state_hash() == original.state_hash()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_recovery_from_journal_records_reaches_the_same_state(seed, checked_engine):
    commands = mixed_stream(seed, 300)
    replayed, applied_after = commands[:250], commands[250:]
    live = checked_engine("rg", "USDC")
    for command in replayed:
        live.apply(command)
    records = json.loads(json.dumps([command_to_record(command) for command in replayed]))
    recovered = checked_engine("rg", "USDC")
    assert recovered.replay(records) == len(replayed)
    assert recovered.state_hash() == live.state_hash()
    # a replay builds none of the frequent events (a recovery discards them); the commands
    # applied after it give every event again, as the live engine's
    recovered.ledger = None
    for command in applied_after:
        assert recovered.apply(command) == live.apply(command)
    assert recovered.state_hash() == live.state_hash()
