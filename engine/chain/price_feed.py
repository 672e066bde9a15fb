"""The on-chain PriceFeed, for the oracles: push a price (as the operator, a signer from
deployment) and read a feed's latest.

    from engine.chain.price_feed import price_feed_latest, price_feed_push
    price_feed_push(feed="BTC-USDT", price=Decimal("64123.5"), timestamp_ms=1_780_000_000_000)
    latest = price_feed_latest(feed="BTC-USDT")   # FeedPrice or None
    latest.price, latest.timestamp_ms, latest.signer, latest.round

Prices travel as integers scaled by 10**PRICE_DECIMALS (a price with more decimals is refused,
never rounded); a push not newer than the feed's latest is refused by the contract."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .deployment import deployment_ensure
from .models import ChainTransaction
from .operator import chain_transact, contract_at, operator_account

PRICE_DECIMALS = 8
FEED_MAX_LENGTH = 32


class PriceNotPushable(ValueError):
    """A feed name, price or time the PriceFeed cannot take."""


@dataclass(frozen=True)
class FeedPrice:
    feed: str
    price: Decimal
    timestamp_ms: int
    signer: str
    round: int


def _scaled(price: Decimal) -> int:
    scaled = price.scaleb(PRICE_DECIMALS)
    if not price.is_finite() or price <= 0 or scaled != scaled.to_integral_value():
        raise PriceNotPushable(
            f"price {price} must be positive with at most {PRICE_DECIMALS} decimals"
        )
    return int(scaled)


def price_feed_push(*, feed: str, price: Decimal, timestamp_ms: int) -> ChainTransaction:
    """Push `price` for `feed` at `timestamp_ms` (once per feed and time) and wait until it is
    mined. Raises PriceNotPushable, or ChainTransactionFailed (e.g. not newer than the latest)."""
    if not 0 < len(feed) <= FEED_MAX_LENGTH or not feed.isascii():
        raise PriceNotPushable(f"feed name must be 1 to {FEED_MAX_LENGTH} ASCII characters")
    if timestamp_ms <= 0:
        raise PriceNotPushable("timestamp_ms must be positive")
    return chain_transact(
        account=operator_account(),
        deployment=deployment_ensure(),
        purpose=f"price:{feed}:{timestamp_ms}",
        contract="PriceFeed",
        function="push",
        args=[feed, _scaled(price), timestamp_ms],
    )


def price_feed_latest(*, feed: str) -> FeedPrice | None:
    """The feed's latest price on the chain, or None if none was pushed."""
    deployment = deployment_ensure()
    price, timestamp, signer, round_ = (
        contract_at("PriceFeed", deployment.price_feed).functions.latest(feed).call()
    )
    if round_ == 0:
        return None
    return FeedPrice(feed, Decimal(price).scaleb(-PRICE_DECIMALS), timestamp, signer, round_)
