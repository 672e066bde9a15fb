"""A trader in a real browser: opens the World Cup board, buys YES on a team with one
click, sees the holding arrive in the board and the fill in the portfolio without
reloading, while a visitor's board follows the book and the day's volume live."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.test_xip_to_market import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_trader_buys_yes_on_a_team_and_sees_it_live_in_the_board_and_portfolio(
    contexts: list[BrowserContext], world_cup, trader
):
    # Given the maker quotes every team of the World Cup, and a visitor watches the board
    world_cup.quote()
    watcher = contexts[1].new_page()
    watcher.goto("/world-cup/")
    watched_brazil = watcher.locator('tr[data-outcome="Brazil"]')
    expect(watched_brazil.locator('[data-cell="volume"]')).to_have_text("0")
    page = contexts[0].new_page()
    log_in(page, trader.email)
    # When the trader opens the board
    page.goto("/world-cup/")
    rows = page.locator("#board tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-outcome", "Argentina")
    expect(page.locator("#probability-sum")).to_have_text("100.0%")
    # and buys 4 YES of Brazil with one click
    brazil = page.locator('tr[data-outcome="Brazil"]')
    brazil.get_by_label("Shares of Brazil").fill("4")
    brazil.get_by_role("button", name="Buy YES Brazil").click()
    expect(page.locator(".messages")).to_contain_text("YES on WC26-WINNER: Brazil")
    world_cup.process()  # as the group's worker would
    # Then the board shows the holding without reloading
    expect(brazil.locator(".holding")).to_have_text("4 YES")
    # and the visitor's board shows the day's volume without reloading
    expect(watched_brazil.locator('[data-cell="volume"]')).to_have_text("4")
    # and the portfolio shows the fill at the maker's ask and the 4 shares
    page.get_by_role("link", name="Portfolio").first.click()
    fill = page.locator("#fills tbody tr").first
    expect(fill).to_contain_text("WC26-WINNER:Brazil")
    expect(fill).to_contain_text("buy")
    expect(fill).to_contain_text("0.31")
    holding = page.locator('.holdings tr[data-market="WC26-WINNER:Brazil"]')
    expect(holding).to_contain_text("4")
    # When the trader takes France's ask and the maker asks 0.45 next: France's mid (0.32)
    # moves it ahead of Brazil (0.30) on the visitor's board
    world_cup.order(world_cup.maker, "WC26-WINNER:France", "sell", 5, "0.45")
    world_cup.order(trader, "WC26-WINNER:France", "buy", 5, "0.21")
    world_cup.process()
    expect(watcher.locator("#board tbody tr").nth(1)).to_have_attribute("data-outcome", "France")
    expect(watcher.locator("#probability-sum")).to_have_text("112.0%")  # 50% + 32% + 30%
    # and the fill reaches the open portfolio without reloading
    expect(page.locator("#fills tbody tr")).to_have_count(2)
    expect(page.locator("#fills tbody tr").first).to_contain_text("WC26-WINNER:France")
