"""A real Celery worker, on the real Redis broker, runs a task queued after a commit."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone

from xip_portal.tasks import sessions_clear_expired

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_queue() -> str:
    # A queue of its own, so the worker takes only what this test sends.
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def celery_worker(worker_queue: str):
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xip_portal.settings.test",
        # The worker must see the test database this test writes to.
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"
        ),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "xip_portal",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            worker_queue,
            "--loglevel=INFO",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


def test_task_queued_after_commit_runs_on_a_real_worker(celery_worker, worker_queue: str) -> None:
    # Given an expired session and a fresh one in the database
    expired = SessionStore()
    expired.create()
    Session.objects.filter(pk=expired.session_key).update(
        expire_date=timezone.now() - timedelta(days=1)
    )
    fresh = SessionStore()
    fresh.create()

    # When the clean-up is queued by a transaction that commits
    with transaction.atomic():
        transaction.on_commit(lambda: sessions_clear_expired.apply_async(queue=worker_queue))

    # Then the worker deletes the expired session and keeps the fresh one
    deadline = time.monotonic() + 60
    while Session.objects.filter(pk=expired.session_key).exists():
        assert celery_worker.poll() is None, celery_worker.stdout.read()
        assert time.monotonic() < deadline, "the worker did not run the task within 60 s"
        time.sleep(0.2)
    assert Session.objects.filter(pk=fresh.session_key).exists()
