"""What an open order locks while it rests: per unit of its size, in the balance it
spends from (the quote asset for a spot buy, the base asset for a spot sell, the
collateral otherwise)."""

from engine.core.fees import fee_reserve_per_unit
from engine.core.markets import BPS, MarketConfig, MarketKind


def unit_reserve(
    config: MarketConfig, mark: int, is_bid: bool, price: int, reduce_only: bool
) -> int:
    """What one unit of an order's size at book `price` locks (units it covers with
    shares it sells lock nothing).

    Spot buys lock the price plus the most fee (sells lock one unit of the base asset).
    Perp orders lock initial margin at the order price and the first tier's rate (not
    reduce-only ones), the most fee, and what filling at the order price loses against
    `mark` at once (a buy above mark, a sell below it); the tiers of a position's size
    apply to the position, at mark. Prediction orders lock the price of the outcome they
    buy plus the most fee a share can cost.
    """
    kind = config.kind
    if kind is MarketKind.SPOT:
        if not is_bid:
            return 1
        return price + fee_reserve_per_unit(price, config.maker_fee_bps, config.taker_fee_bps)
    if kind is MarketKind.PERP:
        fee = fee_reserve_per_unit(price, config.maker_fee_bps, config.taker_fee_bps)
        loss = price - mark if is_bid else mark - price
        if loss > 0:
            fee += loss
        if reduce_only:
            return fee
        return (price * config.margin_tiers[0].im_bps + BPS - 1) // BPS + fee
    payout = config.payout
    cost = price if is_bid else payout - price
    return cost + fee_reserve_per_unit(payout, config.maker_fee_bps, config.taker_fee_bps)
