"""KYC (people) and KYB (institutions) applications: the applicant drafts, edits and
submits; a KYC admin of the group approves (with a second admin where the group's policy
asks for four eyes), rejects or asks for more information. Every move is audited and the
applicant is emailed at each decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django_countries import countries

from governance.kyc.errors import KycError
from governance.memberships.models import Membership
from governance.memberships.services import membership_grant_from_kyc
from governance.risk_groups.models import RiskGroup
from xip_portal.audit import audit_record
from xip_portal.errors import ApplicationError, Conflict, ErrorCode, NotFound, PermissionDenied
from xip_portal.mail import mail_after_commit
from xip_portal.models import (
    AuditEntry,
    Institution,
    InstitutionMembership,
    RoleAssignment,
    StaffRole,
    User,
)
from xip_portal.roles import staff_roles
from xip_portal.state_machine import status_transition

from .models import (
    INSTITUTION_DOCUMENT_KINDS,
    KYC_OPEN_STATUSES,
    KYC_TRANSITIONS,
    PERSON_DOCUMENT_KINDS,
    KycApplication,
    KycStatus,
)

# The oldest the review queue filters by age (beyond it, dates leave the calendar).
QUEUE_MAX_AGE_DAYS = 3650

PERSON_FIELDS = ("legal_name", "date_of_birth", "nationality", "country_of_residence", "address")
INSTITUTION_FIELDS = (
    "registration_number",
    "jurisdiction",
    "registered_address",
    "beneficial_owners",
)

COUNTRY_FIELDS = ("nationality", "country_of_residence", "jurisdiction")
TEXT_LIMITS = {"legal_name": 200, "registration_number": 80}


def _profile_fields(kind: str) -> tuple[str, ...]:
    return INSTITUTION_FIELDS if kind == KycApplication.Kind.INSTITUTION else PERSON_FIELDS


def _clean_owners(value: Any) -> tuple[list[dict[str, str]], list[str]]:
    if not isinstance(value, list):
        return [], ["A list of owners, each with a name, a country and a share in percent."]
    owners, errors = [], []
    for number, owner in enumerate(value, start=1):
        if not isinstance(owner, dict):
            errors.append(f"Owner {number}: give a name, a country and a share.")
            continue
        name = str(owner.get("name", "")).strip()
        country = str(owner.get("country", "")).strip().upper()
        share = str(owner.get("share_percent", "")).strip()
        if not name:
            errors.append(f"Owner {number}: the name is missing.")
        if country not in countries:
            errors.append(f"Owner {number}: {country!r} is not an ISO 3166 country code.")
        try:
            share_ok = 0 < Decimal(share) <= 100
        except InvalidOperation:
            share_ok = False
        if not share_ok:
            errors.append(f"Owner {number}: the share must be a percentage above 0, up to 100.")
        owners.append({"name": name, "country": country, "share_percent": share})
    return owners, errors


def _clean_profile(kind: str, profile: dict[str, Any]) -> dict[str, Any]:
    """Validates the fields given (any subset of the profile of that kind of applicant)."""
    allowed = _profile_fields(kind)
    unknown = sorted(set(profile) - set(allowed))
    errors: dict[str, list[str]] = {name: ["Not part of this application."] for name in unknown}
    cleaned: dict[str, Any] = {}
    for name, value in profile.items():
        if name in unknown:
            continue
        if name in COUNTRY_FIELDS:
            code = str(value or "").strip().upper()
            if code and code not in countries:
                errors[name] = [f"{value!r} is not an ISO 3166 country code."]
            cleaned[name] = code
        elif name == "date_of_birth":
            if value in (None, ""):
                cleaned[name] = None
            elif isinstance(value, dt.date):
                if value >= timezone.localdate() or value.year < 1900:
                    errors[name] = ["Give a real date of birth in the past."]
                cleaned[name] = value
            else:
                try:
                    cleaned[name] = dt.date.fromisoformat(str(value))
                except ValueError:
                    errors[name] = ["A date as YYYY-MM-DD."]
        elif name == "beneficial_owners":
            owners, owner_errors = _clean_owners(value)
            if owner_errors:
                errors[name] = owner_errors
            cleaned[name] = owners
        else:
            text = str(value or "").strip()
            if name in TEXT_LIMITS and len(text) > TEXT_LIMITS[name]:
                errors[name] = [f"At most {TEXT_LIMITS[name]} characters."]
            cleaned[name] = text
    if errors:
        raise ApplicationError(
            "The application has invalid fields: " + ", ".join(sorted(errors)) + ".",
            fields=errors,
        )
    return cleaned


def _profile_values(application: KycApplication) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _profile_fields(application.kind):
        value = getattr(application, name)
        if name in COUNTRY_FIELDS:
            value = str(value or "")
        elif name == "date_of_birth" and value is not None:
            value = value.isoformat()
        values[name] = value
    return values


def _audit_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def kyc_application_create(
    *,
    actor: User,
    risk_group: RiskGroup,
    kind: str,
    institution: Institution | None = None,
    profile: dict[str, Any] | None = None,
) -> KycApplication:
    """Starts a draft application of `actor` (kind person) or of an institution `actor`
    administers (kind institution) to a regulated group. One open application per
    applicant and group at a time."""
    if not risk_group.is_regulated:
        raise ApplicationError(
            f"{risk_group.name} is permissionless: join it by accepting its terms instead.",
            code=KycError.NOT_REGULATED,
        )
    if kind not in KycApplication.Kind.values:
        raise ApplicationError(
            f"Unknown kind {kind!r}: person or institution.", fields={"kind": ["Unknown kind."]}
        )
    if kind == KycApplication.Kind.INSTITUTION:
        if institution is None:
            raise ApplicationError(
                "Name the institution that applies.", fields={"institution": ["Required."]}
            )
        if not InstitutionMembership.objects.filter(
            institution=institution, user=actor, role=InstitutionMembership.Role.ADMIN
        ).exists():
            raise PermissionDenied(
                f"Only administrators of {institution.name} apply on its behalf.",
                code=KycError.NOT_INSTITUTION_ADMIN,
                fields={"institution": ["You are not one of its administrators."]},
            )
    else:
        institution = None
    cleaned = _clean_profile(kind, profile or {})
    open_applications = KycApplication.objects.filter(
        risk_group=risk_group, status__in=KYC_OPEN_STATUSES, kind=kind
    )
    holder = Q(institution=institution) if institution else Q(applicant=actor)
    if open_applications.filter(holder).exists():
        who = institution.name if institution else "You"
        raise Conflict(
            f"{who} already {'has' if institution else 'have'} an open or approved application "
            f"in {risk_group.name}.",
            code=KycError.APPLICATION_EXISTS,
        )
    try:
        with transaction.atomic():
            application = KycApplication.objects.create(
                risk_group=risk_group,
                kind=kind,
                applicant=actor,
                institution=institution,
                **cleaned,
            )
            audit_record(
                actor=actor,
                action="kyc.create",
                obj=application,
                new={
                    "risk_group": risk_group.slug,
                    "kind": kind,
                    "institution": institution.name if institution else None,
                    **_audit_values(cleaned),
                },
            )
    except IntegrityError:
        raise Conflict(
            f"There is already an open application in {risk_group.name}.",
            code=KycError.APPLICATION_EXISTS,
        ) from None
    return application


def _lock_own_application(*, actor: User, application: KycApplication) -> KycApplication:
    locked = (
        KycApplication.objects.select_for_update(of=("self",))
        .select_related("risk_group", "institution", "applicant")
        .filter(pk=application.pk, applicant=actor)
        .first()
    )
    if locked is None:
        raise NotFound("There is no such application.")
    return locked


def kyc_application_update(
    *, actor: User, application: KycApplication, profile: dict[str, Any]
) -> KycApplication:
    """Changes the profile of the applicant's own draft or needs-info application."""
    cleaned = _clean_profile(application.kind, profile)
    with transaction.atomic():
        locked = _lock_own_application(actor=actor, application=application)
        if not locked.can_edit():
            raise Conflict(
                f"The application is {locked.get_status_display().lower()}; it can be "
                "changed only as a draft or when more information is asked for.",
                code=ErrorCode.NOT_EDITABLE,
            )
        old = _profile_values(locked)
        if audit_record(
            actor=actor,
            action="kyc.update",
            obj=locked,
            old={name: old[name] for name in cleaned},
            new=_audit_values(cleaned),
        ):
            for name, value in cleaned.items():
                setattr(locked, name, value)
            locked.save()
    return locked


