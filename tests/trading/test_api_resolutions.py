"""A prediction market's resolution through /api/v1: anyone reads its state and timeline;
the resolver proposes, a member disputes with the bond, an editor (with two-factor)
decides; each write once per Idempotency-Key, each refusal with its code and nothing
written; an undisputed void pays each side half when the window lapses."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from governance.proposals.models import ProposalStatus
from markets.models import MarketStatus, Resolution
from markets.resolutions import resolutions_settle_due
from markets.services import market_list_from_xip
from tests.markets.factories import perp_spec, proposal_make
from tests.markets.test_resolutions import EVIDENCE, UNIT, Venue, fresh_engine_memory, open_venue
from xip_portal.models import StaffRole, User

pytestmark = pytest.mark.django_db
__all__ = ["fresh_engine_memory", "open_venue"]  # fixtures used here


def post(client: APIClient, user: User | None, path: str, body: dict, key: str | None = "k1"):
    client.force_authenticate(user)
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(path, body, format="json", headers=headers)


def test_a_dispute_runs_through_the_api_with_its_permissions_and_idempotency(
    open_venue: Venue, make_staff: Callable[..., User], regulated_group
) -> None:
    venue, client = open_venue, APIClient()
    base = f"/api/v1/markets/{venue.market.symbol}/resolution/"
    before = client.get(base).json()
    assert (before["status"], before["outcome_choices"]) == ("none", ["yes", "no", "void"])
    assert (before["dispute_bond_asset"], before["dispute_bond_amount"]) == ("USDC", "50")
    venue.close()
    proposal = {"outcome": "yes", "evidence_url": EVIDENCE}

    stranger = post(client, venue.yes_buyer, base + "propose/", proposal)
    no_key = post(client, venue.resolver, base + "propose/", proposal, key=None)
    anonymous = post(client, None, base + "propose/", proposal)
    unknown_field = post(client, venue.resolver, base + "propose/", {**proposal, "x": 1})
    assert (stranger.status_code, stranger.json()["code"]) == (403, "not_the_resolver")
    assert (no_key.status_code, no_key.json()["code"]) == (400, "bad_idempotency_key")
    assert anonymous.status_code in (401, 403)
    assert unknown_field.status_code == 400
    assert not Resolution.objects.exists()

    proposed = post(client, venue.resolver, base + "propose/", proposal)
    again = post(client, venue.resolver, base + "propose/", proposal)
    reused = post(client, venue.resolver, base + "propose/", {**proposal, "outcome": "no"})
    assert proposed.status_code == 200, proposed.content
    assert (proposed.json()["status"], proposed.json()["outcome"]) == ("proposed", "yes")
    assert proposed.json()["disputable"] is True
    assert again.json() == proposed.json()
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
    assert Resolution.objects.count() == 1

    disputer_before = venue.free(venue.disputer)
    disputed = post(client, venue.disputer, base + "dispute/", {"reason": "Argentina lost"})
    venue.process()
    assert disputed.json()["status"] == "disputed"
    assert disputed.json()["dispute"]["bond_amount"] == "50"
    assert venue.free(venue.disputer) == disputer_before - 50 * UNIT

    decision = {"outcome": "no", "reason": "The match report says so"}
    member = post(client, venue.no_buyer, base + "decide/", decision)
    no_2fa = post(
        client, make_staff(StaffRole.XIP_EDITOR, venue.group, two_factor=False), base + "decide/",
        decision,
    )  # fmt: skip
    other_editor = post(
        client, make_staff(StaffRole.XIP_EDITOR, regulated_group), base + "decide/", decision
    )
    assert member.status_code == 403  # (staff steps ask for two-factor first, as the page does)
    assert (no_2fa.status_code, no_2fa.json()["code"]) == (403, "two_factor_required")
    assert (other_editor.status_code, other_editor.json()["code"]) == (403, "role_required")
    assert Resolution.objects.get().status == "disputed"
    decided = post(
        client, make_staff(StaffRole.XIP_EDITOR, venue.group), base + "decide/", decision
    )
    venue.process()

    answer = decided.json()
    assert (answer["status"], answer["final_outcome"]) == ("settled", "no")
    assert (answer["market_status"], answer["dispute"]["result"]) == ("settled", "upheld")
    assert venue.free(venue.disputer) == disputer_before  # the bond came back
    titles = [step["title"] for step in client.get(base).json()["timeline"]]
    assert {"Outcome proposed: yes", "Disputed", "Decided: no", "Settled"} <= set(titles)
    assert ("payout", 10 * UNIT) in venue.statement(venue.no_buyer)


def test_an_undisputed_void_pays_each_side_half_when_the_window_lapses(open_venue: Venue):
    venue, client = open_venue, APIClient()
    venue.close()
    proposed_at = timezone.now()
    answer = post(
        client,
        venue.resolver,
        f"/api/v1/markets/{venue.market.symbol}/resolution/propose/",
        {"outcome": "void", "evidence_url": EVIDENCE},
    ).json()
    assert answer["status"] == "proposed"
    venue.process()
    later = proposed_at + timedelta(hours=1, seconds=5)
    venue.engine_clock_at(later)

    assert resolutions_settle_due(now=later) == 1
    venue.process()

    assert venue.refresh().status == MarketStatus.SETTLED
    assert Resolution.objects.get().final_outcome == "void"
    for side in (venue.yes_buyer, venue.no_buyer):
        assert ("payout", 5 * UNIT) in venue.statement(side)


def test_the_resolution_of_a_market_that_is_not_a_prediction_is_refused(
    open_venue: Venue,
) -> None:

    perp = market_list_from_xip(
        proposal=proposal_make(
            group=open_venue.group, status=ProposalStatus.FINAL, spec=perp_spec()
        )
    )
    response = APIClient().get(f"/api/v1/markets/{perp.symbol}/resolution/")
    missing = APIClient().get("/api/v1/markets/NOPE/resolution/")

    assert (response.status_code, response.json()["code"]) == (400, "not_a_prediction_market")
    assert missing.status_code == 404
