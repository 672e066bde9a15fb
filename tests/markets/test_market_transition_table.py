"""The market status table, without a database."""

import pytest

from markets.models import MARKET_TRANSITIONS, Market, MarketStatus
from xip_portal.state_machine import TransitionError

M = MarketStatus


def test_the_approval_state_machine() -> None:
    assert MARKET_TRANSITIONS == {
        M.APPROVED: {M.SCHEDULED, M.DELISTED},
        M.SCHEDULED: {M.LIVE, M.DELISTED},
        M.LIVE: {M.HALTED, M.CLOSED, M.DELISTED},
        M.HALTED: {M.LIVE, M.CLOSED, M.DELISTED},
        M.CLOSED: {M.SETTLED},
        M.SETTLED: set(),
        M.DELISTED: set(),
    }


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        (M.APPROVED, M.LIVE),
        (M.SCHEDULED, M.HALTED),
        (M.CLOSED, M.LIVE),
        (M.SETTLED, M.DELISTED),
        (M.DELISTED, M.LIVE),
        (M.LIVE, M.SETTLED),
    ],
)
def test_an_illegal_move_names_both_states(from_status: str, to_status: str) -> None:
    market = Market(symbol="BTC-USDC", status=from_status)

    with pytest.raises(TransitionError) as caught:
        MARKET_TRANSITIONS.check(market.status, to_status, subject=market.symbol)

    assert f"from {M(from_status).label} to {M(to_status).label}" in caught.value.message
    assert "BTC-USDC" in caught.value.message


def test_halt_and_resume_predicates() -> None:
    assert Market(status=M.LIVE).can_halt()
    assert not Market(status=M.SCHEDULED).can_halt()
    assert Market(status=M.HALTED).can_resume()
    assert not Market(status=M.LIVE).can_resume()
