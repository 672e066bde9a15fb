"""Moving collateral between a trader's accounts in two risk groups, exactly once.

`transfer_between_groups` records the transfer and journals the debit in the source
group in one transaction. `transfer_advance` moves it on: once the debit has applied,
either the credit is journaled in the target group (in the same transaction that marks
the transfer `crediting`) or the transfer fails with the engine's reason (nothing left the
account). The beat runs `transfers_advance` for any transfer left in between, so a crash
at any point loses nothing and credits nothing twice (both commands are idempotent on the
transfer id).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from engine import models
from engine.errors import CommandRefused, EngineError
from engine.services import command_submit, shard_of
from governance.risk_groups.models import RiskGroup

Status = models.Transfer.Status


def transfer_between_groups(
    *,
    account: int,
    from_group: RiskGroup | int,
    to_group: RiskGroup | int,
    asset: str,
    amount: int,
    transfer_id: str,
) -> models.Transfer:
    """Move `amount` (engine units) of `asset` from the account in `from_group` to the
    account in `to_group`. Idempotent on (account, transfer_id): a retry returns the same
    transfer, advanced as far as it can go."""
    source, target = shard_of(risk_group=from_group), shard_of(risk_group=to_group)
    if source.pk == target.pk:
        raise CommandRefused(
            "A transfer moves between two risk groups.", code=EngineError.SAME_GROUP
        )
    existing = models.Transfer.objects.filter(account=account, transfer_id=transfer_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                debit = command_submit(
                    risk_group=source.risk_group_id,
                    account=account,
                    command={
                        "type": "TransferOut",
                        "asset": asset,
                        "amount": amount,
                        "transfer_id": transfer_id,
                        "to_group": str(target.risk_group_id),
                    },
                    idempotency_key=f"transfer:{transfer_id}",
                )
                existing = models.Transfer.objects.create(
                    account=account,
                    transfer_id=transfer_id,
                    from_shard=source,
                    to_shard=target,
                    asset=asset,
                    amount=amount,
                    debit_id=debit.command_id,
                )
        except IntegrityError:
            existing = models.Transfer.objects.get(account=account, transfer_id=transfer_id)
    return transfer_advance(transfer=existing)


def transfer_advance(*, transfer: models.Transfer) -> models.Transfer:
    """Take the transfer one step further if the engine allows it now."""
    with transaction.atomic():
        transfer = models.Transfer.objects.select_for_update().get(pk=transfer.pk)
        if transfer.status == Status.DEBITING:
            outcome = models.Command.objects.values_list("outcome", flat=True).get(
                pk=transfer.debit_id
            )
            if outcome is None:
                return transfer
            if outcome["result"] == "rejected":
                transfer.status, transfer.reason = Status.FAILED, outcome["reason"]
            else:
                credit = command_submit(
                    risk_group=transfer.to_shard.risk_group_id,
                    account=transfer.account,
                    command={
                        "type": "TransferIn",
                        "asset": transfer.asset,
                        "amount": int(transfer.amount),
                        "transfer_id": transfer.transfer_id,
                        "from_group": str(transfer.from_shard.risk_group_id),
                    },
                    idempotency_key=f"transfer:{transfer.transfer_id}",
                )
                transfer.status, transfer.credit_id = Status.CREDITING, credit.command_id
            transfer.save(update_fields=["status", "reason", "credit", "updated_at"])
        elif transfer.status == Status.CREDITING and transfer.credit_id is not None:
            applied = models.Command.objects.filter(
                pk=transfer.credit_id, outcome__isnull=False
            ).exists()
            if applied:
                transfer.status = Status.DONE
                transfer.save(update_fields=["status", "updated_at"])
    return transfer


def transfers_advance() -> int:
    """Advance every unfinished transfer (the beat's sweep); how many moved on."""
    moved = 0
    unfinished = models.Transfer.objects.filter(status__in=[Status.DEBITING, Status.CREDITING])
    for transfer in unfinished.order_by("pk"):
        before = transfer.status
        if transfer_advance(transfer=transfer).status != before:
            moved += 1
    return moved
