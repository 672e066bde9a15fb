"""Every move of money is an event: a ledger rebuilt from the event stream alone equals the
engine's state after every command, on random streams across spot, perps (hard oracle
moves: liquidations, cascades, auto-deleveraging, funding) and prediction markets (mint,
merge, resolution, dispute, void); every unit of collateral is accounted for; and after
any command (an oracle price included) nobody is left below zero."""

import random
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core import (
    AddMarket,
    AdvanceTime,
    AmendOrder,
    BalanceMoved,
    CancelAll,
    CancelOrder,
    CloseMarket,
    Command,
    Deposit,
    DisputeResolution,
    Engine,
    FundInsurance,
    Ledger,
    MarginTier,
    MarketConfig,
    MarketKind,
    OraclePrice,
    OrderType,
    Outcome,
    PlaceOrder,
    ProposeResolution,
    SelfTradePrevention,
    SettleMarket,
    Side,
    TimeInForce,
    TransferIn,
    TransferOut,
    UpdateMarket,
    Withdraw,
    event_from_dict,
    event_to_dict,
    state_of,
)

TIERS = (MarginTier(20_000, 1_000, 500), MarginTier(10**9, 2_000, 1_000))
MARKETS = [
    MarketConfig(
        "S", MarketKind.SPOT, "USDC", base_asset="ETH", taker_fee_bps=10, maker_fee_bps=-2
    ),
    MarketConfig(
        "P",
        MarketKind.PERP,
        "USDC",
        margin_tiers=TIERS,
        funding_interval_ms=40,
        funding_cap_ppm=2_000,
        liquidation_fee_bps=100,
        taker_fee_bps=5,
        deployer_share_bps=2_500,
    ),
    MarketConfig(
        "Q",
        MarketKind.PERP,
        "USDC",
        margin_tiers=TIERS,
        funding_interval_ms=70,
        funding_cap_ppm=500,
        liquidation_fee_bps=50,
        price_band_bps=3_000,
        maker_fee_bps=2,
        taker_fee_bps=4,
    ),
    MarketConfig(
        "B",
        MarketKind.PREDICTION,
        "USDC",
        payout=100,
        close_ts=300,
        dispute_window_ms=20,
        taker_fee_bps=30,
        deployer_share_bps=5_000,
    ),
    MarketConfig(
        "W",
        MarketKind.PREDICTION,
        "USDC",
        payout=100,
        close_ts=350,
        dispute_window_ms=20,
        maker_fee_bps=10,
        outcomes=("ARG", "BRA", "FRA"),
    ),
]
BOOKS = ["S", "P", "Q", "B", "W:ARG", "W:BRA", "W:FRA"]
ACCOUNTS = range(1, 7)


