"""The same chain work against a real node: anvil (npm @foundry-rs/anvil), started by these
tests on a free port. Deployment, the registry of a listed then halted market, a batch whose
root the standalone script verifies for every account (and not for a forged leaf), a deposit
credited once after N confirmations and never after a reorganisation drops it, a withdrawal
paid once, a second claim and a forged proof refused; a perpetual fed by the PriceFeed. The
registrar's key and the settler's are two keys: the registrar's commit reverts, and a
deployment with one key for both is refused. A withdrawal claimed from the trader's own
wallet shows paid once the payout is confirmed."""

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from eth_account import Account
from web3 import Web3

from engine.chain.deployment import chain_deploy, deployment_active
from engine.chain.deposits import deposits_scan
from engine.chain.models import ChainDeposit, Deployment, Withdrawal
from engine.chain.operator import (
    ChainTransactionFailed,
    chain_transact,
    contract_at,
    operator_account,
    settler_account,
)
from engine.chain.price_feed import price_feed_push
from engine.chain.provider import chain_web3
from engine.chain.registry import registry_entry_on_chain, registry_sync_run
from engine.chain.settlement import settlement_run
from engine.chain.tasks import deposits_index, registry_sync
from engine.chain.withdrawals import (
    claim_arguments,
    withdrawal_claim,
    withdrawal_proof,
    withdrawal_request,
)
from governance.risk_groups.models import RiskGroup
from markets.models import OracleState
from markets.oracles import oracles_read_price_feeds
from markets.services import market_status_change
from tests.factories import UserFactory
from tests.markets import test_engine_sync
from tests.markets.factories import perp_spec
from xip_portal.models import StaffRole, User

ROOT = Path(__file__).resolve().parents[3]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
USDC = 10**6

