"""A compiled query gives what its queryset gives: model instances with their fields as
the database's values convert to them (JSON), their annotations and their select_related
instances, or the rows of a values_list; only arguments compared for equality compile."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F, Value

from markets.models import Market
from xip_portal.compiled_queries import CompiledQuery

pytestmark = pytest.mark.django_db


def markets_of(risk_group: int, symbol: str):  # type: ignore[no-untyped-def]
    return (
        Market.objects.filter(risk_group=risk_group, symbol=symbol)
        .select_related("risk_group", "quote_asset")
        .annotate(group_name=F("risk_group__name"), fixed=Value(7))
        .order_by("pk")
    )


def test_instances_are_those_of_the_queryset(spot_market: Market) -> None:
    query = CompiledQuery(markets_of, risk_group=int, symbol=str)
    for _ in range(2):  # compiled, then run again
        (market,) = query.objects(risk_group=spot_market.risk_group_id, symbol="BTC-USDC")
        (expected,) = markets_of(spot_market.risk_group_id, "BTC-USDC")
        assert market == expected and market.__dict__.keys() == expected.__dict__.keys()
        for name in ("symbol", "spec", "status", "launch_at", "config_hash", "updated_at"):
            assert getattr(market, name) == getattr(expected, name)
        assert market.spec["symbol"] == "BTC-USDC"  # the JSON read as a dict
        assert (market.group_name, market.fixed) == (expected.group_name, 7)
        assert not market._state.adding and market._state.db == "default"
    # and the related instances came with it, no query
    with_no_query = market._state.fields_cache
    assert with_no_query["risk_group"] == spot_market.risk_group
    assert with_no_query["quote_asset"].symbol == "USDC"
    assert query.objects(risk_group=spot_market.risk_group_id, symbol="ETH-PERP") == []


def test_rows_are_those_of_values_list(spot_market: Market) -> None:
    def symbols(symbol: str):  # type: ignore[no-untyped-def]
        return Market.objects.filter(symbol=symbol).values_list("symbol", "status", "spec")

    rows = CompiledQuery(symbols, symbol=str).rows(symbol="BTC-USDC")
    assert [row[:2] for row in rows] == [row[:2] for row in symbols("BTC-USDC")]


def test_an_argument_not_compared_for_equality_does_not_compile() -> None:
    query = CompiledQuery(
        lambda symbol: Market.objects.filter(symbol__startswith=symbol), symbol=str
    )
    with pytest.raises(ImproperlyConfigured):
        query.rows(symbol="BTC")
