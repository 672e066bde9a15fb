"""Every refusal the engine can give maps to the OKX code a bot expects, in one table, and
ccxt's okx class turns those codes into its own exception classes."""

import ccxt

from engine.core.reasons import Reason
from engine.errors import EngineError
from trading.errors import TradingError
from trading.okx.codes import OKX_CODES
from xip_portal.errors import ORDER_END_REASONS

# refusals of the key pages and /api/v1/api-keys/, never of a signed /api/v5/ request
KEY_MANAGEMENT = {
    TradingError.BAD_IP_ALLOWLIST,
    TradingError.BAD_PASSPHRASE,
    TradingError.KEY_REVOKED,
    TradingError.TOO_MANY_KEYS,
}


def test_every_engine_and_trading_code_has_its_okx_code() -> None:
    trading = [code for code in TradingError if code not in KEY_MANAGEMENT]
    codes = [*EngineError, *trading, *(r for r in Reason if r not in ORDER_END_REASONS)]

    missing = [code for code in codes if code not in OKX_CODES]

    assert missing == []


def test_ccxt_raises_the_expected_exception_for_the_codes_bots_rely_on() -> None:
    exact = ccxt.okx().exceptions["exact"]
    expected = {
        Reason.INSUFFICIENT_BALANCE: ccxt.InsufficientFunds,
        Reason.INSUFFICIENT_MARGIN: ccxt.InsufficientFunds,
        Reason.DUPLICATE_CLIENT_ORDER_ID: ccxt.InvalidOrder,
        Reason.UNKNOWN_ORDER: ccxt.OrderNotFound,
        Reason.BAD_TICK: ccxt.InvalidOrder,
        Reason.BAD_LOT: ccxt.InvalidOrder,
        Reason.UNKNOWN_MARKET: ccxt.BadSymbol,
        TradingError.RATE_LIMITED: ccxt.RateLimitExceeded,
        TradingError.BAD_SIGNATURE: ccxt.AuthenticationError,
        TradingError.UNKNOWN_KEY: ccxt.AuthenticationError,
        TradingError.TIMESTAMP_EXPIRED: ccxt.InvalidNonce,
    }

    raised = {code: exact[OKX_CODES[code].code] for code in expected}

    assert raised == expected
