"""Engines for the engine core tests: every command applied through them is followed by
`check_invariants()` and by a comparison of the engine's money with a ledger rebuilt from
its events alone, so every test checks both after every command."""

from collections.abc import Callable

import pytest

from engine.core import (
    AddMarket,
    Command,
    Deposit,
    Engine,
    Event,
    MarginTier,
    MarketConfig,
    MarketKind,
    OraclePrice,
)
from engine.core.ledger import Ledger, state_of

USDC = "USDC"
TRADERS = (1, 2, 3, 4)


class CheckedEngine(Engine):
    def __init__(self, risk_group: str = "", collateral: str = "USDC") -> None:
        super().__init__(risk_group, collateral)
        # a restored engine's past events are gone: only a fresh engine has a ledger
        self.ledger: Ledger | None = Ledger(collateral)

    @classmethod
    def restore(cls, data: bytes) -> "CheckedEngine":
        engine = super().restore(data)
        assert isinstance(engine, CheckedEngine)
        engine.ledger = None
        return engine

    def apply(self, command: Command) -> list[Event]:
        events = super().apply(command)
        self.check_invariants()
        if self.ledger is not None:
            self.ledger.apply_all(events)
            assert self.ledger.state() == state_of(self), f"events of {command} miss a move"
        return events


SPOT = MarketConfig(
    "BTC-USDC",
    MarketKind.SPOT,
    USDC,
    base_asset="BTC",
    tick_size=10,
    lot_size=5,
    min_size=10,
    maker_fee_bps=-2,
    taker_fee_bps=10,
    deployer_share_bps=2_000,
    price_band_bps=2_000,
)

PERP = MarketConfig(
    "BTC-PERP",
    MarketKind.PERP,
    USDC,
    tick_size=1,
    taker_fee_bps=0,
    margin_tiers=(MarginTier(1_000_000, 1_000, 500), MarginTier(100_000_000, 2_000, 1_000)),
    funding_interval_ms=3_600_000,
    funding_cap_ppm=1_000,
    liquidation_fee_bps=100,
    price_band_bps=2_000,
)

BINARY = MarketConfig(
    "RAIN",
    MarketKind.PREDICTION,
    USDC,
    tick_size=1,
    payout=100,
    close_ts=1_000_000,
    dispute_window_ms=10_000,
)

WORLD_CUP = MarketConfig(
    "WC26",
    MarketKind.PREDICTION,
    USDC,
    payout=1_000,
    tick_size=10,
    close_ts=1_000_000,
    dispute_window_ms=10_000,
    outcomes=("ARG", "BRA", "FRA"),
)


def funded(*configs: MarketConfig, usdc: int = 10_000_000, btc: int = 10_000) -> CheckedEngine:
    engine = CheckedEngine("rg-test", USDC)
    for config in configs:
        engine.apply(AddMarket(config))
    for trader in TRADERS:
        engine.apply(Deposit(trader, USDC, usdc, f"usdc-{trader}"))
        engine.apply(Deposit(trader, "BTC", btc, f"btc-{trader}"))
    return engine


@pytest.fixture
def spot() -> CheckedEngine:
    return funded(SPOT)


@pytest.fixture
def perp() -> CheckedEngine:
    engine = funded(PERP, usdc=100_000)
    engine.apply(OraclePrice("BTC-PERP", 1_000, ts=1))
    return engine


@pytest.fixture
def binary() -> CheckedEngine:
    return funded(BINARY, usdc=100_000)


@pytest.fixture
def world_cup() -> CheckedEngine:
    return funded(WORLD_CUP, usdc=100_000)


@pytest.fixture
def make_engine() -> Callable[..., CheckedEngine]:
    return funded


@pytest.fixture
def configs() -> dict[str, MarketConfig]:
    return {"spot": SPOT, "perp": PERP, "binary": BINARY, "world_cup": WORLD_CUP}


@pytest.fixture(scope="session")
def checked_engine() -> type[CheckedEngine]:
    return CheckedEngine
