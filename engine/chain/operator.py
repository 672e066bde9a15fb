"""The portal's transactions, signed here once per purpose by the key of the role that sends
them: the operator (registrar, feed admin, deployer, relayer of claims; CHAIN_OPERATOR_KEY)
or the settler (settlement batches only; CHAIN_SETTLER_KEY). The two are different keys, so
the registrar's key cannot commit the roots the vault pays against.

Nonces: a new transaction takes the next nonce the chain expects from its sender, or one
past the highest that sender still has in flight on this chain, whichever is higher, under a
row lock on the deployment (one transaction at a time, across processes). The signed
transaction is stored with its sender before it is broadcast, so a retry after any failure
sends the very same bytes again (same nonce, same content) rather than a second transaction;
if its nonce was taken by another transaction meanwhile, it is marked dropped and the
purpose is signed afresh."""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Max
from eth_typing import ChecksumAddress, HexStr
from eth_utils.address import to_checksum_address

from .compiled import contracts_compiled
from .models import ChainTransaction, Deployment
from .provider import EMBEDDED, chain_web3

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3.contract import Contract

RECEIPT_TIMEOUT = 30.0
GAS_MARGIN_PERCENT = 125
# one sender per process (the row lock covers other processes; SQLite has none)
_sending = threading.Lock()


class ChainTransactionFailed(Exception):
    """A transaction reverted, or could not be sent; the task retries it."""


def _account_of(setting: str, tester_account: int) -> LocalAccount:
    """The account of the key in `setting`; on the embedded chain, when it is empty, the
    tester's funded account number `tester_account`."""
    from eth_account import Account

    key = getattr(settings, setting)
    if not key and settings.CHAIN_RPC_URL == EMBEDDED:
        backend = chain_web3().provider.ethereum_tester.backend  # type: ignore[attr-defined]
        key = backend.account_keys[tester_account]
    if not key:
        raise ImproperlyConfigured(f"{setting} is required for a JSON-RPC chain.")
    try:
        account: LocalAccount = Account.from_key(key)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{setting} is not a private key (32 bytes, hex).") from exc
    return account


@cache
def operator_account() -> LocalAccount:
    """The registrar, feed admin and deployer; it relays claims too."""
    return _account_of("CHAIN_OPERATOR_KEY", 0)


@cache
def settler_account() -> LocalAccount:
    """The SettlementLedger's settler: it commits the batches and signs nothing else."""
    settler = _account_of("CHAIN_SETTLER_KEY", 1)
    if settler.address == operator_account().address:
        raise ImproperlyConfigured(
            "CHAIN_SETTLER_KEY must differ from CHAIN_OPERATOR_KEY: the registrar's key must "
            "not be able to commit the roots the vault pays against."
        )
    return settler


def contract_at(name: str, address: str) -> Contract:
    from web3 import Web3

    checksum = Web3.to_checksum_address(address)
    return chain_web3().eth.contract(address=checksum, abi=contracts_compiled()[name].abi)


def _sign(account: LocalAccount, tx: dict[str, Any]) -> tuple[str, str]:
    signed = account.sign_transaction(tx)
    return "0x" + signed.hash.hex().removeprefix(
        "0x"
    ), "0x" + signed.raw_transaction.hex().removeprefix("0x")


def _next_nonce(deployment: Deployment, sender: ChecksumAddress) -> int:
    chain_nonce = chain_web3().eth.get_transaction_count(sender, "pending")
    in_flight = ChainTransaction.objects.filter(
        deployment__chain_id=deployment.chain_id,
        deployment__genesis_hash=deployment.genesis_hash,
        sender=sender,
        status=ChainTransaction.Status.SENT,
    ).aggregate(top=Max("nonce"))["top"]
    return max(chain_nonce, in_flight + 1 if in_flight is not None else 0)


def _broadcast(raw: str) -> None:
    try:
        chain_web3().eth.send_raw_transaction(HexStr(raw))
    except ValueError as exc:  # a node that already has it says so; it is not an error here
        if "already" not in str(exc).lower() and "known" not in str(exc).lower():
            raise


