"""The refusal codes of memberships (shared ones are in xip_portal.errors.ErrorCode)."""

from enum import StrEnum


class MembershipError(StrEnum):
    MEMBERSHIP_REQUIRED = "membership_required"
    # The missing step a MembershipRequired names (besides not_authenticated and
    # not_institution_member).
    KYC_REQUIRED = "kyc_required"
    TERMS_NOT_ACCEPTED = "terms_not_accepted"
    MEMBERSHIP_REVOKED = "membership_revoked"
    MEMBERSHIP_EXPIRED = "membership_expired"
    JURISDICTION_BLOCKED = "jurisdiction_blocked"
    INVALID_COUNTRY = "invalid_country"
