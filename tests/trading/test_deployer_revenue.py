"""The deployer's revenue from the institution's side: per market and day, the volume and
the fees, the deployer's share as the engine books it (each fill's fee times the share,
rounded down) beside the protocol's; the same in /api/v1/revenue/; members only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from engine.models import Fill
from engine.services import shard_of
from engine.tasks import shard_process
from markets.models import Market
from tests.factories import InstitutionMembershipFactory, UserFactory
from tests.markets.factories import prediction_spec
from tests.trading.fixtures import market_go_live
from xip_portal.models import StaffRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployed(world_cup, make_staff):
    """RAIN (deployer share 25%, taker fee 0.3%) listed for an institution, traded twice."""
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, world_cup.group)
    spec = prediction_spec(symbol="RAIN", name="Rain", deployer_share_bps=2500, taker_fee_bps=30)
    del spec["outcomes"]
    rain = market_go_live(world_cup.group, operator, spec)
    member = InstitutionMembershipFactory()
    Market.objects.filter(pk=rain.pk).update(deployer=member.institution)
    shard_process(shard_of(risk_group=world_cup.group).pk)
    return rain, member


def test_an_institution_sees_its_markets_fees_split_with_the_protocol(
    client, world_cup, trader, deployed
):
    rain, member = deployed
    # Given two trades of RAIN: 10 YES at 0.40 and 7 at 0.50 (the maker mints with NO)
    world_cup.order(world_cup.maker, "RAIN", "buy", 10, "0.60", outcome="no")
    world_cup.order(trader, "RAIN", "buy", 10, "0.40")
    world_cup.order(world_cup.maker, "RAIN", "buy", 7, "0.50", outcome="no")
    world_cup.order(trader, "RAIN", "buy", 7, "0.50")
    world_cup.process()
    client.force_login(member.user)
    # When a member of the deploying institution opens the revenue page
    response = client.get("/revenue/")
    (day,) = response.context["rows"]
    # Then today's row: 17 shares, and the fees the engine charged split 25% / 75%
    assert (day.market.symbol, day.day, day.trades, day.volume) == (
        "RAIN",
        timezone.now().date(),
        2,
        17,
    )
    fills = list(Fill.objects.filter(market_id="RAIN"))
    unit = Decimal("1e-12")  # one engine unit of USDC
    net = [int(f.maker_fee + f.taker_fee) for f in fills]
    assert len(fills) == 2 and all(n > 0 for n in net)
    assert day.fees == sum(net) * unit
    assert day.deployer == sum(n * 2500 // 10_000 for n in net) * unit
    assert day.protocol == day.fees - day.deployer
    assert "RAIN" in response.content.decode()
    # and the API answers the same
    api = APIClient()
    api.force_authenticate(member.user)
    (row,) = api.get("/api/v1/revenue/", {"institution": member.institution.slug}).json()
    assert (row["market"], Decimal(row["deployer"]), Decimal(row["protocol"])) == (
        "RAIN",
        day.deployer,
        day.protocol,
    )


def test_only_members_see_an_institutions_revenue(client, world_cup, deployed):
    _, member = deployed
    outsider = UserFactory()
    client.force_login(outsider)
    assert client.get("/revenue/", {"institution": member.institution.slug}).status_code == 404
    assert "belong to no institution" in client.get("/revenue/").content.decode()
    api = APIClient()
    api.force_authenticate(outsider)
    assert api.get("/api/v1/revenue/", {"institution": member.institution.slug}).status_code == 404
    assert (
        api.get(
            "/api/v1/revenue/", {"institution": member.institution.slug, "days": "0"}
        ).status_code
        == 404
    )
    api.force_authenticate(member.user)
    assert (
        api.get(
            "/api/v1/revenue/", {"institution": member.institution.slug, "days": "0"}
        ).status_code
        == 400
    )
