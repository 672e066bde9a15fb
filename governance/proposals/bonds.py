"""The XIP bond of a permissionless group, held in the group's engine.

Entering Review locks the bond from the submitter's account (a transfer out of the
account to the group's bond escrow); Final or Withdrawn returns it to the same account;
Rejected forfeits it to the group's insurance fund (the policy today). Each step is a
command journaled in the same transaction as the status move, idempotent on the XIP, so a
retried move never locks, returns or forfeits twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from engine import models as engine_models
from engine.bonds import (
    bond_forfeit,
    bond_lock,
    bond_lock_command,
    bond_locked,
    bond_pay,
)
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


def _lock_command(proposal: Proposal) -> engine_models.Command | None:
    return bond_lock_command(risk_group_id=proposal.risk_group_id, key=_key(proposal, "lock"))


def proposal_bond_follow(
    proposal: Proposal, *, from_status: str, to_status: str, actor: User | None
) -> None:
    """Inside the status move's transaction: lock, return or forfeit the bond."""
    if not proposal.bond_required or proposal.risk_group.is_regulated:
        return
    if to_status == S.REVIEW and from_status == S.DRAFT and actor is not None:
        _lock(proposal, actor)
    elif to_status in (S.FINAL, S.WITHDRAWN, S.REJECTED):
        lock = _lock_command(proposal)
        if lock is None or not bond_locked(lock):
            return  # nothing was locked
        if to_status == S.REJECTED:
            bond_forfeit(
                risk_group_id=proposal.risk_group_id, lock=lock, key=_key(proposal, "forfeit")
            )
        else:
            bond_pay(
                risk_group_id=proposal.risk_group_id,
                lock=lock,
                account=lock.account,
                key=_key(proposal, "return"),
            )


def _lock(proposal: Proposal, actor: User) -> None:
    if _lock_command(proposal) is not None:
        return  # locked at an earlier submission
    decimals = Asset.objects.values_list("decimals", flat=True).get(symbol=proposal.bond_asset)
    bond_lock(
        risk_group_id=proposal.risk_group_id,
        account=actor.pk,
        asset=proposal.bond_asset,
        amount=proposal.bond_amount or Decimal(0),
        decimals=decimals,
        key=_key(proposal, "lock"),
        escrow=BOND_ESCROW,
        not_covered=ApplicationError(
            f"The bond of {proposal.bond_amount} {proposal.bond_asset} is more than your free "
            f"balance in {proposal.risk_group.name}.",
            code=ProposalError.BOND_NOT_COVERED,
        ),
    )
