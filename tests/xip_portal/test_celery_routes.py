"""Each task lands on the queue its name declares (CELERY_TASK_ROUTES), a queue some worker
consumes; and every scheduled task exists."""

import pytest
from django.conf import settings

from xip_portal.celery import app


def queue_of(task_name: str) -> str:
    return str(app.amqp.router.route({}, task_name)["queue"].name)


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("engine.chain.tasks.registry_sync", "chain"),
        ("engine.chain.tasks.deposits_index", "chain"),
        ("engine.tasks.shard_run", "engine"),
        ("engine.tasks.snapshots_take", "engine"),
        ("markets.tasks.markets_timers", "default"),
        ("governance.proposals.tasks.proposals_last_call_conclude", "default"),
    ],
)
def test_a_task_name_lands_on_its_queue(task_name: str, queue: str) -> None:
    assert queue_of(task_name) == queue


def test_every_task_of_the_project_lands_on_a_consumed_queue() -> None:
    app.loader.import_default_modules()
    consumed = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    names = [name for name in app.tasks if not name.startswith("celery.")]
    assert names, "no task was registered"
    for name in names:
        expected = (
            "chain"
            if name.startswith("engine.chain.")
            else "engine"
            if name.startswith("engine.")
            else settings.CELERY_TASK_DEFAULT_QUEUE
        )
        assert queue_of(name) == expected, name
        assert expected in consumed


def test_every_scheduled_task_exists() -> None:
    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
