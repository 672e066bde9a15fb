"""A trader moves collateral between their accounts in two risk groups: exactly once,
and nothing is lost if the move stops half way."""

from engine import models, selectors
from engine.transfers import transfer_between_groups, transfers_advance
from tests.engine.service.conftest import Desk
from tests.governance.factories import PermissionlessGroupFactory


def usdc(desk, account):
    balances = {b.asset: b for b in selectors.balances_of(shard=desk.shard, account=account)}
    return balances["USDC"].free if "USDC" in balances else 0


def test_a_transfer_debits_one_group_and_credits_the_other_once(desk):
    other = Desk(PermissionlessGroupFactory())
    desk.fund(1, amount=1_000)
    transfer = transfer_between_groups(
        account=1,
        from_group=desk.group,
        to_group=other.group,
        asset="USDC",
        amount=400,
        transfer_id="t1",
    )
    assert transfer.status == "debiting"
    # the process dies here: the debit is journaled, nobody advances the transfer
    desk.process()
    assert transfers_advance() == 1  # the beat's sweep journals the credit
    other.process()
    assert transfers_advance() == 1
    transfer.refresh_from_db()
    assert transfer.status == "done"
    # a retry changes nothing
    again = transfer_between_groups(
        account=1,
        from_group=desk.group,
        to_group=other.group,
        asset="USDC",
        amount=400,
        transfer_id="t1",
    )
    desk.process()
    other.process()
    assert again.pk == transfer.pk and models.Transfer.objects.count() == 1
    assert (usdc(desk, 1), usdc(other, 1)) == (600, 400)
    statement = [(e.kind, e.amount) for e in selectors.statement_of(shard=other.shard, account=1)]
    assert statement == [("transfer_in", 400)]


def test_a_transfer_beyond_the_free_balance_fails_and_moves_nothing(desk):
    other = Desk(PermissionlessGroupFactory())
    desk.fund(1, amount=100)
    transfer_between_groups(
        account=1,
        from_group=desk.group,
        to_group=other.group,
        asset="USDC",
        amount=400,
        transfer_id="t2",
    )
    desk.process()
    transfers_advance()
    transfer = models.Transfer.objects.get(transfer_id="t2")
    assert (transfer.status, transfer.reason, transfer.credit_id) == (
        "failed",
        "insufficient_balance",
        None,
    )
    assert usdc(desk, 1) == 100
