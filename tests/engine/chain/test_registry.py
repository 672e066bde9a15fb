"""The on-chain registry follows the portal's: a listed market and each of its status changes
reach MarketRegistry with the config hash the portal shows; a repeated sync sends nothing;
a market's page reads the chain again only when its entry may have changed."""

from collections.abc import Callable

import pytest

from engine.chain import registry
from engine.chain.models import ChainTransaction, RegistryEntry
from engine.chain.registry import (
    registry_entry_on_chain,
    registry_entry_record,
    registry_entry_shown,
    registry_sync_run,
)
from governance.risk_groups.models import RiskGroup
from markets.services import market_status_change
from tests.markets import test_engine_sync
from tests.markets.factories import perp_spec
from xip_portal.models import StaffRole, User


@pytest.fixture
def operator(make_staff: Callable[..., User], open_group: RiskGroup) -> User:
    return make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)


def test_a_listed_then_halted_market_shows_on_chain_with_its_hash_and_status(
    open_group, operator, deployment
):
    market = test_engine_sync.live(open_group, operator, perp_spec())
    assert registry_sync_run(deployment=deployment) == 1

    entry = registry_entry_on_chain(market_id=market.symbol)
    assert entry is not None
    assert (entry.config_hash, entry.status) == (market.config_hash, "live")
    assert (entry.risk_group_id, entry.xip) == (open_group.pk, market.xip.number)
    assert entry.hash_matches and entry.in_sync and entry.block_number

    market_status_change(actor=operator, market=market, move="halt", reason="oracle stale")
    assert RegistryEntry.objects.get(market_id=market.symbol).status == "halted"
    assert registry_sync_run(deployment=deployment) == 1
    assert registry_sync_run(deployment=deployment) == 0

    entry = registry_entry_on_chain(market_id=market.symbol)
    assert (entry.config_hash, entry.status) == (market.config_hash, "halted")
    sent = ChainTransaction.objects.filter(deployment=deployment, contract="MarketRegistry")
    assert sent.count() == 2


def test_the_same_values_again_make_no_new_version(open_group, operator, deployment):
    market = test_engine_sync.live(open_group, operator, perp_spec())
    market.refresh_from_db()
    entry = RegistryEntry.objects.get(market_id=market.symbol)

    again = registry_entry_record(
        market_id=market.symbol,
        config_hash=market.config_hash,
        status=market.status,
        risk_group_id=open_group.pk,
        xip=market.xip.number,
    )

    assert again.version == entry.version
    assert registry_sync_run(deployment=deployment) == 1


def test_the_page_reads_the_chain_again_only_after_a_registry_change(
    open_group, operator, deployment, monkeypatch
):
    reads = []

    def reading(*, market_id):
        reads.append(market_id)
        return registry_entry_on_chain(market_id=market_id)

    monkeypatch.setattr(registry, "registry_entry_on_chain", reading)
    market = test_engine_sync.live(open_group, operator, perp_spec())
    # before the sync: not on-chain, read once
    assert registry_entry_shown(market_id=market.symbol) is None
    assert registry_entry_shown(market_id=market.symbol) is None
    assert len(reads) == 1
    # the sync mined the entry: read again, then kept
    registry_sync_run(deployment=deployment)
    assert registry_entry_shown(market_id=market.symbol).status == "live"
    assert registry_entry_shown(market_id=market.symbol).status == "live"
    assert len(reads) == 2
    # a halt: the portal's new version is on its way, then on-chain
    market_status_change(actor=operator, market=market, move="halt", reason="oracle stale")
    assert not registry_entry_shown(market_id=market.symbol).in_sync
    registry_sync_run(deployment=deployment)
    entry = registry_entry_shown(market_id=market.symbol)
    assert entry.status == "halted" and entry.in_sync
    assert len(reads) == 4
