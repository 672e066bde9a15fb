"""A risk group's engine shard driven through the service, on the real PostgreSQL: commands
go in through `command_submit`, and `desk.process()` runs the shard's writer in this
process exactly as the Celery task does."""

from dataclasses import dataclass
from typing import Any

import pytest

from engine import models, services, tasks
from engine.core import MarginTier, MarketConfig, MarketKind
from engine.services import CommandReceipt, command_submit, shard_of
from tests.governance.factories import PermissionlessGroupFactory

USDC = "USDC"
TRADERS = (1, 2, 3, 4)
# far in the future: the writer stamps commands with the wall clock
LATER = 4_000_000_000_000

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
)
PERP = MarketConfig(
    "BTC-PERP",
    MarketKind.PERP,
    USDC,
    margin_tiers=(MarginTier(1_000_000, 1_000, 500), MarginTier(100_000_000, 2_000, 1_000)),
    funding_interval_ms=3_600_000,
    funding_cap_ppm=1_000,
    liquidation_fee_bps=100,
)
BINARY = MarketConfig(
    "RAIN", MarketKind.PREDICTION, USDC, payout=100, close_ts=LATER, dispute_window_ms=10_000
)
WORLD_CUP = MarketConfig(
    "WC26",
    MarketKind.PREDICTION,
    USDC,
    payout=1_000,
    tick_size=10,
    close_ts=LATER,
    dispute_window_ms=10_000,
    outcomes=("ARG", "BRA", "FRA"),
)


@dataclass
class Desk:
    """One risk group's engine as a trader (or the registry) meets it."""

    group: Any

    @property
    def shard(self) -> Any:
        return models.Shard.objects.get(pk=shard_of(risk_group=self.group).pk)

    def submit(self, account: int, kind: str, key: str = "", **fields: Any) -> CommandReceipt:
        return command_submit(
            risk_group=self.group,
            account=account,
            command={"type": kind, **fields},
            idempotency_key=key,
        )

    def process(self) -> int:
        return tasks.shard_process(self.shard.pk)

    def do(self, account: int, kind: str, **fields: Any) -> CommandReceipt:
        """Submit, let the writer apply it, and return the receipt with its outcome."""
        receipt = self.submit(account, kind, **fields)
        self.process()
        from engine.services import command_receipt

        return command_receipt(command_id=receipt.command_id)

    def list_market(self, config: MarketConfig) -> None:
        assert self.do(0, "AddMarket", config=config.to_dict()).result == "applied"

    def fund(self, *accounts: int, asset: str = USDC, amount: int = 10_000_000) -> None:
        for account in accounts:
            receipt = self.do(
                account, "Deposit", asset=asset, amount=amount, external_id=f"{asset}-{account}"
            )
            assert receipt.result == "applied"


@pytest.fixture(autouse=True)
def fresh_writers():
    """Each test starts with no writer in memory and no shard remembered."""
    tasks._writers.clear()
    services._shards.clear()
    yield
    tasks._writers.clear()
    services._shards.clear()


@pytest.fixture
def desk(db: Any) -> Desk:
    return Desk(PermissionlessGroupFactory())


@pytest.fixture
def spot_desk(desk: Desk) -> Desk:
    desk.list_market(SPOT)
    desk.fund(*TRADERS)
    desk.fund(*TRADERS, asset="BTC", amount=10_000)
    return desk
