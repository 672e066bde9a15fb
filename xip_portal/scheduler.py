"""The scheduler of the embedded default: Celery beat's schedule (`CELERY_BEAT_SCHEDULE`) run
in a thread of the serving process, so Last Call lapses, market launches and expiries happen in
`make demo` as they do in production, where `celery -A xip_portal beat` runs it instead."""

from threading import Thread

from celery import beat

from .celery import app


def scheduler_start_in_process() -> Thread:
    """Starts beat in a daemon thread. Its tasks run where beat sends them: in the thread
    itself on the embedded default (eager Celery), on the workers otherwise. The schedule is
    kept in memory: each entry first runs one interval after the start."""
    # `celery beat` imports every app's tasks at start-up; beat in a thread must do the same,
    # or it finds no task by name and sends the entry to a broker instead of running it.
    app.loader.import_default_modules()
    service = beat.EmbeddedService(app, thread=True, scheduler_cls=beat.Scheduler)
    if not isinstance(service, Thread):  # thread=True asks for one; say so if Celery changes
        raise TypeError(f"beat.EmbeddedService(thread=True) gave {type(service).__name__}")
    service.start()
    return service