def _settle(row: ChainTransaction) -> ChainTransaction:
    """Wait for the row's receipt and record it; raises ChainTransactionFailed on a revert."""
    from web3.exceptions import TimeExhausted

    w3 = chain_web3()
    try:
        receipt = w3.eth.wait_for_transaction_receipt(HexStr(row.tx_hash), timeout=RECEIPT_TIMEOUT)
    except TimeExhausted:
        if w3.eth.get_transaction_count(to_checksum_address(row.sender)) > row.nonce:
            row.status = ChainTransaction.Status.DROPPED  # its nonce went to another one
            row.save(update_fields=["status", "updated_at"])
        raise ChainTransactionFailed(f"{row.purpose}: no receipt yet for {row.tx_hash}") from None
    mined = receipt["status"] == 1
    row.status = ChainTransaction.Status.MINED if mined else ChainTransaction.Status.REVERTED
    row.block_number = receipt["blockNumber"]
    row.gas_used = receipt["gasUsed"]
    row.save(update_fields=["status", "block_number", "gas_used", "updated_at"])
    if row.status == ChainTransaction.Status.REVERTED:
        raise ChainTransactionFailed(f"{row.purpose}: transaction {row.tx_hash} reverted")
    return row


def chain_transact(
    *,
    account: LocalAccount,
    deployment: Deployment,
    purpose: str,
    contract: str,
    function: str,
    args: list[Any],
) -> ChainTransaction:
    """Call `function(*args)` of the deployment's `contract` from `account` (the role's:
    `operator_account()` or `settler_account()`), once for `purpose`, and wait for it to be
    mined. Idempotent: a purpose already mined returns its row; one in flight is sent again
    as it was. Raises ChainTransactionFailed (a revert, a refusal by the node, no receipt in
    time) for the caller's retry."""
    # what a node answers when the call would revert: web3's error, or eth-tester's own
    from eth_tester.exceptions import TransactionFailed
    from web3.exceptions import ContractLogicError

    with _sending:
        with transaction.atomic():
            Deployment.objects.select_for_update().get(pk=deployment.pk)
            row = (
                ChainTransaction.objects.filter(deployment=deployment, purpose=purpose)
                .exclude(status=ChainTransaction.Status.DROPPED)
                .first()
            )
            if row is None:
                address = getattr(deployment, _ADDRESS_FIELDS[contract])
                call = getattr(contract_at(contract, address).functions, function)(*args)
                try:
                    tx = call.build_transaction(
                        {
                            "from": account.address,
                            "nonce": _next_nonce(deployment, account.address),
                            "chainId": deployment.chain_id,
                        }
                    )
                except (ContractLogicError, TransactionFailed) as exc:
                    raise ChainTransactionFailed(f"{purpose}: the chain refuses it: {exc}") from exc
                # the node's estimate is the least that worked on the state it saw; a margin
                # keeps the transaction from running out when it is mined on another
                tx["gas"] = tx["gas"] * GAS_MARGIN_PERCENT // 100
                tx_hash, raw = _sign(account, tx)
                row = ChainTransaction.objects.create(
                    deployment=deployment,
                    purpose=purpose,
                    contract=contract,
                    function=function,
                    sender=account.address,
                    nonce=tx["nonce"],
                    tx_hash=tx_hash,
                    raw=raw,
                )
        if row.status == ChainTransaction.Status.MINED:
            return row
        if row.status == ChainTransaction.Status.REVERTED:
            raise ChainTransactionFailed(f"{purpose}: transaction {row.tx_hash} reverted")
        _broadcast(row.raw)
        return _settle(row)


_ADDRESS_FIELDS = {
    "SimulatedUSDC": "token",
    "MarketRegistry": "registry",
    "SettlementLedger": "ledger",
    "CollateralVault": "vault",
    "PriceFeed": "price_feed",
}
