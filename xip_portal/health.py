"""Probes of the services the portal needs. /healthz reports them; `manage.py
check_services` runs the same probes before the test suite. Rooms above this one add their
own probes at start-up with `probe_register` (the engine adds the chain's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from kombu import Connection


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    detail: str
    how_to_start: str = ""


def probe_database() -> ProbeResult:
    vendor = connection.vendor
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means: not usable
        return ProbeResult(
            "database",
            False,
            f"{vendor} is not reachable: {exc}".strip(),
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
        )
    return ProbeResult("database", True, vendor)


def probe_broker() -> ProbeResult:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return ProbeResult("broker", True, "tasks run in-process (eager)")
    url = settings.CELERY_BROKER_URL
    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:  # kombu raises several families; all mean unreachable
        return ProbeResult(
            "broker",
            False,
            f"{url} is not reachable: {type(exc).__name__}",
            'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save ""'
            " --appendonly no",
        )
    return ProbeResult("broker", True, url.split("@")[-1])


Probe = Callable[[], ProbeResult]
PROBES: list[Probe] = [probe_database, probe_broker]


def probe_register(probe: Probe) -> None:
    """Adds a probe to /healthz (once, whatever how often the app starts)."""
    if probe not in PROBES:
        PROBES.append(probe)
