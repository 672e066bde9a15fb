"""Settlement batches: what the engine applied since a risk group's last batch, committed to
the SettlementLedger in one transaction whatever its size.

A batch covers the journal sequence range after the previous batch up to the shard's
high-water mark when it is cut, and holds:
- the hash of its fills: keccak256 of the concatenated keccak256(abi.encode(FILL_TYPES fill));
- the balance root: an OpenZeppelin StandardMerkleTree of every non-zero balance (free plus
  locked) after the batch, leaves (risk group id, account, asset, balance) of BALANCE_TYPES;
- the withdrawals root: the tree of the withdrawals debited in the batch, leaves
  (risk group id, withdrawal id, recipient, token amount) of WITHDRAWAL_TYPES (zero if none).
A batch is fixed when it is cut and stored with its leaves; a commit that failed is retried
with exactly that content, and the next batch is not cut before it is committed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from engine import models as engine_models
from engine.specs import COLLATERAL_EXTRA_DIGITS

from .merkle import StandardMerkleTree
from .models import Deployment, SettlementBatch, Withdrawal
from .operator import chain_transact, settler_account

BALANCE_TYPES = ("uint256", "uint256", "string", "int256")
WITHDRAWAL_TYPES = ("uint256", "bytes32", "address", "uint256")
FILL_TYPES = (
    "uint256",  # journal sequence number
    "uint256",  # position among the command's events
    "string",  # market
    "uint256",  # maker order id
    "uint256",  # taker order id
    "uint256",  # maker account
    "uint256",  # taker account
    "bool",  # taker buys
    "uint256",  # price (engine units)
    "uint256",  # size (engine units)
    "int256",  # maker fee (negative: a rebate)
    "int256",  # taker fee
)
ZERO_ROOT = "0x" + "00" * 32
# engine units of the collateral per smallest unit of its token
TOKEN_UNIT = 10**COLLATERAL_EXTRA_DIGITS


def hex32(value: bytes) -> str:
    return "0x" + value.hex()


def fills_hash(fills: Iterable[Sequence[Any]]) -> str:
    return hex32(keccak(b"".join(keccak(encode(list(FILL_TYPES), list(fill))) for fill in fills)))


def balance_tree(risk_group_id: int, leaves: Sequence[Sequence[Any]]) -> StandardMerkleTree:
    """The tree of `leaves` ([account, asset, balance]) of a risk group."""
    values = [
        [risk_group_id, int(account), asset, int(balance)] for account, asset, balance in leaves
    ]
    return StandardMerkleTree(values, BALANCE_TYPES)


def withdrawal_tree(risk_group_id: int, withdrawals: Sequence[Sequence[Any]]) -> StandardMerkleTree:
    values = [
        [risk_group_id, bytes.fromhex(wid[2:]), recipient, int(amount)]
        for wid, recipient, amount in withdrawals
    ]
    return StandardMerkleTree(values, WITHDRAWAL_TYPES)


def balance_root_of(risk_group_id: int, leaves: Sequence[Sequence[Any]]) -> str:
    return hex32(balance_tree(risk_group_id, leaves).root) if leaves else ZERO_ROOT


def withdrawals_root_of(risk_group_id: int, withdrawals: Sequence[Sequence[Any]]) -> str:
    return hex32(withdrawal_tree(risk_group_id, withdrawals).root) if withdrawals else ZERO_ROOT


def withdrawal_external_id(withdrawal_id: str, recipient: str) -> str:
    """The Withdraw command's external id: the journal alone then names the leaf."""
    return f"{withdrawal_id}:{recipient}"


