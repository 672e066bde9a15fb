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


class MarketFees:
    """The fees one market's trades have paid, in its quote `asset`: the protocol's part
    and its deployer's. Plain integers on an object the market holds, so booking a fill's
    fee touches no dict."""

    __slots__ = ("asset", "protocol", "deployer", "collected")

    def __init__(self, asset: str) -> None:
        self.asset = asset
        self.protocol = 0
        self.deployer = 0
        self.collected = False

    def collect(self, net_fee: int, deployer_share_bps: int) -> None:
        """Book a trade's net fee (taker fee plus maker fee, never negative)."""
        if not net_fee:
            return
        deployer = net_fee * deployer_share_bps // BPS
        self.protocol += net_fee - deployer
        self.deployer += deployer
        self.collected = True


class FeeLedger:
    """Collected fees: `protocol` per asset, `deployer` per market (both read-only views).

    `restored` holds the protocol's fees per asset as a snapshot brought them (a
    snapshot keeps no per-market split of them)."""

    __slots__ = ("markets", "restored")

    def __init__(self) -> None:
        self.markets: dict[str, MarketFees] = {}
        self.restored: dict[str, int] = {}

    def of(self, market_id: str, asset: str) -> MarketFees:
        fees = self.markets.get(market_id)
        if fees is None:
            fees = self.markets[market_id] = MarketFees(asset)
        return fees

    def collect(self, market_id: str, asset: str, net_fee: int, deployer_share_bps: int) -> None:
        self.of(market_id, asset).collect(net_fee, deployer_share_bps)

    @property
    def protocol(self) -> dict[str, int]:
        totals = dict(self.restored)
        for fees in self.markets.values():
            if fees.collected:
                totals[fees.asset] = totals.get(fees.asset, 0) + fees.protocol
        return totals

    @property
    def deployer(self) -> dict[str, int]:
        return {
            market_id: fees.deployer for market_id, fees in self.markets.items() if fees.deployer
        }
