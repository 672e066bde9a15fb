"""The embedded default's scheduler runs Celery beat's schedule inside the serving process."""

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from xip_portal.celery import app
from xip_portal.scheduler import scheduler_start_in_process


@pytest.fixture
def eager_schedule() -> Iterator[None]:
    """The demo's Celery configuration (eager tasks) with a schedule whose entry is due often."""
    saved = {key: app.conf[key] for key in ("task_always_eager", "beat_schedule")}
    app.conf.update(
        task_always_eager=True,
        beat_schedule={
            "clear-expired-sessions": {
                "task": "xip_portal.tasks.sessions_clear_expired",
                "schedule": 0.2,
            }
        },
    )
    yield
    app.conf.update(saved)


@pytest.mark.django_db(transaction=True)
def test_the_in_process_scheduler_runs_due_entries_in_the_serving_process(eager_schedule) -> None:
    # Given an expired session and a schedule that clears them
    Session.objects.create(
        session_key="expired" * 4, session_data="", expire_date=timezone.now() - timedelta(days=1)
    )
    # When the scheduler runs in this process for a while
    service = scheduler_start_in_process()
    try:
        deadline = time.monotonic() + 10
        while Session.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        service.stop()
    # Then the scheduled task has run here, with no worker and no broker
    assert not Session.objects.exists()
