"""Resolving prediction markets: proposed by the resolver with evidence, disputed with a
bond, decided by editors (and the operator of a regulated group), settled by itself when
undisputed; payouts reach balances and statements, bonds go to whoever was right."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from engine import selectors, services, tasks
from engine.services import command_submit, shard_of
from governance.proposals.models import ProposalStatus
from governance.risk_groups.models import RiskGroup
from markets.models import Market, MarketStatus, Resolution, ResolutionDispute
from markets.resolutions import (
    outcome_eliminate,
    resolution_decide,
    resolution_decision_approve,
    resolution_dispute,
    resolution_propose,
    resolutions_settle_due,
)
from markets.selectors import market_resolution, market_timeline
from markets.services import market_list_from_xip, market_status_change
from tests.factories import InstitutionFactory, InstitutionMembershipFactory, UserFactory
from tests.markets.factories import (
    engine_deposit,
    member_create,
    perp_spec,
    prediction_spec,
    proposal_make,
)
from xip_portal.errors import ApplicationError
from xip_portal.models import AuditEntry, StaffRole, User

pytestmark = pytest.mark.django_db

UNIT = 10**12  # one USDC in the engine (the collateral counts in 10^-12)
EVIDENCE = "https://www.fifa.com/match-report"


@pytest.fixture(autouse=True)
def fresh_engine_memory():
    tasks._writers.clear()
    services._shards.clear()
    yield
    tasks._writers.clear()
    services._shards.clear()


class Venue:
    """A live binary market in `group`, resolved by `resolver`'s institution, on which
    `yes_buyer` holds 10 YES bought at 0.40 from `no_buyer` (10 NO at 0.60); with
    `outcome`, a categorical market (the spec overrides name its outcomes) on which they
    hold that outcome's shares."""

    def __init__(
        self, group: RiskGroup, operator: User, spec_overrides: dict, outcome: str = ""
    ) -> None:
        self.group = group
        self.operator = operator
        house = InstitutionFactory()
        self.resolver = UserFactory()
        InstitutionMembershipFactory(institution=house, user=self.resolver)
        spec = prediction_spec(symbol="WC26-ARG-FINAL", outcomes=[]) | spec_overrides
        proposal = proposal_make(
            group=group, status=ProposalStatus.FINAL, spec=spec, institution=house
        )
        self.market = market_list_from_xip(proposal=proposal)
        self.traded = f"{self.market.symbol}:{outcome}" if outcome else self.market.symbol
        market_status_change(
            actor=operator,
            market=self.market,
            move="schedule",
            reason="ready",
            launch_at=timezone.now(),
        )
        market_status_change(actor=operator, market=self.market, move="launch", reason="go")
        self.yes_buyer, self.no_buyer, self.disputer = (member_create(group) for _ in range(3))
        for person in (self.yes_buyer, self.no_buyer, self.disputer):
            engine_deposit(group=group, user=person, amount=Decimal(1000))
        self.order(self.yes_buyer, "yes", 40)
        self.order(self.no_buyer, "no", 60)
        self.process()

    def order(self, user: User, outcome: str, cents: int) -> None:
        command_submit(
            risk_group=self.group,
            account=user.pk,
            command={
                "type": "PlaceOrder",
                "market": self.traded,
                "side": "buy",
                "size": 10,
                "price": cents * UNIT // 100,
                "outcome": outcome,
            },
        )

    def process(self) -> None:
        tasks.shard_process(shard_of(risk_group=self.group).pk)

    def close(self) -> None:
        market_status_change(actor=self.operator, market=self.market, move="close", reason="KO")
        self.process()

    def engine_clock_at(self, moment) -> None:
        """The engine's time moves as commands arrive; jump it to `moment`."""
        command_submit(
            risk_group=self.group,
            account=0,
            command={"type": "AdvanceTime", "ts": int(moment.timestamp() * 1000)},
        )
        self.process()

    def free(self, user: User) -> int:
        shard = shard_of(risk_group=self.group)
        balance = selectors.balances_of(shard=shard, account=user.pk).get(asset="USDC")
        return int(balance.free)

    def statement(self, user: User) -> list[tuple[str, int]]:
        shard = shard_of(risk_group=self.group)
        return [
            (entry.kind, int(entry.amount))
            for entry in selectors.statement_of(shard=shard, account=user.pk)
        ]

    def refresh(self) -> Market:
        self.market.refresh_from_db()
        return self.market


