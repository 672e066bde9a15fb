"""The locust users of `load.py` (which runs locust on this file; not run by hand): market
makers quoting and takers trading through the OKX v5-compatible API, each request signed
as ccxt's okx class signs it, and signed-in visitors reading the market page and their
portfolio. What to use comes from the JSON file named by LOAD_PLAN; every request's
outcome and latency go to the file named by LOAD_RESULTS when locust stops."""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant_throughput, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))

from venue import SYMBOL, okx_signed_headers  # noqa: E402

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
MID = 100.0
ORDER_PATH = "/api/v5/trade/order"
CANCEL_PATH = "/api/v5/trade/cancel-order"
QUOTES_KEPT = 10  # a maker cancels its oldest quote beyond this many

# name -> [(time sent, seconds, ok)]; written out when locust quits
samples: dict[str, list[tuple[float, float, bool]]] = {}
first_errors: list[str] = []


def record(name: str, response_time: float, exception: Any, **_: Any) -> None:
    now = time.time()
    samples.setdefault(name, []).append((now, response_time / 1000, exception is None))
    if exception is not None and len(first_errors) < 5:
        first_errors.append(f"{name}: {exception}"[:300])


def write_results(**_: Any) -> None:
    Path(os.environ["LOAD_RESULTS"]).write_text(
        json.dumps({"samples": samples, "first_errors": first_errors})
    )


events.request.add_listener(record)  # type: ignore[no-untyped-call]
events.quitting.add_listener(write_results)  # type: ignore[no-untyped-call]


class SignedTrader(FastHttpUser):
    abstract = True
    keys: itertools.count[int]
    role = ""

    def on_start(self) -> None:
        self.key, self.secret = PLAN[self.role][next(self.keys) % len(PLAN[self.role])]
        self.rng = random.Random(self.key)

    def post(
        self, name: str, path: str, payload: dict[str, str], *, also_fine: str = ""
    ) -> dict[str, Any] | None:
        """The order's or cancel's first data item when OKX's answer says it was taken
        (or its sCode is `also_fine`)."""
        body = json.dumps(payload)
        headers = okx_signed_headers(self.key, self.secret, "POST", path, body)
        with self.client.post(
            path, data=body, headers=headers, name=name, catch_response=True
        ) as answer:
            try:
                reply = answer.json()
                item = reply["data"][0]
                taken = answer.status_code == 200 and item["sCode"] in ("0", also_fine or "0")
            except (ValueError, KeyError, IndexError, TypeError):
                taken, item = False, None
            if not taken:
                answer.failure(f"{answer.status_code} {answer.text[:200]}")
                return None
            return dict(item)


class MarketMaker(SignedTrader):
    """Posts a post-only quote on alternate sides a few ticks from the mid, and cancels
    its oldest quote when it has more than QUOTES_KEPT resting."""

    fixed_count = len(PLAN["makers"])
    wait_time = constant_throughput(PLAN["order_rate_per_user"])
    keys = itertools.count()
    role = "makers"

    def on_start(self) -> None:
        super().on_start()
        self.quotes: deque[str] = deque()
        self.side = itertools.cycle(("buy", "sell"))

    @task
    def quote(self) -> None:
        side = next(self.side)
        offset = self.rng.randint(1, 50) / 100
        price = MID - offset if side == "buy" else MID + offset
        order = {"instId": SYMBOL, "tdMode": "cash", "side": side, "ordType": "post_only"}
        placed = self.post("order", ORDER_PATH, order | {"sz": "0.002", "px": f"{price:.2f}"})
        if placed:
            self.quotes.append(placed["ordId"])
        if len(self.quotes) > QUOTES_KEPT:
            # a taker may have filled the quote first: OKX then answers 51603, no such order
            cancel = {"instId": SYMBOL, "ordId": self.quotes.popleft()}
            self.post("cancel", CANCEL_PATH, cancel, also_fine="51603")


class Taker(SignedTrader):
    """Sends immediate-or-cancel orders across the spread, buying or selling."""

    fixed_count = len(PLAN["takers"])
    wait_time = constant_throughput(PLAN["order_rate_per_user"])
    keys = itertools.count()
    role = "takers"

    @task
    def trade(self) -> None:
        side = self.rng.choice(("buy", "sell"))
        price = MID + 1 if side == "buy" else MID - 1
        order = {"instId": SYMBOL, "tdMode": "cash", "side": side, "ordType": "ioc"}
        self.post("order", ORDER_PATH, order | {"sz": "0.001", "px": f"{price:.2f}"})


class Visitor(FastHttpUser):
    """A signed-in member reading the market page (three times in four) and their
    portfolio."""

    fixed_count = len(PLAN["visitors"])
    wait_time = constant_throughput(PLAN["page_rate_per_user"])
    sessions = itertools.count()

    def on_start(self) -> None:
        cookie = PLAN["visitors"][next(self.sessions) % len(PLAN["visitors"])]
        self.headers = {"Cookie": cookie}

    def page(self, name: str, path: str) -> None:
        """A page is served when it answers 200 itself (a redirect to sign in is not)."""
        with self.client.get(
            path, headers=self.headers, name=name, allow_redirects=False, catch_response=True
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}")

    @task(3)
    def market_page(self) -> None:
        self.page("page market", f"/markets/{SYMBOL}/")

    @task(1)
    def portfolio(self) -> None:
        self.page("page portfolio", "/portfolio/")
