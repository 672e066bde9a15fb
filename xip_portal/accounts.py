"""How allauth treats the portal's accounts (ACCOUNT_ADAPTER)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth is untyped here
    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """The failed-login limit counts per source and account together: wrong passwords
        from one address slow that address down on that account, while a stranger elsewhere
        cannot lock the owner out. (ACCOUNT_RATE_LIMITS["login_failed"] also caps each
        source across all accounts.)"""
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{self.get_client_ip(request)}:{account}"
