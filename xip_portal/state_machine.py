"""Status machines: each model declares its allowed moves once, as a StateMachine, and every
service checks a move through it. Who may make a move, and when, is the service's business."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from django.db import models

from .errors import Conflict


class TransitionError(Conflict):
    code = "illegal_transition"


class StateMachine(Mapping[str, frozenset[str]]):
    """The table of allowed moves: status -> the statuses it may move to. Every status of
    `statuses` must have a row (an empty one for a final status)."""

    def __init__(
        self, subject: str, statuses: type[models.TextChoices], moves: Mapping[str, Iterable[str]]
    ) -> None:
        missing = set(statuses.values) - set(moves)
        if missing:
            raise ValueError(f"No row for {sorted(missing)} in the {subject} state machine.")
        self.subject = subject
        self.statuses = statuses
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
