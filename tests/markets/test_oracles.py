"""Oracle prices of perpetuals: signed pushes and on-chain PriceFeed rounds checked (signer,
staleness, band) and refusals kept for the operators; a manual operator price, audited; a
stale market halts by itself and resumes on a fresh price; the engine re-marks and
liquidates after a price."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from engine import selectors, services, tasks
from engine.chain.deployment import chain_deploy
from engine.chain.price_feed import price_feed_push
from engine.services import command_submit, shard_of
from governance.proposals.models import ProposalStatus
from governance.risk_groups.models import RiskGroup
from markets import tasks as markets_tasks
from markets.models import Market, MarketStatus, OracleRefusal, OracleState
from markets.oracles import (
    oracle_message,
    oracle_price_push,
    oracle_price_set,
    oracles_halt_stale,
    oracles_read_price_feeds,
)
from markets.services import market_engine_config, market_list_from_xip, market_status_change
from tests.markets.factories import engine_deposit, member_create, perp_spec, proposal_make
from xip_portal.errors import ApplicationError
from xip_portal.models import AuditEntry, StaffRole, User

pytestmark = pytest.mark.django_db

SIGNER = Account.create()
STRANGER = Account.create()


@pytest.fixture(autouse=True)
def fresh_engine_memory():
    tasks._writers.clear()
    services._shards.clear()
    yield
    tasks._writers.clear()
    services._shards.clear()


@pytest.fixture
def operator(make_staff: Callable[..., User], open_group: RiskGroup) -> User:
    return make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)


@pytest.fixture
def perp(open_group: RiskGroup, operator: User) -> Market:
    spec = perp_spec(
        oracle_signers=[SIGNER.address], oracle_max_age_seconds=60, oracle_max_move_bps=1000
    )
    market = market_list_from_xip(
        proposal=proposal_make(group=open_group, status=ProposalStatus.FINAL, spec=spec)
    )
    for move in ("schedule", "launch"):
        market_status_change(
            actor=operator, market=market, move=move, reason="go", launch_at=timezone.now()
        )
    process(open_group)
    market.refresh_from_db()
    return market


def process(group: RiskGroup) -> None:
    tasks.shard_process(shard_of(risk_group=group).pk)


def signed(market: Market, price: str, at, account=SIGNER) -> dict:
    timestamp = int(at.timestamp())
    message = oracle_message(symbol=market.symbol, price=price, timestamp=timestamp)
    signature = Account.sign_message(encode_defunct(text=message), private_key=account.key)
    return {"price": price, "timestamp": timestamp, "signature": signature.signature.to_0x_hex()}


def mark(market: Market) -> int:
    view = selectors.market_get(shard=shard_of(risk_group=market.risk_group), market_id="ETH-PERP")
    return int(view.mark)


def test_a_signers_price_becomes_the_index_and_the_engines_mark(perp, api_client):
    now = timezone.now()
    response = api_client.post(
        f"/api/v1/markets/{perp.symbol}/oracle-prices/", signed(perp, "3000.5", now), format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["index_price"].startswith("3000.5")
    process(perp.risk_group)
    assert mark(perp) == market_engine_config(perp).price(Decimal("3000.5"))
    state = OracleState.objects.get(market=perp)
    assert state.source == f"signed by {SIGNER.address}"


def test_bad_signatures_stale_and_out_of_band_prices_are_refused_and_kept(perp, api_client):
    now = timezone.now()
    oracle_price_push(market=perp, **signed(perp, "3000", now - timedelta(seconds=10)), now=now)
    cases = [
        (signed(perp, "3001", now, account=STRANGER), "oracle_bad_signature"),
        ({**signed(perp, "3001", now), "price": "3999"}, "oracle_bad_signature"),
        (signed(perp, "3001", now - timedelta(seconds=61)), "oracle_price_stale"),
        (signed(perp, "3001", now - timedelta(seconds=10)), "oracle_price_stale"),  # not newer
        (signed(perp, "3400", now), "oracle_price_out_of_band"),
    ]
    for push, code in cases:
        with pytest.raises(ApplicationError) as refused:
            oracle_price_push(market=perp, **push, now=now)
        assert refused.value.code == code
    over_api = api_client.post(
        f"/api/v1/markets/{perp.symbol}/oracle-prices/",
        {**signed(perp, "3001", now), "signature": "0xnothex"},
        format="json",
    )
    assert over_api.status_code == 400
    assert over_api.json()["code"] == "oracle_bad_signature"
    assert OracleRefusal.objects.filter(market=perp).count() == len(cases) + 1
    assert OracleState.objects.get(market=perp).index_price == Decimal("3000")


def test_an_operator_sets_a_manual_price_audited(
    perp, operator, make_staff, login, regulated_group
):
    stranger = make_staff(StaffRole.RISK_GROUP_OPERATOR, regulated_group)  # another group's
    with pytest.raises(ApplicationError) as refused:
        oracle_price_set(actor=stranger, market=perp, price="2000", reason="demo")
    assert refused.value.code == "role_required"
    page = login(operator)
    response = page.post(
        f"/staff/markets/{perp.symbol}/oracle-price/", {"price": "2000", "reason": "Demo price"}
    )
    assert response.status_code == 302
    process(perp.risk_group)
    assert mark(perp) == market_engine_config(perp).price(Decimal("2000"))
    entry = AuditEntry.objects.get(action="market.oracle_price_set")
    assert (entry.actor, entry.new_values, entry.reason) == (
        operator,
        {"index_price": "2000"},
        "Demo price",
    )
    html = page.get(f"/markets/{perp.symbol}/").content.decode()
    assert 'id="oracle-index">2000<' in html and "Set the index price" in html


def test_a_stale_market_halts_by_itself_and_resumes_on_a_fresh_price(perp):
    now = timezone.now()
    oracle_price_push(market=perp, **signed(perp, "3000", now), now=now)
    assert oracles_halt_stale(now=now + timedelta(seconds=59)) == 0
    assert oracles_halt_stale(now=now + timedelta(seconds=61)) == 1
    perp.refresh_from_db()
    assert perp.status == MarketStatus.HALTED
    assert perp.status_reason.startswith("Oracle price stale")
    later = now + timedelta(seconds=90)
    oracle_price_push(market=perp, **signed(perp, "3010", later), now=later)
    perp.refresh_from_db()
    assert perp.status == MarketStatus.LIVE
    process(perp.risk_group)
    view = selectors.market_get(shard=shard_of(risk_group=perp.risk_group), market_id="ETH-PERP")
    assert view.status == "live"
    reasons = list(perp.status_changes.values_list("to_status", "reason"))[-2:]
    assert reasons[0][0] == "halted" and reasons[1] == ("live", "Oracle prices returned")


def test_a_price_move_liquidates_a_position_below_maintenance(perp, open_group):
    listed = market_engine_config(perp)
    now = timezone.now()
    oracle_price_push(market=perp, **signed(perp, "3000", now), now=now)
    long, short = member_create(open_group), member_create(open_group)
    for person, amount in ((long, Decimal(400)), (short, Decimal(100_000))):
        engine_deposit(group=open_group, user=person, amount=amount)
    for person, side in ((short, "sell"), (long, "buy")):
        command_submit(
            risk_group=open_group,
            account=person.pk,
            command={
                "type": "PlaceOrder",
                "market": perp.symbol,
                "side": side,
                "size": listed.size(Decimal(1)),
                "price": listed.price(Decimal(3000)),
            },
        )
    process(open_group)
    shard = shard_of(risk_group=open_group)
    assert selectors.positions_of(shard=shard, account=long.pk)[0].size > 0
    # 1 ETH long with 400 USDC: 2700 leaves 100 of equity, below 5% maintenance (135)
    later = now + timedelta(seconds=5)
    oracle_price_push(market=perp, **signed(perp, "2700", later), now=later)
    process(open_group)
    assert selectors.positions_of(shard=shard, account=long.pk) == []
    price_command = shard.commands.filter(kind="OraclePrice").order_by("-seq").first()
    liquidated = [e for e in price_command.outcome["events"] if e["type"] == "Liquidated"]
    assert [event["account"] for event in liquidated] == [long.pk]


@pytest.fixture
def feed_perp(open_group: RiskGroup, operator: User) -> Market:
    """A perpetual whose oracle is the on-chain PriceFeed "ETH-USD" (fresh contracts on the
    embedded chain; the deployment's operator pushes)."""
    chain_deploy()
    spec = perp_spec(
        oracle_kind="pricefeed",
        oracle_source="ETH-USD",
        oracle_max_age_seconds=60,
        oracle_max_move_bps=1000,
    )
    market = market_list_from_xip(
        proposal=proposal_make(group=open_group, status=ProposalStatus.FINAL, spec=spec)
    )
    for move in ("schedule", "launch"):
        market_status_change(
            actor=operator, market=market, move=move, reason="go", launch_at=timezone.now()
        )
    process(open_group)
    market.refresh_from_db()
    return market


def feed_push(price: str, at) -> None:
    price_feed_push(feed="ETH-USD", price=Decimal(price), timestamp_ms=int(at.timestamp() * 1000))


def test_the_price_feed_kind_takes_each_new_round_once_and_refuses_stale_and_jumps(feed_perp):
    now = timezone.now()
    assert oracles_read_price_feeds(now=now) == 0  # nothing pushed yet
    feed_push("3000.12345678", now - timedelta(seconds=5))

    assert markets_tasks.oracles_read_price_feeds.run() == 1
    assert oracles_read_price_feeds(now=now) == 0  # the same round is taken once
    state = OracleState.objects.get(market=feed_perp)
    assert (state.index_price, state.source) == (
        Decimal("3000.12345678"),
        "PriceFeed ETH-USD round 1",
    )
    process(feed_perp.risk_group)
    assert mark(feed_perp) == market_engine_config(feed_perp).price(Decimal("3000.12345678"))

    # a round observed long ago, then one that jumps out of band: each refused once, kept
    feed_push("3001", now - timedelta(seconds=4))  # round 2: never read, round 3 is latest
    feed_push("3002", now - timedelta(seconds=3))  # round 3: read only at +70 s, stale
    assert oracles_read_price_feeds(now=now + timedelta(seconds=70)) == 0
    feed_push("3500", now + timedelta(seconds=71))  # round 4: +16% against a 10% band
    for _ in range(2):
        assert oracles_read_price_feeds(now=now + timedelta(seconds=72)) == 0
    refusals = OracleRefusal.objects.filter(market=feed_perp).order_by("id")
    assert [(r.source, r.code) for r in refusals] == [
        ("PriceFeed ETH-USD round 3", "oracle_price_stale"),
        ("PriceFeed ETH-USD round 4", "oracle_price_out_of_band"),
    ]
    assert OracleState.objects.get(market=feed_perp).index_price == Decimal("3000.12345678")
    assert feed_perp.risk_group.engine_shard.commands.filter(kind="OraclePrice").count() == 1


def test_a_feed_round_pushed_by_a_stranger_to_the_market_is_refused(feed_perp):
    feed_perp.spec["oracle_signers"] = [SIGNER.address.lower()]
    feed_perp.save(update_fields=["spec"])
    feed_push("3000", timezone.now())

    assert oracles_read_price_feeds() == 0
    refusal = OracleRefusal.objects.get(market=feed_perp)
    assert refusal.code == "oracle_bad_signature"
    assert not OracleState.objects.filter(market=feed_perp).exists()


def test_a_market_fed_from_the_chain_halts_when_the_feed_stops_and_resumes_on_a_round(feed_perp):
    now = timezone.now()
    feed_push("3000", now)
    assert oracles_read_price_feeds(now=now) == 1
    assert oracles_halt_stale(now=now + timedelta(seconds=61)) == 1
    feed_perp.refresh_from_db()
    assert feed_perp.status == MarketStatus.HALTED

    later = now + timedelta(seconds=90)
    feed_push("3010", later)
    assert oracles_read_price_feeds(now=later) == 1
    feed_perp.refresh_from_db()
    assert feed_perp.status == MarketStatus.LIVE
    assert feed_perp.status_changes.last().reason == "Oracle prices returned"
