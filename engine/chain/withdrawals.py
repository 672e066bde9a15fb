"""Withdrawals: the engine debits the trader (a Withdraw command naming the withdrawal id and
the recipient), the next settlement batch commits it in its withdrawals root, and the vault
pays the recipient against the leaf's proof, once per withdrawal id. The trader may claim
with any wallet, using `withdrawal_proof`; the portal claims for them as relayer with
`withdrawal_claim` (the money goes to the recipient either way). Either way the withdrawal
shows paid: at once after the portal's claim, after the payout's confirmations otherwise
(`withdrawals_paid_scan`, with the deposit indexer).

Amounts: the simulated USDC token has 6 decimals, like the collateral asset it stands for."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from eth_utils.address import is_address, to_checksum_address

from engine.errors import CommandRefused, EngineError
from engine.services import command_submit, shard_of, units_exact
from governance.risk_groups.models import RiskGroup
from xip_portal.audit import audit_record
from xip_portal.errors import Conflict
from xip_portal.models import User

from .models import ChainTransaction, Deployment, Withdrawal
from .operator import chain_transact, contract_at, operator_account
from .provider import chain_web3
from .settlement import TOKEN_UNIT, WITHDRAWAL_TYPES, withdrawal_external_id, withdrawal_tree

TOKEN_DECIMALS = 6
TOKEN_STEP = Decimal(1).scaleb(-TOKEN_DECIMALS)


def withdrawal_request(
    *, risk_group: RiskGroup, user: User, amount: Any, recipient: str
) -> Withdrawal:
    """Ask the engine to debit `amount` (collateral, a decimal with at most 6 places) from
    the user's account and pay it on-chain to `recipient` (audited). Refused
    (CommandRefused) before anything is written if the address or amount is wrong; the
    engine refuses it later (the withdrawal shows refused) if the free balance does not
    cover it."""
    if not isinstance(recipient, str) or not is_address(recipient):
        raise CommandRefused(
            "The recipient is not an Ethereum address.",
            code=EngineError.BAD_ADDRESS,
            field="recipient",
        )
    token_amount = units_exact(amount, unit=TOKEN_STEP, field="amount")
    if token_amount <= 0:
        raise CommandRefused(
            "The amount must be positive.", code=EngineError.NEGATIVE, field="amount"
        )
    checksum = to_checksum_address(recipient)
    account = user.pk
    withdrawal_id = "0x" + secrets.token_hex(32)
    with transaction.atomic():
        receipt = command_submit(
            risk_group=risk_group,
            account=account,
            command={
                "type": "Withdraw",
                "asset": shard_of(risk_group=risk_group).collateral,
                "amount": token_amount * TOKEN_UNIT,
                "external_id": withdrawal_external_id(withdrawal_id, checksum),
            },
            idempotency_key=f"withdraw:{withdrawal_id[2:34]}",
        )
        withdrawal = Withdrawal.objects.create(
            withdrawal_id=withdrawal_id,
            risk_group=risk_group,
            account=account,
            recipient=checksum,
            amount=token_amount * TOKEN_UNIT,
            token_amount=token_amount,
            command_id=receipt.command_id,
        )
        audit_record(
            actor=user,
            action="withdrawal.request",
            obj=withdrawal,
            new={"amount": str(token_amount * TOKEN_STEP), "recipient": checksum},
            reason="requested by the account holder",
        )
    return withdrawal


def withdrawal_proof(*, withdrawal: Withdrawal) -> dict[str, Any]:
    """The claim's arguments for `CollateralVault.claim`, with the leaf and its proof.
    Raises Conflict until a committed batch holds the withdrawal."""
    batch = withdrawal.batch
    if batch is None or not batch.committed:
        raise Conflict(
            "This withdrawal is not in a committed batch yet.",
            code=EngineError.WITHDRAWAL_NOT_COMMITTED,
        )
    ids = [leaf[0] for leaf in batch.withdrawals]
    tree = withdrawal_tree(batch.risk_group_id, batch.withdrawals)
    proof = tree.proof(ids.index(withdrawal.withdrawal_id))
    return {
        "vault_address": batch.deployment.vault,
        "risk_group_id": str(batch.risk_group_id),
        "batch": str(batch.number),
        "withdrawal_id": withdrawal.withdrawal_id,
        "recipient": withdrawal.recipient,
        "amount": str(int(withdrawal.token_amount)),
        "leaf": {"types": list(WITHDRAWAL_TYPES)},
        "root": batch.withdrawals_root,
        "proof": ["0x" + node.hex() for node in proof],
    }


def claim_arguments(claim: dict[str, Any]) -> list[Any]:
    """The vault's `claim(risk_group, batch, withdrawal_id, recipient, amount, proof)`
    arguments from a proof document (`withdrawal_proof`), as any wallet sends them."""
    return [
        int(claim["risk_group_id"]),
        int(claim["batch"]),
        bytes.fromhex(claim["withdrawal_id"][2:]),
        claim["recipient"],
        int(claim["amount"]),
        [bytes.fromhex(node[2:]) for node in claim["proof"]],
    ]


def withdrawal_claim(*, withdrawal: Withdrawal) -> ChainTransaction:
    """Claim a committed withdrawal from the vault as relayer (once); marks it paid."""
    claim = withdrawal_proof(withdrawal=withdrawal)
    batch = withdrawal.batch
    if batch is None:  # withdrawal_proof refused it already; this tells the type checker
        raise Conflict("No batch.", code=EngineError.WITHDRAWAL_NOT_COMMITTED)
    tx = chain_transact(
        account=operator_account(),
        deployment=batch.deployment,
        purpose=f"claim:{withdrawal.withdrawal_id}",
        contract="CollateralVault",
        function="claim",
        args=claim_arguments(claim),
    )
    Withdrawal.objects.filter(pk=withdrawal.pk).update(
        status=Withdrawal.Status.PAID, claim_tx_hash=tx.tx_hash
    )
    withdrawal.refresh_from_db()
    return tx


def withdrawals_paid_scan(*, deployment: Deployment) -> int:
    """Mark paid every withdrawal the deployment's vault paid (WithdrawalPaid), whoever sent
    the claim (the trader's own wallet, the portal as relayer), with the claim's transaction
    hash, once the payout has CHAIN_CONFIRMATIONS blocks. Reads the blocks that became final
    since the last scan; idempotent. Returns how many it marked."""
    final = chain_web3().eth.block_number - max(1, settings.CHAIN_CONFIRMATIONS) + 1
    start = deployment.payouts_final_block + 1
    if final < start:
        return 0
    vault = contract_at("CollateralVault", deployment.vault)
    marked = 0
    for log in vault.events.WithdrawalPaid().get_logs(from_block=start, to_block=final):
        # the vault pays only committed leaves: a paid id is past debited and committed
        withdrawal_id = "0x" + bytes(log["args"]["withdrawal_id"]).hex()
        marked += (
            Withdrawal.objects.filter(withdrawal_id=withdrawal_id)
            .exclude(status=Withdrawal.Status.PAID)
            .update(
                status=Withdrawal.Status.PAID,
                claim_tx_hash="0x" + bytes(log["transactionHash"]).hex(),
            )
        )
    Deployment.objects.filter(pk=deployment.pk).update(payouts_final_block=final)
    deployment.payouts_final_block = final
    return marked
