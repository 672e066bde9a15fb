"""Scheduled XIP work (Celery beat). Tasks are thin: they call one service."""

from celery import shared_task

from .services import (
    proposals_bonds_reconcile,
    proposals_last_call_conclude_due,
    proposals_mark_stagnant,
)


@shared_task(name="governance.proposals.tasks.proposals_last_call_conclude", ignore_result=True)
def proposals_last_call_conclude() -> dict[str, int]:
    """Concludes every lapsed Last Call (Final, Rejected, back to Review, or waiting for the
    operator). Safe to retry: a concluded proposal is no longer in Last Call."""
    return proposals_last_call_conclude_due()


@shared_task(name="governance.proposals.tasks.proposals_stagnant_mark", ignore_result=True)
def proposals_stagnant_mark() -> int:
    return proposals_mark_stagnant()


@shared_task(name="governance.proposals.tasks.proposals_bonds_sweep", ignore_result=True)
def proposals_bonds_sweep() -> dict[str, int]:
    """XIPs whose bond lock the engine refused go back to Draft; bonds of ended XIPs whose
    lock was pending are returned or forfeited. Safe to retry."""
    return proposals_bonds_reconcile()
