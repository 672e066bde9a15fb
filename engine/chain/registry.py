"""The market registry's mirror on the chain: every listing, status and parameter change of
a market is recorded here (by markets, inside its own transaction) and sent to the
MarketRegistry, one transaction per version of the entry."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

from xip_portal.cache import cache_key, kept_while

from .deployment import deployment_active
from .models import ChainTransaction, Deployment, RegistryEntry
from .operator import chain_transact, contract_at, operator_account


def registry_entry_record(
    *, market_id: str, config_hash: str, status: str, risk_group_id: int, xip: int
) -> RegistryEntry:
    """What the on-chain registry must now say of `market_id`. A change makes a new version
    (sent after the caller's commit); the same values again change nothing."""
    values = {
        "config_hash": config_hash,
        "status": status,
        "risk_group_id": risk_group_id,
        "xip": xip,
    }
    with transaction.atomic():
        entry = RegistryEntry.objects.select_for_update().filter(market_id=market_id).first()
        if entry is None:
            entry = RegistryEntry.objects.create(market_id=market_id, **values)
        elif any(getattr(entry, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(entry, name, value)
            entry.version += 1
            entry.save()
        else:
            return entry
        transaction.on_commit(_sync_soon)
    return entry


def _sync_soon() -> None:
    from .tasks import registry_sync

    registry_sync.delay()


def registry_sync_run(*, deployment: Deployment) -> int:
    """Send every entry whose current version the deployment's registry has not received;
    returns how many were sent. Raises ChainTransactionFailed (the task retries)."""
    sent = set(
        ChainTransaction.objects.filter(
            deployment=deployment,
            purpose__startswith="registry:",
            status=ChainTransaction.Status.MINED,
        ).values_list("purpose", flat=True)
    )
    count = 0
    for entry in RegistryEntry.objects.order_by("updated_at", "id"):
        if entry.purpose in sent:
            continue
        chain_transact(
            account=operator_account(),
            deployment=deployment,
            purpose=entry.purpose,
            contract="MarketRegistry",
            function="record",
            args=[
                entry.market_id,
                bytes.fromhex(entry.config_hash.removeprefix("0x")),
                entry.status,
                entry.risk_group_id,
                entry.xip,
            ],
        )
        count += 1
    return count


@dataclass(frozen=True)
class OnChainEntry:
    """A market's entry as the chain holds it, beside what the portal holds."""

    market_id: str
    config_hash: str
    status: str
    risk_group_id: int
    xip: int
    block_number: int | None
    tx_hash: str
    portal_config_hash: str
    portal_status: str

    @property
    def hash_matches(self) -> bool:
        return self.config_hash == self.portal_config_hash

    @property
    def in_sync(self) -> bool:
        return self.hash_matches and self.status == self.portal_status


def registry_entry_on_chain(*, market_id: str) -> OnChainEntry | None:
    """The market's on-chain registry entry and the transaction that wrote it; None when the
    chain has no deployment or the market no entry (yet)."""
    deployment = deployment_active()
    entry = RegistryEntry.objects.filter(market_id=market_id).first()
    if deployment is None or entry is None:
        return None
    config_hash, status, risk_group, xip, _ = (
        contract_at("MarketRegistry", deployment.registry).functions.entries(market_id).call()
    )
    if not status:
        return None
    tx = (
        ChainTransaction.objects.filter(
            deployment=deployment,
            purpose__startswith=f"registry:{market_id}:",
            status=ChainTransaction.Status.MINED,
        )
        .order_by("-id")
        .first()
    )
    return OnChainEntry(
        market_id,
        "0x" + config_hash.hex(),
        status,
        risk_group,
        xip,
        tx.block_number if tx else None,
        tx.tx_hash if tx else "",
        entry.config_hash,
        entry.status,
    )


# A market's page shows its on-chain entry. Reading it takes three calls to the chain, so a
# page takes it from the cache while nothing that could change it has happened: the
# portal's entry has the same version, no registry transaction of the market was mined
# since, and no new deployment was made (one query). A chain that changed under the
# portal's records (a node reset) shows within ENTRY_SECONDS.
ENTRY_SECONDS = 60


# What could change an entry (one query on every market page: written out, because
# building it with the ORM cost more than running it): the portal's version, the last mined
# registry transaction of the market, the last deployment.
ENTRY_MARKS = """
    SELECT entry.version,
        (SELECT tx.id FROM chain_chaintransaction tx
            WHERE tx.purpose LIKE %s AND tx.status = %s ORDER BY tx.id DESC LIMIT 1),
        (SELECT deployment.id FROM chain_deployment deployment ORDER BY deployment.id DESC LIMIT 1)
    FROM chain_registryentry entry WHERE entry.market_id = %s
"""


def registry_entry_shown(*, market_id: str) -> OnChainEntry | None:
    """registry_entry_on_chain(market_id), from the cache while it cannot have changed."""
    purposes = connection.ops.prep_for_like_query(f"registry:{market_id}:") + "%"
    with connection.cursor() as cursor:
        cursor.execute(ENTRY_MARKS, [purposes, ChainTransaction.Status.MINED.value, market_id])
        marks = cursor.fetchone()
    if marks is None or marks[2] is None:
        return None  # no entry to send, or nowhere to send it: the chain has none
    return kept_while(
        cache_key("registry-on-chain", market_id),
        marks,
        lambda: registry_entry_on_chain(market_id=market_id),
        ENTRY_SECONDS,
    )
