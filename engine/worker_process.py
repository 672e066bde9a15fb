"""Starting a real Celery worker process for some shards' queues, pointed at the database
this process uses: for the tests that kill workers and for the benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection


def database_url() -> str:
    """The URL of the database this process is connected to (a test database included)."""
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"


def shard_worker_start(
    shard_ids: list[int], *, log: Path | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A Celery worker consuming the shards' queues as the Procfile's engine process runs
    one: a thread per shard (a writer lingers for more work, so shards must not queue
    behind one another), wake-ups queued while no worker ran dropped at start."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get(
            "DJANGO_SETTINGS_MODULE", "xip_portal.settings.test"
        ),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        **(extra_env or {}),
    }
    queues = ",".join(f"engine.shard.{shard_id}" for shard_id in shard_ids)
    output = log.open("ab") if log is not None else subprocess.DEVNULL
    return subprocess.Popen(  # noqa: S603 - a fixed command line
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "xip_portal",
            "worker",
            "--pool=threads",
            f"--concurrency={len(shard_ids)}",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--purge",  # see the Procfile's engine process
            "-Q",
            queues,
            "--loglevel=WARNING",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
