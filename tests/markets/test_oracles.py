"""Oracle prices of perpetuals: signed pushes checked (signer, staleness, band) and refusals
kept for the operators; a manual operator price, audited; a stale market halts by itself
and resumes on a fresh price; the engine re-marks and liquidates after a price."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from engine import selectors, services, tasks
from engine.services import command_submit, shard_of
from governance.proposals.models import ProposalStatus
from governance.risk_groups.models import RiskGroup
from markets.models import Market, MarketStatus, OracleRefusal, OracleState
from markets.oracles import oracle_message, oracle_price_push, oracle_price_set, oracles_halt_stale
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
