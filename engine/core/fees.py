"""Trading fees: maker/taker rates in basis points, split between protocol and deployer."""

from engine.core.markets import BPS


def trade_fee(notional: int, bps: int) -> int:
    """A fee rounds up against the payer; a rebate (negative bps) rounds down. (Both
    factors of each product stay non-negative: see `engine.core.perp`.)"""
    if bps >= 0:
        return (notional * bps + BPS - 1) // BPS
    return -(notional * -bps // BPS)


def fee_reserve_per_unit(price: int, maker_bps: int, taker_bps: int) -> int:
    """The most fee one unit of size at `price` can cost, whichever role it fills in.

    Reserving per unit keeps `reserve(size) - reserve(size - q)` at least the fee of any
    fill of q at a price no worse than `price`.
    """
    bps = maker_bps if maker_bps > taker_bps else taker_bps
    return trade_fee(price, bps) if bps > 0 else 0


class FeeLedger:
    """Collected fees per asset for the protocol and per market for its deployer."""

    __slots__ = ("protocol", "deployer")

    def __init__(self) -> None:
        self.protocol: dict[str, int] = {}
        self.deployer: dict[str, int] = {}

    def collect(self, market_id: str, asset: str, net_fee: int, deployer_share_bps: int) -> None:
        """Book a trade's net fee (taker fee plus maker fee, never negative)."""
        if not net_fee:
            return
        deployer = net_fee * deployer_share_bps // BPS
        self.protocol[asset] = self.protocol.get(asset, 0) + net_fee - deployer
        if deployer:
            self.deployer[market_id] = self.deployer.get(market_id, 0) + deployer
