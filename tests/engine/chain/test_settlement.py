"""Settlement batches on the embedded chain: trades produce one batch per risk group, whose
balance root on the SettlementLedger proves every account's balance."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from engine import models as engine_models
from engine.chain.journal_verify import journal_verify
from engine.chain.merkle import leaf_hash, proof_verify
from engine.chain.models import ChainTransaction, SettlementBatch
from engine.chain.operator import contract_at, settler_account
from engine.chain.provider import chain_web3
from engine.chain.settlement import BALANCE_TYPES, balance_tree, settlement_run
from engine.models import Balance
from xip_portal.celery import app


def trade(desk):
    desk.do(1, "PlaceOrder", market="BTC-USDC", side="sell", size=20, price=1000)
    desk.do(2, "PlaceOrder", market="BTC-USDC", side="buy", size=20, price=1000)


def test_trades_make_one_batch_whose_root_proves_every_balance(spot_desk, deployment):
    trade(spot_desk)

    [batch] = settlement_run(deployment=deployment)

    ledger = contract_at("SettlementLedger", deployment.ledger)
    group = spot_desk.group.pk
    assert ledger.functions.latest_batch(group).call() == 1
    on_chain = ledger.functions.batches(group, 1).call()
    assert on_chain[0:2] == (1, spot_desk.shard.high_water)
    assert on_chain[3] == batch.fill_count == 1
    assert "0x" + on_chain[4].hex() == batch.balance_root
    tree = balance_tree(group, batch.leaves)
    balances = Balance.objects.filter(shard=spot_desk.shard).exclude(free=0, locked=0)
    assert len(batch.leaves) == balances.count() > 0
    for index, row in enumerate(balances.order_by("account", "asset")):
        values = [group, row.account, row.asset, int(row.free + row.locked)]
        assert tree.values[index] == values
        assert proof_verify(
            root=on_chain[4], leaf=leaf_hash(BALANCE_TYPES, values), proof=tree.proof(index)
        )


def test_the_settler_signs_with_its_own_nonces_whatever_the_operator_has_in_flight(
    spot_desk, deployment
):
    # Given an operator transaction still in flight with a high nonce
    ChainTransaction.objects.create(
        deployment=deployment,
        purpose="registry:IN-FLIGHT:1",
        contract="MarketRegistry",
        function="record",
        sender=deployment.operator,
        nonce=50,
        tx_hash="0x" + "ab" * 32,
        raw="0x00",
    )
    settler = settler_account().address
    expected = chain_web3().eth.get_transaction_count(settler)
    trade(spot_desk)

    # When a batch is committed
    [batch] = settlement_run(deployment=deployment)

    # Then the settler sent it, with the settler's next nonce
    assert (batch.transaction.sender, batch.transaction.nonce) == (settler, expected)
    assert batch.transaction.status == ChainTransaction.Status.MINED


def test_nothing_new_commits_nothing_and_the_next_batch_chains_to_the_last(spot_desk, deployment):
    [first] = settlement_run(deployment=deployment)
    assert settlement_run(deployment=deployment) == []

    trade(spot_desk)
    [second] = settlement_run(deployment=deployment)

    assert (second.number, second.first_seq) == (2, first.last_seq + 1)
    assert second.previous_root == first.balance_root
    on_chain = (
        contract_at("SettlementLedger", deployment.ledger)
        .functions.batches(spot_desk.group.pk, 2)
        .call()
    )
    assert "0x" + on_chain[6].hex() == first.balance_root


def test_journal_verify_reproduces_every_committed_root_and_notices_a_forged_one(
    spot_desk, deployment
):
    settlement_run(deployment=deployment)
    trade(spot_desk)
    settlement_run(deployment=deployment)
    group = spot_desk.group

    out = StringIO()
    call_command("journal_verify", group.slug, stdout=out)
    assert "2 committed batches reproduced" in out.getvalue()

    # a journal entry changed after the fact no longer gives the committed roots
    deposit = engine_models.Command.objects.filter(shard=spot_desk.shard, kind="Deposit").first()
    record = json.loads(deposit.record)  # what a replay reads: the compact record
    record[record.index(deposit.payload["amount"])] += 1
    deposit.record = json.dumps(record)
    deposit.save(update_fields=["record"])
    checks = journal_verify(deployment=deployment, risk_group_id=group.pk)
    assert [check.reproduced for check in checks] == [False]
    with pytest.raises(CommandError, match="not reproduced"):
        call_command("journal_verify", group.slug, stdout=StringIO())


def test_journal_verify_rehashes_the_fills_and_notices_a_batch_cut_from_altered_fills(
    spot_desk, deployment
):
    # Given a fill whose projection row was altered before the batch was cut: the batch's
    # balances are right, its fills hash is not the journal's
    trade(spot_desk)
    fill = engine_models.Fill.objects.get(shard=spot_desk.shard)
    fill.price += 10
    fill.save(update_fields=["price"])
    [batch] = settlement_run(deployment=deployment)
    assert batch.fill_count == 1

    # When the journal is replayed, then that batch is not reproduced, for its fills
    [check] = journal_verify(deployment=deployment, risk_group_id=spot_desk.group.pk)
    assert not check.reproduced
    assert check.problem == "the replay's fills (1) give another fills hash"
    with pytest.raises(CommandError, match="not reproduced"):
        call_command("journal_verify", spot_desk.group.slug, stdout=StringIO())


@pytest.fixture
def eager_chain_queue():
    """The chain queue's tasks run at once in this thread, as the chain worker would run them."""
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


def test_every_n_commands_the_writer_queues_one_settlement_of_its_group(
    desk, deployment, settings, eager_chain_queue
):
    # Given settlement every 4 commands, on top of the clock
    settings.CHAIN_SETTLEMENT_COMMANDS = 4
    deposit = {"asset": "USDC", "amount": 10**15}
    for account in (1, 2, 3):
        desk.do(account, "Deposit", external_id=f"d{account}", **deposit)
    assert not SettlementBatch.objects.exists()

    # When the fourth command is committed, the writer queues the group's settlement
    desk.do(4, "Deposit", external_id="d4", **deposit)
    [first] = SettlementBatch.objects.all()
    assert (first.number, first.first_seq, first.last_seq, first.committed) == (1, 1, 4, True)

    # Then the next batch waits for four more: seven commands in one writer batch queue one
    for account in (1, 2, 3):
        desk.submit(account, "Deposit", external_id=f"e{account}", **deposit)
    desk.process()
    assert SettlementBatch.objects.count() == 1
    for account in (4, 5, 6, 7):
        desk.submit(account, "Deposit", external_id=f"e{account}", **deposit)
    desk.process()
    second = SettlementBatch.objects.get(number=2)
    assert (second.first_seq, second.last_seq, second.committed) == (5, 11, True)
    ledger = contract_at("SettlementLedger", deployment.ledger)
    assert ledger.functions.latest_batch(desk.group.pk).call() == 2