def withdrawal_leaf_of(payload: dict[str, Any]) -> list[Any] | None:
    """[withdrawal id, recipient, token amount] of an applied Withdraw command journaled by
    `withdrawal_request`, or None for any other withdrawal."""
    withdrawal_id, _, recipient = str(payload.get("external_id", "")).partition(":")
    if len(withdrawal_id) != 66 or len(recipient) != 42 or payload["amount"] % TOKEN_UNIT:
        return None
    return [withdrawal_id, recipient, str(payload["amount"] // TOKEN_UNIT)]


def withdrawals_in(
    shard_id: int, first_seq: int, last_seq: int
) -> tuple[list[list[Any]], dict[int, str]]:
    """The withdrawal leaves of a journal range, and the Withdraw commands the engine
    refused in it (command id -> reason)."""
    rows = engine_models.Command.objects.filter(
        shard_id=shard_id, kind="Withdraw", seq__gte=first_seq, seq__lte=last_seq
    ).values_list("pk", "payload", "outcome")
    leaves, refused = [], {}
    for command_id, payload, outcome in rows.order_by("seq"):
        if outcome is None:  # seq is set with the outcome (a constraint): never here
            continue
        if outcome["result"] == "rejected":
            refused[command_id] = outcome["reason"]
            continue
        leaf = withdrawal_leaf_of(payload)
        if leaf is not None:
            leaves.append(leaf)
    return leaves, refused


def fill_values(seq: int, index: int, market: str, fill: Any) -> tuple[Any, ...]:
    """A fill's values of FILL_TYPES: `fill` is the engine's Fill event or its projection
    row (the same fields), the `index`-th event of the command at `seq`."""
    return (
        seq,
        index,
        market,
        fill.maker_order_id,
        fill.taker_order_id,
        fill.maker_account,
        fill.taker_account,
        fill.taker_buys,
        int(fill.price),
        int(fill.size),
        int(fill.maker_fee),
        int(fill.taker_fee),
    )


def _fills(shard_id: int, first_seq: int, last_seq: int) -> list[tuple[Any, ...]]:
    rows = engine_models.Fill.objects.filter(
        shard_id=shard_id, seq__gte=first_seq, seq__lte=last_seq
    ).order_by("seq", "index")
    return [fill_values(f.seq, f.index, f.market_id, f) for f in rows]


def _balances(shard_id: int) -> list[list[Any]]:
    rows = engine_models.Balance.objects.filter(shard_id=shard_id).order_by("account", "asset")
    return [
        [row.account, row.asset, str(int(row.free + row.locked))]
        for row in rows
        if row.free + row.locked != 0
    ]


def settlement_cut(*, deployment: Deployment, risk_group_id: int) -> SettlementBatch | None:
    """The risk group's batch to commit next: the one cut before and not committed yet (a
    retry), or a new one up to the shard's high-water mark; None when nothing was applied
    since the last batch. The shard row is locked while the balances are read, so the
    writer cannot move them past the batch's last sequence number meanwhile."""
    pending = SettlementBatch.objects.filter(
        deployment=deployment, risk_group_id=risk_group_id, committed=False
    ).first()
    if pending is not None:
        return pending
    previous = SettlementBatch.objects.filter(
        deployment=deployment, risk_group_id=risk_group_id
    ).first()
    with transaction.atomic():
        shard = engine_models.Shard.objects.select_for_update().get(risk_group_id=risk_group_id)
        first_seq = previous.last_seq + 1 if previous else 1
        if shard.high_water < first_seq:
            return None
        last_seq = shard.high_water
        fills = _fills(shard.pk, first_seq, last_seq)
        leaves = _balances(shard.pk)
        withdrawals, refused = withdrawals_in(shard.pk, first_seq, last_seq)
        for command_id, reason in refused.items():
            Withdrawal.objects.filter(command_id=command_id).update(
                status=Withdrawal.Status.REFUSED, reason=reason[:40]
            )
        return SettlementBatch.objects.create(
            deployment=deployment,
            risk_group_id=risk_group_id,
            number=previous.number + 1 if previous else 1,
            first_seq=first_seq,
            last_seq=last_seq,
            fill_count=len(fills),
            fills_hash=fills_hash(fills),
            balance_root=balance_root_of(risk_group_id, leaves),
            withdrawals_root=withdrawals_root_of(risk_group_id, withdrawals),
            previous_root=previous.balance_root if previous else ZERO_ROOT,
            leaves=leaves,
            withdrawals=withdrawals,
        )


def settlement_commit(*, batch: SettlementBatch) -> SettlementBatch:
    """Send the batch to the SettlementLedger (once; a retry resends the same transaction)
    and mark it and its withdrawals committed. Raises ChainTransactionFailed."""
    tx = chain_transact(
        account=settler_account(),
        deployment=batch.deployment,
        purpose=batch.purpose,
        contract="SettlementLedger",
        function="commit",
        args=[
            batch.risk_group_id,
            batch.number,
            batch.first_seq,
            batch.last_seq,
            bytes.fromhex(batch.fills_hash[2:]),
            batch.fill_count,
            bytes.fromhex(batch.balance_root[2:]),
            bytes.fromhex(batch.withdrawals_root[2:]),
        ],
    )
    with transaction.atomic():
        batch.transaction = tx
        batch.committed = True
        batch.save(update_fields=["transaction", "committed"])
        ids = [withdrawal_id for withdrawal_id, _, _ in batch.withdrawals]
        Withdrawal.objects.filter(withdrawal_id__in=ids).exclude(
            status=Withdrawal.Status.PAID
        ).update(status=Withdrawal.Status.COMMITTED, batch=batch)
    return batch


def settlement_run(
    *, deployment: Deployment, risk_group_id: int | None = None
) -> list[SettlementBatch]:
    """Cut and commit one batch per risk group (or of `risk_group_id` alone) with anything
    new; returns those committed."""
    shards = engine_models.Shard.objects.order_by("risk_group_id")
    if risk_group_id is not None:
        shards = shards.filter(risk_group_id=risk_group_id)
    committed = []
    for group_id in shards.values_list("risk_group_id", flat=True):
        batch = settlement_cut(deployment=deployment, risk_group_id=group_id)
        if batch is not None:
            committed.append(settlement_commit(batch=batch))
    return committed


# the journal sequence number up to which this process queued each risk group's settlement
_queued_up_to: dict[int, int] = {}


def settlement_queue_if_due(*, risk_group_id: int, high_water: int) -> bool:
    """Queue the risk group's settlement once its journal has grown CHAIN_SETTLEMENT_COMMANDS
    past the last batch cut or queued (the shard's writer calls this after each commit), on
    top of the clock's every CHAIN_SETTLEMENT_SECONDS. Coalesced: one task per that many
    commands, however many batches the writer commits meanwhile. True if it queued one."""
    every: int = settings.CHAIN_SETTLEMENT_COMMANDS
    if every <= 0:
        return False
    since = _queued_up_to.get(risk_group_id)
    if since is None:  # first sight in this process: where the last batch ended
        last = SettlementBatch.objects.filter(risk_group_id=risk_group_id).aggregate(
            last=Max("last_seq")
        )["last"]
        since = _queued_up_to[risk_group_id] = last or 0
    if high_water - since < every:
        return False
    _queued_up_to[risk_group_id] = high_water
    from .tasks import settlement_commit_due

    settlement_commit_due.delay(risk_group_id)
    return True
