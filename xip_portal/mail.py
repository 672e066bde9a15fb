"""Notification emails. Rendered when the change is made, sent once it is committed, so a
rolled-back change never emails anyone. Templates: `<template>_subject.txt` and `<template>.txt`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

_discarded: ContextVar[bool] = ContextVar("mails_discarded", default=False)


@contextmanager
def mails_discarded() -> Iterator[None]:
    """Within it, this thread's notification emails are not sent (a simulation playing
    XIPs through beside the demo's server, whose pages mail on)."""
    token = _discarded.set(True)
    try:
        yield
    finally:
        _discarded.reset(token)


def mail_after_commit(*, to: list[str], template: str, context: dict[str, Any]) -> None:
    recipients = sorted({address for address in to if address})
    if not recipients or _discarded.get():
        return
    # Links in emails must be absolute: templates write {{ portal_url }}{{ path }}.
    context = {"portal_url": settings.PORTAL_URL, **context}
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    body = render_to_string(f"{template}.txt", context)
    transaction.on_commit(
        lambda: send_mail(
            settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
            body,
            settings.DEFAULT_FROM_EMAIL,
            recipients,
            fail_silently=False,
        )
    )
