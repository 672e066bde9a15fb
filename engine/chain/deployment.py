"""Deploying the contracts and finding the deployment the portal works with."""

from __future__ import annotations

from django.db import transaction

from .compiled import contracts_compiled
from .models import Deployment
from .operator import ChainTransactionFailed, chain_transact, operator_account, settler_account
from .provider import chain_web3

DEPLOY_TIMEOUT = 60.0


def _chain_identity() -> tuple[int, str]:
    w3 = chain_web3()
    return w3.eth.chain_id, "0x" + w3.eth.get_block(0)["hash"].hex().removeprefix("0x")


def deployment_active() -> Deployment | None:
    """The latest deployment on the chain the portal talks to, or None (not deployed yet)."""
    chain_id, genesis = _chain_identity()
    return Deployment.objects.filter(chain_id=chain_id, genesis_hash=genesis).first()


def _deploy(name: str, *args: object) -> tuple[str, int]:
    w3 = chain_web3()
    compiled = contracts_compiled()[name]
    operator = operator_account()
    tx = (
        w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
        .constructor(*args)
        .build_transaction(
            {
                "from": operator.address,
                "nonce": w3.eth.get_transaction_count(operator.address, "pending"),
                "chainId": w3.eth.chain_id,
            }
        )
    )
    signed = operator.sign_transaction(tx)
    w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(signed.hash, timeout=DEPLOY_TIMEOUT)
    if receipt["status"] != 1 or not receipt["contractAddress"]:
        raise ChainTransactionFailed(f"deploying {name} failed in {signed.hash.hex()}")
    return receipt["contractAddress"], receipt["blockNumber"]


def chain_deploy() -> Deployment:
    """Deploy the token, registry, ledger, vault and price feed with the operator as
    registrar and feed admin (and first feed signer) and the settler key as the ledger's
    settler, and record their addresses. Every call deploys afresh: the new deployment
    becomes the active one. Raises ImproperlyConfigured, before deploying anything, when a
    key is missing or the two are the same."""
    chain_id, genesis = _chain_identity()
    operator = operator_account().address
    settler = settler_account().address
    token, _ = _deploy("SimulatedUSDC")
    registry, _ = _deploy("MarketRegistry", operator)
    ledger, _ = _deploy("SettlementLedger", settler)
    vault, _ = _deploy("CollateralVault", token, ledger)
    price_feed, block = _deploy("PriceFeed", operator)
    with transaction.atomic():
        deployment = Deployment.objects.create(
            chain_id=chain_id,
            genesis_hash=genesis,
            operator=operator,
            settler=settler,
            token=token,
            registry=registry,
            ledger=ledger,
            vault=vault,
            price_feed=price_feed,
            block_number=block,
            deposits_final_block=block,
            payouts_final_block=block,
        )
    chain_transact(
        account=operator_account(),
        deployment=deployment,
        purpose=f"feed-signer:{operator}:1",
        contract="PriceFeed",
        function="signer_set",
        args=[operator, True],
    )
    return deployment


def deployment_ensure() -> Deployment:
    """The active deployment, deploying first if the chain has none (the embedded chain of a
    new process, a fresh anvil)."""
    return deployment_active() or chain_deploy()
