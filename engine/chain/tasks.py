"""The chain's Celery tasks (queue `chain`, see CELERY_TASK_ROUTES): thin, idempotent, and
retried with backoff when a transaction fails or the node is unreachable. Each works on the
active deployment; on the embedded chain (a new process has a new chain), or with
CHAIN_DEPLOY_IF_MISSING, they deploy first; otherwise they wait for `manage.py chain_deploy`.

On the embedded default Celery runs tasks eagerly in the caller's thread (beat's, or a
request's). The chain's work (a node, the compiler at first use) then runs in a thread of its
own, as the chain queue has its own worker in production: beat's ticks and the pages never
wait for it, and a task already waiting there is not queued twice."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from celery import shared_task
from django.conf import settings
from django.db import connection

from .deployment import deployment_active, deployment_ensure
from .deposits import deposits_scan
from .models import Deployment
from .operator import ChainTransactionFailed
from .provider import EMBEDDED
from .registry import registry_sync_run
from .settlement import settlement_run
from .withdrawals import withdrawals_paid_scan

logger = logging.getLogger(__name__)
RETRIED = (ChainTransactionFailed, ConnectionError, TimeoutError)
HANDED_OFF = -1

_jobs: queue.Queue[tuple[str, Callable[[], int]]] = queue.Queue()
_queued: set[str] = set()
_guard = threading.Lock()
_worker: threading.Thread | None = None


def _work_in_thread() -> None:
    while True:
        name, work = _jobs.get()
        try:
            work()
        except Exception:  # the next scheduled run tries again, as a retry would
            logger.exception("chain task %s failed", name)
        finally:
            with _guard:
                _queued.discard(name)
            connection.close()


def _run(name: str, work: Callable[[], int]) -> int:
    """`work()` here, or handed to the chain's own thread on the embedded default."""
    global _worker
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return work()
    with _guard:
        if name in _queued:
            return HANDED_OFF
        _queued.add(name)
        if _worker is None:
            # a daemon: the process ends without waiting for the chain
            _worker = threading.Thread(target=_work_in_thread, name="chain", daemon=True)
            _worker.start()
    _jobs.put((name, work))
    return HANDED_OFF


def _deployment() -> Deployment | None:
    if settings.CHAIN_RPC_URL == EMBEDDED or settings.CHAIN_DEPLOY_IF_MISSING:
        return deployment_ensure()
    deployment = deployment_active()
    if deployment is None:
        logger.warning("No contracts on %s: run manage.py chain_deploy", settings.CHAIN_RPC_URL)
    return deployment


def _registry_sync() -> int:
    deployment = _deployment()
    return registry_sync_run(deployment=deployment) if deployment else 0


def _settlement(risk_group_id: int | None) -> int:
    deployment = _deployment()
    if deployment is None:
        return 0
    return len(settlement_run(deployment=deployment, risk_group_id=risk_group_id))


def _vault_scan() -> int:
    deployment = _deployment()
    if deployment is None:
        return 0
    credited = deposits_scan(deployment=deployment).credited
    withdrawals_paid_scan(deployment=deployment)
    return credited


@shared_task(autoretry_for=RETRIED, retry_backoff=2, max_retries=5)
def registry_sync() -> int:
    return _run("registry_sync", _registry_sync)


@shared_task(autoretry_for=RETRIED, retry_backoff=2, max_retries=5)
def settlement_commit_due(risk_group_id: int | None = None) -> int:
    """Every risk group's batch (beat's clock), or one group's (its writer, every
    CHAIN_SETTLEMENT_COMMANDS commands)."""
    return _run(
        f"settlement_commit_due:{risk_group_id or 'all'}", lambda: _settlement(risk_group_id)
    )


@shared_task(autoretry_for=RETRIED, retry_backoff=2, max_retries=5)
def deposits_index() -> int:
    """The vault's logs: deposits to credit, and payouts to mark paid (a trader may claim
    from their own wallet). Returns the deposits credited."""
    return _run("deposits_index", _vault_scan)
