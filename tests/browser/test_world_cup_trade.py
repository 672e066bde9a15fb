"""A trader in a real browser: opens the World Cup board, buys YES on a team with one
click, and finds the fill and the holding in the portfolio."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from engine.services import shard_of
from engine.tasks import shard_process
from tests.browser.test_xip_to_market import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_trader_buys_yes_on_a_team_and_sees_it_in_the_portfolio(page: Page, world_cup, trader):
    # Given the maker quotes every team of the World Cup
    world_cup.quote()
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
    shard_process(shard_of(risk_group=world_cup.group).pk)  # as the group's worker would
    # Then the board shows the holding
    page.reload()
    expect(page.locator('tr[data-outcome="Brazil"] .holding')).to_contain_text("4 YES")
    # and the portfolio shows the fill at the maker's ask and the 4 shares
    page.get_by_role("link", name="Portfolio").first.click()
    fill = page.locator("#fills tbody tr").first
    expect(fill).to_contain_text("WC26-WINNER:Brazil")
    expect(fill).to_contain_text("buy")
    expect(fill).to_contain_text("0.31")
    holding = page.locator('.holdings tr[data-market="WC26-WINNER:Brazil"]')
    expect(holding).to_contain_text("4")
