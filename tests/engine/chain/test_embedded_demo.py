"""`make demo` runs the chain by itself: on the embedded default (SQLite, eager Celery, beat
in a thread of the server) the chain tasks deploy the contracts to the in-process chain at
their first run and commit the trades' batch with the settler's key (the tester's second
account), with nothing started by hand."""

from tests.engine.service import test_embedded_demo

CHAIN_SCRIPT = """
import time
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from engine.chain.models import Deployment, SettlementBatch
from engine.services import command_submit
from governance.risk_groups.models import RiskGroup
from xip_portal.scheduler import scheduler_start_in_process
group = RiskGroup.objects.create(name="Demo", slug="demo", kind="permissionless")
spot = {"market_id": "BTC-USDC", "kind": "spot", "quote_asset": "USDC", "base_asset": "BTC"}
command_submit(risk_group=group, account=0, command={"type": "AddMarket", "config": spot})
for account, asset in ((1, "USDC"), (2, "BTC")):
    deposit = {"type": "Deposit", "asset": asset, "amount": 10**6, "external_id": asset}
    command_submit(risk_group=group, account=account, command=deposit)
order = {"type": "PlaceOrder", "market": "BTC-USDC", "size": 10, "price": 100}
command_submit(risk_group=group, account=2, command={**order, "side": "sell"})
command_submit(risk_group=group, account=1, command={**order, "side": "buy"}, wait=1)
service = scheduler_start_in_process()
try:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        batch = SettlementBatch.objects.filter(committed=True).first()
        if batch is not None:
            break
        time.sleep(0.5)
    print("deployed", Deployment.objects.count())
    # the six commands above, and any time tick the scheduler journaled before the cut
    print("batch", batch.number, batch.fill_count, batch.last_seq >= 6)
    deployment = Deployment.objects.get()
    # committed by the settler, a key apart from the operator's (the registrar)
    print("settler", batch.transaction.sender == deployment.settler != deployment.operator)
finally:
    service.stop()
"""


def test_the_demo_deploys_and_commits_a_batch_by_itself(tmp_path):
    lines = test_embedded_demo.run_embedded(CHAIN_SCRIPT, tmp_path)

    assert lines[-3:] == ["deployed 1", "batch 1 1 True", "settler True"], lines
