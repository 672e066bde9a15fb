"""The embedded default (SQLite, eager Celery, no Redis) runs the same service code: one
process holds the single-writer lock, and a submitter gets its outcome at once."""

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


def test_the_embedded_demo_trades_through_the_same_service(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "xip_portal.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "SECRET_KEY": "demo",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "applied filled 5"
