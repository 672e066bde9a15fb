"""Oracle prices of perpetual markets, feeding the engine's `OraclePrice` through the journal.

Three kinds of source reach a market here: signed pushes by the oracle signers its spec
names (`oracle_signers`; an EIP-191 signature over `oracle_message`); the on-chain
`PriceFeed` named by a spec of oracle kind `pricefeed` (`oracle_source` is the feed), read
by a scheduled task once per new round, whose pusher must be one of the signers when the
spec names any; and a manual price set by an operator of the market's group (two-factor,
audited), for the demo and for emergencies. A pushed or read price is refused when its
signer is not one of the market's, it is older than the spec's `oracle_max_age_seconds`
(or not newer than the last one taken), or it moves the index by more than
`oracle_max_move_bps`; every refusal is kept for the operators. A market whose last
price grows older than its policy halts by itself (`oracles_halt_stale`, scheduled) and
resumes when a fresh price arrives; both moves are audited status changes. The engine
re-marks positions and liquidates after each price; funding runs on its own clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from engine.core.markets import BPS
from engine.selectors import market_get
from engine.services import command_submit, shard_of
from governance.risk_groups.models import PRICE_FEED_ORACLE, MarketType
from xip_portal.audit import audit_record
from xip_portal.bounded_values import bounded_decimal
from xip_portal.errors import ApplicationError, Conflict, ErrorCode, PermissionDenied
from xip_portal.models import StaffRole, User
from xip_portal.roles import has_role

from .errors import MarketError
from .models import Market, MarketStatus, OracleRefusal, OracleState
from .services import market_engine_config, market_status_set

DEFAULT_MAX_AGE_SECONDS = 300
DEFAULT_MAX_MOVE_BPS = 2000
# how far ahead of the portal's clock a signed timestamp may be
CLOCK_SKEW = timedelta(seconds=30)
STALE_REASON = "Oracle price stale"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def oracle_message(*, symbol: str, price: str, timestamp: int) -> str:
    """The text an oracle signer signs (EIP-191 personal message) for one price."""
    return f"Exchange OS oracle price\nmarket: {symbol}\nprice: {price}\ntimestamp: {timestamp}"


def oracle_max_age(market: Market) -> timedelta:
    return timedelta(seconds=market.spec.get("oracle_max_age_seconds") or DEFAULT_MAX_AGE_SECONDS)


def _perp(market: Market) -> None:
    if market.market_type != MarketType.PERP:
        raise ApplicationError(
            f"{market.symbol} is not a perpetual market.", code=MarketError.NOT_A_PERP_MARKET
        )
    if market.status not in (MarketStatus.LIVE, MarketStatus.HALTED, MarketStatus.CLOSED):
        raise Conflict(
            f"{market.symbol} is {market.get_status_display().lower()}: it takes no prices.",
            code=ErrorCode.ILLEGAL_TRANSITION,
        )


def _price(value: object) -> Decimal:
    price = bounded_decimal(value, field="price", max_digits=40, decimal_places=18)
    if price <= 0:
        raise ApplicationError("The price must be positive.", field="price")
    return price


def _refuse(market: Market, *, source: str, price: object, code: str, reason: str) -> None:
    """Keeps the refusal for the operators (its own commit), then raises it."""
    OracleRefusal.objects.create(
        market=market, source=source[:120], price=str(price)[:60], code=code, reason=reason[:300]
    )
    raise ApplicationError(reason, code=code)


def _signer_of(message: str, signature: str) -> str:
    """The address whose EIP-191 signature of `message` this is ("" if none)."""
    # Imported on first use, not when the URLconf loads: eth-account pulls in py_ecc, which
    # raises the interpreter's recursion limit for the whole process (engine.chain.provider).
    from eth_account import Account
    from eth_account.messages import encode_defunct
    from eth_keys.exceptions import BadSignature

    try:
        return str(Account.recover_message(encode_defunct(text=message), signature=signature))
    except (BadSignature, ValueError, TypeError):
        return ""


def oracle_price_push(
    *, market: Market, price: str, timestamp: int, signature: str, now: datetime | None = None
) -> OracleState:
    """A signed price from one of the market's oracle signers. `timestamp` (Unix seconds)
    is when the signer observed it. Refused (and kept) when the signature is not a
    signer's, the price is stale or not newer than the last, or it jumps out of band."""
    now = now or timezone.now()
    _perp(market)
    price_text = str(price)[:60]
    number = _price(price_text)
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp <= 0:
        raise ApplicationError("timestamp: Unix seconds.", field="timestamp")
    signer = _signer_of(
        oracle_message(symbol=market.symbol, price=price_text, timestamp=timestamp), signature
    )
    source = f"signed by {signer}" if signer else "unsigned push"
    signers = _signers(market)
    if not signer or signer.lower() not in signers:
        _refuse(
            market,
            source=source,
            price=price_text,
            code=MarketError.ORACLE_BAD_SIGNATURE,
            reason="The signature is not one of the market's oracle signers'.",
        )
    observed = datetime.fromtimestamp(min(timestamp, 10**11), tz=UTC)
    _check_fresh_and_in_band(market, price=number, source=source, observed=observed, now=now)
    return _take(market, number, source=source, observed=observed, actor=None, now=now)


