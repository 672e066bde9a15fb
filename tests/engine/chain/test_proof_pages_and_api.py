"""What a trader sees of the chain: the balance proof (API and "verify my balance"), checked
by the standalone verifier against the SettlementLedger; withdrawals by API (the `withdraw`
key scope) and page; a risk group's settlement page; the market page's on-chain entry."""

import importlib.util
import json
from pathlib import Path

import pytest
from django.urls import reverse
from eth_account import Account

from engine.chain.models import Withdrawal
from engine.chain.provider import chain_web3
from engine.chain.registry import registry_sync_run
from engine.chain.settlement import settlement_run
from governance.proposals.models import ProposalStatus
from markets.models import Market
from markets.services import market_list_from_xip
from tests.factories import UserFactory
from tests.markets.factories import proposal_make, spot_spec

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "verify_balance.py"
USDC = 10**12  # engine units of one USDC


def verifier():
    spec = importlib.util.spec_from_file_location("verify_balance", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def traders(desk):
    alice, bob = UserFactory(), UserFactory()
    desk.do(alice.pk, "Deposit", asset="USDC", amount=100 * USDC, external_id="a")
    desk.do(bob.pk, "Deposit", asset="USDC", amount=70 * USDC, external_id="b")
    return alice, bob


def test_every_accounts_proof_verifies_with_the_standalone_script_and_a_forged_one_fails(
    desk, traders, deployment, api_client
):
    settlement_run(deployment=deployment)
    script = verifier()

    for trader, balance in zip(traders, (100 * USDC, 70 * USDC), strict=True):
        api_client.force_authenticate(trader)
        response = api_client.get(reverse("api_account_proof"), {"risk_group": desk.group.slug})
        assert response.status_code == 200
        document = response.json()
        assert document["leaf"]["values"] == [
            str(desk.group.pk),
            str(trader.pk),
            "USDC",
            str(balance),
        ]
        assert document["leaf"]["types"] == ["uint256", "uint256", "string", "int256"]
        assert set(document) == {
            "risk_group",
            "batch",
            "root",
            "leaf",
            "proof",
            "ledger_address",
            "tx_hash",
        }
        assert script.verify(chain_web3(), document)[0]

        forged = json.loads(json.dumps(document))
        forged["leaf"]["values"][3] = str(balance * 2)
        ok, message = script.verify(chain_web3(), forged)
        assert not ok and "the chain holds" in message


def test_no_committed_balance_is_a_clear_404(desk, traders, deployment, api_client):
    api_client.force_authenticate(traders[0])

    response = api_client.get(reverse("api_account_proof"), {"risk_group": desk.group.slug})

    assert response.status_code == 404
    assert response.json()["code"] == "no_committed_balance"
    assert api_client.get(reverse("api_account_proof"), {"risk_group": "nope"}).status_code == 404


def test_a_withdrawal_by_api_is_listed_and_reaches_the_next_batch(
    desk, traders, deployment, api_client
):
    alice = traders[0]
    api_client.force_authenticate(alice)
    recipient = Account.create().address

    response = api_client.post(
        reverse("api_withdrawals"),
        {"risk_group": desk.group.slug, "amount": "12.5", "recipient": recipient},
        format="json",
    )
    assert response.status_code == 201, response.json()
    desk.process()
    settlement_run(deployment=deployment)

    [listed] = api_client.get(reverse("api_withdrawals")).json()["results"]
    assert (listed["amount"], listed["status"], listed["batch"]) == ("12.5", "committed", 1)
    bad = api_client.post(
        reverse("api_withdrawals"),
        {"risk_group": desk.group.slug, "amount": "1", "recipient": "0x1234"},
        format="json",
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "bad_address")


def test_only_an_api_key_with_the_withdraw_scope_withdraws(desk, traders, make_api_key, okx):
    body = {"risk_group": desk.group.slug, "amount": "1", "recipient": Account.create().address}
    path = reverse("api_withdrawals")

    refused = okx(make_api_key(traders[0], scopes=("read", "trade")), "POST", path, body)
    assert (refused.status_code, refused.json()["code"]) == (403, "scope_missing")
    assert "withdraw" in refused.json()["message"]
    assert not Withdrawal.objects.exists()

    allowed = okx(make_api_key(traders[0], scopes=("read", "withdraw")), "POST", path, body)
    assert allowed.status_code == 201
    assert Withdrawal.objects.get().account == traders[0].pk


def test_the_pages_show_proof_batches_and_claim(desk, traders, deployment, client):
    alice = traders[0]
    client.force_login(alice)
    recipient = Account.create().address
    response = client.post(
        reverse("funds"),
        {"risk_group": desk.group.slug, "amount": "5", "recipient": recipient},
    )
    assert response.status_code == 302
    desk.process()
    [batch] = settlement_run(deployment=deployment)

    page = client.get(reverse("verify_balance"), {"risk_group": desk.group.slug})
    assert batch.balance_root in page.content.decode()
    download = client.get(reverse("verify_balance"), {"risk_group": desk.group.slug, "download": 1})
    assert json.loads(download.content)["root"] == batch.balance_root
    settlement_page = client.get(reverse("settlement", args=[desk.group.slug]))
    assert batch.transaction.tx_hash in settlement_page.content.decode()
    funds_page = client.get(reverse("funds")).content.decode()
    assert "Committed" in funds_page and deployment.vault in funds_page
    # the vault holds no deposit here: the relayer's claim reverts and nothing is paid
    withdrawal = Withdrawal.objects.get()
    response = client.post(reverse("withdrawal_claim", args=[withdrawal.withdrawal_id]))
    assert response.status_code == 302
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.COMMITTED


def test_the_market_page_shows_its_on_chain_entry(open_group, deployment, client):
    market = market_list_from_xip(
        proposal=proposal_make(group=open_group, status=ProposalStatus.FINAL, spec=spot_spec())
    )
    page = client.get(reverse("market_detail", args=[market.symbol])).content.decode()
    assert "Not on-chain yet" in page

    registry_sync_run(deployment=deployment)

    page = client.get(reverse("market_detail", args=[market.symbol])).content.decode()
    assert "✓ matches" in page and Market.objects.get().config_hash in page
