"""The audit service: every state change that matters writes one append-only entry."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q, QuerySet

from .models import AuditEntry, StaffRole, User
from .request_log import current_request_id

# Whose work each staff role reviews on the dashboard (objects by model label; a role sees
# these only in the risk groups it is assigned to, or everywhere when unscoped).
STAFF_ROLE_AUDIT_OBJECTS: dict[StaffRole, tuple[str, ...]] = {
    StaffRole.KYC_ADMIN: ("governance.kycapplication", "governance.membership"),
    StaffRole.XIP_EDITOR: ("governance.proposal",),
    StaffRole.RISK_GROUP_OPERATOR: (
        "governance.riskgroup",
        "governance.proposal",
        "markets.market",
    ),
}


def audit_changes(
    old: dict[str, Any], new: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields whose values differ, as (old values, new values)."""
    changed = [name for name in new if old.get(name) != new[name]]
    return {name: old.get(name) for name in changed}, {name: new[name] for name in changed}


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry | None:
    """Appends an audit entry for `action` on `obj`, inside the caller's transaction.

    When both old and new values are given, only the fields that changed are kept, and a
    change that changes nothing writes nothing (returns None).
    """
    old_values, new_values = old or {}, new or {}
    if old is not None and new is not None:
        old_values, new_values = audit_changes(old, new)
        if not new_values:
            return None
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        risk_group_id=_risk_group_id(obj),
        old_values=old_values,
        new_values=new_values,
        reason=reason,
        request_id=current_request_id.get(),
    )


def _risk_group_id(obj: models.Model) -> int | None:
    """The risk group an audited object belongs to (a risk group belongs to itself)."""
    if obj._meta.label_lower == "governance.riskgroup":
        return int(obj.pk)
    group_id = getattr(obj, "risk_group_id", None)
    return int(group_id) if group_id is not None else None


def audit_entries_for_staff(*, user: User, roles: set[StaffRole]) -> QuerySet[AuditEntry]:
    """The audit entries `user` may read on the staff dashboard: everything for site
    admins; otherwise, per role assignment, that role's objects in the assignment's risk
    group (every group when unscoped). Nobody else's groups, nobody else's concerns."""
    entries = AuditEntry.objects.select_related("actor")
    if StaffRole.SITE_ADMIN in roles:
        return entries
    visible = Q(pk__in=[])
    for assignment in user.role_assignments.all():
        scope = Q(object_type__in=STAFF_ROLE_AUDIT_OBJECTS.get(StaffRole(assignment.role), ()))
        if assignment.risk_group_id is not None:
            scope &= Q(risk_group_id=assignment.risk_group_id)
        visible |= scope
    return entries.filter(visible)