def _signers(market: Market) -> set[str]:
    return {address.lower() for address in market.spec.get("oracle_signers") or []}


def _check_fresh_and_in_band(
    market: Market, *, price: Decimal, source: str, observed: datetime, now: datetime
) -> None:
    """Refuses (and keeps) a price observed outside the market's max age (or ahead of the
    clock), not newer than the last one taken, moving the index out of band, or that is
    not a whole number of the engine's price unit."""
    price_text = f"{price.normalize():f}"
    last = OracleState.objects.filter(market=market).first()
    if observed < now - oracle_max_age(market) or observed > now + CLOCK_SKEW:
        _refuse(
            market,
            source=source,
            price=price_text,
            code=MarketError.ORACLE_PRICE_STALE,
            reason=f"The price was observed at {observed:%Y-%m-%d %H:%M:%S} UTC, outside the "
            f"market's {oracle_max_age(market).total_seconds():.0f} s.",
        )
    if last is not None and observed <= last.price_at:
        _refuse(
            market,
            source=source,
            price=price_text,
            code=MarketError.ORACLE_PRICE_STALE,
            reason="The price is not newer than the last one taken.",
        )
    max_move = market.spec.get("oracle_max_move_bps") or DEFAULT_MAX_MOVE_BPS
    if last is not None and abs(price - last.index_price) * BPS > last.index_price * max_move:
        _refuse(
            market,
            source=source,
            price=price_text,
            code=MarketError.ORACLE_PRICE_OUT_OF_BAND,
            reason=f"{price_text} moves the index ({last.index_price.normalize():f}) by more "
            f"than {max_move} bps.",
        )
    try:
        market_engine_config(market).price(price)
    except ApplicationError as exc:
        _refuse(market, source=source, price=price_text, code=str(exc.code), reason=exc.message)


def price_feed_source(feed: str, round_: int) -> str:
    """How a PriceFeed round is named as a price's source (and in a refusal of it)."""
    return f"PriceFeed {feed} round {round_}"


def oracle_price_feed_read(*, market: Market, now: datetime | None = None) -> OracleState | None:
    """Takes the latest round of the market's on-chain PriceFeed (its spec's
    `oracle_source`), once: None when the feed has no round the market has not seen.
    Refused (and kept) like a push when the round's pusher is not one of the market's
    oracle signers (if the spec names any), it is stale or it jumps out of band."""
    # Imported on first use: web3 raises the interpreter's recursion limit for the whole
    # process (engine.chain.provider), which the URLconf's import must not do.
    from engine.chain.price_feed import price_feed_latest

    now = now or timezone.now()
    _perp(market)
    latest = price_feed_latest(feed=str(market.spec.get("oracle_source") or ""))
    if latest is None:
        return None
    source = price_feed_source(latest.feed, latest.round)
    state = OracleState.objects.filter(market=market).first()
    if (state is not None and state.source == source) or market.oracle_refusals.filter(
        source=source
    ).exists():
        return None
    signers = _signers(market)
    if signers and latest.signer.lower() not in signers:
        _refuse(
            market,
            source=source,
            price=f"{latest.price.normalize():f}",
            code=MarketError.ORACLE_BAD_SIGNATURE,
            reason=f"The round was pushed by {latest.signer}, not one of the market's oracle "
            "signers.",
        )
    observed = EPOCH + timedelta(milliseconds=latest.timestamp_ms)
    _check_fresh_and_in_band(market, price=latest.price, source=source, observed=observed, now=now)
    return _take(market, latest.price, source=source, observed=observed, actor=None, now=now)


