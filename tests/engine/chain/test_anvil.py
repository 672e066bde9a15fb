"""The same chain work against a real node: anvil (npm @foundry-rs/anvil), started by these
tests on a free port. Deployment, the registry of a listed then halted market, a batch whose
root the standalone script verifies for every account (and not for a forged leaf), a deposit
credited once after N confirmations and never after a reorganisation drops it, a withdrawal
paid once, a second claim and a forged proof refused; a perpetual fed by the PriceFeed."""

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from eth_account import Account
from web3 import Web3

from engine.chain.deployment import chain_deploy, deployment_active
from engine.chain.deposits import deposits_scan
from engine.chain.models import ChainDeposit, Withdrawal
from engine.chain.operator import contract_at, operator_account
from engine.chain.price_feed import price_feed_push
from engine.chain.provider import chain_web3
from engine.chain.registry import registry_entry_on_chain, registry_sync_run
from engine.chain.settlement import settlement_run
from engine.chain.tasks import registry_sync
from engine.chain.withdrawals import withdrawal_claim, withdrawal_proof, withdrawal_request
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


@pytest.fixture
def on_anvil(anvil: str, settings) -> Iterator[Web3]:
    """The portal pointed at anvil, with a fresh operator key funded by anvil."""
    operator = Account.create()
    settings.CHAIN_RPC_URL = anvil
    settings.CHAIN_OPERATOR_KEY = operator.key.hex()
    settings.CHAIN_CONFIRMATIONS = 3
    chain_web3.cache_clear()
    operator_account.cache_clear()
    w3 = chain_web3()
    w3.provider.make_request("anvil_setBalance", [operator.address, hex(10**21)])
    yield w3
    chain_web3.cache_clear()
    operator_account.cache_clear()


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
    args = [
        int(claim["risk_group_id"]),
        int(claim["batch"]),
        bytes.fromhex(claim["withdrawal_id"][2:]),
        claim["recipient"],
        int(claim["amount"]),
        [bytes.fromhex(node[2:]) for node in claim["proof"]],
    ]
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
        operator_account().address
    )