def kyc_application_missing(application: KycApplication) -> dict[str, list[str]]:
    """What the applicant still has to fill in or upload before submitting."""
    missing: dict[str, list[str]] = {}
    for name in _profile_fields(application.kind):
        if getattr(application, name) in (None, "", []):
            missing[name] = ["Required before submitting."]
    kinds = INSTITUTION_DOCUMENT_KINDS if application.is_institution else PERSON_DOCUMENT_KINDS
    uploaded = set(application.documents.values_list("kind", flat=True))
    for kind in kinds:
        if kind not in uploaded:
            missing.setdefault("documents", []).append(f"Upload the {kind.label.lower()}.")
    return missing


def _mail_decision(application: KycApplication, template: str) -> None:
    mail_after_commit(
        to=[application.applicant.email],
        template=f"email/{template}",
        context={
            "application": application,
            "risk_group": application.risk_group,
            "path": reverse("kyc_application", args=[application.pk]),
        },
    )


def kyc_application_submit(*, actor: User, application: KycApplication) -> KycApplication:
    """Submits the applicant's complete draft (or resubmits after a needs-info request).
    An applicant from a jurisdiction the group blocks is rejected at once, with that
    reason, and the case stays visible to the group's KYC admins."""
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_own_application(actor=actor, application=application)
        KYC_TRANSITIONS.check(locked.status, KycStatus.SUBMITTED)
        missing = kyc_application_missing(locked)
        if missing:
            raise ApplicationError(
                "The application is not complete: " + ", ".join(sorted(missing)) + ".",
                code=KycError.INCOMPLETE,
                fields=missing,
            )
        locked.submitted_at = now
        status_transition(
            locked, KycStatus.SUBMITTED, machine=KYC_TRANSITIONS, actor=actor, action="kyc.submit"
        )
        refusals = [
            refusal
            for code in locked.countries_of_record()
            if (refusal := locked.risk_group.jurisdiction_refusal(code))
        ]
        if refusals:
            locked.rejection_reason = refusals[0]
            locked.decided_at = now
            status_transition(
                locked,
                KycStatus.REJECTED,
                machine=KYC_TRANSITIONS,
                actor=None,
                action="kyc.auto_reject",
                reason=refusals[0],
                audit_new={"rejection_reason": refusals[0]},
            )
            _mail_decision(locked, "kyc_rejected")
    return locked


