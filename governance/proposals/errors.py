"""The refusal codes of XIPs (shared ones are in xip_portal.errors.ErrorCode)."""

from enum import StrEnum


class ProposalError(StrEnum):
    NUMBER_BUSY = "number_busy"
    INSTITUTION_REQUIRED = "institution_required"
    NOT_AN_OBJECTION = "not_an_objection"
    ALREADY_UPHELD = "already_upheld"
    ALREADY_APPROVED = "already_approved"
    INVALID_CHOICE = "invalid_choice"
    NOT_IN_LAST_CALL = "not_in_last_call"
    LAST_CALL_OVER = "last_call_over"
    NOT_A_MEMBER = "not_a_member"
    BOND_NOT_COVERED = "bond_not_covered"
