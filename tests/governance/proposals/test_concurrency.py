"""Concurrent moves are guarded: the proposal row is locked and the status re-read, numbers
are unique."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from governance.proposals.models import Proposal, ProposalStatus
from governance.proposals.services import proposal_last_call_conclude, proposal_submit
from governance.risk_groups.models import RiskGroup
from markets.models import Market
from tests.markets.factories import proposal_make, spot_spec
from xip_portal.models import AuditEntry

S = ProposalStatus
pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Runs each call in its own thread (own database connection), started together."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_concurrent_lapse_runs_finalize_and_list_once(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group, status=S.LAST_CALL)
    after = proposal.last_call_ends_at + timedelta(minutes=1)  # type: ignore[operator]

    outcomes = run_together(
        lambda: proposal_last_call_conclude(proposal=proposal, now=after),
        lambda: proposal_last_call_conclude(proposal=proposal, now=after),
    )

    assert sorted(outcomes) == ["final", "not_in_last_call"]
    assert Market.objects.filter(xip=proposal).count() == 1
    assert AuditEntry.objects.filter(action="proposal.final").count() == 1


def test_concurrent_submissions_get_distinct_numbers(open_group: RiskGroup) -> None:
    drafts = [
        proposal_make(group=open_group, spec=spot_spec(symbol=f"S{i}-USDC")) for i in range(3)
    ]

    results = run_together(
        *[lambda d=d: proposal_submit(actor=d.created_by, proposal=d) for d in drafts]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    numbers = sorted(Proposal.objects.values_list("number", flat=True))
    assert numbers == [1, 2, 3]
