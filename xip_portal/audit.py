"""The audit service: every state change that matters writes one append-only entry."""

from __future__ import annotations

from typing import Any

from django.db import models

from .models import AuditEntry, User
from .request_log import current_request_id


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
        old_values=old_values,
        new_values=new_values,
        reason=reason,
        request_id=current_request_id.get(),
    )
