"""check_invariants notices broken state with a clear message."""

import pytest

from engine.core import InvariantViolation, PlaceOrder, Side


def test_a_unit_of_collateral_appearing_from_nowhere_is_caught(spot):
    spot.accounts[1].balance("USDC").free += 1
    with pytest.raises(InvariantViolation, match="USDC: .* came in net"):
        spot.check_invariants()


def test_a_reservation_that_does_not_match_the_orders_is_caught(spot):
    spot.apply(PlaceOrder(1, "BTC-USDC", Side.BUY, 10, price=1000))
    spot.accounts[1].balance("USDC").locked -= 1
    spot.accounts[1].balance("USDC").free += 1
    with pytest.raises(InvariantViolation, match="locks"):
        spot.check_invariants()


def test_a_crossed_book_is_caught(spot):
    spot.apply(PlaceOrder(1, "BTC-USDC", Side.BUY, 10, price=1000))
    spot.apply(PlaceOrder(2, "BTC-USDC", Side.SELL, 10, price=1010))
    ask = spot.markets["BTC-USDC"].book.asks[1010].head
    book = spot.markets["BTC-USDC"].book
    book.remove(ask)
    ask.price = 990
    book.add(ask)
    with pytest.raises(InvariantViolation, match="crossed book"):
        spot.check_invariants()


def test_perp_pnl_that_does_not_net_to_zero_is_caught(perp):
    perp.apply(PlaceOrder(2, "BTC-PERP", Side.SELL, 10, price=1000))
    perp.apply(PlaceOrder(1, "BTC-PERP", Side.BUY, 10, price=1000))
    perp.markets["BTC-PERP"].pool += 5
    perp.accounts[1].balance("USDC").free -= 5
    with pytest.raises(InvariantViolation, match="does not net to zero"):
        perp.check_invariants()
