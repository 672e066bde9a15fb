"""Writes for the portal's own objects: institutions, their members, staff roles and API
tokens. Each service validates, writes in one transaction and audits."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Model, Q
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from .audit import audit_record
from .errors import ApplicationError, Conflict, ErrorCode, PermissionDenied
from .models import Institution, InstitutionMembership, RoleAssignment, StaffRole, User
from .roles import staff_roles_forget


def institution_create(*, actor: User, name: str, website: str = "") -> Institution:
    """Creates an institution with `actor` as its first administrator."""
    name = name.strip()
    if not name:
        raise ApplicationError("Give the institution a name.", field="name")
    slug = slugify(name)[:80]
    if not slug:
        raise ApplicationError("The name needs at least one letter or digit.", field="name")
    if Institution.objects.filter(Q(slug=slug) | Q(name__iexact=name)).exists():
        raise Conflict(
            f"An institution named {name!r} already exists.",
            code=ErrorCode.INSTITUTION_EXISTS,
            field="name",
        )
    with transaction.atomic():
        institution = Institution.objects.create(name=name, slug=slug, website=website)
        InstitutionMembership.objects.create(
            institution=institution, user=actor, role=InstitutionMembership.Role.ADMIN
        )
        audit_record(
            actor=actor,
            action="institution.create",
            obj=institution,
            new={"name": name, "website": website, "admin": actor.email},
        )
    return institution


def institution_member_add(
    *,
    actor: User,
    institution: Institution,
    email: str,
    role: str = InstitutionMembership.Role.MEMBER,
) -> InstitutionMembership:
    """Adds a registered user to an institution. Only its administrators may."""
    if not InstitutionMembership.objects.filter(
        institution=institution, user=actor, role=InstitutionMembership.Role.ADMIN
    ).exists():
        raise PermissionDenied("Only the institution's administrators can add members.")
    if role not in InstitutionMembership.Role.values:
        raise ApplicationError(f"Unknown role {role!r}.", field="role")
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise ApplicationError(
            f"No account has the address {email!r}; ask them to sign up first.",
            code=ErrorCode.USER_NOT_FOUND,
            field="email",
        )
    try:
        with transaction.atomic():
            membership = InstitutionMembership.objects.create(
                institution=institution, user=user, role=role
            )
            audit_record(
                actor=actor,
                action="institution.member_add",
                obj=institution,
                new={"member": user.email, "role": role},
            )
    except IntegrityError:
        raise Conflict(
            f"{user.email} is already a member of {institution.name}.",
            code=ErrorCode.ALREADY_MEMBER,
            field="email",
        ) from None
    return membership


def role_grant(
    *,
    actor: User | None,
    user: User,
    role: StaffRole,
    risk_group: Model | None = None,
    reason: str,
) -> RoleAssignment:
    """Gives `user` a staff role, in one risk group (a governance RiskGroup) or (None) in
    all. Idempotent."""
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user,
            role=role,
            risk_group_id=risk_group.pk if risk_group else None,
            defaults={"granted_by": actor},
        )
        staff_roles_forget(user)
        if created:
            audit_record(
                actor=actor,
                action="role.grant",
                obj=user,
                new={"role": role, "risk_group": str(risk_group) if risk_group else None},
                reason=reason,
            )
    return assignment


def role_revoke(*, actor: User | None, assignment: RoleAssignment, reason: str) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="role.revoke",
            obj=assignment.user,
            old={"role": assignment.role, "risk_group": str(assignment.risk_group or "") or None},
            reason=reason,
        )
        assignment.delete()
    staff_roles_forget(assignment.user)


def api_token_rotate(*, user: User) -> Token:
    """Replaces the user's API token with a new one (the old one stops working at once)."""
    with transaction.atomic():
        had_token = Token.objects.filter(user=user).delete()[0] > 0
        token = Token.objects.create(user=user)
        audit_record(
            actor=user, action="api_token.rotate" if had_token else "api_token.create", obj=user
        )
    return token


def api_token_revoke(*, user: User) -> None:
    with transaction.atomic():
        if Token.objects.filter(user=user).delete()[0]:
            audit_record(actor=user, action="api_token.revoke", obj=user)
