"""The locust users of `load.py` (which runs locust on this file; not run by hand): market
makers quoting in batches and takers trading through the OKX v5-compatible API, each request signed
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from locust import FastHttpUser, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))

from venue import SYMBOL, okx_signed_headers  # noqa: E402

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
MID = 100.0
ORDER_PATH = "/api/v5/trade/order"
BATCH_PATH = "/api/v5/trade/batch-orders"
CANCEL_PATH = "/api/v5/trade/cancel-order"
CANCEL_BATCH_PATH = "/api/v5/trade/cancel-batch-orders"
QUOTES_KEPT = 10  # a maker cancels its oldest quotes beyond this many (beyond two batches)

# name -> [(time sent, seconds, ok, orders the request carried)]; written out at the end
samples: dict[str, list[tuple[float, float, bool, int]]] = {}
first_errors: list[str] = []


def record(
    name: str, response_time: float, exception: Any, context: dict[str, Any], **_: Any
) -> None:
    now = time.time()
    ok = exception is None
    orders = context.get("orders", 0)
    samples.setdefault(name, []).append((now, response_time / 1000, ok, orders))
    if not ok and len(first_errors) < 5:
        first_errors.append(f"{name}: {exception}"[:300])


def poisson_throughput(rate: float) -> Callable[[Any], float]:
    """A locust wait time: the user's tasks start as a Poisson process of `rate` a second,
    as the requests of independent clients arrive (random gaps, `rate` on average). Each
    start is scheduled from the one before, not from when the task ended, so a slow answer
    does not lower the rate; a user behind its schedule starts at once, but never catches
    up more than a second. (locust's constant_throughput keeps each user's phase from the
    end of its first task: when the warm-up's first answers all come back together, every
    user then sends at the same instants all run long, in bursts no crowd of clients makes.)"""

    def wait_time(user: Any) -> float:
        now = time.monotonic()
        after: float = max(getattr(user, "next_start", now), now - 1.0)
        user.next_start = start = after + random.expovariate(rate)  # noqa: S311 - not a secret
        return max(0.0, start - now)

    return wait_time


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
        self, name: str, path: str, payload: list[dict[str, str]], *, also_fine: str = ""
    ) -> list[dict[str, Any]]:
        """The data items of OKX's answer to the orders or cancels in `payload` (one
        object, or a batch when the path is a batch endpoint), when every item was taken
        (its sCode 0, or `also_fine`); the request is a failure otherwise."""
        body = json.dumps(payload if path in (BATCH_PATH, CANCEL_BATCH_PATH) else payload[0])
        headers = okx_signed_headers(self.key, self.secret, "POST", path, body)
        with self.client.post(
            path,
            data=body,
            headers=headers,
            name=name,
            catch_response=True,
            context={"orders": len(payload)},
        ) as answer:
            try:
                items = answer.json()["data"]
                taken = (
                    answer.status_code == 200
                    and len(items) == len(payload)
                    and all(item["sCode"] in ("0", also_fine or "0") for item in items)
                )
            except (ValueError, KeyError, TypeError):
                taken, items = False, []
            if not taken:
                answer.failure(f"{answer.status_code} {answer.text[:200]}")
                return []
            return list(items)


class MarketMaker(SignedTrader):
    """Quotes as market makers do: each round posts `maker_batch` post-only quotes a few
    ticks from the mid, alternating sides (one `trade/batch-orders` request; a batch of
    one is a `trade/order`), then cancels its oldest quotes beyond QUOTES_KEPT or two
    rounds' worth (`trade/cancel-batch-orders`, or `trade/cancel-order` for one)."""

    fixed_count = len(PLAN["makers"])
    wait_time = poisson_throughput(PLAN["maker_rounds_per_user"])
    keys = itertools.count()
    role = "makers"

    def on_start(self) -> None:
        super().on_start()
        self.quotes: deque[str] = deque()
        self.side = itertools.cycle(("buy", "sell"))
        self.batch = PLAN["maker_batch"]
        self.kept = max(QUOTES_KEPT, 2 * self.batch)

    def quote(self) -> dict[str, str]:
        side = next(self.side)
        offset = self.rng.randint(1, 50) / 100
        price = MID - offset if side == "buy" else MID + offset
        return {
            "instId": SYMBOL,
            "tdMode": "cash",
            "side": side,
            "ordType": "post_only",
            "sz": "0.002",
            "px": f"{price:.2f}",
        }

    @task
    def quote_round(self) -> None:
        quotes = [self.quote() for _ in range(self.batch)]
        name, path = ("batch", BATCH_PATH) if self.batch > 1 else ("order", ORDER_PATH)
        self.quotes.extend(item["ordId"] for item in self.post(name, path, quotes))
        if len(self.quotes) > self.kept:
            # a taker may have filled a quote first: OKX then answers 51603, no such order
            oldest = [self.quotes.popleft() for _ in range(min(self.batch, len(self.quotes)))]
            cancels = [{"instId": SYMBOL, "ordId": order_id} for order_id in oldest]
            path = CANCEL_BATCH_PATH if len(cancels) > 1 else CANCEL_PATH
            self.post("cancel", path, cancels, also_fine="51603")


class Taker(SignedTrader):
    """Sends immediate-or-cancel orders across the spread, buying or selling, one order a
    request (`trade/order`)."""

    fixed_count = len(PLAN["takers"])
    wait_time = poisson_throughput(PLAN["taker_orders_per_user"])
    keys = itertools.count()
    role = "takers"

    @task
    def trade(self) -> None:
        side = self.rng.choice(("buy", "sell"))
        price = MID + 1 if side == "buy" else MID - 1
        order = {"instId": SYMBOL, "tdMode": "cash", "side": side, "ordType": "ioc"}
        self.post("order", ORDER_PATH, [order | {"sz": "0.001", "px": f"{price:.2f}"}])


class Visitor(FastHttpUser):
    """A signed-in member reading the market page (three times in four) and their
    portfolio."""

    fixed_count = len(PLAN["visitors"])
    wait_time = poisson_throughput(PLAN["page_rate_per_user"])
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
