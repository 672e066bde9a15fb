"""Production settings pass Django's deployment checks and refuse to start half-configured."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "xip_portal.settings.production",
    "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-" + "y" * 20,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "ALLOWED_HOSTS": "portal.example.test",
    "API_KEY_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi10ZXN0LWtleS1ub3QtYS1yZWFsLTE=",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The browser tests relax Django's async guard in this process, and their ASGI server
    # marks it a web server's; a deployment's process is told neither.
    inherited = {*PRODUCTION_ENV, "DJANGO_ALLOW_ASYNC_UNSAFE", "WEB_SERVER_PROCESS"}
    clean = {key: value for key, value in os.environ.items() if key not in inherited}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_on_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_each_required_variable() -> None:
    for missing in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "API_KEY_ENCRYPTION_KEYS"):
        env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}

        result = manage("check", env=env)

        assert result.returncode != 0, f"started without {missing}"
        assert missing in result.stderr, result.stderr


def test_the_web_server_borrows_connections_from_a_pool_and_celery_keeps_its_own() -> None:
    show = (
        "from django.db import connection; connection.ensure_connection(); "
        "pool = connection.pool; "
        "print(pool and pool.max_size, connection.settings_dict['CONN_MAX_AGE'])"
    )
    web = {**PRODUCTION_ENV, "WEB_SERVER_PROCESS": "True", "WEB_DATABASE_POOL": "5"}

    pooled = manage("shell", "--verbosity", "0", "-c", show, env=web)
    # a Celery process does not import the web entry points: its own connection per thread
    kept = manage("shell", "--verbosity", "0", "-c", show, env=PRODUCTION_ENV)
    unpooled = manage(
        "shell", "--verbosity", "0", "-c", show, env={**web, "WEB_DATABASE_POOL": "0"}
    )

    assert pooled.stdout.split() == ["5", "0"], pooled.stdout + pooled.stderr
    assert kept.stdout.split() == ["None", "60"], kept.stdout + kept.stderr
    assert unpooled.stdout.split() == ["None", "60"], unpooled.stdout + unpooled.stderr
