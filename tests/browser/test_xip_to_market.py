"""From a proposal to a listed market, in a real browser: an institution drafts and submits a
market XIP, an editor moves it to Last Call, the window lapses, the XIP is Final and the
market shows in the registry with its config hash."""

from datetime import timedelta

import time_machine
from playwright.sync_api import Page, expect

from conftest import totp_code_at, two_factor_enable
from governance.proposals.models import Proposal
from governance.proposals.tasks import proposals_last_call_conclude
from markets.models import Market
from tests.factories import TEST_PASSWORD, InstitutionFactory, InstitutionMembershipFactory
from tests.markets.factories import (
    assets_create,
    engine_deposit,
    member_create,
    open_group_create,
)
from xip_portal.models import StaffRole
from xip_portal.services import role_grant


def log_in(page: Page, email: str, *, totp_secret: str = "") -> None:
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    if totp_secret:
        page.locator("#id_code").fill(totp_code_at(totp_secret))
        page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_label("Your roles")).to_be_visible()


def test_an_institution_proposes_a_market_that_lists_after_last_call(page: Page) -> None:
    # Given a permissionless group, a member of an institution, and an editor of the group
    assets_create()
    group = open_group_create(name="Open Markets", slug="open-markets")
    author = member_create(group)
    engine_deposit(group=group, user=author, amount=group.proposal_bond_amount)  # the bond
    institution = InstitutionFactory(name="Orderly Labs", slug="orderly-labs")
    InstitutionMembershipFactory(institution=institution, user=author)
    editor = member_create(group)
    role_grant(actor=None, user=editor, role=StaffRole.XIP_EDITOR, risk_group=group, reason="t")
    secret = two_factor_enable(editor)

    # When the institution's member drafts a market XIP with a tick outside the bounds
    log_in(page, author.email)
    page.goto("/proposals/new/")
    page.get_by_role("link", name="Spot").click()
    page.locator("#id_title").fill("List BTC-USDC spot")
    page.locator("#id_risk_group").select_option(label="Open Markets")
    page.locator("#id_institution").select_option(label="Orderly Labs")
    page.locator("#id_body").fill("## Why\n\nThe reference spot market.")
    # The form asks only for what a spot market has
    expect(page.locator("#id_funding_interval_hours")).to_have_count(0)
    fields = {
        "symbol": "BTC-USDC",
        "base_asset": "BTC",
        "quote_asset": "USDC",
        "tick": "500",
        "lot": "0.001",
        "min_size": "0.001",
        "price_band_bps": "1000",
        "maker_fee_bps": "1",
        "taker_fee_bps": "5",
        "deployer_share_bps": "2000",
        "oracle_kind": "chainlink",
        "oracle_source": "Chainlink BTC/USD",
    }
    for name, value in fields.items():
        page.locator(f"#id_{name}").fill(value)
    page.get_by_role("button", name="Save draft").click()

    # Then the error shows beside the tick, and nothing is saved
    expect(page.locator("#id_tick_errors")).to_contain_text("Must lie within")
    assert not Proposal.objects.exists()

    # When they fix it, save, and submit
    page.locator("#id_tick").fill("0.01")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#proposal-status")).to_have_text("Draft")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#proposal-status")).to_have_text("Review")
    expect(page.get_by_role("heading", level=1)).to_contain_text("XIP-1")
    proposal_url = page.url

    # And an editor moves it to Last Call
    page.get_by_role("button", name="Log out").click()
    log_in(page, editor.email, totp_secret=secret)
    page.goto(proposal_url)
    page.get_by_role("button", name="Move to Last Call").click()
    expect(page.locator("#proposal-status")).to_have_text("Last Call")

    # And the window lapses without objection (the scheduled task runs, the clock moved)
    proposal = Proposal.objects.get()
    assert proposal.last_call_ends_at is not None
    with time_machine.travel(proposal.last_call_ends_at + timedelta(minutes=1), tick=False):
        proposals_last_call_conclude()

    # Then the XIP is Final and its market is in the registry, with its config hash
    page.goto(proposal_url)
    expect(page.locator("#proposal-status")).to_have_text("Final")
    page.goto("/markets/")
    page.get_by_role("link", name="BTC-USDC").click()
    market = Market.objects.get(symbol="BTC-USDC")
    expect(page.locator("#config-hash")).to_have_text(market.config_hash)
    expect(page.locator("#market-status")).to_have_text("Approved")
    expect(page.get_by_role("link", name="XIP-1: List BTC-USDC spot")).to_be_visible()
