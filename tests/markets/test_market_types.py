"""The market types are the engine core's: one declaration, labelled once for Django."""

from engine.core.markets import MarketKind
from governance.risk_groups.models import MarketType
from markets.models import Market


def test_the_registry_offers_exactly_the_engine_market_kinds() -> None:
    assert MarketType.values == [kind.value for kind in MarketKind]
    assert Market._meta.get_field("market_type").choices == MarketType.choices
