"""Simulated collateral: the faucet of a risk group whose policy says its collateral is
simulated (the World Cup group: no real assets are involved).

The engine service knows accounts and commands, not who may trade: `faucet_grant` does not
check that the account belongs to a member of the group. Its caller must.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from engine.errors import CommandRefused, EngineError
from engine.services import CommandReceipt, command_submit, shard_of, units_exact
from engine.specs import asset_unit
from governance.risk_groups.models import RiskGroup


def faucet_grant(
    *, risk_group: RiskGroup, account: int, collateral_decimals: int, day: date | None = None
) -> CommandReceipt:
    """Credit `account` with the group's `faucet_daily_amount` of its collateral, once per
    account per UTC day, as a Deposit through `command_submit` (external id
    `faucet:<account>:<day>`, so a retried or doubled request credits once).

    For the caller (the trading room's faucet page and API): check first that the user may
    trade in `risk_group` (an active membership, `governance.memberships`), then pass the
    user's id as `account` and the decimals of the group's collateral asset (the registry's
    `Asset.decimals`). The receipt is "pending" (the deposit is durable, not yet applied).

    Refuses (CommandRefused, nothing written) with `collateral_not_simulated` in a group whose
    collateral is real, and `faucet_daily_limit` once the account had today's grant (or the
    policy grants nothing).
    """
    if not risk_group.simulated_collateral:
        raise CommandRefused(
            f"The collateral of {risk_group.name} is real: deposit it on-chain.",
            code=EngineError.COLLATERAL_NOT_SIMULATED,
        )
    shard = shard_of(risk_group=risk_group)
    day = day or datetime.now(UTC).date()
    key = f"faucet:{day.isoformat()}"
    amount = risk_group.faucet_daily_amount
    already = shard.commands.filter(account=account, idempotency_key=key).exists()
    if already or amount <= 0:
        raise CommandRefused(
            f"The faucet of {risk_group.name} gives {amount.normalize():f} {shard.collateral} "
            "per account per day; come back after midnight UTC.",
            code=EngineError.FAUCET_DAILY_LIMIT,
        )
    unit = asset_unit(decimals=collateral_decimals, collateral=True)
    return command_submit(
        risk_group=risk_group,
        account=account,
        command={
            "type": "Deposit",
            "asset": shard.collateral,
            "amount": units_exact(amount, unit=unit, field="faucet_daily_amount"),
            "external_id": f"faucet:{account}:{day.isoformat()}",
        },
        idempotency_key=key,
    )