# Review by the group's KYC admins.


def _reviewer_group_ids(user: Any) -> QuerySet[Any] | None:
    """The ids of the groups where `user` is KYC admin; None for all groups."""
    if StaffRole.SITE_ADMIN in staff_roles(user):
        return None
    assignments = RoleAssignment.objects.filter(user=user, role=StaffRole.KYC_ADMIN)
    if assignments.filter(risk_group__isnull=True).exists():
        return None
    return assignments.values("risk_group_id")


def kyc_reviewer_scope(user: Any) -> Q:
    """The applications `user` may review: those of groups where they are KYC admin (all
    groups for an unscoped assignment or a site admin). Matches nothing for anyone else."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    group_ids = _reviewer_group_ids(user)
    return Q() if group_ids is None else Q(risk_group_id__in=group_ids)


def kyc_reviewer_groups(user: Any) -> QuerySet[RiskGroup]:
    """The regulated groups whose applicants `user` reviews."""
    groups = RiskGroup.objects.filter(kind=RiskGroup.Kind.KYC_REGULATED).order_by("name")
    if not getattr(user, "is_authenticated", False):
        return groups.none()
    group_ids = _reviewer_group_ids(user)
    return groups if group_ids is None else groups.filter(pk__in=group_ids)


def kyc_reviewer_group_get(*, user: Any, slug: str) -> RiskGroup:
    """One of the groups `user` reviews, by slug (the review queue's group filter, on the
    page and in the API); NotFound for any other group."""
    group = kyc_reviewer_groups(user).filter(slug=slug).first()
    if group is None:
        raise NotFound(f"You review no risk group {slug!r}.")
    return group


def kyc_application_for_review(*, user: Any, pk: int) -> KycApplication:
    """The application, if `user` is a KYC admin of its group; NotFound otherwise (so a
    case outside their groups does not even show that it exists). Drafts are not cases yet."""
    application = (
        KycApplication.objects.filter(kyc_reviewer_scope(user))
        .exclude(status=KycStatus.DRAFT)
        .select_related("risk_group", "applicant", "institution", "first_approved_by")
        .filter(pk=pk)
        .first()
    )
    if application is None:
        raise NotFound("There is no such application.")
    return application


def _lock_for_review(*, actor: User, application: KycApplication) -> KycApplication:
    """Locks the case for a decision, checks the reviewer, and opens the review if needed."""
    locked = (
        KycApplication.objects.select_for_update(of=("self",))
        .filter(kyc_reviewer_scope(actor))
        .exclude(status=KycStatus.DRAFT)
        .select_related("risk_group", "applicant", "institution")
        .filter(pk=application.pk)
        .first()
    )
    if locked is None:
        raise NotFound("There is no such application.")
    if locked.applicant_id == actor.pk or (
        locked.institution_id is not None
        and InstitutionMembership.objects.filter(
            institution_id=locked.institution_id, user=actor
        ).exists()
    ):
        raise PermissionDenied(
            "You cannot review your own application (or your institution's).",
            code=KycError.SELF_REVIEW,
        )
    if locked.status == KycStatus.SUBMITTED:
        status_transition(
            locked,
            KycStatus.IN_REVIEW,
            machine=KYC_TRANSITIONS,
            actor=actor,
            action="kyc.review_start",
        )
    elif locked.status != KycStatus.IN_REVIEW:
        raise Conflict(
            f"The application is {locked.get_status_display().lower()}: there is nothing "
            "to decide.",
            code=ErrorCode.ILLEGAL_TRANSITION,
        )
    return locked


def kyc_needs_four_eyes(application: KycApplication) -> bool:
    group = application.risk_group
    if application.is_institution and group.four_eyes_for_institutions:
        return True
    return group.is_high_risk(*application.countries_of_record())


def kyc_application_approve(
    *, actor: User, application: KycApplication, note: str = "", tier: str = ""
) -> KycApplication:
    """Approves the case and grants the membership, valid for the group's re-verification
    period. Where four eyes are needed the first approval is recorded and the case waits
    for a second, different KYC admin."""
    tier = tier or (
        Membership.Tier.INSTITUTIONAL if application.is_institution else Membership.Tier.STANDARD
    )
    if tier not in Membership.Tier.values:
        raise ApplicationError(f"Unknown tier {tier!r}.", fields={"tier": ["Unknown tier."]})
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_for_review(actor=actor, application=application)
        if kyc_needs_four_eyes(locked):
            if locked.first_approved_by_id is None:
                locked.first_approved_by = actor
                locked.save()
                audit_record(
                    actor=actor,
                    action="kyc.approve_first",
                    obj=locked,
                    new={"first_approved_by": actor.email},
                    reason=note,
                )
                return locked
            if locked.first_approved_by_id == actor.pk:
                raise Conflict(
                    "This approval needs a second, different KYC admin (four eyes).",
                    code=KycError.FOUR_EYES_SAME_REVIEWER,
                )
        locked.decided_at = now
        locked.decided_by = actor
        locked.approved_until = now + dt.timedelta(days=locked.risk_group.reverification_days)
        status_transition(
            locked,
            KycStatus.APPROVED,
            machine=KYC_TRANSITIONS,
            actor=actor,
            action="kyc.approve",
            reason=note,
            audit_new={"approved_until": locked.approved_until.isoformat(), "tier": tier},
        )
        membership_grant_from_kyc(
            actor=actor,
            risk_group=locked.risk_group,
            holder=locked.institution or locked.applicant,
            country=str(
                locked.jurisdiction if locked.is_institution else locked.country_of_residence
            ),
            application_id=locked.pk,
            tier=tier,
            now=now,
        )
        _mail_decision(locked, "kyc_approved")
    return locked


def kyc_application_expire(*, application_id: int) -> None:
    """Expires an approved application whose membership ran out (inside the caller's
    transaction); an application in any other status is left as it is."""
    application = KycApplication.objects.select_for_update().filter(pk=application_id).first()
    if application is None or application.status != KycStatus.APPROVED:
        return
    status_transition(
        application,
        KycStatus.EXPIRED,
        machine=KYC_TRANSITIONS,
        actor=None,
        action="kyc.expire",
        reason="re-verification period over",
    )


def _note_required(note: str, what: str) -> str:
    note = note.strip()
    if not note:
        raise ApplicationError(
            f"Write {what}: the applicant sees it.",
            code=KycError.NOTE_REQUIRED,
            fields={"note": [what]},
        )
    return note


def kyc_application_reject(
    *, actor: User, application: KycApplication, note: str, tier: str = ""
) -> KycApplication:
    """Rejects the case with a reason the applicant sees."""
    reason = _note_required(note, "the reason for the rejection")
    with transaction.atomic():
        locked = _lock_for_review(actor=actor, application=application)
        locked.rejection_reason = reason
        locked.decided_at = timezone.now()
        locked.decided_by = actor
        status_transition(
            locked,
            KycStatus.REJECTED,
            machine=KYC_TRANSITIONS,
            actor=actor,
            action="kyc.reject",
            reason=reason,
            audit_new={"rejection_reason": reason},
        )
        _mail_decision(locked, "kyc_rejected")
    return locked


def kyc_application_request_info(
    *, actor: User, application: KycApplication, note: str, tier: str = ""
) -> KycApplication:
    """Sends the case back to the applicant with a message saying what to change; a first
    approval given so far no longer counts."""
    message = _note_required(note, "what the applicant should add or change")
    with transaction.atomic():
        locked = _lock_for_review(actor=actor, application=application)
        locked.info_request = message
        locked.first_approved_by = None
        status_transition(
            locked,
            KycStatus.NEEDS_INFO,
            machine=KYC_TRANSITIONS,
            actor=actor,
            action="kyc.request_info",
            reason=message,
            audit_new={"info_request": message},
        )
        _mail_decision(locked, "kyc_needs_info")
    return locked


KYC_DECISIONS: dict[str, Callable[..., KycApplication]] = {
    "approve": kyc_application_approve,
    "reject": kyc_application_reject,
    "needs_info": kyc_application_request_info,
}


def kyc_application_decide(
    *, actor: User, application: KycApplication, decision: str, note: str = "", tier: str = ""
) -> KycApplication:
    """One of the reviewer's decisions: approve, reject or needs_info."""
    service = KYC_DECISIONS.get(decision)
    if service is None:
        raise ApplicationError(
            f"Unknown decision {decision!r}: approve, reject or needs_info.",
            fields={"decision": ["Unknown decision."]},
        )
    return service(actor=actor, application=application, note=note, tier=tier)


