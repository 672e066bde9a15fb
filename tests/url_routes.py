"""The project's URL routes, and a world with one of everything their path arguments can
name: shared by the sweeps that visit every route (hostile values, the authorisation
matrix)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from governance.memberships.models import Membership
from governance.proposals.models import ProposalStatus
from governance.proposals.services import proposal_comment_add
from governance.risk_groups.models import RiskGroup
from markets.models import Market
from markets.services import market_list_from_xip
from tests.factories import InstitutionMembershipFactory
from tests.governance.factories import KybApplicationFactory, KycApplicationFactory
from tests.markets.factories import member_create, proposal_make, spot_spec
from xip_portal.models import InstitutionMembership, StaffRole, User


@dataclass
class World:
    """One of everything a path can name, and a site admin who can reach every page."""

    actor: User
    open_group: RiskGroup
    regulated_group: RiskGroup
    market: Market
    kwargs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # what a sweep read once and reuses across its examples (the hostile sweep's forms)
    forms: list[Any] = field(default_factory=list)


@pytest.fixture
def world(open_group: RiskGroup, regulated_group: RiskGroup, make_staff: Any) -> World:
    actor = make_staff(StaffRole.SITE_ADMIN)
    member_create(open_group, user=actor)
    institution = InstitutionMembershipFactory(
        user=actor, role=InstitutionMembership.Role.ADMIN
    ).institution
    market = market_list_from_xip(
        proposal=proposal_make(group=open_group, status=ProposalStatus.FINAL, spec=spot_spec())
    )
    review = proposal_make(group=open_group, status=ProposalStatus.REVIEW)
    last_call = proposal_make(group=open_group, status=ProposalStatus.LAST_CALL)
    draft = proposal_make(group=open_group, author=actor, spec=spot_spec(symbol="ETH-USDC"))
    objection = proposal_comment_add(
        actor=member_create(open_group), proposal=last_call, body="No.", kind="objection"
    )
    own_kyb = KybApplicationFactory(
        risk_group=regulated_group, applicant=actor, institution=institution
    )
    submitted = KycApplicationFactory(risk_group=regulated_group, submitted=True)
    revocable = Membership.objects.get(user=member_create(open_group))
    groups = [{"slug": open_group.slug}, {"slug": regulated_group.slug}]
    proposals = [{"pk": p.pk} for p in (draft, review, last_call)]
    proposal_pages = [{"key": p.key} for p in (draft, review, last_call)]
    api_actions = ["submit", "withdraw", "revive", "vote", "last-call", "send-back", "reject"]
    kwargs: dict[str, list[dict[str, Any]]] = {
        "institution_detail": [{"slug": institution.slug}],
        "api_institution_members": [{"slug": institution.slug}],
        "proposal_detail": proposal_pages,
        "proposal_edit": [{"key": draft.key}],
        "api_proposal": proposals,
        "api_proposal_comments": proposals,
        "api_proposal_action": [
            *({"pk": review.pk, "action": action} for action in api_actions),
            {"pk": last_call.pk, "action": "vote"},
        ],
        "api_proposal_objection_uphold": [{"pk": last_call.pk, "comment_id": objection.pk}],
        "riskgroup_detail": groups,
        "riskgroup_edit": groups,
        "riskgroup_collateral": groups,
        "riskgroup_join": groups,
        "riskgroup_members": groups,
        "api_riskgroup_members": groups,
        "api_membership_revoke": [{"pk": revocable.pk}],
        "kyc_apply": groups,
        "api_riskgroup": groups,
        "api_riskgroup_join": groups,
        "api_riskgroup_collateral": [{"slug": open_group.slug, "symbol": "USDC"}],
        "kyc_application": [{"pk": own_kyb.pk}],
        "kyc_review": [{"pk": submitted.pk}],
        "api_kyc_application": [{"pk": own_kyb.pk}],
        "api_kyc_documents": [{"pk": own_kyb.pk}],
        "api_kyc_submit": [{"pk": own_kyb.pk}],
        "api_kyc_case": [{"pk": submitted.pk}],
        "api_kyc_decision": [{"pk": submitted.pk}],
        "market_detail": [{"symbol": market.symbol}],
        "outcome_board": [{"symbol": market.symbol}],
        "api_market": [{"symbol": market.symbol}],
        "api_market_status": [{"symbol": market.symbol}],
        "api_market_oracle_prices": [{"symbol": market.symbol}],
        "settlement": groups,
        "insurance_fund": groups,
        "api_insurance_fund": groups,
        "api_insurance_fund_entries": groups,
        "api_funding": [{"market": market.symbol}],
        **{
            f"api_market_resolution{step}": [{"symbol": market.symbol}]
            for step in ("", "_propose", "_dispute", "_decide", "_approve")
        },
        "market_order_place": [{"symbol": market.symbol}],
        "market_order_preview": [{"symbol": market.symbol}],
        "api_order": [{"order_id": 1}],
        "api_book": [{"market": market.symbol}],
        "api_trades": [{"market": market.symbol}],
        "api_candles": [{"market": market.symbol}],
        "api_ticker": [{"market": market.symbol}],
    }
    return World(actor, open_group, regulated_group, market, kwargs)


def url_routes(
    patterns: list[URLPattern | URLResolver] | None = None,
    prefix: str = "",
    *,
    unnamed: bool = False,
) -> Iterator[tuple[str, str]]:
    """(route, key) of every page and operation of the project (admin and allauth aside):
    the key is the url name, or (with `unnamed`) the route itself for a pattern without a
    name (/api/v5/, redirects)."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith(("admin/", "accounts/")):
                yield from url_routes(pattern.url_patterns, route, unnamed=unnamed)
        elif pattern.name or unnamed:
            yield route, pattern.name or route


def route_paths(world: World, name: str, route: str) -> list[str]:
    """The concrete paths of a route, its arguments taken from the world."""
    if "<" not in route:
        return [reverse(name)]
    # Path arguments no operation takes a body or form at (deleting a document, ...).
    if name not in world.kwargs:
        return []
    return [reverse(name, kwargs=kwargs) for kwargs in world.kwargs[name]]


def db_writes() -> int:
    """Rows this test's transaction has inserted, updated or deleted in the portal's own
    tables so far (PostgreSQL counts them per transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)"
            " FROM pg_stat_xact_user_tables WHERE relname ~ '^(xip_portal|governance|markets)_'"
        )
        return int(cursor.fetchone()[0])
