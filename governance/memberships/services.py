"""Memberships: who may trade or propose in which risk group.

`membership_require` is the one question later features ask ("may this user trade /
propose here?"); it answers with the membership or with an error naming the missing step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django_countries import countries

from engine.services import account_orders_cancel
from governance.memberships.errors import MembershipError
from governance.risk_groups.models import RiskGroup
from governance.risk_groups.services import risk_group_is_operator
from xip_portal.audit import audit_record
from xip_portal.compiled_queries import CompiledQuery
from xip_portal.errors import ApplicationError, ErrorCode, PermissionDenied
from xip_portal.mail import mail_after_commit
from xip_portal.models import Institution, InstitutionMembership, StaffRole, User
from xip_portal.roles import has_role

from .models import MEMBERSHIP_TRANSITIONS, Membership, MembershipStatus
from .signals import membership_expired

MembershipAction = Literal["trade", "propose"]
MEMBERSHIP_ACTIONS: tuple[str, ...] = ("trade", "propose")


class MembershipRequired(PermissionDenied):
    """The user may not act in the group yet. `code` names the missing step:
    kyc_required, membership_expired, membership_revoked, terms_not_accepted,
    jurisdiction_blocked, not_institution_member or not_authenticated."""

    code: str = MembershipError.MEMBERSHIP_REQUIRED

    def __init__(self, message: str, *, code: str, risk_group: RiskGroup) -> None:
        super().__init__(message, code=code)
        self.step = code
        self.risk_group = risk_group


def _holder_refusal(
    membership: Membership | None, *, risk_group: RiskGroup, needs: str, possessive: str
) -> MembershipRequired | None:
    """Why this membership does not let its holder act, or None. `needs` and `possessive`
    word the message for the holder ("you need ..."/"Your" or the institution's)."""
    group = risk_group.name
    if membership is None:
        if risk_group.is_regulated:
            return MembershipRequired(
                f"{group} is KYC-regulated: {needs} approved there. Apply first.",
                code=MembershipError.KYC_REQUIRED,
                risk_group=risk_group,
            )
        return MembershipRequired(
            f"Join {group} first by accepting its terms.",
            code=MembershipError.TERMS_NOT_ACCEPTED,
            risk_group=risk_group,
        )
    if membership.status == MembershipStatus.REVOKED:
        return MembershipRequired(
            f"{possessive} membership of {group} is revoked.",
            code=MembershipError.MEMBERSHIP_REVOKED,
            risk_group=risk_group,
        )
    if not membership.is_current():
        step = "re-verify (apply for KYC again)" if risk_group.is_regulated else "join again"
        return MembershipRequired(
            f"{possessive} membership of {group} has expired: {step} to continue.",
            code=MembershipError.MEMBERSHIP_EXPIRED,
            risk_group=risk_group,
        )
    refusal = risk_group.jurisdiction_refusal(str(membership.country)) if membership.country else ""
    if refusal:
        return MembershipRequired(
            refusal, code=MembershipError.JURISDICTION_BLOCKED, risk_group=risk_group
        )
    return None


# read on every market page view (xip_portal.compiled_queries)
_MEMBERSHIP = CompiledQuery(
    lambda user, risk_group: Membership.objects.filter(user=user, risk_group=risk_group)[:1],
    user=int,
    risk_group=int,
)


def membership_require(
    *,
    user: Any,
    risk_group: RiskGroup,
    action: MembershipAction | str,
    institution: Institution | None = None,
) -> Membership:
    """The membership that lets `user` (or, to propose for it, `institution`) act in
    `risk_group`. Raises MembershipRequired naming the missing step otherwise.

    Proposing for an institution in a regulated group needs the institution's own approved
    (KYB) membership and the user's membership of that institution. Reads only.
    """
    if action not in MEMBERSHIP_ACTIONS:
        raise ApplicationError(f"Unknown action {action!r}: use trade or propose.")
    if not isinstance(user, User) or not user.is_authenticated:
        raise MembershipRequired(
            "Log in first.", code=ErrorCode.NOT_AUTHENTICATED, risk_group=risk_group
        )
    if action == "propose" and institution is not None:
        if not InstitutionMembership.objects.filter(institution=institution, user=user).exists():
            raise MembershipRequired(
                f"You are not a member of {institution.name}.",
                code=ErrorCode.NOT_INSTITUTION_MEMBER,
                risk_group=risk_group,
            )
    if action == "propose" and institution is not None and risk_group.is_regulated:
        held = Membership.objects.filter(institution=institution, risk_group=risk_group).first()
        refusal = _holder_refusal(
            held,
            risk_group=risk_group,
            needs=f"{institution.name} needs its KYB application",
            possessive=f"{institution.name}'s",
        )
        if refusal is not None:
            raise refusal
        assert held is not None  # noqa: S101 - no refusal means there is a membership
        return held
    membership = next(iter(_MEMBERSHIP.objects(user=user.pk, risk_group=risk_group.pk)), None)
    refusal = _holder_refusal(
        membership, risk_group=risk_group, needs="you need a KYC application", possessive="Your"
    )
    if refusal is not None:
        raise refusal
    assert membership is not None  # noqa: S101
    return membership


def membership_allows(
    *,
    user: Any,
    risk_group: RiskGroup,
    action: MembershipAction | str,
    institution: Institution | None = None,
) -> bool:
    """Whether membership_require would let the user act (for templates and listings)."""
    try:
        membership_require(user=user, risk_group=risk_group, action=action, institution=institution)
    except MembershipRequired:
        return False
    return True


def memberships_of(*, user: User) -> QuerySet[Membership]:
    """The user's own memberships and those of their institutions."""
    institution_ids = InstitutionMembership.objects.filter(user=user).values("institution_id")
    return Membership.objects.filter(Q(user=user) | Q(institution_id__in=institution_ids)).order_by(
        "risk_group__name", "created_at"
    )


def membership_join(
    *, user: User, risk_group: RiskGroup, country_of_residence: str, accept_terms: bool
) -> Membership:
    """Joins a permissionless group: the user accepts its terms and declares a country of
    residence outside its blocked list. Joining again renews a lapsed membership; joining
    while already a member changes nothing."""
    if risk_group.is_regulated:
        raise ApplicationError(
            f"{risk_group.name} is KYC-regulated: apply for KYC instead of joining.",
            code=MembershipError.KYC_REQUIRED,
        )
    if not accept_terms:
        message = f"Accept the terms of {risk_group.name} to join."
        raise ApplicationError(
            message, code=MembershipError.TERMS_NOT_ACCEPTED, fields={"accept_terms": [message]}
        )
    country = country_of_residence.strip().upper()
    if country not in countries:
        raise ApplicationError(
            f"{country_of_residence!r} is not an ISO 3166 country code.",
            code=MembershipError.INVALID_COUNTRY,
            fields={"country_of_residence": ["Not a country code."]},
        )
    refusal = risk_group.jurisdiction_refusal(country)
    if refusal:
        raise PermissionDenied(
            refusal,
            code=MembershipError.JURISDICTION_BLOCKED,
            fields={"country_of_residence": [refusal]},
        )
    now = timezone.now()
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update().filter(user=user, risk_group=risk_group).first()
        )
        if membership is None:
            membership = Membership.objects.create(
                user=user,
                risk_group=risk_group,
                source=Membership.Source.TERMS,
                country=country,
                terms_accepted_at=now,
            )
            audit_record(
                actor=user,
                action="membership.join",
                obj=membership,
                new={"risk_group": risk_group.slug, "country": country, "source": "terms"},
            )
            return membership
        old = {"status": membership.status, "country": str(membership.country)}
        if membership.status != MembershipStatus.ACTIVE:
            MEMBERSHIP_TRANSITIONS.check(membership.status, MembershipStatus.ACTIVE)
        membership.status = MembershipStatus.ACTIVE
        membership.country = country
        if audit_record(
            actor=user,
            action="membership.join",
            obj=membership,
            old=old,
            new={"status": membership.status, "country": country},
        ):
            membership.terms_accepted_at = now
            membership.save()
    return membership


