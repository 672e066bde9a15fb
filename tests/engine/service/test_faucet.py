"""The faucet of a group whose collateral is simulated: once per account per day, a Deposit
through the engine service; refused beyond the daily limit and where collateral is real."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine import models
from engine.errors import CommandRefused
from engine.faucet import faucet_grant
from engine.selectors import balances_of, statement_of
from engine.tasks import shard_process
from tests.governance.factories import PermissionlessGroupFactory

DAY = date(2026, 6, 11)
USDC_DECIMALS = 6


@pytest.fixture
def simulated(db: Any) -> Any:
    return PermissionlessGroupFactory(
        simulated_collateral=True, faucet_daily_amount=Decimal("1000.5")
    )


def grant(group: Any, account: int, day: date = DAY) -> Any:
    return faucet_grant(
        risk_group=group, account=account, collateral_decimals=USDC_DECIMALS, day=day
    )


def test_a_member_takes_the_daily_amount_once_a_day(simulated: Any) -> None:
    receipt = grant(simulated, 7)
    shard_process(receipt_shard(receipt))

    with pytest.raises(CommandRefused) as again:
        grant(simulated, 7)
    tomorrow = grant(simulated, 7, date(2026, 6, 12))
    shard_process(receipt_shard(tomorrow))

    assert again.value.code == "faucet_daily_limit"
    shard = models.Shard.objects.get(risk_group=simulated)
    [usdc] = balances_of(shard=shard, account=7)
    assert int(usdc.free) == 2 * 1000_500000 * 10**6  # engine units: 10^-12 USDC
    lines = statement_of(shard=shard, account=7)
    assert [(line.kind, line.reference) for line in lines] == [
        ("deposit", "faucet:7:2026-06-11"),
        ("deposit", "faucet:7:2026-06-12"),
    ]


def test_each_account_has_its_own_daily_grant(simulated: Any) -> None:
    grant(simulated, 7)
    grant(simulated, 8)

    assert models.Command.objects.filter(kind="Deposit").count() == 2


def test_a_group_with_real_collateral_has_no_faucet(db: Any) -> None:
    real = PermissionlessGroupFactory(faucet_daily_amount=Decimal("1000"))

    with pytest.raises(CommandRefused) as refused:
        grant(real, 7)

    assert refused.value.code == "collateral_not_simulated"
    assert not models.Command.objects.exists()


def test_a_faucet_of_nothing_refuses(db: Any) -> None:
    empty = PermissionlessGroupFactory(simulated_collateral=True)

    with pytest.raises(CommandRefused) as refused:
        grant(empty, 7)

    assert refused.value.code == "faucet_daily_limit"
    assert not models.Command.objects.exists()


def receipt_shard(receipt: Any) -> int:
    return int(models.Command.objects.values_list("shard_id", flat=True).get(pk=receipt.command_id))
