"""The MCP server for AI agents, driven by the official SDK's own stdio client: it launches
`manage.py mcp_server` as a subprocess on the test database (committed data, a real engine
worker), lists the tools, places a resting order, sees it in the open orders and cancels
it; a non-member's order is refused with the membership code; `--read-only` offers no
write tool; a revoked key stops working at once; a wrong passphrase keeps the server from
starting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest
from django.conf import settings
from django.db import connection
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from engine.worker_process import database_url
from governance.memberships.errors import MembershipError
from tests.factories import UserFactory
from tests.markets.factories import proposal_make
from tests.trading.fixtures import PASSPHRASE, Credentials
from trading.errors import TradingError
from trading.services import api_key_revoke

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WRITE_TOOLS = {
    "trade_place_order",
    "trade_place_batch_orders",
    "trade_amend_order",
    "trade_cancel_order",
    "trade_cancel_batch_orders",
    "trade_cancel_all_orders",
}


def server_environment(credentials: Credentials, passphrase: str = PASSPHRASE) -> dict[str, str]:
    """The subprocess's environment: this test's database and broker, the agent's key."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xip_portal.settings.test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EXCHANGE_OS_API_KEY": credentials.key,
        "EXCHANGE_OS_API_SECRET": credentials.secret,
        "EXCHANGE_OS_API_PASSPHRASE": passphrase,
    }


def server_command(*options: str) -> list[str]:
    return [str(settings.BASE_DIR / "manage.py"), "mcp_server", *options]


def agent_session(
    credentials: Credentials, steps: Callable[[ClientSession], Awaitable[Any]], *options: str
) -> Any:
    """Runs `steps` in an initialised MCP client session with the server as a subprocess."""
    parameters = StdioServerParameters(
        command=sys.executable,
        args=server_command(*options),
        env=server_environment(credentials),
        cwd=str(settings.BASE_DIR),
    )

    async def run() -> Any:
        async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await steps(session)

    # in a thread of its own: an earlier test of this process may have left an event loop
    # running in the main thread (Playwright's synchronous API does)
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(anyio.run, run).result()


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """The tool's JSON answer, or {"error": text} for a tool error."""
    result = await session.call_tool(tool, arguments)
    (content,) = result.content
    text = content.text  # type: ignore[union-attr]
    return {"error": text} if result.is_error else json.loads(text)


