"""Housekeeping tasks of the portal itself."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task(name="xip_portal.tasks.sessions_clear_expired", ignore_result=True)
def sessions_clear_expired() -> int:
    """Deletes expired sessions (Celery beat runs it hourly); returns how many."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
