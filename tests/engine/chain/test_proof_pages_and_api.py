"""What a trader sees of the chain: the balance proof (API and "verify my balance"), checked
by the standalone verifier against the SettlementLedger; withdrawals by API (the `withdraw`
key scope) and page; a risk group's settlement page; the market page's on-chain entry."""

import importlib.util
import json
from pathlib import Path

import pytest
from django.urls import reverse
from eth_account import Account

from engine.chain.deposits import deposits_scan
from engine.chain.models import Withdrawal
from engine.chain.operator import contract_at
from engine.chain.provider import chain_web3
from engine.chain.registry import registry_sync_run
from engine.chain.settlement import settlement_run
from engine.chain.withdrawals import claim_arguments
from governance.proposals.models import ProposalStatus
from markets.models import Market
from markets.services import market_list_from_xip
from tests.engine.chain.test_funds import vault_deposit
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
        headers={"Idempotency-Key": "w1"},
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
        headers={"Idempotency-Key": "w2"},
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "bad_address")


def test_only_an_api_key_with_the_withdraw_scope_withdraws(desk, traders, make_api_key, okx):
    body = {"risk_group": desk.group.slug, "amount": "1", "recipient": Account.create().address}
    path = reverse("api_withdrawals")

    key = {"HTTP_IDEMPOTENCY_KEY": "k1"}
    read_and_trade = make_api_key(traders[0], scopes=("read", "trade"))

    refused = okx(read_and_trade, "POST", path, body, **key)
    assert (refused.status_code, refused.json()["code"]) == (403, "scope_missing")
    assert "withdraw" in refused.json()["message"]
    assert not Withdrawal.objects.exists()

    allowed = okx(make_api_key(traders[0], scopes=("read", "withdraw")), "POST", path, body, **key)
    assert allowed.status_code == 201
    withdrawal = Withdrawal.objects.get()
    assert withdrawal.account == traders[0].pk
    # the read scope reads it; claiming it, like withdrawing, needs the withdraw scope
    detail = reverse("api_withdrawal", args=[withdrawal.withdrawal_id])
    assert okx(read_and_trade, "GET", detail).json()["withdrawal_id"] == withdrawal.withdrawal_id
    claim = okx(read_and_trade, "POST", detail + "claim/", None, **key)
    assert (claim.status_code, claim.json()["code"]) == (403, "scope_missing")


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


def test_a_withdrawal_by_api_shows_each_step_and_is_claimed_once_with_its_proof(
    desk, deployment, api_client
):
    # Given a trader whose deposit came through the vault
    trader = UserFactory()
    vault_deposit(deployment, desk.group.pk, trader.pk, 10 * 10**6)
    chain_web3().provider.ethereum_tester.mine_blocks(2)
    deposits_scan(deployment=deployment)
    desk.process()
    api_client.force_authenticate(trader)
    recipient = Account.create().address
    body = {"risk_group": desk.group.slug, "amount": "4", "recipient": recipient}

    # When they withdraw (twice with one Idempotency-Key: one withdrawal)
    made = [
        api_client.post(
            reverse("api_withdrawals"), body, format="json", headers={"Idempotency-Key": "once"}
        )
        for _ in range(2)
    ]
    assert [response.status_code for response in made] == [201, 201]
    assert made[0].json() == made[1].json()
    assert Withdrawal.objects.count() == 1
    withdrawal_id = made[0].json()["withdrawal_id"]
    detail = reverse("api_withdrawal", args=[withdrawal_id])
    proof = reverse("api_withdrawal_proof", args=[withdrawal_id])

    def steps():
        return {step["name"]: step for step in api_client.get(detail).json()["steps"]}

    # Then it is requested, then debited by the engine; no proof before a batch commits it
    assert made[0].json()["status"] == "requested"
    desk.process()
    assert api_client.get(detail).json()["status"] == "debited"
    assert [step["state"] for step in steps().values()] == ["done", "done", "waiting", "waiting"]
    early = api_client.get(proof)
    assert (early.status_code, early.json()["code"]) == (409, "withdrawal_not_committed")

    [batch] = settlement_run(deployment=deployment)
    committed = steps()["committed"]
    assert (committed["state"], committed["detail"]) == ("done", "batch 1")
    assert committed["tx_hash"] == batch.transaction.tx_hash
    assert committed["block"] == batch.transaction.block_number
    assert committed["confirmations"] == chain_web3().eth.block_number - committed["block"] + 1

    # The claim's data is everything CollateralVault.claim needs, from any wallet
    claim = api_client.get(proof).json()
    assert (claim["recipient"], claim["amount"], claim["root"]) == (
        recipient,
        "4000000",
        batch.withdrawals_root,
    )
    vault = contract_at("CollateralVault", claim["vault_address"])
    arguments = claim_arguments(claim)
    wallet = chain_web3().eth.accounts[3]

    # The portal claims it for the trader: paid once, to the recipient
    paid = api_client.post(
        reverse("api_withdrawal_claim", args=[withdrawal_id]),
        format="json",
        headers={"Idempotency-Key": "claim"},
    )
    assert paid.status_code == 200, paid.json()
    assert paid.json()["status"] == "paid" and paid.json()["claim_tx_hash"]
    token = contract_at("SimulatedUSDC", deployment.token)
    assert token.functions.balanceOf(recipient).call() == 4 * 10**6
    # and a second claim with the same proof, from any wallet, pays nothing
    with pytest.raises(Exception, match="already paid"):
        vault.functions.claim(*arguments).transact({"from": wallet})
    assert token.functions.balanceOf(recipient).call() == 4 * 10**6

    other = UserFactory()
    api_client.force_authenticate(other)
    assert api_client.get(detail).status_code == 404


def test_the_portfolio_and_the_navigation_lead_to_verify_my_balance_and_the_funds(
    world_cup, trader, deployment, client
):
    # Given a trader whose balance a committed batch holds
    [batch] = settlement_run(deployment=deployment)
    client.force_login(trader)

    page = client.get(reverse("portfolio")).content.decode()

    # Then the navigation leads to the funds and "verify my balance", and the group's
    # section of the portfolio holds the proof (loaded when opened), its download and the
    # one command that checks it
    verify = reverse("verify_balance")
    group = world_cup.group.slug
    assert f'href="{verify}"' in page and f'href="{reverse("funds")}"' in page
    assert f'hx-get="{verify}?risk_group={group}"' in page
    assert f"{verify}?risk_group={group}&amp;download=1" in page
    command = "python scripts/verify_balance.py --rpc &lt;RPC URL of the chain&gt;"
    assert f"{command} balance-proof-{group}.json" in page
    assert reverse("settlement", args=[group]) in page
    fragment = client.get(verify, {"risk_group": group}, headers={"HX-Request": "true"})
    assert batch.balance_root in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    download = client.get(verify, {"risk_group": group, "download": 1})
    assert json.loads(download.content)["leaf"]["values"][1] == str(trader.pk)
