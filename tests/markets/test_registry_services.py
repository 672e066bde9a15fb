"""Listing from a Final XIP, the operators' moves, and the scheduled registry work."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from governance.proposals.models import ProposalStatus, ProposalType
from governance.proposals.services import proposal_create, proposals_last_call_conclude_due
from governance.risk_groups.models import RiskGroup
from markets.config_hash import config_hash
from markets.models import Market, MarketChange, MarketStatus
from markets.services import (
    market_change_schedule_from_xip,
    market_list_from_xip,
    market_status_change,
    markets_timers_run,
)
from tests.factories import UserFactory
from tests.markets.factories import perp_spec, prediction_spec, proposal_make, spot_spec
from xip_portal.errors import ApplicationError, PermissionDenied
from xip_portal.models import AuditEntry, StaffRole, User
from xip_portal.specs import SpecError
from xip_portal.state_machine import TransitionError

S = ProposalStatus
M = MarketStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(make_staff: Callable[..., User], open_group: RiskGroup) -> User:
    return make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)


def listed(group: RiskGroup, **spec: object) -> Market:
    proposal = proposal_make(group=group, status=S.FINAL, spec=spot_spec(**spec))
    return market_list_from_xip(proposal=proposal)


def test_listing_is_idempotent(open_group: RiskGroup) -> None:
    proposal = proposal_make(group=open_group, status=S.FINAL, spec=perp_spec())

    first = market_list_from_xip(proposal=proposal)
    again = market_list_from_xip(proposal=proposal)

    assert first.pk == again.pk
    assert Market.objects.count() == 1
    assert first.config_hash == config_hash(perp_spec())
    assert (first.symbol, first.market_type, first.status) == ("ETH-PERP", "perp", M.APPROVED)
    assert (first.base_asset.symbol, first.quote_asset.symbol) == ("ETH", "USDC")  # type: ignore[union-attr]
    assert AuditEntry.objects.filter(action="market.list").count() == 1
    assert list(first.status_changes.values_list("to_status", flat=True)) == [M.APPROVED]


def test_only_a_final_market_xip_lists(open_group: RiskGroup) -> None:
    in_review = proposal_make(group=open_group, status=S.REVIEW)
    process = proposal_make(
        group=open_group, status=S.FINAL, proposal_type=ProposalType.PROCESS, spec={}
    )

    for proposal in (in_review, process):
        with pytest.raises(ApplicationError) as caught:
            market_list_from_xip(proposal=proposal)
        assert caught.value.code == "not_a_final_market_xip"
    assert not Market.objects.exists()


def test_a_launch_time_in_the_spec_schedules_the_market(open_group: RiskGroup) -> None:
    launch = timezone.now() + timedelta(days=1)
    market = listed(open_group, launch_time=launch.strftime("%Y-%m-%dT%H:%M:%SZ"))

    assert market.status == M.SCHEDULED
    assert markets_timers_run(now=launch - timedelta(minutes=1))["launched"] == 0
    assert markets_timers_run(now=launch + timedelta(seconds=1))["launched"] == 1
    market.refresh_from_db()
    assert market.status == M.LIVE
    assert [change.to_status for change in market.status_changes.all()] == [
        M.APPROVED,
        M.SCHEDULED,
        M.LIVE,
    ]


def test_an_operator_halts_with_a_reason_and_resumes(open_group: RiskGroup, operator: User) -> None:
    market = listed(open_group)
    market_status_change(
        actor=operator,
        market=market,
        move="schedule",
        reason="ready",
        launch_at=timezone.now(),
    )
    market_status_change(actor=operator, market=market, move="launch", reason="go")

    with pytest.raises(ApplicationError) as no_reason:
        market_status_change(actor=operator, market=market, move="halt", reason="")
    market_status_change(actor=operator, market=market, move="halt", reason="Oracle stale")
    market.refresh_from_db()
    assert (market.status, market.status_reason) == (M.HALTED, "Oracle stale")
    market_status_change(actor=operator, market=market, move="resume", reason="Oracle back")

    market.refresh_from_db()
    assert market.status == M.LIVE
    assert no_reason.value.fields == {"reason": ["Required."]}
    halt = AuditEntry.objects.get(action="market.halted")
    assert (halt.actor, halt.reason, halt.old_values) == (
        operator,
        "Oracle stale",
        {"status": "live"},
    )


def test_only_an_operator_of_the_group_moves_a_market(
    open_group: RiskGroup, make_staff: Callable[..., User]
) -> None:
    market = listed(open_group)
    elsewhere = make_staff(
        StaffRole.RISK_GROUP_OPERATOR,
        RiskGroup.objects.create(name="Elsewhere", slug="elsewhere", kind="kyc"),
    )

    for actor in (elsewhere, UserFactory()):
        with pytest.raises(PermissionDenied):
            market_status_change(
                actor=actor, market=market, move="schedule", reason="x", launch_at=timezone.now()
            )
    market.refresh_from_db()
    assert market.status == M.APPROVED


def test_an_illegal_move_is_refused_naming_the_states(
    open_group: RiskGroup, operator: User
) -> None:
    market = listed(open_group)

    with pytest.raises(TransitionError, match="from Approved to Halted"):
        market_status_change(actor=operator, market=market, move="halt", reason="why")
    with pytest.raises(TransitionError, match="not halted"):
        market_status_change(actor=operator, market=market, move="resume", reason="why")


def test_a_final_parameter_xip_applies_at_its_enactment_time(open_group: RiskGroup) -> None:
    market = listed(open_group)
    old_hash = market.config_hash
    enact = timezone.now() + timedelta(days=10)
    raw = {
        "market": "btc-usdc",
        "changes": {"taker_fee_bps": "7"},
        "enactment_time": enact.isoformat(),
    }
    draft = proposal_create(
        actor=UserFactory(),
        title="Raise the taker fee",
        proposal_type="parameter_change",
        risk_group=open_group,
        spec=raw,
    )
    assert draft.spec["changes"] == {"taker_fee_bps": 7}
    draft.status = S.FINAL
    draft.save()
    change = market_change_schedule_from_xip(proposal=draft, kind=MarketChange.Kind.PARAMETERS)

    again = market_change_schedule_from_xip(proposal=draft, kind=MarketChange.Kind.PARAMETERS)
    assert again == change  # idempotent
    assert markets_timers_run(now=enact - timedelta(seconds=1))["changed"] == 0
    market.refresh_from_db()
    assert market.spec["taker_fee_bps"] == 5
    assert markets_timers_run(now=enact)["changed"] == 1
    assert markets_timers_run(now=enact)["changed"] == 0

    market.refresh_from_db()
    assert market.spec["taker_fee_bps"] == 7
    assert market.config_hash == config_hash(market.spec) != old_hash
    audit = AuditEntry.objects.get(action="market.parameters")
    assert audit.old_values["taker_fee_bps"] == 5 and audit.new_values["taker_fee_bps"] == 7


def test_parameter_changes_are_checked_against_the_bounds(open_group: RiskGroup) -> None:
    listed(open_group)

    with pytest.raises(SpecError) as caught:
        proposal_create(
            actor=UserFactory(),
            title="Too much",
            proposal_type="parameter_change",
            risk_group=open_group,
            spec={
                "market": "BTC-USDC",
                "changes": {"taker_fee_bps": "900", "symbol": "X"},
                "enactment_time": "2020-01-01T00:00:00Z",
            },
        )

    assert set(caught.value.fields) == {"changes", "enactment_time"}
    assert "Can not change symbol" in caught.value.fields["changes"][0]


def test_a_final_delisting_xip_delists_at_its_wind_down_time(open_group: RiskGroup) -> None:
    market = listed(open_group)
    wind_down = timezone.now() + timedelta(days=5)
    proposal = proposal_make(
        group=open_group,
        status=S.LAST_CALL,
        proposal_type=ProposalType.DELISTING,
        spec={
            "market": "BTC-USDC",
            "reason": "No volume",
            "wind_down_time": wind_down.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )

    proposals_last_call_conclude_due(now=proposal.last_call_ends_at + timedelta(seconds=1))  # type: ignore[operator]
    assert MarketChange.objects.get(xip=proposal).kind == MarketChange.Kind.DELISTING
    markets_timers_run(now=wind_down + timedelta(seconds=1))

    market.refresh_from_db()
    assert market.status == M.DELISTED
    assert "No volume" in market.status_reason


def test_a_prediction_market_closes_at_its_close_time(
    open_group: RiskGroup, operator: User
) -> None:
    spec = prediction_spec()
    proposal = proposal_make(group=open_group, status=S.FINAL, spec=spec)
    market = market_list_from_xip(proposal=proposal)
    market_status_change(
        actor=operator, market=market, move="schedule", reason="r", launch_at=timezone.now()
    )
    markets_timers_run()
    close = timezone.now() + timedelta(days=60, minutes=1)

    assert markets_timers_run(now=close)["closed"] == 1
    market.refresh_from_db()
    assert market.status == M.CLOSED