def membership_grant_from_kyc(
    *,
    actor: User,
    risk_group: RiskGroup,
    holder: User | Institution,
    country: str,
    application_id: int,
    tier: str,
    now: datetime,
) -> Membership:
    """Creates or renews the membership that the approval of KYC application
    `application_id` gives `holder` (a person or an institution) in `risk_group`, inside
    the caller's transaction: valid for the group's re-verification period. Called by the
    KYC review when it approves."""
    holder_field: dict[str, Any] = (
        {"institution": holder} if isinstance(holder, Institution) else {"user": holder}
    )
    valid_until = now + timedelta(days=risk_group.reverification_days)
    membership = (
        Membership.objects.select_for_update().filter(risk_group=risk_group, **holder_field).first()
    )
    values = {
        "status": MembershipStatus.ACTIVE,
        "tier": tier,
        "valid_until": valid_until,
        "country": str(country),
        "source": Membership.Source.KYC,
    }
    if membership is None:
        membership = Membership.objects.create(
            risk_group=risk_group, application_id=application_id, **holder_field
        )
        old: dict[str, Any] = {}
    else:
        if membership.status != MembershipStatus.ACTIVE:
            MEMBERSHIP_TRANSITIONS.check(membership.status, MembershipStatus.ACTIVE)
        old = {name: getattr(membership, name) for name in values}
        old["country"] = str(old["country"])
    for name, value in values.items():
        setattr(membership, name, value)
    membership.application_id = application_id
    membership.save()
    audit_record(
        actor=actor,
        action="membership.grant",
        obj=membership,
        old=old,
        new=values,
        reason=f"KYC application #{application_id} approved",
    )
    return membership


