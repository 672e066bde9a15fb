"""Deposits, withdrawals and transfers between risk groups."""

from engine.core import (
    BalanceMoved,
    Deposit,
    PlaceOrder,
    Reason,
    Rejected,
    Side,
    TransferIn,
    TransferOut,
    Withdraw,
)


def test_deposit_is_idempotent_on_its_external_id(spot):
    first = spot.apply(Deposit(7, "USDC", 500, "tx-7"))
    again = spot.apply(Deposit(7, "USDC", 500, "tx-7"))
    assert first == [BalanceMoved("deposit", 7, "USDC", 500, "tx-7")]
    assert again == [Rejected("Deposit", Reason.DUPLICATE_EXTERNAL_ID, 7)]
    assert spot.accounts[7].balance("USDC").free == 500


def test_deposit_of_nothing_is_rejected(spot):
    assert spot.apply(Deposit(7, "USDC", 0, "tx-0"))[0].reason == Reason.BAD_AMOUNT


def test_withdraw_is_idempotent_and_limited_to_the_free_balance(spot):
    spot.apply(Deposit(7, "USDC", 500, "tx-7"))
    assert spot.apply(Withdraw(7, "USDC", 200, "w-1"))[0].amount == -200
    assert spot.apply(Withdraw(7, "USDC", 200, "w-1"))[0].reason == Reason.DUPLICATE_EXTERNAL_ID
    assert spot.apply(Withdraw(7, "USDC", 301, "w-2"))[0].reason == Reason.INSUFFICIENT_BALANCE
    assert spot.accounts[7].balance("USDC").free == 300


def test_reserved_funds_cannot_be_withdrawn(spot):
    spot.apply(Deposit(7, "USDC", 10_010, "tx-7"))
    spot.apply(PlaceOrder(7, "BTC-USDC", Side.BUY, 10, price=1000))
    assert spot.apply(Withdraw(7, "USDC", 1, "w-1"))[0].reason == Reason.INSUFFICIENT_BALANCE


def test_transfer_out_debits_free_collateral_once(spot):
    spot.apply(Deposit(7, "USDC", 500, "tx-7"))
    out = spot.apply(TransferOut(7, "USDC", 400, "t-1", "rg-kyc"))
    assert out == [BalanceMoved("transfer_out", 7, "USDC", -400, "t-1")]
    again = spot.apply(TransferOut(7, "USDC", 50, "t-1", "rg-kyc"))
    assert again[0].reason == Reason.DUPLICATE_TRANSFER_ID
    assert spot.apply(TransferOut(7, "USDC", 101, "t-2", "rg-kyc"))[0].reason == (
        Reason.INSUFFICIENT_BALANCE
    )
    assert spot.accounts[7].balance("USDC").free == 100


def test_transfer_in_credits_once(spot):
    assert spot.apply(TransferIn(8, "USDC", 400, "t-9", "rg-kyc"))[0].amount == 400
    assert spot.apply(TransferIn(8, "USDC", 400, "t-9", "rg-kyc"))[0].reason == (
        Reason.DUPLICATE_TRANSFER_ID
    )
    assert spot.accounts[8].balance("USDC").free == 400