def test_an_agent_places_sees_and_cancels_a_resting_order(trading_venue, make_api_key) -> None:
    group, shard, alice, bob = trading_venue
    outsider = UserFactory()
    draft = proposal_make(group=group, author=bob)

    async def steps(session: ClientSession) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        listed = await session.list_tools()
        seen["tools"] = {tool.name: tool.annotations for tool in listed.tools}
        seen["markets"] = await call(session, "market_list", market_type="spot")
        seen["placed"] = await call(
            session,
            "trade_place_order",
            market="BTC-USDC",
            side="buy",
            size="0.5",
            price="100",
            client_order_id="agent1",
        )
        seen["open"] = await call(session, "trade_get_open_orders", market="BTC-USDC")
        seen["book"] = await call(session, "market_get_orderbook", market="BTC-USDC", depth=5)
        seen["ticker"] = await call(session, "market_get_tickers", market="BTC-USDC")
        seen["balances"] = await call(session, "account_get_balances")
        seen["cancelled"] = await call(
            session, "trade_cancel_order", market="BTC-USDC", order_id=seen["placed"]["order_id"]
        )
        seen["open_after"] = await call(session, "trade_get_open_orders")
        seen["history"] = await call(session, "trade_get_order_history", market="BTC-USDC")
        seen["float"] = await session.call_tool(
            "trade_place_order", {"market": "BTC-USDC", "side": "buy", "size": 0.5, "price": 99}
        )
        seen["off_tick"] = await call(
            session, "trade_place_order", market="BTC-USDC", side="buy", size="1", price="99.005"
        )
        seen["unknown"] = await call(session, "trade_cancel_order", market="NOPE", order_id="1")
        seen["xips"] = await call(session, "xip_list", proposal_type="market")
        seen["xip"] = await call(session, "xip_get", xip=seen["xips"]["xips"][0]["xip"])
        seen["draft"] = await call(session, "xip_get", xip=f"draft-{draft.pk}")
        return seen

    seen = agent_session(make_api_key(alice), steps)

    tools = seen["tools"]
    assert WRITE_TOOLS <= set(tools) and "xip_get" in tools and "account_get_statement" in tools
    assert tools["market_list"].read_only_hint is True
    assert (
        tools["trade_place_order"].read_only_hint,
        tools["trade_place_order"].destructive_hint,
    ) == (
        False,
        False,
    )
    assert tools["trade_cancel_order"].destructive_hint is True
    (spot,) = seen["markets"]["markets"]
    assert (spot["symbol"], spot["tradable_markets"], spot["tick"]) == (
        "BTC-USDC",
        ["BTC-USDC"],
        "0.01",
    )

    placed = seen["placed"]
    assert (placed["status"], placed["result"]) == ("applied", "accepted") and placed["order_id"]
    (resting,) = seen["open"]["orders"]
    assert (resting["order_id"], resting["client_order_id"]) == (placed["order_id"], "agent1")
    assert (resting["side"], resting["price"], resting["size"], resting["status"]) == (
        "buy",
        "100",
        "0.5",
        "open",
    )
    assert seen["book"]["bids"] == [{"price": "100", "size": "0.5", "orders": 1}]
    (ticker,) = seen["ticker"]["tickers"]
    assert (ticker["bid"], ticker["bid_size"], ticker["ask"], ticker["last"]) == (
        "100",
        "0.5",
        "",
        "",
    )
    usdc = next(b for b in seen["balances"]["balances"] if b["asset"] == "USDC")
    # the order reserves its price and the taker fee it may pay (5 bps)
    assert (usdc["risk_group"], usdc["free"], usdc["locked"]) == (
        group.slug,
        "999949.975",
        "50.025",
    )

    assert seen["cancelled"]["order_id"] == placed["order_id"]
    assert seen["cancelled"]["status"] == "applied"
    assert seen["open_after"] == {"orders": []}
    (done,) = seen["history"]["orders"]
    assert (done["order_id"], done["status"]) == (placed["order_id"], "cancelled")

    # amounts are decimal strings: a float is refused by the tool's input schema
    assert seen["float"].is_error
    assert (
        "bad_tick: price is not a multiple of the tick. (field: price)" in seen["off_tick"]["error"]
    )
    assert "unknown_market: No tradable market 'NOPE'." in seen["unknown"]["error"]
    assert "Traceback" not in seen["off_tick"]["error"] + seen["unknown"]["error"]
    # the three Final XIPs that listed the markets
    xips = seen["xips"]["xips"]
    assert [(x["status"], x["risk_group"]) for x in xips] == [("final", group.slug)] * 3
    assert [x["xip"] for x in xips] == [f"XIP-{x['number']}" for x in xips]
    assert seen["xip"]["xip"] == xips[0]["xip"] and seen["xip"]["spec"]["market_type"]
    # someone else's draft is not shown
    assert "not_found: No XIP 'draft-" in seen["draft"]["error"]

    # a user who is not a member of the group: refused with the membership code
    async def outsider_steps(session: ClientSession) -> dict[str, Any]:
        return await call(
            session, "trade_place_order", market="BTC-USDC", side="buy", size="0.5", price="100"
        )

    refused = agent_session(make_api_key(outsider), outsider_steps)
    assert f"{MembershipError.TERMS_NOT_ACCEPTED}: Join {group.name} first" in refused["error"]


