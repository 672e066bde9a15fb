"""Factories and builders for XIPs and the market registry (used by tests/markets and
tests/governance/proposals)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from engine.services import command_submit, shard_of
from engine.specs import asset_unit
from engine.tasks import shard_process
from governance.proposals.models import Proposal, ProposalStatus, ProposalType
from governance.risk_groups.models import RiskGroup
from markets.models import Asset
from tests.factories import UserFactory
from tests.governance.factories import (
    MarketBoundsFactory,
    MembershipFactory,
    PermissionlessGroupFactory,
    RegulatedGroupFactory,
)
from xip_portal.models import User


class AssetFactory(factory.django.DjangoModelFactory[Asset]):
    class Meta:
        model = Asset
        django_get_or_create = ["symbol"]

    symbol = "USDC"
    name = factory.LazyAttribute(lambda asset: asset.symbol)
    decimals = 6


def engine_deposit(*, group: RiskGroup, user: User, amount: Decimal, asset: str = "USDC") -> None:
    """Deposit `amount` of `asset` into the user's account in the group's engine, through
    the engine service, and let the shard's writer apply it (as a worker would)."""
    shard = shard_of(risk_group=group)
    decimals = Asset.objects.get(symbol=asset).decimals
    unit = asset_unit(decimals=decimals, collateral=asset == shard.collateral)
    command_submit(
        risk_group=group,
        account=user.pk,
        command={
            "type": "Deposit",
            "asset": asset,
            "amount": int(amount / unit),
            "external_id": f"test-deposit:{user.pk}:{shard.commands.count()}",
        },
    )
    shard_process(shard.pk)


def assets_create() -> None:
    for symbol in ("USDC", "BTC", "ETH"):
        AssetFactory(symbol=symbol)


def open_group_create(**overrides: Any) -> RiskGroup:
    """A permissionless group (3-day Last Call, quorum 3, rejects at 50% against, a bond)
    with bounds allowing every market type."""
    values: dict[str, Any] = {
        "last_call_minutes": 72,
        "vote_quorum": 3,
        "vote_threshold_bps": 5000,
        "proposal_bond_amount": Decimal("250"),
        "proposal_bond_asset": "USDC",
        "operator_approval_required": False,
    }
    group = PermissionlessGroupFactory(**(values | overrides))
    MarketBoundsFactory(risk_group=group)
    return group


def regulated_group_create(**overrides: Any) -> RiskGroup:
    """A KYC-regulated group whose proposals need the operator's approval to go Final."""
    values: dict[str, Any] = {
        "last_call_minutes": 48,
        "vote_quorum": 2,
        "vote_threshold_bps": 6000,
        "operator_approval_required": True,
    }
    group = RegulatedGroupFactory(**(values | overrides))
    MarketBoundsFactory(risk_group=group)
    return group


def member_create(group: RiskGroup, user: User | None = None) -> User:
    """A user who may propose and vote in `group` (an active membership)."""
    user = user or UserFactory()
    source = "kyc" if group.is_regulated else "terms"
    MembershipFactory(user=user, risk_group=group, source=source)
    return user


def spot_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "market_type": "spot",
        "symbol": "BTC-USDC",
        "base_asset": "BTC",
        "quote_asset": "USDC",
        "tick": "0.01",
        "lot": "0.001",
        "min_size": "0.001",
        "price_band_bps": 1000,
        "maker_fee_bps": 2,
        "taker_fee_bps": 5,
        "deployer_share_bps": 2000,
        "oracle_kind": "chainlink",
        "oracle_source": "BTC/USD feed",
    }
    return spec | overrides


def perp_spec(**overrides: Any) -> dict[str, Any]:
    spec = spot_spec(symbol="ETH-PERP", base_asset="ETH", market_type="perp")
    spec |= {
        "margin_tiers": [
            {"max_notional": "100000", "im_bps": 1000, "mm_bps": 500},
            {"max_notional": "1000000", "im_bps": 2000, "mm_bps": 1000},
        ],
        "funding_interval_hours": 8,
        "funding_cap_bps": 75,
    }
    return spec | overrides


def prediction_spec(*, now: datetime | None = None, **overrides: Any) -> dict[str, Any]:
    close = (now or timezone.now()) + timedelta(days=60)
    spec: dict[str, Any] = {
        "market_type": "prediction",
        "symbol": "WC26-WINNER",
        "name": "2026 World Cup winner",
        "quote_asset": "USDC",
        "outcomes": ["Argentina", "Brazil", "France"],
        "tick": "0.01",
        "lot": "1",
        "min_size": "1",
        "price_band_bps": 0,
        "maker_fee_bps": 0,
        "taker_fee_bps": 10,
        "deployer_share_bps": 0,
        "oracle_kind": "manual",
        "oracle_source": "FIFA official result",
        "close_time": close.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resolution_source": "fifa.com final match report",
        "dispute_window_hours": 48,
    }
    return spec | overrides


def proposal_make(
    *,
    group: RiskGroup,
    author: User | None = None,
    status: str = ProposalStatus.DRAFT,
    proposal_type: str = ProposalType.MARKET,
    spec: dict[str, Any] | None = None,
    **fields: Any,
) -> Proposal:
    """A proposal stored as given (no service checks): for setting up a state to test. The
    author of a draft that will need a bond holds it in the group's engine."""
    author = author or UserFactory()
    if status == ProposalStatus.DRAFT and not group.is_regulated and group.proposal_bond_amount:
        engine_deposit(group=group, user=author, amount=group.proposal_bond_amount)
    now = timezone.now()
    if spec is None:
        spec = spot_spec() if proposal_type == ProposalType.MARKET else {}
    values: dict[str, Any] = {
        "title": "A proposal",
        "proposal_type": proposal_type,
        "status": status,
        "risk_group": group,
        "created_by": author,
        "spec": spec,
        "last_activity_at": now,
    }
    if status != ProposalStatus.DRAFT:
        values["number"] = (
            Proposal.objects.order_by("-number").values_list("number", flat=True).first() or 0
        ) + 1
        values["revision"] = 1
    if status == ProposalStatus.LAST_CALL:
        values |= {
            "last_call_round": 1,
            "last_call_started_at": now,
            "last_call_ends_at": now + timedelta(minutes=group.last_call_minutes),
        }
    proposal = Proposal.objects.create(**(values | fields))
    proposal.authors.add(author)
    proposal.subscribers.add(author)
    return proposal
