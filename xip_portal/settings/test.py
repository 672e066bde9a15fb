"""The test suite: the machine's real PostgreSQL and Redis, real Celery (never eager)."""

import os
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("SECRET_KEY", "insecure-test-key-used-only-by-the-test-suite")
# A fixed key so the suite can decrypt what it stored (never used in production).
os.environ.setdefault("API_KEY_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWFwaS1rZXktdmF1bHQta2V5LW5ldmU=")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")

from .base import *  # noqa: E402,F403
from .base import BASE_DIR, DATABASES, env  # noqa: E402

# TEST_DATABASE_NAME lets two checkouts on one machine run their suites side by side.
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_xip_portal")}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
# Each xdist worker its own Redis database: the test databases of two workers number their
# shards and commands alike, and the shard queues, wake flags and outcome channels are named
# by those numbers (one worker's engine process would take, or purge, the other's wake-ups).
# The processes a test starts (engine workers, servers) inherit the database chosen here.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist_worker.startswith("gw") and not os.environ.get("TEST_BROKER_SPLIT"):
    _broker = urlsplit(CELERY_BROKER_URL)
    _database = (int(_broker.path.strip("/") or 0) + 1 + int(_xdist_worker[2:])) % 16
    CELERY_BROKER_URL = urlunsplit(_broker._replace(path=f"/{_database}"))
    os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL
    os.environ["TEST_BROKER_SPLIT"] = "1"
TRADING_RATE_LIMIT_URL = CELERY_BROKER_URL
# pages show the engine's latest batch; tests of the allowed staleness set their own
MARKET_PUBLIC_STALE_SECONDS = 0.0
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / "private_media" / "test"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min"},
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
