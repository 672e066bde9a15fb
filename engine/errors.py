"""Refusals of the engine service: a command refused here is never journaled.

The engine service's own codes are `EngineError` (shared ones, such as `out_of_range`,
are xip_portal's `ErrorCode`); a refusal that is one of the core's
rules (a bad tick, an unknown market, ...) carries the core's `Reason`, the same code the
engine itself would give."""

from enum import StrEnum

from engine.core.reasons import Reason
from xip_portal.errors import ApplicationError, NotFound


class EngineError(StrEnum):
    COMMAND_REFUSED = "command_refused"
    BAD_COMMAND = "bad_command"
    UNKNOWN_COMMAND = "unknown_command"
    UNKNOWN_FIELD = "unknown_field"
    MISSING_FIELD = "missing_field"
    BAD_ACCOUNT = "bad_account"
    BAD_NUMBER = "bad_number"
    NEGATIVE = "negative"
    BAD_FLAG = "bad_flag"
    BAD_TEXT = "bad_text"
    BAD_SIDE = "bad_side"
    BAD_ORDER_TYPE = "bad_order_type"
    BAD_TIF = "bad_tif"
    BAD_STP = "bad_stp"
    MARKET_NOT_LIVE = "market_not_live"
    SPEC_NOT_CONVERTIBLE = "spec_not_convertible"
    SAME_GROUP = "same_group"
    UNKNOWN_COMMAND_ID = "unknown_command_id"
    COLLATERAL_NOT_SIMULATED = "collateral_not_simulated"
    FAUCET_DAILY_LIMIT = "faucet_daily_limit"
    # the chain (engine.chain)
    BAD_ADDRESS = "bad_address"
    CHAIN_NOT_DEPLOYED = "chain_not_deployed"
    NO_COMMITTED_BALANCE = "no_committed_balance"
    WITHDRAWAL_NOT_COMMITTED = "withdrawal_not_committed"
    CLAIM_FAILED = "claim_failed"


class CommandRefused(ApplicationError):
    """The command's shape, values or target is wrong; `code` names the problem."""

    code = EngineError.COMMAND_REFUSED


class MarketUnknown(NotFound):
    code = Reason.UNKNOWN_MARKET


class SpecNotConvertible(ApplicationError):
    """A registry value that is not a whole number of the engine's unit."""

    code = EngineError.SPEC_NOT_CONVERTIBLE
