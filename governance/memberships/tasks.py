"""Scheduled membership work (Celery beat). Thin: the service does the work."""

from celery import shared_task
from django.db import OperationalError

from .services import memberships_expire_due


@shared_task(
    name="governance.memberships.tasks.memberships_expire",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def memberships_expire() -> int:
    """Expires KYC memberships (and their approvals) past the re-verification period and
    emails the members. Safe to retry or to run twice: an expired membership is skipped."""
    return memberships_expire_due()
