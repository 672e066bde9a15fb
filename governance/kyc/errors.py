"""The refusal codes of KYC (shared ones are in xip_portal.errors.ErrorCode)."""

from enum import StrEnum


class KycError(StrEnum):
    NOT_REGULATED = "not_regulated"
    NOT_INSTITUTION_ADMIN = "not_institution_admin"
    APPLICATION_EXISTS = "application_exists"
    INCOMPLETE = "incomplete"
    SELF_REVIEW = "self_review"
    FOUR_EYES_SAME_REVIEWER = "four_eyes_same_reviewer"
    NOTE_REQUIRED = "note_required"
    # Documents
    UNKNOWN_DOCUMENT_KIND = "unknown_document_kind"
    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    UNSUPPORTED_FILE_TYPE = "unsupported_file_type"
