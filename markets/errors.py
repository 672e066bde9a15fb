"""The refusal codes of the market registry (shared ones are in xip_portal.errors.ErrorCode)."""

from enum import StrEnum


class MarketError(StrEnum):
    NOT_A_FINAL_MARKET_XIP = "not_a_final_market_xip"
    SYMBOL_TAKEN = "symbol_taken"
    NOT_A_PREDICTION_MARKET = "not_a_prediction_market"
    MARKET_NOT_CLOSED = "market_not_closed"
    NOT_THE_RESOLVER = "not_the_resolver"
    ALREADY_RESOLVED = "already_resolved"
    BAD_RESOLUTION_OUTCOME = "bad_resolution_outcome"
    EVIDENCE_REQUIRED = "evidence_required"
    NOT_DISPUTABLE = "not_disputable"
    DISPUTE_BOND_NOT_COVERED = "dispute_bond_not_covered"
    NOT_DISPUTED = "not_disputed"
    SETTLES_BY_RESOLUTION = "settles_by_resolution"
    NOT_A_PERP_MARKET = "not_a_perp_market"
    ORACLE_BAD_SIGNATURE = "oracle_bad_signature"
    ORACLE_PRICE_STALE = "oracle_price_stale"
    ORACLE_PRICE_OUT_OF_BAND = "oracle_price_out_of_band"