def test_an_agent_cancels_chosen_orders_in_a_batch_then_all_the_rest(
    trading_venue, make_api_key
) -> None:
    group, shard, alice, bob = trading_venue

    async def steps(session: ClientSession) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        ladder = [
            {"market": "BTC-USDC", "side": "buy", "size": "0.1", "price": price}
            for price in ("97", "98", "99")
        ]
        ladder.append({"market": "ETH-PERP", "side": "buy", "size": "1", "price": "1900"})
        placed = await call(session, "trade_place_batch_orders", orders=ladder)
        ids = [order["order_id"] for order in placed["orders"]]
        seen["batch"] = await call(
            session,
            "trade_cancel_batch_orders",
            orders=[
                {"market": "BTC-USDC", "order_id": ids[0]},
                {"market": "BTC-USDC", "order_id": "999999"},
                {"market": "NOPE", "order_id": ids[1]},
            ],
        )
        seen["open"] = await call(session, "trade_get_open_orders")
        seen["one_market"] = await call(session, "trade_cancel_all_orders", market="BTC-USDC")
        seen["open_perp"] = await call(session, "trade_get_open_orders")
        seen["everywhere"] = await call(session, "trade_cancel_all_orders")
        seen["open_none"] = await call(session, "trade_get_open_orders")
        seen["nothing_left"] = await call(session, "trade_cancel_all_orders")
        seen["ids"] = ids
        return seen

    seen = agent_session(make_api_key(alice), steps)

    ids = seen["ids"]
    # each order of the batch has its own answer; a bad one does not stop the others
    cancelled, unknown, no_market = seen["batch"]["orders"]
    assert (cancelled["order_id"], cancelled["status"]) == (ids[0], "applied")
    assert "unknown_order: Order does not exist." in unknown["error"]
    assert "unknown_market: No tradable market 'NOPE'." in no_market["error"]
    assert {o["order_id"] for o in seen["open"]["orders"]} == set(ids[1:])
    # all of one market's orders, then everything else
    assert seen["one_market"]["market"] == "BTC-USDC"
    assert [c["status"] for c in seen["one_market"]["cancellations"]] == ["applied"]
    assert [o["order_id"] for o in seen["open_perp"]["orders"]] == [ids[3]]
    assert [c["status"] for c in seen["everywhere"]["cancellations"]] == ["applied"]
    assert seen["open_none"] == {"orders": []}
    # with nothing open there is nothing to send
    assert seen["nothing_left"] == {"market": "", "cancellations": []}


def revoke(credentials: Credentials) -> None:
    """Revokes the key from another thread (committed at once), as its owner would."""
    api_key_revoke(user=credentials.api_key.user, key=credentials.key)
    connection.close()


def test_read_only_offers_no_write_tool_and_a_revoked_key_stops_at_once(user, make_api_key) -> None:
    credentials = make_api_key(user, scopes=("read",))

    async def steps(session: ClientSession) -> Any:
        tools = (await session.list_tools()).tools
        before = await call(session, "market_list")
        await anyio.to_thread.run_sync(revoke, credentials)
        after = await call(session, "market_list")
        return tools, before, after

    tools, before, after = agent_session(credentials, steps, "--read-only")

    names = {tool.name for tool in tools}
    assert "market_list" in names and "trade_get_open_orders" in names
    assert not names & WRITE_TOOLS
    assert all(tool.annotations.read_only_hint for tool in tools)
    assert before == {"markets": []}
    assert f"{TradingError.UNKNOWN_KEY}: Invalid API key." in after["error"]


def test_the_server_refuses_to_start_with_a_wrong_passphrase_or_a_read_key(
    user, make_api_key
) -> None:
    credentials = make_api_key(user)

    wrong = subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, *server_command()],
        env=server_environment(credentials, passphrase="Not-the-passphrase"),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    read_key = subprocess.run(  # noqa: S603
        [sys.executable, *server_command()],
        env=server_environment(make_api_key(user, scopes=("read",))),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert wrong.returncode == 1 and wrong.stdout == ""
    assert f"The API key is refused: {TradingError.BAD_KEY_PASSPHRASE}: " in wrong.stderr
    assert read_key.returncode == 1
    assert f"{TradingError.SCOPE_MISSING}: " in read_key.stderr and "--read-only" in read_key.stderr
