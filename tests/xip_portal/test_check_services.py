"""`make test` stops at once, naming the service that is down and how to start it."""

import os
import subprocess
import sys

from django.conf import settings


def check_services(**overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check_services"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "xip_portal.settings.test", **overrides},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_passes_when_postgresql_and_redis_run() -> None:
    result = check_services()

    assert result.returncode == 0, result.stderr
    assert "reachable" in result.stdout


def test_names_a_stopped_database_and_how_to_start_it() -> None:
    result = check_services(DATABASE_URL="postgres://postgres@127.0.0.1:1/postgres")

    assert result.returncode != 0
    assert "database: postgresql is not reachable" in result.stderr
    assert "pg_ctlcluster" in result.stderr


def test_names_a_stopped_broker_and_how_to_start_it() -> None:
    result = check_services(CELERY_BROKER_URL="redis://127.0.0.1:1/0")

    assert result.returncode != 0
    assert "broker: redis://127.0.0.1:1/0 is not reachable" in result.stderr
    assert "redis-server" in result.stderr