# Reads.

QUEUE_STATUSES = [s for s in KycStatus if s != KycStatus.DRAFT]


def kyc_review_queue(
    *,
    user: Any,
    status: str = "",
    kind: str = "",
    min_age_days: int | None = None,
    risk_group: str = "",
) -> QuerySet[KycApplication]:
    """The cases of the user's groups (or of the one of them whose slug is `risk_group`:
    NotFound for a group the user does not review), oldest first. Without a status filter:
    those waiting for a decision (submitted or in review)."""
    queue = (
        KycApplication.objects.filter(kyc_reviewer_scope(user))
        .exclude(status=KycStatus.DRAFT)
        .select_related("risk_group", "applicant", "institution", "first_approved_by")
        .annotate(document_count=Count("documents"))
        .order_by("submitted_at", "created_at", "pk")
    )
    if status:
        queue = queue.filter(status=status)
    else:
        queue = queue.filter(status__in=[KycStatus.SUBMITTED, KycStatus.IN_REVIEW])
    if kind:
        queue = queue.filter(kind=kind)
    if risk_group:
        queue = queue.filter(risk_group=kyc_reviewer_group_get(user=user, slug=risk_group))
    if min_age_days:
        queue = queue.filter(submitted_at__lte=timezone.now() - dt.timedelta(days=min_age_days))
    return queue


def kyc_application_history(application: KycApplication) -> QuerySet[AuditEntry]:
    """Every audited event of the case, oldest first."""
    return (
        AuditEntry.objects.filter(
            object_type=KycApplication._meta.label_lower, object_id=str(application.pk)
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )


def kyc_applications_of(*, user: User) -> QuerySet[KycApplication]:
    return (
        KycApplication.objects.filter(applicant=user)
        .select_related("risk_group", "institution")
        .order_by("-created_at")
    )


def kyc_application_own(*, user: Any, pk: int) -> KycApplication:
    """The applicant's own application; NotFound for anyone else."""
    application = (
        KycApplication.objects.filter(pk=pk, applicant_id=getattr(user, "pk", None))
        .select_related("risk_group", "institution")
        .first()
    )
    if application is None:
        raise NotFound("There is no such application.")
    return application
