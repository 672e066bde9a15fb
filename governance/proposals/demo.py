"""Demo XIPs and the markets they list (called by `manage.py seed_demo` after the risk
groups and KYC demo of governance/demo.py).

Every demo market is listed the way anyone's would be: an XIP drafted, submitted, moved to
Last Call by an editor and gone Final when its window lapsed. The 2026 World Cup markets
come from the house institution in the regulated group; a spot and a perpetual market come
from demo builders in the open group; a few more proposals sit in every other status.

The calendar is simulated relative to the day of seeding (the tournament's markets close in
the future whatever day the demo runs), and the last four UEFA places and the two
intercontinental play-off places of the 48-team field are filled by assumption.
Idempotent: if the World Cup market exists, nothing is done."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TextIO

from django.utils import timezone

from engine.errors import CommandRefused, EngineError
from engine.faucet import faucet_grant
from engine.sequencer import simulated_clock_set
from engine.services import shard_of
from engine.tasks import shard_process
from governance.memberships.models import Membership
from governance.risk_groups.models import MarketBounds, RiskGroup
from markets.models import Asset, Market
from markets.services import market_status_change, markets_timers_run
from xip_portal.demo import demo_user
from xip_portal.models import Institution, InstitutionMembership, User

from .models import Proposal, ProposalType
from .services import (
    proposal_comment_add,
    proposal_create,
    proposal_last_call_conclude,
    proposal_last_call_start,
    proposal_operator_approve,
    proposal_reject,
    proposal_submit,
    proposal_vote,
    proposal_withdraw,
    proposals_mark_stagnant,
)

HOUSE = "exchange-os-house"
DEMO_HISTORY = timedelta(days=3)
# How long after seeding the demo's ETH-USDC XIP leaves Last Call and is listed by itself.
DEMO_LAST_CALL_LAPSES_AFTER = timedelta(minutes=3)
WORLD_CUP_SYMBOL = "WC26-WINNER"
WORLD_CUP_TEAMS = [
    # Hosts
    "Canada",
    "Mexico",
    "United States",
    # AFC
    "Australia",
    "Iran",
    "Japan",
    "Jordan",
    "Qatar",
    "Saudi Arabia",
    "South Korea",
    "Uzbekistan",
    # CAF
    "Algeria",
    "Cape Verde",
    "Egypt",
    "Ghana",
    "Ivory Coast",
    "Morocco",
    "Senegal",
    "South Africa",
    "Tunisia",
    # CONCACAF
    "Curaçao",
    "Haiti",
    "Panama",
    # CONMEBOL
    "Argentina",
    "Brazil",
    "Colombia",
    "Ecuador",
    "Paraguay",
    "Uruguay",
    # OFC
    "New Zealand",
    # UEFA
    "Austria",
    "Belgium",
    "Croatia",
    "England",
    "France",
    "Germany",
    "Netherlands",
    "Norway",
    "Portugal",
    "Scotland",
    "Spain",
    "Switzerland",
    # Play-off places (simulated)
    "Denmark",
    "Italy",
    "Türkiye",
    "Ukraine",
    "DR Congo",
    "Iraq",
]
ASSETS = [
    ("USDC", "USD Coin", 6),
    ("BTC", "Bitcoin", 8),
    ("ETH", "Ether", 18),
    ("SOL", "Solana", 9),
]
BUILDERS = [
    ("builder@demo.exchange-os.test", "Demo builder (Orderly Labs)", "Orderly Labs"),
    ("builder2@demo.exchange-os.test", "Demo builder (Perp Guild)", "Perp Guild"),
]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def demo_member(group: RiskGroup, *, user: User | None = None, institution: Any = None) -> None:
    """An active membership (KYC-approved in a regulated group, terms accepted otherwise)."""
    holder = {"user": user} if user is not None else {"institution": institution}
    regulated = group.is_regulated
    Membership.objects.get_or_create(
        risk_group=group,
        **holder,
        defaults={
            "source": Membership.Source.KYC if regulated else Membership.Source.TERMS,
            "country": "CH",
            "valid_until": timezone.now() + timedelta(days=365) if regulated else None,
            "terms_accepted_at": timezone.now(),
        },
    )


def world_cup_binary_spec(
    *, symbol: str, name: str, close: datetime, source: str, dispute_window_hours: int
) -> dict[str, Any]:
    """The spec of a World Cup YES/NO market of the house (a seeded one or a simulated
    match)."""
    return {
        "market_type": "prediction",
        "symbol": symbol,
        "name": name,
        "quote_asset": "USDC",
        "tick": "0.01",
        "lot": "1",
        "min_size": "1",
        "price_band_bps": 0,
        "maker_fee_bps": 0,
        "taker_fee_bps": 20,
        "deployer_share_bps": 0,
        "oracle_kind": "manual",
        "oracle_source": source,
        "close_time": _iso(close),
        "resolution_source": source,
        "resolver": HOUSE,
        "dispute_window_hours": dispute_window_hours,
    }


def world_cup_winner_spec(
    *, symbol: str, close: datetime, source: str, dispute_window_hours: int
) -> dict[str, Any]:
    """The spec of a "2026 World Cup winner" market of the house: one outcome per team,
    exactly one of which resolves YES (the seeded one or a simulated tournament's)."""
    return {
        "market_type": "prediction",
        "symbol": symbol,
        "name": "2026 World Cup winner",
        "quote_asset": "USDC",
        "outcomes": WORLD_CUP_TEAMS,
        "tick": "0.001",
        "lot": "1",
        "min_size": "1",
        "price_band_bps": 0,
        "maker_fee_bps": 0,
        "taker_fee_bps": 20,
        "deployer_share_bps": 0,
        "oracle_kind": "manual",
        "oracle_source": "FIFA official match report of the final",
        "close_time": _iso(close),
        "resolution_source": source,
        "resolver": HOUSE,
        "dispute_window_hours": dispute_window_hours,
    }


def demo_faucet(group: RiskGroup, users: list[User]) -> None:
    """Today's simulated USDC from the group's faucet for each user, as a trader would take
    it, applied at once (the seed runs in one transaction, so no worker would see the
    deposits before it ends). A second seed the same day takes nothing more."""
    shard = shard_of(risk_group=group)
    decimals = Asset.objects.get(symbol=shard.collateral).decimals
    for user in users:
        try:
            faucet_grant(risk_group=group, account=user.pk, collateral_decimals=decimals)
        except CommandRefused as refused:
            if refused.code != EngineError.FAUCET_DAILY_LIMIT:
                raise
    shard_process(shard.pk)


def _final(
    proposal: Proposal,
    *,
    author: User,
    editor: User,
    operator: User,
    voters: list[User],
    start: datetime,
) -> Proposal:
    """Runs a draft through Review and Last Call to Final, in the simulated past."""
    proposal_submit(actor=author, proposal=proposal, now=start + timedelta(hours=1))
    proposal_last_call_start(
        actor=editor, proposal=proposal, reason="Spec checks pass", now=start + timedelta(days=1)
    )
    proposal.refresh_from_db()
    for voter in voters:
        proposal_vote(
            actor=voter, proposal=proposal, choice="for", now=start + timedelta(days=1, minutes=1)
        )
    assert proposal.last_call_ends_at is not None  # noqa: S101 - set by last_call_start
    lapse = proposal.last_call_ends_at + timedelta(minutes=1)
    if proposal.risk_group.operator_approval_required:
        proposal_operator_approve(actor=operator, proposal=proposal, now=lapse)
    proposal_last_call_conclude(proposal=proposal, now=lapse)
    proposal.refresh_from_db()
    return proposal


def seed_demo_data(stdout: TextIO) -> None:
    if Market.objects.filter(symbol=WORLD_CUP_SYMBOL).exists():
        return
    now = timezone.now()
    # the engine's calendar starts DEMO_HISTORY back, so that the trading demo can play
    # that much market history before the present (trading.demo.history_play)
    simulated_clock_set(int((now - DEMO_HISTORY).timestamp() * 1000))
    try:
        _markets_seed(stdout, now)
    finally:
        simulated_clock_set(None)


def _markets_seed(stdout: TextIO, now: datetime) -> None:
    for symbol, name, decimals in ASSETS:
        Asset.objects.get_or_create(symbol=symbol, defaults={"name": name, "decimals": decimals})
    regulated = RiskGroup.objects.get(slug="regulated-main")
    open_group = RiskGroup.objects.get(slug="open-markets")
    for group in (regulated, open_group):
        MarketBounds.objects.get_or_create(
            risk_group=group,
            defaults={
                "allowed_market_types": ["spot", "perp", "prediction"],
                "allowed_oracle_kinds": ["chainlink", "pyth", "manual", "uma"],
            },
        )
    house = Institution.objects.get(slug=HOUSE)
    house_member = User.objects.get(email="institution@demo.exchange-os.test")
    editor = User.objects.get(email="editor@demo.exchange-os.test")
    operator = User.objects.get(email="operator@demo.exchange-os.test")
    trader = User.objects.get(email="trader@demo.exchange-os.test")
    demo_member(regulated, institution=house)
    for person in (house_member, trader):
        demo_member(regulated, user=person)
    builders = []
    for email, name, team in BUILDERS:
        builder = demo_user(email, name)
        institution, _ = Institution.objects.get_or_create(
            name=team, defaults={"slug": team.lower().replace(" ", "-")}
        )
        InstitutionMembership.objects.get_or_create(
            institution=institution,
            user=builder,
            defaults={"role": InstitutionMembership.Role.ADMIN},
        )
        demo_member(open_group, user=builder)
        builders.append((builder, institution))
    demo_member(open_group, user=trader)
    demo_member(open_group, user=house_member)
    demo_faucet(regulated, [house_member, trader])
    demo_faucet(open_group, [house_member, trader, *(builder for builder, _ in builders)])

    start = now - timedelta(days=21)
    close = now + timedelta(days=60)
    wc = proposal_create(
        actor=house_member,
        title="List the 2026 World Cup winner market",
        proposal_type=ProposalType.MARKET,
        risk_group=regulated,
        institution=house,
        body=(
            "## Motivation\n\nThe first market of Exchange OS: who wins the (simulated) 2026 "
            "FIFA World Cup. One outcome per qualified team; exactly one resolves YES.\n\n"
            "## Resolution\n\nThe winner of the final, as published in FIFA's official match "
            "report. Disputes are heard for 48 hours after the proposed resolution."
        ),
        spec=world_cup_winner_spec(
            symbol=WORLD_CUP_SYMBOL,
            close=close,
            source="fifa.com: final match report",
            dispute_window_hours=48,
        ),
        now=start,
    )
    _final(wc, author=house_member, editor=editor, operator=operator, voters=[trader], start=start)
    proposal_comment_add(
        actor=trader, proposal=wc, body="Will there be single-match markets too?", now=start
    )
    binaries = [
        ("WC26-MEX-OPENER", "Mexico win the opening match", 2),
        ("WC26-ARG-FINAL", "Argentina reach the final", 50),
        ("WC26-BRA-SEMIS", "Brazil reach the semi-finals", 45),
        ("WC26-USA-KNOCKOUT", "United States reach the knockout stage", 20),
    ]
    for index, (symbol, name, days) in enumerate(binaries):
        binary = proposal_create(
            actor=house_member,
            title=f"List a 2026 World Cup YES/NO market: {name}",
            proposal_type=ProposalType.MARKET,
            risk_group=regulated,
            institution=house,
            body=f"A binary market: YES if {name.lower()} (simulated tournament).",
            spec=world_cup_binary_spec(
                symbol=symbol,
                name=name,
                close=now + timedelta(days=days),
                source="FIFA official match reports",
                dispute_window_hours=24,
            ),
            now=start + timedelta(hours=index),
        )
        _final(
            binary, author=house_member, editor=editor, operator=operator, voters=[], start=start
        )

    (builder, orderly), (builder2, guild) = builders
    spot = proposal_create(
        actor=builder,
        title="List BTC-USDC spot",
        proposal_type=ProposalType.MARKET,
        risk_group=open_group,
        institution=orderly,
        body="The reference spot market of the open group, quoted in USDC.",
        spec={
            "market_type": "spot",
            "symbol": "BTC-USDC",
            "base_asset": "BTC",
            "quote_asset": "USDC",
            "tick": "0.1",
            "lot": "0.0001",
            "min_size": "0.0001",
            "price_band_bps": 500,
            "maker_fee_bps": -1,
            "taker_fee_bps": 5,
            "deployer_share_bps": 2000,
            "oracle_kind": "chainlink",
            "oracle_source": "Chainlink BTC/USD",
        },
        now=start,
    )
    _final(
        spot,
        author=builder,
        editor=editor,
        operator=operator,
        voters=[trader, builder2],
        start=start,
    )
    perp = proposal_create(
        actor=builder2,
        title="List ETH-PERP, a USDC-margined perpetual",
        proposal_type=ProposalType.MARKET,
        risk_group=open_group,
        institution=guild,
        body="Up to 10x, funding every 8 hours capped at 0.75%.",
        spec={
            "market_type": "perp",
            "symbol": "ETH-PERP",
            "base_asset": "ETH",
            "quote_asset": "USDC",
            "tick": "0.01",
            "lot": "0.001",
            "min_size": "0.001",
            "price_band_bps": 500,
            "maker_fee_bps": 1,
            "taker_fee_bps": 5,
            "deployer_share_bps": 2500,
            "oracle_kind": "pyth",
            "oracle_source": "Pyth ETH/USD",
            "margin_tiers": [
                {"max_notional": "250000", "im_bps": 1000, "mm_bps": 500},
                {"max_notional": "2500000", "im_bps": 2000, "mm_bps": 1000},
            ],
            "funding_interval_hours": 8,
            "funding_cap_bps": 75,
        },
        now=start,
    )
    _final(
        perp,
        author=builder2,
        editor=editor,
        operator=operator,
        voters=[trader, builder],
        start=start,
    )

    # Launch every listed market (scheduled by the operator, launched by the timer).
    for market in Market.objects.filter(status="approved").order_by("pk"):
        market_status_change(
            actor=operator,
            market=market,
            move="schedule",
            reason="Demo launch",
            launch_at=now - timedelta(hours=1),
            now=now - timedelta(hours=2),
        )
    markets_timers_run(now=now)

    # A few proposals in every other status.
    _other_statuses(now=now, open_group=open_group, builders=builders, editor=editor, trader=trader)
    stdout.write(
        f"Markets: {Market.objects.count()} listed, World Cup winner market {WORLD_CUP_SYMBOL}; "
        f"{Proposal.objects.count()} XIPs"
    )


def _other_statuses(
    *,
    now: datetime,
    open_group: RiskGroup,
    builders: list[tuple[User, Institution]],
    editor: User,
    trader: User,
) -> None:
    (builder, orderly), (builder2, guild) = builders
    spot_sol: dict[str, Any] = {
        "market_type": "spot",
        "symbol": "SOL-USDC",
        "base_asset": "SOL",
        "quote_asset": "USDC",
        "tick": "0.001",
        "lot": "0.01",
        "min_size": "0.01",
        "price_band_bps": 500,
        "maker_fee_bps": 0,
        "taker_fee_bps": 6,
        "deployer_share_bps": 2000,
        "oracle_kind": "pyth",
        "oracle_source": "Pyth SOL/USD",
    }
    # Stagnant: a draft nobody touched for longer than the group's period.
    old = now - timedelta(days=open_group.stagnant_after_days + 10)
    proposal_create(
        actor=builder2,
        title="Weekly maker rebate programme",
        proposal_type=ProposalType.PROCESS,
        risk_group=open_group,
        institution=guild,
        body="Pay makers a weekly rebate from the fee pool.",
        now=old,
    )
    proposals_mark_stagnant(now=now)
    # Draft.
    proposal_create(
        actor=builder,
        title="List SOL-USDC spot",
        proposal_type=ProposalType.MARKET,
        risk_group=open_group,
        institution=orderly,
        body="Work in progress.",
        spec=spot_sol,
        now=now - timedelta(days=1),
    )
    # Review.
    report = proposal_create(
        actor=builder2,
        title="Publish a monthly market-quality report",
        proposal_type=ProposalType.PROCESS,
        risk_group=open_group,
        institution=guild,
        body="Spreads, depth and uptime of every market of the group, once a month.",
        now=now - timedelta(days=3),
    )
    proposal_submit(actor=builder2, proposal=report, now=now - timedelta(days=2))
    # Last Call, lapsing soon.
    eth_spot = proposal_create(
        actor=builder2,
        title="List ETH-USDC spot",
        proposal_type=ProposalType.MARKET,
        risk_group=open_group,
        institution=guild,
        body="Spot ETH next to the perpetual.",
        spec={**spot_sol, "symbol": "ETH-USDC", "base_asset": "ETH", "oracle_source": "Pyth"},
        now=now - timedelta(days=3),
    )
    proposal_submit(actor=builder2, proposal=eth_spot, now=now - timedelta(days=2))
    # Its Last Call lapses a few minutes after seeding: the demo's scheduler then takes it
    # Final and lists ETH-USDC by itself, while a visitor watches.
    window = timedelta(minutes=open_group.last_call_minutes)
    proposal_last_call_start(
        actor=editor,
        proposal=eth_spot,
        reason="Spec checks pass",
        now=now - window + DEMO_LAST_CALL_LAPSES_AFTER,
    )
    # Last Call, window open, one vote each way.
    fee_change = proposal_create(
        actor=builder,
        title="Lower the BTC-USDC taker fee to 4 bps",
        proposal_type=ProposalType.PARAMETER_CHANGE,
        risk_group=open_group,
        institution=orderly,
        body="Volumes justify a lower taker fee.",
        spec={
            "market": "BTC-USDC",
            "changes": {"taker_fee_bps": 4},
            "enactment_time": _iso(now + timedelta(days=14)),
        },
        now=now - timedelta(days=2),
    )
    proposal_submit(actor=builder, proposal=fee_change, now=now - timedelta(days=2))
    proposal_last_call_start(actor=editor, proposal=fee_change, now=now - timedelta(minutes=1))
    proposal_vote(actor=trader, proposal=fee_change, choice="for", now=now - timedelta(seconds=30))
    proposal_vote(actor=builder2, proposal=fee_change, choice="against", now=now)
    # Withdrawn.
    withdrawn = proposal_create(
        actor=builder,
        title="Delist ETH-PERP",
        proposal_type=ProposalType.DELISTING,
        risk_group=open_group,
        institution=orderly,
        spec={
            "market": "ETH-PERP",
            "reason": "Testing the delisting flow",
            "wind_down_time": _iso(now + timedelta(days=30)),
        },
        now=now - timedelta(days=5),
    )
    proposal_withdraw(actor=builder, proposal=withdrawn, reason="Opened by mistake", now=now)
    # Rejected.
    rejected = proposal_create(
        actor=builder2,
        title="Drop the dispute window of prediction markets",
        proposal_type=ProposalType.PROCESS,
        risk_group=open_group,
        institution=guild,
        body="Resolve at once.",
        now=now - timedelta(days=6),
    )
    proposal_submit(actor=builder2, proposal=rejected, now=now - timedelta(days=6))
    proposal_reject(
        actor=editor,
        proposal=rejected,
        reason="A dispute window protects traders from wrong resolutions.",
        now=now - timedelta(days=4),
    )
