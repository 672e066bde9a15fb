"""The deposit indexer: the vault's Deposit logs credited to the engine after
CHAIN_CONFIRMATIONS blocks (the deposit's own included), exactly once per (transaction hash,
log index), as a `Deposit` command through the engine service.

Each scan reads the logs from the first block not yet final to the head. A log with enough
confirmations is credited (its row and its command in one transaction, the command idempotent
on the log); one with fewer is shown as confirming; a confirming deposit that a scan no
longer finds was dropped by a reorganisation and is never credited. A reorganisation deeper
than the confirmations is outside what this guards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from eth_utils.crypto import keccak

from engine.errors import CommandRefused
from engine.services import command_submit, shard_of
from governance.risk_groups.models import RiskGroup

from .models import ChainDeposit, Deployment
from .operator import contract_at
from .provider import chain_web3
from .settlement import TOKEN_UNIT


@dataclass(frozen=True)
class DepositScan:
    head: int
    credited: int
    confirming: int
    dropped: int


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


def _idempotency_key(deployment: Deployment, tx_hash: str, log_index: int) -> str:
    return "deposit:" + keccak(f"{deployment.chain_id}:{tx_hash}:{log_index}".encode()).hex()[:48]


def _credit(deployment: Deployment, deposit_id: int) -> bool:
    """Journal the Deposit command of a confirmed deposit, once; True if it was credited."""
    with transaction.atomic():
        deposit = ChainDeposit.objects.select_for_update().get(pk=deposit_id)
        if deposit.status != ChainDeposit.Status.CONFIRMING:
            return False
        group = RiskGroup.objects.filter(pk=deposit.risk_group_id).first()
        if group is None:
            deposit.reason = f"no risk group {deposit.risk_group_id}"
        elif not get_user_model().objects.filter(pk=deposit.account).exists():
            deposit.reason = f"no account {deposit.account}"
        else:
            try:
                receipt = command_submit(
                    risk_group=group,
                    account=deposit.account,
                    command={
                        "type": "Deposit",
                        "asset": shard_of(risk_group=group).collateral,
                        "amount": int(deposit.amount) * TOKEN_UNIT,
                        "external_id": f"chain:{deposit.tx_hash}:{deposit.log_index}",
                    },
                    idempotency_key=_idempotency_key(
                        deployment, deposit.tx_hash, deposit.log_index
                    ),
                )
            except CommandRefused as exc:
                deposit.reason = str(exc)[:200]
            else:
                deposit.command_id = receipt.command_id
        deposit.status = (
            ChainDeposit.Status.CREDITED if deposit.command_id else ChainDeposit.Status.REFUSED
        )
        deposit.save(update_fields=["status", "command_id", "reason", "updated_at"])
        return deposit.status == ChainDeposit.Status.CREDITED


def deposits_scan(*, deployment: Deployment) -> DepositScan:
    """One pass of the indexer over the blocks not yet final."""
    confirmations_needed = max(1, settings.CHAIN_CONFIRMATIONS)
    head = chain_web3().eth.block_number
    start = deployment.deposits_final_block + 1
    if head < start:
        return DepositScan(head, 0, 0, 0)
    vault = contract_at("CollateralVault", deployment.vault)
    logs = vault.events.Deposit().get_logs(from_block=start, to_block=head)
    seen: set[tuple[str, int]] = set()
    credited = confirming = 0
    for log in logs:
        tx_hash, log_index = _hex(log["transactionHash"]), log["logIndex"]
        seen.add((tx_hash, log_index))
        confirmations = head - log["blockNumber"] + 1
        deposit, _ = ChainDeposit.objects.get_or_create(
            deployment=deployment,
            tx_hash=tx_hash,
            log_index=log_index,
            defaults={
                "block_number": log["blockNumber"],
                "block_hash": _hex(log["blockHash"]),
                "depositor": log["args"]["depositor"],
                "risk_group_id": log["args"]["risk_group"],
                "account": log["args"]["account"],
                "amount": log["args"]["amount"],
            },
        )
        if deposit.status in (ChainDeposit.Status.CONFIRMING, ChainDeposit.Status.DROPPED):
            # back in a block (perhaps another one after a reorganisation): count again
            deposit.status = ChainDeposit.Status.CONFIRMING
            deposit.block_number = log["blockNumber"]
            deposit.block_hash = _hex(log["blockHash"])
            deposit.confirmations = min(confirmations, confirmations_needed)
            deposit.save(
                update_fields=[
                    "status",
                    "block_number",
                    "block_hash",
                    "confirmations",
                    "updated_at",
                ]
            )
            if confirmations >= confirmations_needed:
                credited += _credit(deployment, deposit.pk)
            else:
                confirming += 1
    vanished = ChainDeposit.objects.filter(
        deployment=deployment, status=ChainDeposit.Status.CONFIRMING
    ).exclude(pk__in=[d.pk for d in _rows(deployment, seen)])
    dropped = vanished.update(status=ChainDeposit.Status.DROPPED, reason="dropped by a reorg")
    final = head - confirmations_needed + 1
    if final > deployment.deposits_final_block:
        Deployment.objects.filter(pk=deployment.pk).update(deposits_final_block=final)
        deployment.deposits_final_block = final
    return DepositScan(head, credited, confirming, dropped)


def _rows(deployment: Deployment, keys: set[tuple[str, int]]) -> list[ChainDeposit]:
    if not keys:
        return []
    rows = ChainDeposit.objects.filter(
        deployment=deployment, tx_hash__in={tx_hash for tx_hash, _ in keys}
    )
    return [row for row in rows if (row.tx_hash, row.log_index) in keys]
