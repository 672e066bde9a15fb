"""Money in and out through the vault, on the embedded chain: a deposit is credited once after
enough confirmations and never if a reorganisation drops it first; a withdrawal is debited,
committed in the next batch, paid once against its proof; a forged proof pays nothing; the
registrar (the operator's key) is not the settler and has no way to move deposited funds."""

import pytest
from eth_account import Account

from engine import models as engine_models
from engine.chain.deposits import deposits_scan
from engine.chain.merkle import StandardMerkleTree
from engine.chain.models import ChainDeposit, Withdrawal
from engine.chain.operator import contract_at, operator_account, settler_account
from engine.chain.provider import chain_web3
from engine.chain.settlement import TOKEN_UNIT, WITHDRAWAL_TYPES, settlement_run
from engine.chain.withdrawals import withdrawal_claim, withdrawal_proof, withdrawal_request
from tests.factories import UserFactory

USDC = 10**6  # token units of one simulated USDC


@pytest.fixture
def trader(db):
    return UserFactory()


@pytest.fixture(autouse=True)
def three_confirmations(settings):
    settings.CHAIN_CONFIRMATIONS = 3


def chain_tester():
    return chain_web3().provider.ethereum_tester


def vault_deposit(deployment, group_id, account, amount):
    """A wallet deposits `amount` token units for `account`: minted, approved, deposited."""
    w3 = chain_web3()
    wallet = w3.eth.accounts[2]
    token = contract_at("SimulatedUSDC", deployment.token)
    token.functions.mint(wallet, amount).transact({"from": deployment.operator})
    token.functions.approve(deployment.vault, amount).transact({"from": wallet})
    vault = contract_at("CollateralVault", deployment.vault)
    return vault.functions.deposit(group_id, account, amount).transact({"from": wallet})


def deposit_commands(desk, account):
    return engine_models.Command.objects.filter(shard=desk.shard, account=account, kind="Deposit")


def test_a_deposit_is_credited_once_after_enough_confirmations(desk, deployment, trader):
    vault_deposit(deployment, desk.group.pk, trader.pk, 5 * USDC)

    scan = deposits_scan(deployment=deployment)
    assert (scan.credited, scan.confirming) == (0, 1)
    assert not deposit_commands(desk, trader.pk).exists()
    assert ChainDeposit.objects.get().confirmations == 1

    chain_tester().mine_blocks(2)
    assert deposits_scan(deployment=deployment).credited == 1
    assert deposits_scan(deployment=deployment).credited == 0
    desk.process()

    [command] = deposit_commands(desk, trader.pk)
    assert command.payload["amount"] == 5 * USDC * TOKEN_UNIT
    assert command.outcome["result"] == "applied"
    assert ChainDeposit.objects.get().status == ChainDeposit.Status.CREDITED


def test_a_deposit_dropped_by_a_reorganisation_is_never_credited(desk, deployment, trader):
    before = chain_tester().take_snapshot()
    vault_deposit(deployment, desk.group.pk, trader.pk, 5 * USDC)
    assert deposits_scan(deployment=deployment).confirming == 1

    chain_tester().revert_to_snapshot(before)
    chain_tester().mine_blocks(5)
    scan = deposits_scan(deployment=deployment)

    assert (scan.credited, scan.dropped) == (0, 1)
    assert ChainDeposit.objects.get().status == ChainDeposit.Status.DROPPED
    assert not deposit_commands(desk, trader.pk).exists()


def test_a_deposit_for_no_such_account_is_refused_not_credited(desk, deployment):
    vault_deposit(deployment, desk.group.pk, 987_654_321, USDC)
    chain_tester().mine_blocks(2)

    deposits_scan(deployment=deployment)

    refused = ChainDeposit.objects.get()
    assert (refused.status, refused.reason) == ("refused", "no account 987654321")


@pytest.fixture
def funded(desk, deployment, trader):
    vault_deposit(deployment, desk.group.pk, trader.pk, 10 * USDC)
    chain_tester().mine_blocks(2)
    deposits_scan(deployment=deployment)
    desk.process()
    return desk


