"""Status machines: each model declares its allowed moves once, as a StateMachine, and every
service makes a move through `status_transition`. Who may make a move, and when, is the
service's business."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

from .audit import audit_record
from .errors import Conflict, ErrorCode
from .models import User


class TransitionError(Conflict):
    code: str = ErrorCode.ILLEGAL_TRANSITION


class StateMachine(Mapping[str, frozenset[str]]):
    """The table of allowed moves: status -> the statuses it may move to. Every status of
    `statuses` must have a row (an empty one for a final status). `history` names the
    model's related manager of StatusChange rows that status_transition writes to."""

    def __init__(
        self,
        subject: str,
        statuses: type[models.TextChoices],
        moves: Mapping[str, Iterable[str]],
        *,
        history: str | None = None,
    ) -> None:
        missing = set(statuses.values) - set(moves)
        if missing:
            raise ValueError(f"No row for {sorted(missing)} in the {subject} state machine.")
        self.subject = subject
        self.statuses = statuses
        self.history = history
        self._moves = {
            statuses(status): frozenset(statuses(target) for target in targets)
            for status, targets in moves.items()
        }

    def __getitem__(self, status: str) -> frozenset[str]:
        return self._moves[self.statuses(status)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._moves)

    def __len__(self) -> int:
        return len(self._moves)

    def allows(self, current: str, target: str) -> bool:
        return target in self._moves.get(current, frozenset())  # type: ignore[call-overload]

    def check(self, current: str, target: str, *, subject: str | None = None) -> None:
        """Raises TransitionError naming both states unless `current` may move to `target`."""
        if not self.allows(current, target):
            raise TransitionError(
                f"{subject or self.subject} cannot go from {self.statuses(current).label} to "
                f"{self.statuses(target).label}.",
                fields={"status": [f"{current} -> {target} is not allowed."]},
            )


def status_transition(
    obj: Any,
    target: str,
    *,
    machine: StateMachine,
    actor: User | None,
    action: str,
    reason: str = "",
    now: datetime | None = None,
    subject: str | None = None,
    changes: Mapping[str, Any] | None = None,
    audit_new: Mapping[str, Any] | None = None,
) -> Any:
    """Moves `obj` (a model instance with a `status`, locked by the caller, inside the
    caller's transaction) to `target`: checks the move against `machine` (TransitionError
    naming both states, `subject` or the machine's own in the message), sets the status and
    `changes` (other fields that move with it), saves, writes the history row (the
    machine's `history` relation) and the audit entry `action` with `audit_new` besides
    the status. Returns the history row."""
    if machine.history is None:
        raise ValueError(f"The {machine.subject} state machine names no history relation.")
    machine.check(obj.status, target, subject=subject)
    from_status = obj.status
    obj.status = target
    for name, value in (changes or {}).items():
        setattr(obj, name, value)
    obj.save()
    step = getattr(obj, machine.history).create(
        from_status=from_status,
        to_status=target,
        actor=actor,
        reason=reason,
        created_at=now or timezone.now(),
    )
    audit_record(
        actor=actor,
        action=action,
        obj=obj,
        old={"status": from_status},
        new={"status": target, **(audit_new or {})},
        reason=reason,
    )
    return step
