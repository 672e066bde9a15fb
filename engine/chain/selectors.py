"""Reads of the chain side: an account's balance proof, a risk group's batches, a trader's
deposits and withdrawals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import JSONField, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from engine import models as engine_models
from engine.services import shard_of
from governance.risk_groups.models import RiskGroup

from .deployment import deployment_active
from .models import ChainDeposit, SettlementBatch, Withdrawal
from .provider import chain_web3
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
    """The account's withdrawals, newest first, each with what the engine answered its
    Withdraw command (`debit_result`: applied, rejected, or None while pending;
    `debit_reason`)."""
    # the outcome is stored as text: read as JSON here
    outcome = Cast("outcome", JSONField())
    command = engine_models.Command.objects.filter(pk=OuterRef("command_id"))
    return (
        Withdrawal.objects.filter(account=account)
        .select_related("risk_group", "batch__transaction")
        .annotate(
            debit_result=Subquery(command.values(result=KeyTextTransform("result", outcome))),
            debit_reason=Subquery(command.values(reason=KeyTextTransform("reason", outcome))),
        )
    )


def chain_head() -> int:
    """The chain's latest block number (confirmations are counted from it)."""
    return int(chain_web3().eth.block_number)


@dataclass(frozen=True)
class WithdrawalStep:
    """One step of a withdrawal: `state` is done, waiting or refused; a step done by a
    transaction names it, its block and its confirmations."""

    name: str
    state: str
    detail: str = ""
    tx_hash: str = ""
    block: int | None = None
    confirmations: int | None = None


DONE, WAITING, REFUSED = "done", "waiting", "refused"
WITHDRAWAL_STEPS = ("requested", "debited", "committed", "paid")


def withdrawal_steps(withdrawal: Withdrawal, *, head: int | None) -> list[WithdrawalStep]:
    """Requested, debited by the engine, committed in a settlement batch, paid by the
    vault, for a withdrawal read through `withdrawals_of`; confirmations from `head`."""
    steps = [WithdrawalStep("requested", DONE)]
    debit = getattr(withdrawal, "debit_result", None)
    if debit == "rejected" or withdrawal.status == Withdrawal.Status.REFUSED:
        reason = withdrawal.reason or getattr(withdrawal, "debit_reason", None) or ""
        return [*steps, WithdrawalStep("debited", REFUSED, reason)]
    steps.append(WithdrawalStep("debited", DONE if debit == "applied" else WAITING))
    batch = withdrawal.batch
    tx = batch.transaction if batch is not None and batch.committed else None
    if batch is None or tx is None:
        steps.append(WithdrawalStep("committed", WAITING, "in the next settlement batch"))
    else:
        block = tx.block_number
        confirmations = head - block + 1 if head is not None and block is not None else None
        steps.append(
            WithdrawalStep(
                "committed", DONE, f"batch {batch.number}", tx.tx_hash, block, confirmations
            )
        )
    paid = withdrawal.status == Withdrawal.Status.PAID
    steps.append(WithdrawalStep("paid", DONE if paid else WAITING, "", withdrawal.claim_tx_hash))
    return steps


def withdrawal_state(steps: list[WithdrawalStep]) -> str:
    """The withdrawal's state: its last step done, or refused."""
    if steps[-1].state == REFUSED:
        return REFUSED
    return [step.name for step in steps if step.state == DONE][-1]
