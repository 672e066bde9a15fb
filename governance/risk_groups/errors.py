"""The refusal codes of risk groups (shared ones are in xip_portal.errors.ErrorCode)."""

from enum import StrEnum


class RiskGroupError(StrEnum):
    RISK_GROUP_EXISTS = "risk_group_exists"
