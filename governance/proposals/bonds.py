"""The XIP bond of a permissionless group, held in the group's engine.

Entering Review locks the bond from the submitter's account (a transfer out of the
account to the group's bond escrow); Final or Withdrawn returns it to the same account;
Rejected forfeits it to the group's insurance fund (the policy today). Each step is a
command journaled in the same transaction as the status move, idempotent on the XIP, so a
retried move never locks, returns or forfeits twice.

The engine applies the lock after the move commits and may refuse it (the balance was
spent meanwhile): `proposals_bonds_reconcile` (services) sends such an XIP back to Draft
saying why. A return or forfeit is journaled only once the lock is known to be applied;
an XIP that ended while its lock was pending is settled by the same sweep.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine import models as engine_models
from engine.selectors import balances_of
from engine.services import command_submit, shard_of, units_exact
from engine.specs import asset_unit
from markets.models import Asset
from xip_portal.errors import ApplicationError

from .errors import ProposalError
from .models import ProposalStatus as S

if TYPE_CHECKING:
    from xip_portal.models import User

    from .models import Proposal

BOND_ESCROW = "xip-bonds"


def _key(proposal: Proposal, step: str) -> str:
    return f"xip-bond:{proposal.pk}:{step}"


def _engine_amount(proposal: Proposal, collateral: str) -> int:
    decimals = Asset.objects.values_list("decimals", flat=True).get(symbol=proposal.bond_asset)
    unit = asset_unit(decimals=decimals, collateral=proposal.bond_asset == collateral)
    return units_exact(proposal.bond_amount or Decimal(0), unit=unit, field="bond_amount")


def _lock_command(proposal: Proposal) -> engine_models.Command | None:
    """The latest lock of the XIP's bond (an earlier one the engine refused is followed by
    a new one when the XIP is submitted again)."""
    shard = shard_of(risk_group=proposal.risk_group_id)
    return (
        engine_models.Command.objects.filter(
            shard=shard, idempotency_key__startswith=_key(proposal, "lock")
        )
        .order_by("-id")
        .first()
    )


def _result(command: engine_models.Command) -> str:
    """ "applied", "rejected", or "" while the engine has not applied it."""
    return str((command.outcome or {}).get("result", ""))


def bond_lock_refusal(proposal: Proposal) -> str | None:
    """The engine's reason code if it refused the XIP's latest bond lock, else None."""
    lock = _lock_command(proposal)
    if lock is None or _result(lock) != "rejected":
        return None
    return str((lock.outcome or {}).get("reason", ""))


def proposal_bond_follow(
    proposal: Proposal, *, from_status: str, to_status: str, actor: User | None
) -> None:
    """Inside the status move's transaction: lock, return or forfeit the bond."""
    if not proposal.bond_required or proposal.risk_group.is_regulated:
        return
    if to_status == S.REVIEW and from_status == S.DRAFT and actor is not None:
        _lock(proposal, actor)
    elif to_status in BOND_ENDS:
        proposal_bond_settle(proposal)


BOND_ENDS = (S.FINAL, S.WITHDRAWN, S.REJECTED)


def proposal_bond_settle(proposal: Proposal) -> bool:
    """Return (Final, Withdrawn) or forfeit (Rejected) the bond of an XIP that has ended,
    once its lock is known to have been applied: a return never credits a lock the engine
    refused or has not applied yet (`proposals_bonds_reconcile` comes back for those).
    Idempotent on the XIP. Whether it journaled the move now."""
    lock = _lock_command(proposal)
    if lock is None or _result(lock) != "applied":
        return False
    payload = lock.payload
    if proposal.status == S.REJECTED:
        command: dict[str, Any] = {
            "type": "FundInsurance",
            "amount": payload["amount"],
            "external_id": _key(proposal, "forfeit"),
        }
        account, key = 0, _key(proposal, "forfeit")
    else:
        command = {
            "type": "TransferIn",
            "asset": payload["asset"],
            "amount": payload["amount"],
            "transfer_id": _key(proposal, "return"),
            "from_group": BOND_ESCROW,
        }
        account, key = lock.account, _key(proposal, "return")
    if engine_models.Command.objects.filter(
        shard=lock.shard_id, account=account, idempotency_key=key
    ).exists():
        return False
    command_submit(
        risk_group=proposal.risk_group_id, account=account, command=command, idempotency_key=key
    )
    return True


def _lock(proposal: Proposal, actor: User) -> None:
    previous = _lock_command(proposal)
    if previous is not None and _result(previous) != "rejected":
        return  # locked (or being locked) at an earlier submission
    attempt = (
        _key(proposal, "lock") if previous is None else f"{_key(proposal, 'lock')}:{previous.pk}"
    )
    shard = shard_of(risk_group=proposal.risk_group_id)
    amount = _engine_amount(proposal, shard.collateral)
    free = next(
        (
            int(b.free)
            for b in balances_of(shard=shard, account=actor.pk)
            if b.asset == proposal.bond_asset
        ),
        0,
    )
    if free < amount:
        raise ApplicationError(
            f"The bond of {proposal.bond_amount} {proposal.bond_asset} is more than your free "
            f"balance in {proposal.risk_group.name}.",
            code=ProposalError.BOND_NOT_COVERED,
        )
    command_submit(
        risk_group=proposal.risk_group_id,
        account=actor.pk,
        command={
            "type": "TransferOut",
            "asset": proposal.bond_asset,
            "amount": amount,
            "transfer_id": attempt,
            "to_group": BOND_ESCROW,
        },
        idempotency_key=attempt,
    )
