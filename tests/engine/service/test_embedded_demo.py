"""The embedded default (SQLite, eager Celery, no Redis) runs the same service code: one
process holds the single-writer lock, and a submitter gets its outcome at once. Time moves
there too: the demo's beat schedule, run in-process by `xip_portal.scheduler` (eager tasks
on SQLite, from beat's thread), ticks every risk group's engine, so a GTD order expires by
itself while the serving thread keeps trading."""

import subprocess
import sys

from django.conf import settings

SCRIPT = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from engine.services import command_submit, shard_of
from engine.rebuild import shard_rebuild
from governance.risk_groups.models import RiskGroup
group = RiskGroup.objects.create(name="Demo", slug="demo", kind="permissionless")
spot = {"market_id": "BTC-USDC", "kind": "spot", "quote_asset": "USDC", "base_asset": "BTC"}
command_submit(risk_group=group, account=0, command={"type": "AddMarket", "config": spot})
for account, asset in ((1, "USDC"), (2, "BTC")):
    deposit = {"type": "Deposit", "asset": asset, "amount": 10**6, "external_id": asset}
    command_submit(risk_group=group, account=account, command=deposit)
order = {"type": "PlaceOrder", "market": "BTC-USDC", "size": 10, "price": 100}
command_submit(risk_group=group, account=2, command={**order, "side": "sell"})
receipt = command_submit(risk_group=group, account=1, command={**order, "side": "buy"}, wait=1)
print(receipt.status, receipt.result, shard_rebuild(shard=shard_of(risk_group=group)).commands)
"""


TICK_SCRIPT = """
import time
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.conf import settings
from engine import models
from engine.services import command_submit
from governance.risk_groups.models import RiskGroup
from xip_portal.scheduler import scheduler_start_in_process
print("tick", settings.CELERY_BEAT_SCHEDULE["engine-time-tick"]["schedule"])
group = RiskGroup.objects.create(name="Demo", slug="demo", kind="permissionless")
spot = {"market_id": "BTC-USDC", "kind": "spot", "quote_asset": "USDC", "base_asset": "BTC"}
command_submit(risk_group=group, account=0, command={"type": "AddMarket", "config": spot})
deposit = {"type": "Deposit", "asset": "USDC", "amount": 10**9, "external_id": "usdc"}
command_submit(risk_group=group, account=1, command=deposit)
service = scheduler_start_in_process()
try:
    expiry = time.time_ns() // 1_000_000 + 2_000
    gtd = {"type": "PlaceOrder", "market": "BTC-USDC", "side": "buy", "size": 10, "price": 100,
           "tif": "gtd", "expiry_ts": expiry}
    placed = command_submit(risk_group=group, account=1, command=gtd, wait=1)
    print("placed", placed.result)
    deadline = time.monotonic() + 30
    gtc = {"type": "PlaceOrder", "market": "BTC-USDC", "side": "buy", "size": 10, "price": 90}
    trading = 0
    while time.monotonic() < deadline:
        # the serving thread keeps submitting while beat's thread ticks
        receipt = command_submit(risk_group=group, account=1, command=gtc, wait=1)
        trading += receipt.result == "accepted"
        order = models.Order.objects.get(order_id=placed.order_id)
        if order.status != "open":
            break
        time.sleep(0.2)
    late = (time.time_ns() // 1_000_000 - expiry) / 1000
    print("gtd", order.status, order.reason, trading > 0, late < 15)
finally:
    service.stop()
"""


def run_embedded(script: str, tmp_path) -> list[str]:
    """The lines `script` prints, run in a process of its own on the demo's settings."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "xip_portal.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "SECRET_KEY": "demo",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def test_the_embedded_demo_trades_through_the_same_service(tmp_path):
    assert run_embedded(SCRIPT, tmp_path)[-1] == "applied filled 5"


def test_the_demo_scheduler_expires_a_gtd_order_on_sqlite(tmp_path):
    lines = run_embedded(TICK_SCRIPT, tmp_path)

    assert "tick 5.0" in lines  # the demo's interval
    assert "placed accepted" in lines
    assert lines[-1] == "gtd cancelled expired True True", lines