def test_a_withdrawal_is_debited_committed_and_paid_once(funded, deployment, trader):
    recipient = Account.create().address
    withdrawal = withdrawal_request(
        risk_group=funded.group, user=trader, amount="4.5", recipient=recipient
    )
    funded.process()
    settlement_run(deployment=deployment)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.COMMITTED

    withdrawal_claim(withdrawal=withdrawal)

    token = contract_at("SimulatedUSDC", deployment.token)
    assert token.functions.balanceOf(recipient).call() == 4_500_000
    assert token.functions.balanceOf(deployment.vault).call() == 5_500_000
    assert withdrawal.status == Withdrawal.Status.PAID
    claim = withdrawal_proof(withdrawal=withdrawal)
    vault = contract_at("CollateralVault", deployment.vault)
    args = claim_args(claim)
    with pytest.raises(Exception, match="already paid"):
        vault.functions.claim(*args).call({"from": chain_web3().eth.accounts[3]})


def claim_args(claim, **changes):
    values = {**claim, **changes}
    return (
        int(values["risk_group_id"]),
        int(values["batch"]),
        bytes.fromhex(values["withdrawal_id"][2:]),
        values["recipient"],
        int(values["amount"]),
        [bytes.fromhex(node[2:]) for node in values["proof"]],
    )


def test_a_forged_claim_pays_nothing(funded, deployment, trader):
    withdrawal = withdrawal_request(
        risk_group=funded.group, user=trader, amount="1", recipient=Account.create().address
    )
    funded.process()
    settlement_run(deployment=deployment)
    withdrawal.refresh_from_db()
    claim = withdrawal_proof(withdrawal=withdrawal)
    vault = contract_at("CollateralVault", deployment.vault)
    thief = chain_web3().eth.accounts[3]

    for forged in (
        {"amount": "10000000"},
        {"recipient": thief},
        {"withdrawal_id": "0x" + "11" * 32},
        {"proof": ["0x" + "22" * 32]},
    ):
        with pytest.raises(Exception, match="invalid proof"):
            vault.functions.claim(*claim_args(claim, **forged)).call({"from": thief})


def test_a_withdrawal_the_balance_does_not_cover_is_refused_and_never_committed(
    funded, deployment, trader
):
    withdrawal = withdrawal_request(
        risk_group=funded.group, user=trader, amount="11", recipient=Account.create().address
    )
    funded.process()
    [batch] = settlement_run(deployment=deployment)

    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.REFUSED
    assert batch.withdrawals == []


def test_the_vault_moves_tokens_only_by_deposit_and_claim(deployment):
    vault = contract_at("CollateralVault", deployment.vault)
    writes = {
        item["name"]
        for item in vault.abi
        if item["type"] == "function" and item["stateMutability"] not in ("view", "pure")
    }
    assert writes == {"deposit", "claim"}
    # the operator (registrar) cannot claim without a committed root
    with pytest.raises(Exception, match="no such batch"):
        vault.functions.claim(1, 1, b"\x01" * 32, deployment.operator, 1, []).call(
            {"from": deployment.operator}
        )


def test_the_registrar_key_is_not_the_settler_and_cannot_move_vault_funds(deployment, trader):
    # Given the portal's deployment, and a deposit in the vault
    registrar = deployment.operator
    registry = contract_at("MarketRegistry", deployment.registry)
    ledger = contract_at("SettlementLedger", deployment.ledger)
    vault = contract_at("CollateralVault", deployment.vault)
    token = contract_at("SimulatedUSDC", deployment.token)
    vault_deposit(deployment, 1, trader.pk, 5 * USDC)
    before = token.functions.balanceOf(registrar).call()

    # Then its registrar (the operator's key) is not the ledger's settler
    assert registry.functions.registrar().call() == registrar == operator_account().address
    assert ledger.functions.settler().call() == deployment.settler == settler_account().address
    assert deployment.settler != registrar

    # When the registrar tries to commit a withdrawals root paying itself, or to claim
    leaf = StandardMerkleTree([[1, b"\x09" * 32, registrar, 5 * USDC]], WITHDRAWAL_TYPES)
    with pytest.raises(Exception, match="only the settler"):
        ledger.functions.commit(1, 1, 1, 1, b"\x00" * 32, 0, b"\x00" * 32, leaf.root).transact(
            {"from": registrar}
        )
    with pytest.raises(Exception, match="no such batch"):
        vault.functions.claim(1, 1, b"\x09" * 32, registrar, 5 * USDC, []).transact(
            {"from": registrar}
        )

    # Then the deposit stays in the vault
    assert token.functions.balanceOf(deployment.vault).call() == 5 * USDC
    assert token.functions.balanceOf(registrar).call() == before
