"""Trading on a market's page in a real browser, served as production serves it (uvicorn,
ASGI) with a real engine worker: a trader places a resting order, sees it among their open
orders and cancels it, while a second browser sees the book change without reloading; the
form's refusals are shown in words; a visitor who is not a member is told what to do."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from engine import services as engine_services
from engine import tasks
from engine.services import shard_of
from engine.worker_process import shard_worker_start
from governance.risk_groups.models import RiskGroup
from markets.models import Market
from markets.services import market_status_change
from tests.browser.test_xip_to_market import log_in
from tests.engine.service.test_worker import wait_until_applied
from tests.factories import UserFactory
from tests.markets.factories import (
    assets_create,
    engine_deposit,
    member_create,
    open_group_create,
    spot_spec,
)
from tests.trading.fixtures import market_go_live
from xip_portal.models import StaffRole, User
from xip_portal.services import role_grant

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


class Venue:
    def __init__(self, group: RiskGroup, market: Market, operator: User) -> None:
        self.group, self.market, self.operator = group, market, operator

    def trader(self, usdc: str = "100000") -> User:
        user = member_create(self.group, UserFactory())
        engine_deposit(group=self.group, user=user, amount=Decimal(usdc))
        return user


@pytest.fixture
def venue(transactional_db: Any, tmp_path: Path) -> Iterator[Venue]:
    """BTC-USDC live in a permissionless group (lot 0.001, minimum 0.01, tick 0.01), its
    shard's writer a real Celery worker."""
    tasks._writers.clear()
    engine_services._shards.clear()
    assets_create()
    group = open_group_create(name="Open Markets", slug="open-markets")
    operator = UserFactory()
    role_grant(
        actor=None, user=operator, role=StaffRole.RISK_GROUP_OPERATOR, risk_group=group, reason="t"
    )
    worker = shard_worker_start([shard_of(risk_group=group).pk], log=tmp_path / "worker.log")
    market = market_go_live(group, operator, spot_spec(min_size="0.01"))
    wait_until_applied(shard_of(risk_group=group))
    yield Venue(group, market, operator)
    worker.kill()
    worker.wait()
    tasks._writers.clear()
    engine_services._shards.clear()


def market_page(context: BrowserContext, user: User) -> Page:
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, user.email)
    page.goto("/markets/BTC-USDC/")
    # the live stream is open once its first events have replaced the page's book
    expect(page.locator("#order-book table.book")).to_be_visible()
    return page


def order_send(page: Page, *, side: str, price: str, size: str) -> None:
    page.get_by_label(side, exact=True).check()
    page.locator("#id_price").fill(price)
    page.locator("#id_size").fill(size)
    page.get_by_role("button", name="Place order").click()


def test_a_trader_places_and_cancels_a_resting_order_while_another_sees_the_book_live(
    venue: Venue, contexts: list[BrowserContext]
) -> None:
    alice, bob = venue.trader(), venue.trader()
    page = market_page(contexts[0], alice)
    watcher = market_page(contexts[1], bob)
    expect(watcher.locator("#order-book")).not_to_contain_text("59000.5")

    # Alice sees what the order costs before sending it, then sends it
    page.locator("#id_price").fill("59000.5")
    page.locator("#id_size").fill("0.02")
    expect(page.locator("#preview-cost")).to_contain_text("1180.")
    page.get_by_role("button", name="Place order").click()
    expect(page.locator("#order-result")).to_contain_text("rests on the book")
    orders = page.locator("#my-orders")
    expect(orders).to_contain_text("59000.5")
    expect(orders).to_contain_text("0.02")
    # her level is marked as hers in her book
    expect(page.locator("#order-book tr.own")).to_contain_text("59000.5")

    # Bob's page shows the new level without reloading
    expect(watcher.locator("#order-book")).to_contain_text("59000.5")
    expect(watcher.locator("#order-book tr.own")).to_have_count(0)

    # Alice cancels it: gone from her orders and from Bob's book
    orders.get_by_role("button", name="Cancel").click()
    expect(orders).to_contain_text("No open orders in this market.")
    expect(watcher.locator("#order-book")).not_to_contain_text("59000.5")


def test_the_form_refuses_in_words(venue: Venue, contexts: list[BrowserContext]) -> None:
    alice = venue.trader(usdc="100")
    page = market_page(contexts[0], alice)
    result = page.locator("#order-result")

    # typing, the form says which values are valid, and rounds nothing itself
    page.locator("#id_price").fill("59000.005")
    expect(page.locator("#price-hint")).to_have_text(
        "Not a multiple of the tick 0.01: 59000 or 59000.01?"
    )
    order_send(page, side="Buy", price="59000.005", size="0.005")
    expect(page.locator("#order-panel")).to_contain_text(
        "The price 59000.005 is not on the tick of 0.01: 59000 or 59000.01?"
    )
    expect(page.locator("#order-panel")).to_contain_text("The size is below the minimum of 0.01.")
    expect(page.locator("#id_price")).to_have_value("59000.005")  # kept as typed

    # the engine's refusal, in words: 100 USDC do not buy 1 BTC
    order_send(page, side="Buy", price="59000", size="1")
    expect(result).to_have_text("You do not have enough free balance for this order.")

    # a halted market refuses orders, and says so
    market_status_change(
        actor=venue.operator, market=venue.market, move="halt", reason="Oracle check"
    )
    wait_until_applied(shard_of(risk_group=venue.group))
    page.reload()
    expect(page.locator("#order-panel")).to_contain_text("This market is halted")
    order_send(page, side="Buy", price="59000", size="0.01")
    expect(result).to_contain_text("is halted")


def test_a_visitor_who_is_not_a_member_is_told_what_to_do(
    venue: Venue, contexts: list[BrowserContext]
) -> None:
    stranger = UserFactory()
    page = market_page(contexts[0], stranger)
    expect(page.locator("#trade-blocker")).to_be_visible()
    expect(page.get_by_role("button", name="Place order")).to_have_count(0)
    expect(page.get_by_role("button", name="Join Open Markets")).to_be_visible()
    # the page is the registry's own: its facts are below
    expect(page.locator("#config-hash")).to_have_text(venue.market.config_hash)
