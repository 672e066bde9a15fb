"""The embedded default behind `make demo`: SQLite, Celery in-process, embedded chain."""

import os

os.environ.setdefault("SECRET_KEY", "insecure-local-demo-key-only-for-make-demo-never-deploy")
# A fixed key so the demo can decrypt what it stored (never used in production).
os.environ.setdefault("API_KEY_ENCRYPTION_KEYS", "ZGVtby1vbmx5LWFwaS1rZXktdmF1bHQta2V5LW5ldmU=")
os.environ.setdefault("DATABASE_URL", "sqlite:///db.sqlite3")

from .base import *  # noqa: E402,F403
from .base import env  # noqa: E402

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
CELERY_TASK_ALWAYS_EAGER = True
# `make demo` deploys by itself to the chain it is given (CHAIN_RPC_URL), not only the embedded
CHAIN_DEPLOY_IF_MISSING = env.bool("CHAIN_DEPLOY_IF_MISSING", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
TRADING_RATE_LIMIT_URL = "memory://"
# The engine's time tick runs in beat's thread here (xip_portal.scheduler), journaling an
# AdvanceTime per risk group into SQLite: every 5 s a visitor still sees a GTD order expire
# or a market close by itself, and the demo's journal and console grow five times slower.
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,  # noqa: F405
    "engine-time-tick": {"task": "engine.tasks.shards_tick", "schedule": 5.0},
    # the demo's market maker re-quotes every live market (trading.market_maker)
    "demo-market-maker": {"task": "trading.tasks.demo_market_maker_cycle", "schedule": 3.0},
}
# The server's threads and the scheduler's share one SQLite file: a writer waits for another
# rather than failing after SQLite's default 5 s.
DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # Write-ahead logging: readers (pages, the chain's thread) don't wait for the writer,
    # and a commit appends to the log instead of syncing the whole file (synchronous=NORMAL
    # is safe in WAL: a crash may lose the last commits, never corrupt the file). A
    # transaction takes the write lock when it begins, so two writers queue on the timeout
    # instead of one failing with "database is locked" when it upgrades its read lock.
    DATABASES["default"]["OPTIONS"] |= {  # noqa: F405
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
# The in-process scheduler runs tasks every few seconds: the console keeps to what a person
# reads (requests, warnings), not a line per scheduled task.
LOGGING["loggers"] |= {  # noqa: F405
    "celery.app.trace": {"level": "WARNING"},
    "celery.beat": {"level": "WARNING"},
}