@pytest.fixture
def open_venue(make_staff: Callable[..., User], open_group: RiskGroup) -> Venue:
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)
    return Venue(open_group, operator, {"dispute_window_hours": 1, "dispute_bond": "50"})


def test_an_undisputed_outcome_settles_by_itself_when_the_window_lapses(open_venue):
    venue = open_venue
    with pytest.raises(ApplicationError) as not_closed:
        resolution_propose(
            actor=venue.resolver, market=venue.market, outcome="yes", evidence_url=EVIDENCE
        )
    assert not_closed.value.code == "market_not_closed"
    venue.close()
    for actor, outcome, evidence, code in (
        (venue.yes_buyer, "yes", EVIDENCE, "not_the_resolver"),
        (venue.resolver, "maybe", EVIDENCE, "bad_resolution_outcome"),
        (venue.resolver, "yes", "ftp://nowhere", "evidence_required"),
    ):
        with pytest.raises(ApplicationError) as refused:
            resolution_propose(
                actor=actor, market=venue.market, outcome=outcome, evidence_url=evidence
            )
        assert refused.value.code == code
    before = venue.free(venue.yes_buyer)
    proposed_at = timezone.now()
    resolution_propose(
        actor=venue.resolver,
        market=venue.market,
        outcome="YES",
        evidence_url=EVIDENCE,
        now=proposed_at,
    )
    venue.process()

    assert resolutions_settle_due(now=proposed_at + timedelta(minutes=59)) == 0
    later = proposed_at + timedelta(hours=1, seconds=5)
    venue.engine_clock_at(later)
    assert resolutions_settle_due(now=later) == 1
    assert resolutions_settle_due(now=later) == 0
    venue.process()

    assert venue.refresh().status == MarketStatus.SETTLED
    assert Resolution.objects.get(market=venue.market).final_outcome == "yes"
    assert venue.free(venue.yes_buyer) == before + 10 * UNIT
    assert ("payout", 10 * UNIT) in venue.statement(venue.yes_buyer)
    assert ("payout", 0) in venue.statement(venue.no_buyer)
    steps = [
        entry.title for entry in market_timeline(venue.market, market_resolution(venue.market))
    ]
    assert steps[-3:] == ["Closed", "Outcome proposed: yes", "Settled"]
    assert (
        market_timeline(venue.market, market_resolution(venue.market))[-1].detail
        == "automatic: Resolved yes"
    )
    actions = set(
        AuditEntry.objects.filter(object_id=str(venue.market.pk)).values_list("action", flat=True)
    )
    assert {"market.resolution_proposed", "market.resolution_settled", "market.settled"} <= actions


def test_an_upheld_dispute_pays_the_decided_outcome_at_once_and_returns_the_bond(
    open_venue, make_staff
):
    venue = open_venue
    editor = make_staff(StaffRole.XIP_EDITOR, venue.group)
    venue.close()
    proposed_at = timezone.now()
    resolution_propose(
        actor=venue.resolver,
        market=venue.market,
        outcome="yes",
        evidence_url=EVIDENCE,
        now=proposed_at,
    )
    with pytest.raises(ApplicationError) as outsider:
        resolution_dispute(actor=UserFactory(), market=venue.market, reason="wrong")
    assert outsider.value.code == "terms_not_accepted"
    disputer_before = venue.free(venue.disputer)
    resolution_dispute(
        actor=venue.disputer, market=venue.market, reason="Argentina lost the semi-final"
    )
    venue.process()
    assert venue.free(venue.disputer) == disputer_before - 50 * UNIT
    with pytest.raises(ApplicationError) as not_editor:
        resolution_decide(actor=venue.resolver, market=venue.market, outcome="no", reason="x")
    assert not_editor.value.code == "role_required"
    # the window lapsing does not settle a disputed outcome
    venue.engine_clock_at(proposed_at + timedelta(hours=2))
    assert resolutions_settle_due(now=proposed_at + timedelta(hours=2)) == 0

    resolution_decide(
        actor=editor, market=venue.market, outcome="no", reason="The match report says so"
    )
    venue.process()

    assert venue.refresh().status == MarketStatus.SETTLED
    dispute = ResolutionDispute.objects.get(resolution__market=venue.market)
    assert dispute.result == ResolutionDispute.Result.UPHELD
    assert venue.free(venue.disputer) == disputer_before
    assert ("payout", 10 * UNIT) in venue.statement(venue.no_buyer)
    assert ("payout", 0) in venue.statement(venue.yes_buyer)
    titles = [
        entry.title for entry in market_timeline(venue.market, market_resolution(venue.market))
    ]
    assert "Disputed" in titles and "Decided: no" in titles


