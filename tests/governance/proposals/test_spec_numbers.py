"""The draft editor reads a market XIP's numeric oracle and resolution fields exactly: a
dispute bond is a decimal held to its quote asset's smallest unit, the oracle policy's max
age and max move are whole numbers in their ranges; each refusal shows beside its field,
names it, and saves nothing."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from governance.proposals.models import Proposal
from governance.risk_groups.models import RiskGroup
from markets.specs import market_spec_clean
from tests.markets.factories import engine_deposit, member_create, perp_spec, prediction_spec
from xip_portal.models import User
from xip_portal.specs import SpecError

pytestmark = pytest.mark.django_db


def _editor_post(client: Client, group: RiskGroup, market_type: str, spec: dict[str, Any]):
    fields = {k: v for k, v in spec.items() if not isinstance(v, list)}
    if "margin_tiers" in spec:
        fields["margin_tiers"] = "\n".join(
            f"{t['max_notional']} {t['im_bps']} {t['mm_bps']}" for t in spec["margin_tiers"]
        )
    if "outcomes" in spec:
        fields["outcomes"] = "\n".join(spec["outcomes"])
    data = {"title": "A market", "risk_group": group.pk, "body": "", **fields}
    return client.post(f"/proposals/new/?type=market&market_type={market_type}", data)


@pytest.mark.parametrize(
    ("market_type", "field", "value", "message"),
    [
        ("prediction", "dispute_bond", "ten", "dispute_bond: enter a decimal number"),
        ("prediction", "dispute_bond", "0.0000001", "dispute_bond: may have at most 6 decimal"),
        ("prediction", "dispute_bond", "-5", "dispute_bond: must not be negative."),
        ("prediction", "dispute_window_hours", "1.5", "dispute_window_hours: enter a whole"),
        ("perp", "oracle_max_age_seconds", "60.5", "oracle_max_age_seconds: enter a whole"),
        ("perp", "oracle_max_age_seconds", "0", "oracle_max_age_seconds: must be between 1"),
        ("perp", "oracle_max_move_bps", "1e3", "oracle_max_move_bps: enter a whole number"),
        ("perp", "oracle_max_move_bps", "20000", "oracle_max_move_bps: must be between 1 and"),
    ],
)
def test_the_draft_editor_refuses_an_inexact_oracle_or_bond_number_beside_its_field(
    login: Callable[[User], Client],
    open_group: RiskGroup,
    market_type: str,
    field: str,
    value: str,
    message: str,
) -> None:
    client = login(member_create(open_group))
    spec = (prediction_spec if market_type == "prediction" else perp_spec)(**{field: value})

    response = _editor_post(client, open_group, market_type, spec)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert errors[field][0].startswith(message)
    assert f'id="id_{field}_errors"' in response.content.decode()
    assert not Proposal.objects.exists()


def test_the_draft_editor_keeps_exact_numbers_as_the_spec_holds_them(
    login: Callable[[User], Client], open_group: RiskGroup
) -> None:
    author = member_create(open_group)
    engine_deposit(group=open_group, user=author, amount=open_group.proposal_bond_amount)
    client = login(author)
    prediction = prediction_spec(dispute_bond="12.500000", dispute_window_hours=" 24 ")
    perp = perp_spec(symbol="SOL-PERP", oracle_max_age_seconds="90", oracle_max_move_bps="250")

    for market_type, spec in (("prediction", prediction), ("perp", perp)):
        assert _editor_post(client, open_group, market_type, spec).status_code == 302

    specs = [p.spec for p in Proposal.objects.order_by("pk")]
    assert (specs[0]["dispute_bond"], specs[0]["dispute_window_hours"]) == ("12.5", 24)
    assert (specs[1]["oracle_max_age_seconds"], specs[1]["oracle_max_move_bps"]) == (90, 250)


def test_a_price_feed_oracle_names_a_feed_the_contract_can_hold(open_group: RiskGroup) -> None:
    open_group.bounds.allowed_oracle_kinds = []
    open_group.bounds.save()
    accepted = market_spec_clean(
        perp_spec(oracle_kind="PriceFeed", oracle_source="ETH-USD"), risk_group=open_group
    )
    with pytest.raises(SpecError) as too_long:
        market_spec_clean(
            perp_spec(oracle_kind="pricefeed", oracle_source="E" * 33), risk_group=open_group
        )
    with pytest.raises(SpecError) as not_a_perp:
        market_spec_clean(
            prediction_spec(oracle_kind="pricefeed", oracle_source="WC"), risk_group=open_group
        )

    assert (accepted["oracle_kind"], accepted["oracle_source"]) == ("pricefeed", "ETH-USD")
    assert "at most 32 ASCII characters" in too_long.value.fields["oracle_source"][0]
    assert list(not_a_perp.value.fields) == ["oracle_kind"]
