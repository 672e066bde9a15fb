"""A session reads back what was stored in it until it expires; then, as with Django's
database sessions, it is empty and a new one starts on the next save."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from xip_portal.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_session_reads_back_what_it_holds_until_it_expires() -> None:
    # given a session holding a value
    stored = SessionStore()
    stored["seen"] = "the portfolio"
    stored.save()
    key = stored.session_key
    # when it is read again, then it holds the value
    assert SessionStore(key)["seen"] == "the portfolio"
    # and once it has expired, it reads as empty, and saving it starts another session
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(key)
    assert expired.get("seen") is None and expired.session_key is None
    expired["seen"] = "the market"
    expired.save()
    assert expired.session_key not in (None, key)


def test_a_missing_session_reads_as_empty() -> None:
    missing = SessionStore("x" * 32)
    assert dict(missing.items()) == {} and missing.session_key is None
