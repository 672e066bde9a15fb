"""Bonds held in a risk group's engine: an amount moved out of a member's account into an
escrow (a `TransferOut` to a named escrow), later paid to someone (a `TransferIn` from
that escrow) or forfeited to the group's insurance fund (`FundInsurance`).

Each step is a command journaled inside the caller's transaction and idempotent on its
key, so a retried step never locks, pays or forfeits twice. XIP bonds (governance) and
resolution dispute bonds (markets) are both kept this way.
"""

from __future__ import annotations

from decimal import Decimal

from engine import models
from engine.selectors import balances_of
from engine.services import command_submit, shard_of, units_exact
from engine.specs import asset_unit


def bond_units(*, risk_group_id: int, asset: str, amount: Decimal, decimals: int) -> int:
    """`amount` of `asset` (with `decimals`) in the group's engine units, exactly."""
    collateral = shard_of(risk_group=risk_group_id).collateral
    unit = asset_unit(decimals=decimals, collateral=asset == collateral)
    return units_exact(amount, unit=unit, field="bond")


def bond_free_units(*, risk_group_id: int, account: int, asset: str) -> int:
    """What the account could lock now (its free balance of `asset`)."""
    shard = shard_of(risk_group=risk_group_id)
    return next(
        (int(b.free) for b in balances_of(shard=shard, account=account) if b.asset == asset), 0
    )


def bond_lock_command(*, risk_group_id: int, key: str) -> models.Command | None:
    """The journaled lock of the bond `key`, if any."""
    shard = shard_of(risk_group=risk_group_id)
    return models.Command.objects.filter(shard=shard, idempotency_key=key).first()


def bond_locked(lock: models.Command | None) -> bool:
    """Whether the lock applied (a refused TransferOut locked nothing)."""
    return lock is not None and (lock.outcome or {}).get("result") != "rejected"


def bond_lock(
    *,
    risk_group_id: int,
    account: int,
    asset: str,
    amount: Decimal,
    decimals: int,
    key: str,
    escrow: str,
    not_covered: Exception,
) -> None:
    """Move `amount` of the account's `asset` (with `decimals`) into `escrow`; raises
    `not_covered` (nothing written) when the account's free balance is smaller."""
    units = bond_units(risk_group_id=risk_group_id, asset=asset, amount=amount, decimals=decimals)
    if bond_free_units(risk_group_id=risk_group_id, account=account, asset=asset) < units:
        raise not_covered
    command_submit(
        risk_group=risk_group_id,
        account=account,
        command={
            "type": "TransferOut",
            "asset": asset,
            "amount": units,
            "transfer_id": key,
            "to_group": escrow,
        },
        idempotency_key=key,
    )


def bond_pay(*, risk_group_id: int, lock: models.Command, account: int, key: str) -> None:
    """Pay the locked bond out of its escrow to `account` (its owner or the one who was
    right)."""
    payload = lock.payload
    command_submit(
        risk_group=risk_group_id,
        account=account,
        command={
            "type": "TransferIn",
            "asset": payload["asset"],
            "amount": payload["amount"],
            "transfer_id": key,
            "from_group": payload["to_group"],
        },
        idempotency_key=key,
    )


def bond_forfeit(*, risk_group_id: int, lock: models.Command, key: str) -> None:
    """The locked bond goes to the group's insurance fund."""
    command_submit(
        risk_group=risk_group_id,
        account=0,
        command={"type": "FundInsurance", "amount": lock.payload["amount"], "external_id": key},
        idempotency_key=key,
    )