pytestmark = pytest.mark.xdist_group("anvil")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def anvil() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [str(ANVIL), "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if Web3(Web3.HTTPProvider(url)).eth.chain_id:
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _keys_forget() -> None:
    chain_web3.cache_clear()
    operator_account.cache_clear()
    settler_account.cache_clear()


@pytest.fixture
def on_anvil(anvil: str, settings) -> Iterator[Web3]:
    """The portal pointed at anvil, with fresh operator and settler keys funded by anvil."""
    operator, settler = Account.create(), Account.create()
    settings.CHAIN_RPC_URL = anvil
    settings.CHAIN_OPERATOR_KEY = operator.key.hex()
    settings.CHAIN_SETTLER_KEY = settler.key.hex()
    settings.CHAIN_CONFIRMATIONS = 3
    _keys_forget()
    w3 = chain_web3()
    for sender in (operator, settler):
        w3.provider.make_request("anvil_setBalance", [sender.address, hex(10**21)])
    yield w3
    _keys_forget()


@pytest.fixture
def operator(make_staff: Callable[..., User], open_group: RiskGroup) -> User:
    return make_staff(StaffRole.RISK_GROUP_OPERATOR, open_group)


def test_deploy_and_a_listed_then_halted_market_on_chain(on_anvil, open_group, operator):
    deployment = chain_deploy()
    assert all(on_anvil.eth.get_code(getattr(deployment, name)) for name in ("vault", "ledger"))

    market = test_engine_sync.live(open_group, operator, perp_spec())
    market_status_change(actor=operator, market=market, move="halt", reason="oracle stale")
    registry_sync_run(deployment=deployment)

    market.refresh_from_db()
    entry = registry_entry_on_chain(market_id=market.symbol)
    assert (entry.config_hash, entry.status) == (market.config_hash, "halted")


def test_a_price_feed_market_takes_its_rounds_from_a_real_node(on_anvil, open_group, operator):
    chain_deploy()
    market = test_engine_sync.live(
        open_group, operator, perp_spec(oracle_kind="pricefeed", oracle_source="ETH-USD")
    )
    now = timezone.now()
    price_feed_push(
        feed="ETH-USD", price=Decimal("3000.5"), timestamp_ms=int(now.timestamp() * 1000)
    )

    assert oracles_read_price_feeds(now=now) == 1
    assert oracles_read_price_feeds(now=now) == 0
    state = OracleState.objects.get(market=market)
    assert (state.index_price, state.source) == (Decimal("3000.5"), "PriceFeed ETH-USD round 1")


def vault_deposit(w3, deployment, group_id, account, amount):
    wallet = w3.eth.accounts[1]
    token = contract_at("SimulatedUSDC", deployment.token)
    operator = deployment.operator
    mint = token.functions.mint(wallet, amount).build_transaction(
        {"from": operator, "nonce": w3.eth.get_transaction_count(operator)}
    )
    w3.eth.send_raw_transaction(operator_account().sign_transaction(mint).raw_transaction)
    token.functions.approve(deployment.vault, amount).transact({"from": wallet})
    vault = contract_at("CollateralVault", deployment.vault)
    return vault.functions.deposit(group_id, account, amount).transact({"from": wallet})


def test_deposits_batches_proofs_and_withdrawals_on_a_real_node(
    on_anvil, desk, api_client, tmp_path
):
    deployment = chain_deploy()
    alice, bob = UserFactory(), UserFactory()
    group = desk.group.pk

    # a deposit dropped by a reorganisation before its confirmations is never credited
    snapshot = on_anvil.provider.make_request("evm_snapshot", [])["result"]
    vault_deposit(on_anvil, deployment, group, bob.pk, 3 * USDC)
    assert deposits_scan(deployment=deployment).confirming == 1
    on_anvil.provider.make_request("evm_revert", [snapshot])
    on_anvil.provider.make_request("anvil_mine", [hex(5)])
    assert deposits_scan(deployment=deployment).dropped == 1

    # deposits credited once, after three confirmations (bob's three transactions, each
    # in its own block, bury alice's deposit)
    vault_deposit(on_anvil, deployment, group, alice.pk, 10 * USDC)
    vault_deposit(on_anvil, deployment, group, bob.pk, 20 * USDC)
    scan = deposits_scan(deployment=deployment)
    assert (scan.credited, scan.confirming) == (1, 1)
    on_anvil.provider.make_request("anvil_mine", [hex(2)])
    assert deposits_scan(deployment=deployment).credited == 1
    assert deposits_scan(deployment=deployment).credited == 0
    statuses = ChainDeposit.objects.values_list("status", flat=True).order_by("id")
    assert list(statuses) == ["dropped", "credited", "credited"]
    desk.process()

    # a withdrawal, then one batch; every account's proof verifies with the script
    recipient = Account.create().address
    withdrawal = withdrawal_request(
        risk_group=desk.group, user=alice, amount="4", recipient=recipient
    )
    desk.process()
    [batch] = settlement_run(deployment=deployment)
    for trader in (alice, bob):
        api_client.force_authenticate(trader)
        document = api_client.get(
            reverse("api_account_proof"), {"risk_group": desk.group.slug}
        ).json()
        assert document["root"] == batch.balance_root
        proof_file = tmp_path / f"{trader.pk}.json"
        proof_file.write_text(json.dumps(document))
        assert verify_script(on_anvil, proof_file).returncode == 0
        document["leaf"]["values"][3] = "1"
        proof_file.write_text(json.dumps(document))
        assert verify_script(on_anvil, proof_file).returncode == 1

    # paid once; a second claim with the same proof and a forged proof both fail
    withdrawal.refresh_from_db()
    withdrawal_claim(withdrawal=withdrawal)
    token = contract_at("SimulatedUSDC", deployment.token)
    assert token.functions.balanceOf(recipient).call() == 4 * USDC
    assert Withdrawal.objects.get().status == Withdrawal.Status.PAID
    claim = withdrawal_proof(withdrawal=withdrawal)
    vault = contract_at("CollateralVault", deployment.vault)
    args = claim_arguments(claim)
    with pytest.raises(Exception, match="already paid"):
        vault.functions.claim(*args).call()
    args[2], args[4] = b"\x07" * 32, 26 * USDC
    with pytest.raises(Exception, match="invalid proof"):
        vault.functions.claim(*args).call()
    assert token.functions.balanceOf(deployment.vault).call() == 26 * USDC


def verify_script(w3, proof_file):
    url = w3.provider.endpoint_uri
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "verify_balance.py"),
            "--rpc",
            url,
            str(proof_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_chain_tasks_deploy_to_a_node_without_contracts_only_when_told(on_anvil, settings, db):
    # (`make stack` and the demo pointed at a node say so; a real chain waits for chain_deploy)
    settings.CHAIN_DEPLOY_IF_MISSING = False
    assert registry_sync() == 0
    assert deployment_active() is None

    settings.CHAIN_DEPLOY_IF_MISSING = True
    registry_sync()

    deployment = deployment_active()
    assert deployment is not None
    assert contract_at("SettlementLedger", deployment.ledger).functions.settler().call() == (
        settler_account().address
    )


def test_only_the_settler_key_commits_a_batch_the_registrar_key_is_reverted(on_anvil, db):
    # Given a deployment: the registrar is the operator's key, the settler another key
    out = StringIO()
    call_command("chain_deploy", stdout=out)
    deployment = Deployment.objects.get()
    registrar, settler = operator_account(), settler_account()
    assert registrar.address != settler.address
    assert f"operator   {registrar.address}" in out.getvalue()
    assert f"settler    {settler.address}" in out.getvalue()
    registry = contract_at("MarketRegistry", deployment.registry)
    ledger = contract_at("SettlementLedger", deployment.ledger)
    assert registry.functions.registrar().call() == registrar.address == deployment.operator
    assert ledger.functions.settler().call() == settler.address == deployment.settler
    commit = [7, 1, 1, 1, b"\x00" * 32, 0, b"\x01" * 32, b"\x02" * 32]

    # When the registrar's key sends a commit (with gas, so no estimate refuses it first)
    tx = ledger.functions.commit(*commit).build_transaction(
        {
            "from": registrar.address,
            "nonce": on_anvil.eth.get_transaction_count(registrar.address),
            "gas": 300_000,
            "chainId": deployment.chain_id,
        }
    )
    sent = on_anvil.eth.send_raw_transaction(registrar.sign_transaction(tx).raw_transaction)

    # Then it reverts and commits nothing; the portal's own path refuses it as well
    assert on_anvil.eth.wait_for_transaction_receipt(sent)["status"] == 0
    assert ledger.functions.latest_batch(7).call() == 0
    with pytest.raises(ChainTransactionFailed, match="only the settler"):
        chain_transact(
            account=registrar,
            deployment=deployment,
            purpose="registrar-commit",
            contract="SettlementLedger",
            function="commit",
            args=commit,
        )

    # And the settler's commit is mined, from the settler, with the settler's first nonce
    row = chain_transact(
        account=settler,
        deployment=deployment,
        purpose="settler-commit",
        contract="SettlementLedger",
        function="commit",
        args=commit,
    )
    assert (row.status, row.sender, row.nonce) == ("mined", settler.address, 0)
    assert ledger.functions.withdrawals_root(7, 1).call() == b"\x02" * 32


def test_a_json_rpc_chain_refuses_one_key_for_registrar_and_settler(on_anvil, settings, db):
    registrar = operator_account()
    settings.CHAIN_SETTLER_KEY = settings.CHAIN_OPERATOR_KEY
    settler_account.cache_clear()
    with pytest.raises(ImproperlyConfigured, match="CHAIN_SETTLER_KEY must differ"):
        chain_deploy()

    settings.CHAIN_SETTLER_KEY = ""
    settler_account.cache_clear()
    with pytest.raises(ImproperlyConfigured, match="CHAIN_SETTLER_KEY is required"):
        chain_deploy()

    # nothing was deployed
    assert not Deployment.objects.exists()
    assert on_anvil.eth.get_transaction_count(registrar.address) == 0


def test_a_withdrawal_claimed_from_the_traders_own_wallet_shows_paid(
    on_anvil, desk, api_client, client
):
    # Given a committed withdrawal
    deployment = chain_deploy()
    trader = UserFactory()
    vault_deposit(on_anvil, deployment, desk.group.pk, trader.pk, 10 * USDC)
    on_anvil.provider.make_request("anvil_mine", [hex(2)])
    deposits_scan(deployment=deployment)
    desk.process()
    recipient = Account.create().address
    withdrawal = withdrawal_request(
        risk_group=desk.group, user=trader, amount="4", recipient=recipient
    )
    desk.process()
    settlement_run(deployment=deployment)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.COMMITTED

    # When the trader claims it with its proof from their own wallet, not through the portal
    wallet = Account.create()
    on_anvil.provider.make_request("anvil_setBalance", [wallet.address, hex(10**18)])
    claim = withdrawal_proof(withdrawal=withdrawal)
    tx = (
        contract_at("CollateralVault", claim["vault_address"])
        .functions.claim(*claim_arguments(claim))
        .build_transaction(
            {
                "from": wallet.address,
                "nonce": 0,
                "chainId": deployment.chain_id,
            }
        )
    )
    sent = on_anvil.eth.send_raw_transaction(wallet.sign_transaction(tx).raw_transaction)
    assert on_anvil.eth.wait_for_transaction_receipt(sent)["status"] == 1
    claim_hash = "0x" + bytes(sent).hex()

    # Then the chain task marks it paid once the payout has its confirmations, with the claim
    deposits_index()
    assert Withdrawal.objects.get().status == Withdrawal.Status.COMMITTED
    on_anvil.provider.make_request("anvil_mine", [hex(2)])
    deposits_index()
    deposits_index()
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.claim_tx_hash) == (Withdrawal.Status.PAID, claim_hash)
    api_client.force_authenticate(trader)
    detail = api_client.get(reverse("api_withdrawal", args=[withdrawal.withdrawal_id])).json()
    assert detail["status"] == "paid"
    assert detail["steps"][-1] == detail["steps"][-1] | {
        "name": "paid",
        "state": "done",
        "tx_hash": claim_hash,
    }
    client.force_login(trader)
    page = client.get(reverse("funds")).content.decode()
    assert "status-paid" in page and claim_hash in page
    # and the portal's own claim pays nothing a second time
    with pytest.raises(ChainTransactionFailed, match="already paid"):
        withdrawal_claim(withdrawal=withdrawal)
    token = contract_at("SimulatedUSDC", deployment.token)
    assert token.functions.balanceOf(recipient).call() == 4 * USDC
