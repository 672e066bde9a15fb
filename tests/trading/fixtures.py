"""Fixtures of the trading tests: API keys and requests signed as ccxt's okx signs them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from django.conf import settings
from django.test import Client
from django.utils import timezone

from engine import services as engine_services
from engine import tasks
from engine.services import command_submit, shard_of
from engine.worker_process import shard_worker_start
from governance.proposals.models import ProposalStatus
from governance.risk_groups.models import RiskGroup
from markets.models import Market
from markets.services import market_engine_config, market_list_from_xip, market_status_change
from tests.engine.service.test_worker import wait_until_applied
from tests.factories import UserFactory
from tests.markets.factories import (
    member_create,
    perp_spec,
    prediction_spec,
    proposal_make,
    spot_spec,
)
from trading.models import ApiKey
from trading.services import api_key_create
from xip_portal.models import StaffRole, User

PASSPHRASE = "Passphrase-1"


@dataclass
class Credentials:
    api_key: ApiKey
    secret: str
    passphrase: str = PASSPHRASE

    @property
    def key(self) -> str:
        return self.api_key.key


def okx_timestamp(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def okx_headers(
    credentials: Credentials,
    method: str,
    path: str,
    body: str | bytes = "",
    *,
    timestamp: str = "",
) -> dict[str, str]:
    """The headers ccxt's okx.sign() sends (`path` with its query string)."""
    timestamp = timestamp or okx_timestamp()
    raw = body if isinstance(body, bytes) else body.encode()
    prehash = f"{timestamp}{method}{path}".encode() + raw
    digest = hmac.new(credentials.secret.encode(), prehash, hashlib.sha256).digest()
    return {
        "HTTP_OK_ACCESS_KEY": credentials.key,
        "HTTP_OK_ACCESS_PASSPHRASE": credentials.passphrase,
        "HTTP_OK_ACCESS_TIMESTAMP": timestamp,
        "HTTP_OK_ACCESS_SIGN": base64.b64encode(digest).decode(),
    }


def market_go_live(group: RiskGroup, operator: User, spec: dict[str, Any]) -> Market:
    """A market listed by a Final XIP, scheduled and launched by the group's operator (the
    registry journals its AddMarket for the group's engine)."""
    market = market_list_from_xip(
        proposal=proposal_make(group=group, status=ProposalStatus.FINAL, spec=spec)
    )
    market_status_change(
        actor=operator, market=market, move="schedule", reason="ready", launch_at=timezone.now()
    )
    market_status_change(actor=operator, market=market, move="launch", reason="go")
    return market


@pytest.fixture
def spot_market(open_group: RiskGroup, make_staff: Callable[..., User]) -> Market:
    """BTC-USDC live in the open group, listed in its engine by a writer in this process."""
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)
    market = market_go_live(open_group, operator, spot_spec())
    tasks.shard_process(shard_of(risk_group=open_group).pk)
    return market


@pytest.fixture
def make_api_key(db: Any) -> Callable[..., Credentials]:
    """make_api_key(user, scopes=("read", "trade"), ip_allowlist=()): a key and its secret."""

    def make(
        user: User, scopes: tuple[str, ...] = ("read", "trade"), ip_allowlist: tuple[str, ...] = ()
    ) -> Credentials:
        api_key, secret = api_key_create(
            user=user,
            name="bot",
            passphrase=PASSPHRASE,
            scopes=scopes,
            ip_allowlist=ip_allowlist,
        )
        return Credentials(api_key, secret)

    return make


@pytest.fixture
def okx(client: Client) -> Callable[..., Any]:
    """okx(credentials, method, path, body=None, **headers): a signed call; the response."""

    def call(
        credentials: Credentials | None, method: str, path: str, body: Any = None, **extra: str
    ) -> Any:
        text = "" if body is None else json.dumps(body)
        headers = okx_headers(credentials, method, path, text) if credentials else {}
        headers.update(extra)
        if method == "GET":
            return client.get(path, **headers)
        return client.generic(method, path, text, content_type="application/json", **headers)

    return call


@pytest.fixture
def trading_venue(
    open_group: RiskGroup, make_staff: Callable[..., User], tmp_path: Any
) -> Iterator[tuple[RiskGroup, Any, User, User]]:
    """A real engine worker process for the open group, its spot, perp (mark 2000) and
    prediction markets live, and two members funded with 1,000,000 USDC and 10 BTC:
    (group, shard, alice, bob). Needs committed data (`django_db(transaction=True)`)."""
    tasks._writers.clear()
    engine_services._shards.clear()
    shard = shard_of(risk_group=open_group)
    worker = shard_worker_start([shard.pk], log=tmp_path / "worker.log")
    operator = make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)
    for spec in (spot_spec(), perp_spec(), prediction_spec()):
        market_go_live(open_group, operator, spec)
    perp = market_engine_config(Market.objects.get(symbol="ETH-PERP"))
    command_submit(
        risk_group=open_group,
        account=0,
        command={"type": "OraclePrice", "market": "ETH-PERP", "price": perp.price("2000")},
    )
    alice, bob = (member_create(open_group, UserFactory()) for _ in range(2))
    for trader in (alice, bob):
        for asset, amount in (("USDC", 10**6 * 10**12), ("BTC", 10 * 10**6)):
            command_submit(
                risk_group=open_group,
                account=trader.pk,
                command={
                    "type": "Deposit",
                    "asset": asset,
                    "amount": amount,
                    "external_id": f"{asset}-{trader.pk}",
                },
            )
    wait_until_applied(shard)
    yield open_group, shard, alice, bob
    worker.kill()
    worker.wait()
    tasks._writers.clear()
    engine_services._shards.clear()


@pytest.fixture
def asgi_server(transactional_db: Any) -> Iterator[str]:
    """The ASGI application as production serves it (uvicorn), in a thread of this process,
    on the test database; its URL. Live streams take engine changes from Redis here, as
    they do in production."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        "xip_portal.asgi:application", lifespan="on", access_log=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()


class SseClient:
    """A Server-Sent Events client reading one stream: `next_event()` -> (name, data)."""

    def __init__(self, url: str, path: str, *, session: str = "", timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if session:
            headers["Cookie"] = f"{settings.SESSION_COOKIE_NAME}={session}"
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()

    def next_event(self) -> tuple[str, str]:
        name, data = "", []
        while True:
            line = self.response.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif not line and name:
                return name, "\n".join(data)

    def events_until(self, wanted: Callable[[str, str], bool]) -> list[tuple[str, str]]:
        """Events up to and including the first `wanted(name, data)` (or socket timeout)."""
        seen = []
        while True:
            event = self.next_event()
            seen.append(event)
            if wanted(*event):
                return seen

    def close(self) -> None:
        self.connection.close()


def session_of(client: Client) -> str:
    """The session cookie of a logged-in test client (to open streams as its user)."""
    return client.cookies[settings.SESSION_COOKIE_NAME].value
