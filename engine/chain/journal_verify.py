"""`journal_verify`: replay a risk group's journal from genesis and check that every batch
committed on the chain is reproduced: its sequence range follows the previous one, and the
balances after its last command give its balance root, the withdrawals in its range its
withdrawals root."""

from __future__ import annotations

from dataclasses import dataclass

from engine import models as engine_models
from engine.sequencer import ShardWriter

from .models import Deployment
from .operator import contract_at
from .settlement import balance_root_of, hex32, withdrawals_in, withdrawals_root_of


@dataclass(frozen=True)
class BatchCheck:
    batch: int
    last_seq: int
    balance_root: str
    reproduced: bool
    problem: str = ""


def journal_verify(*, deployment: Deployment, risk_group_id: int) -> list[BatchCheck]:
    """One check per batch on the chain, in order; stops at the first that is not
    reproduced (the later ones build on it)."""
    ledger = contract_at("SettlementLedger", deployment.ledger)
    shard = engine_models.Shard.objects.get(risk_group_id=risk_group_id)
    writer = ShardWriter(shard)
    checks: list[BatchCheck] = []
    expected_first = 1
    for number in range(1, ledger.functions.latest_batch(risk_group_id).call() + 1):
        first_seq, last_seq, _, _, balance_root, withdrawals_root, _, _ = ledger.functions.batches(
            risk_group_id, number
        ).call()
        committed = hex32(balance_root)
        problem = ""
        if first_seq != expected_first or last_seq > shard.high_water:
            problem = f"range {first_seq}-{last_seq} is not the journal's next"
        else:
            writer.replay(until=last_seq)
            balances = writer.state.ledger.balances
            leaves = [
                [account, asset, str(held.free + held.locked)]
                for account in sorted(balances)
                for asset, held in sorted(balances[account].items())
                if held.free + held.locked
            ]
            withdrawals, _ = withdrawals_in(shard.pk, first_seq, last_seq)
            if balance_root_of(risk_group_id, leaves) != committed:
                problem = "the replayed balances give another root"
            elif withdrawals_root_of(risk_group_id, withdrawals) != hex32(withdrawals_root):
                problem = "the journal's withdrawals give another root"
        checks.append(BatchCheck(number, last_seq, committed, not problem, problem))
        if problem:
            break
        expected_first = last_seq + 1
    return checks