def _membership_end(
    membership: Membership, status: str, *, actor: User | None, reason: str, key: str
) -> None:
    """Moves a locked, active membership to expired or revoked (audited as
    membership.expire / membership.revoke). A person who may no longer trade leaves no order
    on the books: their open orders in the group's engine are cancelled, once per `key`."""
    MEMBERSHIP_TRANSITIONS.check(membership.status, status)
    membership.status = status
    membership.save(update_fields=["status", "updated_at"])
    if membership.user_id is not None:
        account_orders_cancel(
            risk_group=membership.risk_group_id, account=membership.user_id, key=key
        )
    audit_record(
        actor=actor,
        action="membership.expire" if status == MembershipStatus.EXPIRED else "membership.revoke",
        obj=membership,
        old={"status": MembershipStatus.ACTIVE},
        new={"status": status},
        reason=reason,
    )


def memberships_expire_due(*, now: datetime | None = None) -> int:
    """Marks every KYC membership past its validity expired (and sends membership_expired,
    so its approved application expires too); emails the member to re-verify. Returns how
    many expired. Safe to run concurrently: rows are locked and re-checked."""
    now = now or timezone.now()
    due_ids = list(
        Membership.objects.filter(
            status=MembershipStatus.ACTIVE, source=Membership.Source.KYC, valid_until__lte=now
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    expired = 0
    for pk in due_ids:
        with transaction.atomic():
            membership = (
                Membership.objects.select_for_update(of=("self",))
                .select_related("risk_group", "user", "application__applicant")
                .filter(pk=pk, status=MembershipStatus.ACTIVE, valid_until__lte=now)
                .first()
            )
            if membership is None:
                continue
            _membership_end(
                membership,
                MembershipStatus.EXPIRED,
                actor=None,
                reason="re-verification period over",
                key=f"membership-expired:{membership.pk}:{membership.valid_until:%Y%m%d%H%M%S}",
            )
            membership_expired.send(sender=Membership, membership=membership, now=now)
            application = membership.application
            recipient = membership.user or (application.applicant if application else None)
            if recipient is not None:
                mail_after_commit(
                    to=[recipient.email],
                    template="email/kyc_expired",
                    context={
                        "membership": membership,
                        "risk_group": membership.risk_group,
                        "path": reverse("riskgroup_detail", args=[membership.risk_group.slug]),
                    },
                )
            expired += 1
    return expired


def _check_revoker(actor: User, group: RiskGroup) -> None:
    if not (risk_group_is_operator(actor, group) or has_role(actor, StaffRole.KYC_ADMIN, group)):
        raise PermissionDenied(
            f"Only the operator or a KYC admin of {group.name} revokes its memberships."
        )


def memberships_of_group(*, actor: User, risk_group: RiskGroup) -> QuerySet[Membership]:
    """The group's active memberships, for its operator or KYC admins (who may revoke
    them), oldest first."""
    _check_revoker(actor, risk_group)
    return (
        Membership.objects.filter(risk_group=risk_group, status=MembershipStatus.ACTIVE)
        .select_related("user", "institution")
        .order_by("created_at", "pk")
    )


def membership_revoke(*, actor: User, membership: Membership, reason: str) -> Membership:
    """The group's operator (or a site admin) or one of its KYC admins revokes an active
    membership, saying why. The holder may no longer trade or propose there, and a person's
    open orders in the group's engine are cancelled (in the same transaction). Audited."""
    reason = reason.strip()
    if not reason:
        raise ApplicationError(
            "Say why the membership is revoked.", fields={"reason": ["Required."]}
        )
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("risk_group")
            .get(pk=membership.pk)
        )
        _check_revoker(actor, membership.risk_group)
        _membership_end(
            membership,
            MembershipStatus.REVOKED,
            actor=actor,
            reason=reason,
            key=f"membership-revoked:{membership.pk}:{timezone.now():%Y%m%d%H%M%S%f}",
        )
    return membership