def test_a_rejected_dispute_in_a_regulated_group_needs_the_operator_and_pays_the_proposer(
    make_staff, regulated_group
):
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, regulated_group)
    editor = make_staff(StaffRole.XIP_EDITOR, regulated_group)
    venue = Venue(regulated_group, operator, {"dispute_window_hours": 1, "dispute_bond": "50"})
    venue.close()
    resolution_propose(
        actor=venue.resolver, market=venue.market, outcome="void", evidence_url=EVIDENCE
    )
    disputer_before = venue.free(venue.disputer)
    resolution_dispute(actor=venue.disputer, market=venue.market, reason="It was played")
    resolution_decide(
        actor=editor, market=venue.market, outcome="void", reason="Abandoned match, void"
    )
    venue.process()
    assert venue.refresh().status == MarketStatus.CLOSED  # waits for the operator
    with pytest.raises(ApplicationError) as not_operator:
        resolution_decision_approve(actor=editor, market=venue.market)
    assert not_operator.value.code == "role_required"

    resolution_decision_approve(actor=operator, market=venue.market)
    venue.process()

    assert venue.refresh().status == MarketStatus.SETTLED
    dispute = ResolutionDispute.objects.get(resolution__market=venue.market)
    assert dispute.result == ResolutionDispute.Result.REJECTED
    assert venue.free(venue.disputer) == disputer_before - 50 * UNIT
    assert ("transfer_in", 50 * UNIT) in venue.statement(venue.resolver)
    # void pays half a unit per share to each side
    assert ("payout", 5 * UNIT) in venue.statement(venue.yes_buyer)
    assert ("payout", 5 * UNIT) in venue.statement(venue.no_buyer)


def test_a_dispute_needs_the_bond_and_the_window(open_venue):
    venue = open_venue
    venue.close()
    proposed_at = timezone.now()
    resolution_propose(
        actor=venue.resolver,
        market=venue.market,
        outcome="yes",
        evidence_url=EVIDENCE,
        now=proposed_at,
    )
    poor = member_create(venue.group)
    with pytest.raises(ApplicationError) as no_bond:
        resolution_dispute(actor=poor, market=venue.market, reason="wrong")
    assert no_bond.value.code == "dispute_bond_not_covered"
    assert not ResolutionDispute.objects.exists()
    with pytest.raises(ApplicationError) as late:
        resolution_dispute(
            actor=venue.disputer,
            market=venue.market,
            reason="wrong",
            now=proposed_at + timedelta(hours=1),
        )
    assert late.value.code == "not_disputable"


def test_an_operator_does_not_settle_a_prediction_market_and_settles_a_perp_at_its_mark(
    make_staff, open_group
):
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)
    venue = Venue(open_group, operator, {"dispute_window_hours": 1})
    venue.close()
    with pytest.raises(ApplicationError) as refused:
        market_status_change(actor=operator, market=venue.market, move="settle", reason="x")
    assert refused.value.code == "settles_by_resolution"

    perp = market_list_from_xip(
        proposal=proposal_make(group=open_group, status=ProposalStatus.FINAL, spec=perp_spec())
    )
    for move in ("schedule", "launch", "close"):
        market_status_change(
            actor=operator, market=perp, move=move, reason="x", launch_at=timezone.now()
        )
    venue.process()
    with pytest.raises(ApplicationError) as no_price:
        market_status_change(actor=operator, market=perp, move="settle", reason="x")
    assert no_price.value.code == "no_mark_price"
    mark = 3000 * UNIT // 1000  # 3000 USDC per ETH, a contract being one lot of 0.001 ETH
    command_submit(
        risk_group=open_group,
        account=0,
        command={"type": "OraclePrice", "market": perp.symbol, "price": mark},
    )
    venue.process()
    market_status_change(actor=operator, market=perp, move="settle", reason="wound down")
    venue.process()
    settle = shard_of(risk_group=open_group).commands.filter(kind="SettleMarket").get()
    assert settle.payload["price"] == mark
    assert settle.outcome["result"] == "applied"


