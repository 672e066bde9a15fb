"""Stable reason codes carried by rejections and cancellations.

The string values are part of the public contract: the API and the market pages show them
as they are, and the journal stores them. Never rename a value; add new ones.
"""

from enum import StrEnum


class Reason(StrEnum):
    # order shape and market rules
    UNKNOWN_MARKET = "unknown_market"
    UNKNOWN_ACCOUNT = "unknown_account"
    UNKNOWN_ORDER = "unknown_order"
    BAD_TICK = "bad_tick"
    BAD_LOT = "bad_lot"
    BELOW_MIN_SIZE = "below_min_size"
    BAD_SIZE = "bad_size"
    BAD_PRICE = "bad_price"
    BAD_OUTCOME = "bad_outcome"
    BAD_EXPIRY = "bad_expiry"
    PRICE_OUT_OF_BAND = "price_out_of_band"
    MARKET_HALTED = "market_halted"
    MARKET_CLOSED = "market_closed"
    NO_LIQUIDITY = "no_liquidity"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"
    FOK_NOT_FILLABLE = "fok_not_fillable"
    REDUCE_ONLY_WOULD_INCREASE = "reduce_only_would_increase"
    REDUCE_ONLY_NOT_PERP = "reduce_only_not_perp"
    DUPLICATE_CLIENT_ORDER_ID = "duplicate_client_order_id"
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    NOT_ORDER_OWNER = "not_order_owner"
    NO_MARK_PRICE = "no_mark_price"
    # money
    INSUFFICIENT_BALANCE = "insufficient_balance"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    BAD_AMOUNT = "bad_amount"
    DUPLICATE_EXTERNAL_ID = "duplicate_external_id"
    DUPLICATE_TRANSFER_ID = "duplicate_transfer_id"
    # market control
    MARKET_EXISTS = "market_exists"
    BAD_MARKET_CONFIG = "bad_market_config"
    BAD_MARKET_STATE = "bad_market_state"
    RESOLUTION_NOT_PROPOSED = "resolution_not_proposed"
    DISPUTE_WINDOW_OPEN = "dispute_window_open"
    DISPUTE_WINDOW_OVER = "dispute_window_over"
    # why a resting order left the book without filling
    CANCELLED_BY_TRADER = "cancelled_by_trader"
    SELF_TRADE_PREVENTED = "self_trade_prevented"
    IOC_REMAINDER = "ioc_remainder"
    EXPIRED = "expired"
    LIQUIDATION = "liquidation"
    MARKET_STOPPED = "market_stopped"
    AMEND_REPLACED = "amend_replaced"
