"""The chain's Celery tasks (queue `chain`, see CELERY_TASK_ROUTES): thin, idempotent, and
retried with backoff when a transaction fails or the node is unreachable. Each works on the
active deployment; on the embedded chain they deploy first (a new process has a new chain),
on any other chain they wait for `manage.py chain_deploy`."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from .deployment import deployment_active, deployment_ensure
from .deposits import deposits_scan
from .models import Deployment
from .operator import ChainTransactionFailed
from .provider import EMBEDDED
from .registry import registry_sync_run
from .settlement import settlement_run

logger = logging.getLogger(__name__)
RETRIED = (ChainTransactionFailed, ConnectionError, TimeoutError)


def _deployment() -> Deployment | None:
    if settings.CHAIN_RPC_URL == EMBEDDED:
        return deployment_ensure()
    deployment = deployment_active()
    if deployment is None:
        logger.warning("No contracts on %s: run manage.py chain_deploy", settings.CHAIN_RPC_URL)
    return deployment


@shared_task(autoretry_for=RETRIED, retry_backoff=2, max_retries=5)
def registry_sync() -> int:
    deployment = _deployment()
    return registry_sync_run(deployment=deployment) if deployment else 0


@shared_task(autoretry_for=RETRIED, retry_backoff=2, max_retries=5)
def settlement_commit_due() -> int:
    deployment = _deployment()
    return len(settlement_run(deployment=deployment)) if deployment else 0


@shared_task(autoretry_for=RETRIED, retry_backoff=2, max_retries=5)
def deposits_index() -> int:
    deployment = _deployment()
    return deposits_scan(deployment=deployment).credited if deployment else 0