def test_the_market_page_shows_the_resolution_and_takes_its_steps(open_venue, login):
    venue = open_venue
    venue.close()
    page = login(venue.resolver)
    proposed = page.post(
        f"/markets/{venue.market.symbol}/resolution/propose/",
        {"outcome": "no", "evidence_url": EVIDENCE},
    )
    assert proposed.status_code == 302
    assert Resolution.objects.get(market=venue.market).outcome == "no"
    disputer_page = login(venue.disputer)
    html = disputer_page.get(f"/markets/{venue.market.symbol}/").content.decode()
    assert "Outcome proposed: no" in html and "Dispute (locks the bond)" in html
    assert "Propose the outcome" not in html
    disputer_page.post(
        f"/markets/{venue.market.symbol}/resolution/dispute/", {"reason": "It was YES"}
    )
    html = disputer_page.get(f"/markets/{venue.market.symbol}/").content.decode()
    assert "It was YES (bond 50 USDC)" in html
    # a step the visitor may not take is refused with a message, nothing changes
    refused = disputer_page.post(f"/markets/{venue.market.symbol}/resolution/approve/", follow=True)
    assert "Set up two-factor" in refused.content.decode()
    assert Resolution.objects.get(market=venue.market).status == "disputed"
    assert disputer_page.post(f"/markets/{venue.market.symbol}/resolution/nope/").status_code == 404


def test_a_knocked_out_team_resolves_no_at_once_while_the_others_trade_on(
    make_staff: Callable[..., User], open_group: RiskGroup
):
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)
    teams = {"symbol": "WC26-WINNER", "outcomes": ["Argentina", "Brazil", "France"]}
    venue = Venue(open_group, operator, teams | {"dispute_window_hours": 0}, outcome="Brazil")
    for actor, outcome, evidence, code in (
        (venue.yes_buyer, "Brazil", EVIDENCE, "not_the_resolver"),
        (venue.resolver, "Germany", EVIDENCE, "bad_resolution_outcome"),
        (venue.resolver, "Brazil", "", "evidence_required"),
    ):
        with pytest.raises(ApplicationError) as refused:
            outcome_eliminate(
                actor=actor, market=venue.market, outcome=outcome, evidence_url=evidence
            )
        assert refused.value.code == code
    no_before = venue.free(venue.no_buyer)

    outcome_eliminate(
        actor=venue.resolver, market=venue.market, outcome="Brazil", evidence_url=EVIDENCE
    )
    venue.process()

    # Brazil's NO pays 1 a share, its YES nothing, and the market trades on
    assert venue.free(venue.no_buyer) == no_before + 10 * UNIT
    assert ("payout", 0) in venue.statement(venue.yes_buyer)
    assert venue.refresh().status == MarketStatus.LIVE
    steps = market_timeline(venue.market, market_resolution(venue.market))
    assert (steps[-1].title, steps[-1].link) == ("Outcome eliminated: Brazil", EVIDENCE)
    assert AuditEntry.objects.filter(
        object_id=str(venue.market.pk), action="market.outcome_eliminated"
    ).exists()
    with pytest.raises(ApplicationError) as twice:
        outcome_eliminate(
            actor=venue.resolver, market=venue.market, outcome="Brazil", evidence_url=EVIDENCE
        )
    assert twice.value.code == "already_resolved"
    outcome_eliminate(
        actor=venue.resolver, market=venue.market, outcome="France", evidence_url=EVIDENCE
    )
    with pytest.raises(ApplicationError) as last:
        outcome_eliminate(
            actor=venue.resolver, market=venue.market, outcome="Argentina", evidence_url=EVIDENCE
        )
    assert last.value.code == "bad_resolution_outcome"  # the last team left is the winner
    venue.close()
    with pytest.raises(ApplicationError) as knocked_out:
        resolution_propose(
            actor=venue.resolver, market=venue.market, outcome="Brazil", evidence_url=EVIDENCE
        )
    assert knocked_out.value.code == "bad_resolution_outcome"
    resolution_propose(
        actor=venue.resolver, market=venue.market, outcome="Argentina", evidence_url=EVIDENCE
    )
    venue.process()
    assert resolutions_settle_due() == 1
    venue.process()
    assert venue.refresh().status == MarketStatus.SETTLED
    assert venue.free(venue.no_buyer) == no_before + 10 * UNIT
