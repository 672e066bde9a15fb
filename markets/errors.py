"""The refusal codes of the market registry (shared ones are in xip_portal.errors.ErrorCode)."""

from enum import StrEnum


class MarketError(StrEnum):
    NOT_A_FINAL_MARKET_XIP = "not_a_final_market_xip"
    SYMBOL_TAKEN = "symbol_taken"
