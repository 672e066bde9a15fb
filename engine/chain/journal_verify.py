"""`journal_verify`: replay a risk group's journal from genesis and check that every batch
committed on the chain is reproduced: its sequence range follows the previous one, the
fills the replay makes in that range give its fills hash and count, the balances after its
last command its balance root, and the withdrawals in its range its withdrawals root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import models as engine_models
from engine.core.events import Event, Fill
from engine.sequencer import ShardWriter

from .models import Deployment
from .operator import contract_at
from .settlement import (
    balance_root_of,
    fill_values,
    fills_hash,
    hex32,
    withdrawals_in,
    withdrawals_root_of,
)


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
    fills: list[tuple[Any, ...]] = []

    def collect_fills(
        seq: int, _id: int, _payload: Any, _ts: int, events: list[Event], _out: Any
    ) -> None:
        fills.extend(
            fill_values(seq, index, event.market, event)
            for index, event in enumerate(events)
            if isinstance(event, Fill)
        )

    checks: list[BatchCheck] = []
    expected_first = 1
    for number in range(1, ledger.functions.latest_batch(risk_group_id).call() + 1):
        first_seq, last_seq, committed_fills, fill_count, balance_root, withdrawals_root, _, _ = (
            ledger.functions.batches(risk_group_id, number).call()
        )
        committed = hex32(balance_root)
        problem = ""
        if first_seq != expected_first or last_seq > shard.high_water:
            problem = f"range {first_seq}-{last_seq} is not the journal's next"
        else:
            fills.clear()
            writer.replay(until=last_seq, on_applied=collect_fills)
            balances = writer.state.ledger.balances
            leaves = [
                [account, asset, str(held.free + held.locked)]
                for account in sorted(balances)
                for asset, held in sorted(balances[account].items())
                if held.free + held.locked
            ]
            withdrawals, _ = withdrawals_in(shard.pk, first_seq, last_seq)
            if (len(fills), fills_hash(fills)) != (fill_count, hex32(committed_fills)):
                problem = f"the replay's fills ({len(fills)}) give another fills hash"
            elif balance_root_of(risk_group_id, leaves) != committed:
                problem = "the replayed balances give another root"
            elif withdrawals_root_of(risk_group_id, withdrawals) != hex32(withdrawals_root):
                problem = "the journal's withdrawals give another root"
        checks.append(BatchCheck(number, last_seq, committed, not problem, problem))
        if problem:
            break
        expected_first = last_seq + 1
    return checks
