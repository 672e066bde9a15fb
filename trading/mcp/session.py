"""Who an agent is: the API key, secret and passphrase it was started with, checked as every
signed request is (trading.services: key active and not revoked, address allowed, passphrase
and secret the key's own), at start and again before every tool call, so a revoked key stops
working at once. The key's scopes decide what it may call.

The SDK runs tools on an event loop; Django's ORM is synchronous, so every call runs in the
one thread asgiref keeps for synchronous code (`sync_to_async(thread_sensitive=True)`), with
the connection handling a request gets. A refusal becomes a tool error naming the project's
code; anything else is the SDK's generic tool error, never a stack trace."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from mcp.server.mcpserver.exceptions import ToolError

from xip_portal.errors import ApplicationError, NotAuthenticated
from xip_portal.models import User

from ..errors import TradingError
from ..models import ApiKey
from ..services import (
    api_key_authenticate,
    api_key_mark_used,
    api_key_scope_require,
    api_key_secret_require,
)

T = TypeVar("T")
# the server talks to its agent over stdio: the caller is on this machine
LOCAL_ADDRESS = "127.0.0.1"
ENVIRONMENT = ("EXCHANGE_OS_API_KEY", "EXCHANGE_OS_API_SECRET", "EXCHANGE_OS_API_PASSPHRASE")


def refusal_text(refusal: ApplicationError) -> str:
    """`<code>: <message>`, and the fields the message is about."""
    text = f"{refusal.code}: {refusal.message}"
    named = [name for name in refusal.fields if name]
    return text + (f" (field: {', '.join(named)})" if named else "")


@dataclass(frozen=True)
class AgentKey:
    key: str
    secret: str
    passphrase: str

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> AgentKey:
        """The credentials in EXCHANGE_OS_API_KEY, _SECRET and _PASSPHRASE; refused with
        missing_credentials naming the first one that is not set."""
        environ = dict(os.environ) if environ is None else environ
        values = [environ.get(name, "") for name in ENVIRONMENT]
        for name, value in zip(ENVIRONMENT, values, strict=True):
            if not value:
                raise NotAuthenticated(
                    f"Set {name} (an API key of yours, its secret and its passphrase).",
                    code=TradingError.MISSING_CREDENTIALS,
                )
        return cls(*values)

    def authenticate(self) -> ApiKey:
        """The active key with its user, or NotAuthenticated naming what is wrong."""
        api_key = api_key_authenticate(
            key=self.key, passphrase=self.passphrase, address=LOCAL_ADDRESS
        )
        api_key_secret_require(api_key=api_key, secret=self.secret)
        api_key_mark_used(api_key=api_key)
        return api_key


@dataclass(frozen=True)
class AgentSession:
    credentials: AgentKey

    async def run(self, scope: str, work: Callable[[User], T]) -> T:
        """`work(user)` in the ORM's thread once the key is still valid and holds `scope`;
        a refusal is raised as the tool's error."""

        def call() -> T:
            close_old_connections()
            try:
                api_key = self.credentials.authenticate()
                api_key_scope_require(api_key=api_key, scope=scope)
                return work(api_key.user)
            except ApplicationError as refusal:
                raise ToolError(refusal_text(refusal)) from None
            finally:
                close_old_connections()

        return await sync_to_async(call, thread_sensitive=True)()