def risky_stream(seed: int, length: int) -> list[Command]:
    """Thin accounts, big oracle jumps, and the prediction markets' whole life."""
    rng = random.Random(seed)
    commands: list[Command] = [AddMarket(config) for config in MARKETS]
    if rng.random() < 0.5:
        commands.append(FundInsurance(rng.randint(1, 3_000), "seed"))
    for account in ACCOUNTS:
        commands.append(Deposit(account, "USDC", rng.choice((300, 2_000, 20_000)), f"u{account}"))
        commands.append(Deposit(account, "ETH", rng.randint(0, 100), f"e{account}"))
    marks = {"P": 100, "Q": 100}
    commands += [OraclePrice(market, 100) for market in marks]
    ts = 0
    for step in range(length):
        ts += rng.randint(0, 4)
        roll = rng.random()
        account = rng.choice(ACCOUNTS)
        market = rng.choice(BOOKS)
        if roll < 0.5:
            prediction = market[0] in "BW"
            price = rng.randint(1, 99) if prediction else rng.randint(70, 130)
            commands.append(
                PlaceOrder(
                    account,
                    market,
                    rng.choice((Side.BUY, Side.SELL)),
                    rng.randint(1, 40),
                    price=price,
                    order_type=OrderType.MARKET if rng.random() < 0.08 else OrderType.LIMIT,
                    tif=rng.choice([TimeInForce.GTC] * 4 + list(TimeInForce)),
                    expiry_ts=ts + rng.randint(1, 30),
                    post_only=rng.random() < 0.05,
                    reduce_only=market in marks and rng.random() < 0.2,
                    stp=rng.choice(list(SelfTradePrevention)),
                    outcome=rng.choice((Outcome.YES, Outcome.NO)),
                    ts=ts,
                )
            )
        elif roll < 0.6:
            commands.append(
                AmendOrder(
                    account,
                    rng.randint(1, step + 1),
                    price=rng.choice((0, rng.randint(1, 130))),
                    size=rng.choice((0, rng.randint(1, 40))),
                    ts=ts,
                )
            )
        elif roll < 0.66:
            commands.append(CancelOrder(account, rng.randint(1, step + 1), ts=ts))
        elif roll < 0.68:
            commands.append(CancelAll(account, rng.choice(("", market)), ts=ts))
        elif roll < 0.8:
            perp = rng.choice(sorted(marks))
            # hard moves: up to 40% either way
            marks[perp] = max(10, marks[perp] * rng.randint(60, 140) // 100)
            commands.append(OraclePrice(perp, marks[perp], ts=ts))
        elif roll < 0.84:
            commands.append(Withdraw(account, "USDC", rng.randint(1, 2_000), f"w{step}", ts=ts))
        elif roll < 0.86:
            commands.append(TransferOut(account, "USDC", rng.randint(1, 500), f"t{step}", "b"))
            commands.append(
                TransferIn(account % 6 + 1, "USDC", rng.randint(1, 500), f"t{step}", "b")
            )
        elif roll < 0.87:
            config = rng.choice(MARKETS[:3])
            commands.append(UpdateMarket(_tweaked(rng, config), ts=ts))
        elif roll < 0.88:
            commands.append(Deposit(account, "USDC", rng.randint(1, 5_000), f"top{step}", ts=ts))
        else:
            ts += rng.randint(1, 30)
            commands.append(AdvanceTime(ts))
    # the end of everything: the prediction markets resolve (after a dispute, maybe
    # void), and one perp settles
    ts = max(ts, 400)
    commands.append(AdvanceTime(ts))
    commands.append(ProposeResolution("B", rng.choice(("yes", "no", "void")), ts=ts))
    commands.append(ProposeResolution("W", rng.choice(("ARG", "BRA", "FRA", "void")), ts=ts))
    if rng.random() < 0.5:
        commands.append(DisputeResolution("W", ts=ts + 1))
        commands.append(ProposeResolution("W", rng.choice(("ARG", "void")), ts=ts + 2))
    commands.append(AdvanceTime(ts + 50))
    commands.append(SettleMarket("B", ts=ts + 50))
    commands.append(SettleMarket("W", ts=ts + 50))
    commands.append(CloseMarket("P", ts=ts + 50))
    commands.append(SettleMarket("P", price=max(10, marks["P"] * rng.randint(50, 150) // 100)))
    return commands


def _tweaked(rng: random.Random, config: MarketConfig) -> MarketConfig:
    fees = {"taker_fee_bps": rng.randint(0, 50), "maker_fee_bps": rng.randint(-2, 30)}
    if config.kind is MarketKind.PERP:
        im = rng.randint(500, 3_000)
        tiers = (MarginTier(20_000, im, im // 2), MarginTier(10**9, 2 * im, im))
        return replace(config, margin_tiers=tiers, **fees)
    return replace(config, **fees)


def collateral_held(ledger: Ledger, asset: str) -> int:
    """Every unit of `asset` the ledger places somewhere."""
    total = sum(
        balance.free + balance.locked
        for balances in ledger.balances.values()
        for balance in balances.values()
        if balance.asset == asset
    )
    if asset == ledger.collateral:
        total += sum(ledger.escrow.values()) + sum(ledger.pool.values())
        total += ledger.insurance - ledger.bad_debt + sum(ledger.fees.deployer.values())
    return total + ledger.fees.protocol.get(asset, 0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_ledger_from_the_events_alone_equals_the_engine_after_every_command(seed):
    engine = Engine("rg", "USDC")
    ledger = Ledger("USDC")
    net: dict[str, int] = {}
    for number, command in enumerate(risky_stream(seed, 250)):
        events = engine.apply(command)
        engine.check_invariants()
        for event in events:
            # the events survive their JSON form: a projection may read them from there
            ledger.apply(event_from_dict(event_to_dict(event)))
            if isinstance(event, BalanceMoved):
                net[event.asset] = net.get(event.asset, 0) + event.amount
        assert ledger.state() == state_of(engine), f"command {number}: {command}"
        for asset, amount in net.items():
            assert collateral_held(ledger, asset) == amount, f"{asset} after {command}"
        assert_nobody_below_zero(engine, command)


def assert_nobody_below_zero(engine: Engine, command: Command) -> None:
    """The rule after every command (an oracle price included): an account holding perp
    positions has equity (collateral, locked included, plus unrealised PnL) of at least
    its maintenance margin, and may have a negative collateral balance only so; any other
    account has no negative balance. What a liquidation could not recover is the risk
    group's bad debt, never an account's negative balance."""
    for account in engine.accounts.values():
        if account.positions:
            assert account.equity() >= account.mm, f"{account.account_id} after {command}"
        else:
            for balance in account.balances.values():
                assert balance.free >= 0, f"{account.account_id} after {command}"


def test_the_streams_reach_the_paths_they_are_meant_to_stress():
    """The random streams above are only worth their name if they liquidate, cascade,
    deleverage, pay funding, merge, book bad debt and pay out."""
    seen: set[str] = set()
    for seed in range(40):
        engine = Engine("rg", "USDC")
        for command in risky_stream(seed, 250):
            seen.update(type(event).__name__ for event in engine.apply(command))
    wanted = {
        "Liquidated",
        "Deleveraged",
        "FundingPaid",
        "SetsMerged",
        "DeficitCovered",
        "ProfitClawedBack",
        "Payout",
        "ResolutionDisputed",
        "OrderReserveChanged",
    }
    assert wanted <= seen, wanted - seen
