"""The one table from the project's refusal codes (the trading room's, the engine
service's and the engine core's reasons) to OKX v5 error codes, with the HTTP status a
refusal of the whole request carries. ccxt's okx class maps the same codes back to its
exception classes (`exceptions['exact']` in ccxt/okx.py). The project's own code and
message travel in `msg`/`sMsg`, so a bot sees both."""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.reasons import Reason
from engine.errors import EngineError
from governance.memberships.errors import MembershipError
from xip_portal.errors import ErrorCode

from ..errors import TradingError


@dataclass(frozen=True)
class OkxCode:
    code: str
    http_status: int = 400


OPERATION_FAILED = "1"  # a single or batch operation failed as a whole
PARTIAL = "2"  # a batch operation partially succeeded
# journaled (durable) but not applied within the wait: OKX's "request timeout, check the
# order's state"
NOT_APPLIED_YET = "50004"
PARAMETER_ERROR = OkxCode("51000")

OKX_CODES: dict[str, OkxCode] = {
    # authentication and limits of a signed request
    TradingError.MISSING_CREDENTIALS: OkxCode("50103", 401),
    TradingError.BAD_TIMESTAMP: OkxCode("50112", 401),
    TradingError.TIMESTAMP_EXPIRED: OkxCode("50102", 401),
    TradingError.UNKNOWN_KEY: OkxCode("50111", 401),
    TradingError.BAD_KEY_PASSPHRASE: OkxCode("50105", 401),
    TradingError.BAD_SIGNATURE: OkxCode("50113", 401),
    TradingError.BAD_SECRET: OkxCode("50113", 401),
    TradingError.IP_NOT_ALLOWED: OkxCode("50110", 401),
    TradingError.SCOPE_MISSING: OkxCode("50120", 401),
    TradingError.RATE_LIMITED: OkxCode("50011", 429),
    TradingError.TOO_MANY_ORDERS: OkxCode("51111"),
    ErrorCode.NOT_AUTHENTICATED: OkxCode("50114", 401),
    ErrorCode.PERMISSION_DENIED: OkxCode("50114", 401),
    ErrorCode.NOT_FOUND: OkxCode("51000", 404),
    ErrorCode.INVALID_REQUEST: PARAMETER_ERROR,
    ErrorCode.BAD_REQUEST: OkxCode("50002"),
    ErrorCode.SERVER_ERROR: OkxCode("50026", 500),
    ErrorCode.SERVICE_UNAVAILABLE: OkxCode("50001", 503),
    # the membership gate of a risk group
    MembershipError.MEMBERSHIP_REQUIRED: OkxCode("51009"),
    MembershipError.KYC_REQUIRED: OkxCode("51009"),
    MembershipError.TERMS_NOT_ACCEPTED: OkxCode("51009"),
    MembershipError.MEMBERSHIP_REVOKED: OkxCode("51009"),
    MembershipError.MEMBERSHIP_EXPIRED: OkxCode("51009"),
    MembershipError.JURISDICTION_BLOCKED: OkxCode("51155"),
    ErrorCode.NOT_INSTITUTION_MEMBER: OkxCode("51009"),
    # the trading room's own checks of an order
    TradingError.BAD_CLIENT_ORDER_ID: PARAMETER_ERROR,
    TradingError.MISSING_PARAMETER: OkxCode("50014"),
    # /api/v1's Idempotency-Key (an /api/v5 request has none)
    TradingError.BAD_IDEMPOTENCY_KEY: PARAMETER_ERROR,
    TradingError.IDEMPOTENCY_KEY_REUSED: PARAMETER_ERROR,
    # the engine service's checks before journaling
    EngineError.COMMAND_REFUSED: PARAMETER_ERROR,
    EngineError.BAD_COMMAND: PARAMETER_ERROR,
    EngineError.UNKNOWN_COMMAND: PARAMETER_ERROR,
    EngineError.UNKNOWN_FIELD: PARAMETER_ERROR,
    EngineError.MISSING_FIELD: OkxCode("50014"),
    EngineError.BAD_ACCOUNT: PARAMETER_ERROR,
    EngineError.BAD_NUMBER: PARAMETER_ERROR,
    EngineError.NEGATIVE: PARAMETER_ERROR,
    ErrorCode.OUT_OF_RANGE: OkxCode("51005"),
    EngineError.COLLATERAL_NOT_SIMULATED: PARAMETER_ERROR,
    EngineError.FAUCET_DAILY_LIMIT: PARAMETER_ERROR,
    EngineError.BAD_FLAG: PARAMETER_ERROR,
    EngineError.BAD_TEXT: PARAMETER_ERROR,
    EngineError.BAD_SIDE: PARAMETER_ERROR,
    EngineError.BAD_ORDER_TYPE: PARAMETER_ERROR,
    EngineError.BAD_TIF: PARAMETER_ERROR,
    EngineError.BAD_STP: PARAMETER_ERROR,
    EngineError.MARKET_NOT_LIVE: OkxCode("51022"),
    EngineError.SPEC_NOT_CONVERTIBLE: PARAMETER_ERROR,
    EngineError.SAME_GROUP: PARAMETER_ERROR,
    EngineError.UNKNOWN_COMMAND_ID: OkxCode("51603", 404),
    EngineError.BAD_ADDRESS: PARAMETER_ERROR,
    EngineError.CHAIN_NOT_DEPLOYED: OkxCode("50001", 503),
    EngineError.NO_COMMITTED_BALANCE: OkxCode("51000", 404),
    EngineError.WITHDRAWAL_NOT_COMMITTED: OkxCode("51000", 409),
    EngineError.CLAIM_FAILED: OkxCode("51000", 409),
    # the engine core's reasons
    Reason.UNKNOWN_MARKET: OkxCode("51001"),
    Reason.UNKNOWN_ACCOUNT: OkxCode("51008"),  # an account never funded has no balance
    Reason.UNKNOWN_ORDER: OkxCode("51603"),
    Reason.NOT_ORDER_OWNER: OkxCode("51603"),
    Reason.BAD_TICK: OkxCode("51006"),
    Reason.BAD_LOT: OkxCode("51121"),
    Reason.BELOW_MIN_SIZE: OkxCode("51020"),
    Reason.BAD_SIZE: PARAMETER_ERROR,
    Reason.BAD_PRICE: OkxCode("51006"),
    Reason.PRICE_OUT_OF_BAND: OkxCode("51006"),
    Reason.BAD_OUTCOME: PARAMETER_ERROR,
    Reason.BAD_EXPIRY: PARAMETER_ERROR,
    Reason.MARKET_HALTED: OkxCode("51022"),
    Reason.MARKET_CLOSED: OkxCode("51027"),
    Reason.NO_LIQUIDITY: OkxCode("51109"),
    Reason.POST_ONLY_WOULD_CROSS: OkxCode("51006"),
    Reason.FOK_NOT_FILLABLE: OkxCode("51004"),
    Reason.REDUCE_ONLY_WOULD_INCREASE: OkxCode("51169"),
    Reason.REDUCE_ONLY_NOT_PERP: PARAMETER_ERROR,
    Reason.DUPLICATE_CLIENT_ORDER_ID: OkxCode("51016"),
    Reason.DUPLICATE_ORDER_ID: PARAMETER_ERROR,  # the service gives every order a new id
    Reason.NO_MARK_PRICE: OkxCode("51022"),
    Reason.INSUFFICIENT_BALANCE: OkxCode("51008"),
    Reason.INSUFFICIENT_MARGIN: OkxCode("51008"),
    Reason.BAD_AMOUNT: PARAMETER_ERROR,
    Reason.DUPLICATE_EXTERNAL_ID: PARAMETER_ERROR,
    Reason.DUPLICATE_TRANSFER_ID: PARAMETER_ERROR,
    # refusals of system commands (listing, resolution): a trader never sends them
    Reason.MARKET_EXISTS: PARAMETER_ERROR,
    Reason.BAD_MARKET_CONFIG: PARAMETER_ERROR,
    Reason.BAD_MARKET_STATE: PARAMETER_ERROR,
    Reason.RESOLUTION_NOT_PROPOSED: PARAMETER_ERROR,
    Reason.DISPUTE_WINDOW_OPEN: PARAMETER_ERROR,
    Reason.DISPUTE_WINDOW_OVER: PARAMETER_ERROR,
}


def okx_code(code: str) -> OkxCode:
    """The OKX code of a project code; a code without its own maps to the parameter error."""
    return OKX_CODES.get(code, PARAMETER_ERROR)