def oracles_read_price_feeds(*, now: datetime | None = None) -> int:
    """Reads the PriceFeed of every live or halted perpetual of oracle kind `pricefeed`
    (scheduled): a new round becomes the index, a refused one is kept for the operators.
    Returns how many prices were taken."""
    taken = 0
    markets = Market.objects.filter(
        market_type=MarketType.PERP,
        status__in=(MarketStatus.LIVE, MarketStatus.HALTED),
        spec__oracle_kind=PRICE_FEED_ORACLE,
    ).select_related("risk_group")
    for market in markets.order_by("pk"):
        try:
            taken += oracle_price_feed_read(market=market, now=now) is not None
        except ApplicationError:
            continue  # refused and kept for the operators
    return taken


def oracle_price_set(
    *, actor: User, market: Market, price: str, reason: str, now: datetime | None = None
) -> OracleState:
    """An operator of the market's group sets its price by hand (the caller checked the
    operator's two-factor; audited with the reason)."""
    now = now or timezone.now()
    _perp(market)
    number = _price(price)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why.", code=ErrorCode.REASON_REQUIRED, field="reason")
    if not has_role(actor, StaffRole.RISK_GROUP_OPERATOR, market.risk_group):
        raise PermissionDenied(
            f"Only operators of {market.risk_group.name} set prices.", code=ErrorCode.ROLE_REQUIRED
        )
    return _take(
        market, number, source=f"set by {actor}", observed=now, actor=actor, now=now, why=reason
    )


def _take(
    market: Market,
    price: Decimal,
    *,
    source: str,
    observed: datetime,
    actor: User | None,
    now: datetime,
    why: str = "",
) -> OracleState:
    """The price becomes the index: journaled for the engine, recorded, audited; a market
    halted for staleness resumes."""
    engine_price = market_engine_config(market).price(price)
    with transaction.atomic():
        locked = Market.objects.select_for_update().select_related("risk_group").get(pk=market.pk)
        state = OracleState.objects.select_for_update().filter(market=locked).first()
        old = state.index_price if state is not None else None
        if state is None:
            state = OracleState(market=locked)
        state.index_price, state.price_at, state.source = price, observed, source[:120]
        command_submit(
            risk_group=locked.risk_group_id,
            account=0,
            command={"type": "OraclePrice", "market": locked.symbol, "price": engine_price},
        )
        if state.stale_halted and locked.status == MarketStatus.HALTED:
            market_status_set(
                locked, MarketStatus.LIVE, actor=None, reason="Oracle prices returned", now=now
            )
        state.stale_halted = False
        state.save()
        if actor is not None:
            audit_record(
                actor=actor,
                action="market.oracle_price_set",
                obj=locked,
                old={"index_price": str(old) if old is not None else None},
                new={"index_price": str(price)},
                reason=why,
            )
    return state


def oracles_halt_stale(*, now: datetime | None = None) -> int:
    """Halts every live perpetual whose last oracle price is older than its policy
    (scheduled). Each market in its own transaction; safe to run twice."""
    now = now or timezone.now()
    halted = 0
    states = OracleState.objects.filter(
        market__status=MarketStatus.LIVE, stale_halted=False
    ).select_related("market")
    for state in states.order_by("market_id"):
        if state.price_at >= now - oracle_max_age(state.market):
            continue
        with transaction.atomic():
            market = Market.objects.select_for_update().get(pk=state.market_id)
            locked = OracleState.objects.select_for_update().get(pk=state.pk)
            if market.status != MarketStatus.LIVE or locked.price_at != state.price_at:
                continue
            market_status_set(
                market,
                MarketStatus.HALTED,
                actor=None,
                reason=f"{STALE_REASON}: last price at {state.price_at:%Y-%m-%d %H:%M:%S} UTC",
                now=now,
            )
            locked.stale_halted = True
            locked.save(update_fields=["stale_halted", "updated_at"])
            halted += 1
    return halted


def oracle_facts(market: Market, *, now: datetime | None = None) -> dict[str, object]:
    """What a perpetual's page shows of its prices: the index (last oracle price), its
    source and time, the engine's mark price, and whether the price is stale."""
    now = now or timezone.now()
    state = OracleState.objects.filter(market=market).first()
    view = market_get(shard=shard_of(risk_group=market.risk_group_id), market_id=market.symbol)
    mark = None
    if view is not None and view.mark:
        mark = (view.mark * market_engine_config(market).price_unit).normalize()
    return {
        "oracle": state,
        "mark_price": mark,
        "oracle_max_age": oracle_max_age(market),
        "oracle_stale": state is not None and state.price_at < now - oracle_max_age(market),
        "oracle_signers": market.spec.get("oracle_signers") or [],
    }
