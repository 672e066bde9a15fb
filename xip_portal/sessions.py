"""Sessions in the database, as Django's db backend keeps them (SESSION_ENGINE), each read
through a compiled query: building it through the ORM cost about twice as much as the rest
of reading a session, on every page view."""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from .compiled_queries import CompiledQuery

_SESSION = CompiledQuery(lambda key: Session.objects.filter(session_key=key), key=str)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        """As Django's: the session unless it is missing or expired (then it has no key)."""
        session = next(iter(_SESSION.objects(key=self.session_key)), None)
        if session is None or session.expire_date <= timezone.now():
            self._session_key = None
            return None
        return session
