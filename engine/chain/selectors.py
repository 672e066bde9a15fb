"""Reads of the chain side: an account's balance proof, a risk group's batches, a trader's
deposits and withdrawals."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from engine.services import shard_of
from governance.risk_groups.models import RiskGroup

from .deployment import deployment_active
from .models import ChainDeposit, SettlementBatch, Withdrawal
from .settlement import BALANCE_TYPES, balance_tree


def batches_committed(*, risk_group: RiskGroup) -> QuerySet[SettlementBatch]:
    """The risk group's committed batches on the active deployment, newest first."""
    deployment = deployment_active()
    if deployment is None:
        return SettlementBatch.objects.none()
    return (
        SettlementBatch.objects.filter(deployment=deployment, risk_group=risk_group, committed=True)
        .select_related("transaction", "deployment")
        .defer("leaves", "withdrawals")
        .order_by("-number")
    )


def balance_proof(*, risk_group: RiskGroup, account: int, asset: str = "") -> dict[str, Any] | None:
    """The account's leaf in the latest committed balance root of the risk group (its
    collateral unless `asset` names another) and the proof, as one JSON document a verifier
    needs nothing else to check (integers as decimal strings, hex with 0x). None when no
    committed batch holds a non-zero balance of the account in that asset."""
    deployment = deployment_active()
    if deployment is None:
        return None
    batch = (
        SettlementBatch.objects.filter(deployment=deployment, risk_group=risk_group, committed=True)
        .select_related("transaction")
        .order_by("-number")
        .first()
    )
    asset = asset or shard_of(risk_group=risk_group).collateral
    if batch is None or batch.transaction is None:
        return None
    index = next(
        (
            i
            for i, (holder, held, _) in enumerate(batch.leaves)
            if int(holder) == account and held == asset
        ),
        None,
    )
    if index is None:
        return None
    tree = balance_tree(risk_group.pk, batch.leaves)
    return {
        "risk_group": risk_group.slug,
        "batch": str(batch.number),
        "root": batch.balance_root,
        "leaf": {
            "types": list(BALANCE_TYPES),
            "values": [str(value) for value in tree.values[index]],
        },
        "proof": ["0x" + node.hex() for node in tree.proof(index)],
        "ledger_address": deployment.ledger,
        "tx_hash": batch.transaction.tx_hash,
    }


def deposits_of(*, account: int) -> QuerySet[ChainDeposit]:
    deployment = deployment_active()
    if deployment is None:
        return ChainDeposit.objects.none()
    return ChainDeposit.objects.filter(deployment=deployment, account=account)


def withdrawals_of(*, account: int) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(account=account).select_related("risk_group", "batch")
