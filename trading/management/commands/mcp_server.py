"""manage.py mcp_server [--read-only]: the MCP server for AI agents, over stdio, acting with
the API key in EXCHANGE_OS_API_KEY / _SECRET / _PASSPHRASE. Stdout is the protocol's channel:
nothing else is written there (logs and refusals go to stderr)."""

from typing import Any

import anyio
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from trading.errors import TradingError
from trading.mcp.session import AgentKey, AgentSession, refusal_text
from trading.mcp.tools import mcp_server_build
from trading.services import api_key_scope_require
from xip_portal.errors import ApplicationError


class Command(BaseCommand):
    help = "Serve the trading tools to an AI agent over MCP (stdio), with an API key."
    # the system checks may print to stdout, which belongs to the protocol
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--read-only",
            action="store_true",
            help="Offer reading tools only: no tool that places, amends or cancels orders.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        read_only = options["read_only"]
        try:
            credentials = AgentKey.from_environment()
            api_key = credentials.authenticate()
            if not read_only:
                api_key_scope_require(api_key=api_key, scope="trade")
        except ApplicationError as refusal:
            hint = " Start with --read-only." if refusal.code == TradingError.SCOPE_MISSING else ""
            raise CommandError(f"The API key is refused: {refusal_text(refusal)}{hint}") from None
        # the tools reach the database from asgiref's thread for synchronous code
        connections.close_all()
        server = mcp_server_build(AgentSession(credentials), read_only=read_only)
        anyio.run(server.run_stdio_async)
