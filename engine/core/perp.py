"""Perpetual positions: average entry, realised PnL, margin tiers and funding.

Products here keep both factors non-negative (a sign is applied after): compiled, mypyc
multiplies two ints in machine words only when neither is negative or large, and takes a
boxed slow path otherwise, which cost the perp mix a tenth of its time.
"""

from engine.core.markets import BPS, PPM, MarginTier


class Position:
    """A signed position (`size` > 0 long). `entry` is the signed entry notional, so
    the average entry price is entry / size; keeping the notional rather than the price
    keeps every integer exact. `upnl`, `im` and `mm` cache this position's share of its
    account's totals at the current mark."""

    __slots__ = ("account", "market", "size", "entry", "realised", "funding", "upnl", "im", "mm")

    def __init__(self, account: int, market: str) -> None:
        self.account = account
        self.market = market
        self.size = 0
        self.entry = 0
        self.realised = 0
        self.funding = 0
        self.upnl = 0
        self.im = 0
        self.mm = 0

    def apply_fill(self, qty: int, price: int) -> int:
        """Trade `qty` (signed, > 0 buys) at `price`; return the PnL realised.

        Closing q of size s removes entry * q / s of the entry notional (rounded toward
        zero), so realised - entry moves by exactly the cash of the fill: summed over all
        accounts, realised PnL equals the entry notional still open.
        """
        size = self.size
        buys = qty > 0
        amount = qty if buys else -qty
        if size == 0 or (size > 0) == buys:
            self.size = size + qty
            self.entry += amount * price if buys else -(amount * price)
            return 0
        held = size if size > 0 else -size
        closing = amount if amount < held else held
        entry = self.entry
        removed = entry * closing // held if entry >= 0 else -(-entry * closing // held)
        # buying back a short pays the price, selling a long receives it
        realised = (-(closing * price) if buys else closing * price) - removed
        self.entry = entry - removed
        rest = amount - closing
        self.size = size + qty
        if rest:
            self.entry += rest * price if buys else -(rest * price)
        self.realised += realised
        return realised


def margin_at(notional: int, tiers: tuple[MarginTier, ...]) -> tuple[int, int]:
    """(initial, maintenance) margin of a position with this absolute notional."""
    tier = tiers[-1]
    for candidate in tiers:
        if notional <= candidate.max_notional:
            tier = candidate
            break
    return (notional * tier.im_bps + BPS - 1) // BPS, (notional * tier.mm_bps + BPS - 1) // BPS


def funding_rate_ppm(book_mid: int, index: int, cap_ppm: int) -> int:
    """Premium of the book over the index, capped either way."""
    premium = (book_mid - index) * PPM // index
    return max(-cap_ppm, min(cap_ppm, premium))


def funding_payment(size: int, mark: int, rate_ppm: int) -> int:
    """What a position pays (> 0) or receives (< 0) at one funding time. Both round
    against the position (payers up, receivers toward zero), so the receivers never get
    more than the payers pay; the engine sends the difference to the insurance fund."""
    return -(-size * mark * rate_ppm // PPM)  # the ceiling: up for payers, to zero for receivers
