"""The refusal codes of the trading room (shared ones are in xip_portal.errors.ErrorCode).
The OKX v5-compatible API turns them into OKX's codes in trading.okx.codes."""

from enum import StrEnum


class TradingError(StrEnum):
    # API keys: managing them
    BAD_IP_ALLOWLIST = "bad_ip_allowlist"
    BAD_PASSPHRASE = "bad_passphrase"  # noqa: S105 (an error code, not a password)
    KEY_REVOKED = "key_revoked"
    TOO_MANY_KEYS = "too_many_keys"
    # API keys: signed requests
    MISSING_CREDENTIALS = "missing_credentials"
    BAD_TIMESTAMP = "bad_timestamp"
    TIMESTAMP_EXPIRED = "timestamp_expired"
    UNKNOWN_KEY = "unknown_key"
    BAD_KEY_PASSPHRASE = "bad_key_passphrase"  # noqa: S105 (an error code)
    BAD_SIGNATURE = "bad_signature"
    BAD_SECRET = "bad_secret"  # noqa: S105 (an error code)
    IP_NOT_ALLOWED = "ip_not_allowed"
    SCOPE_MISSING = "scope_missing"
    RATE_LIMITED = "rate_limited"
    # orders
    TOO_MANY_ORDERS = "too_many_orders"
    MISSING_PARAMETER = "missing_parameter"
    BAD_CLIENT_ORDER_ID = "bad_client_order_id"
    # writes of /api/v1
    BAD_IDEMPOTENCY_KEY = "bad_idempotency_key"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
