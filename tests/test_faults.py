"""The short fault drill of issue 16 (the long one is bench/faults.py, which this runs with
short pauses): signed orders stream through the API while the engine worker is killed with
SIGKILL and restarted, Redis is restarted and the chain node is unreachable for a few
seconds, each on private servers the drill starts itself. Afterwards every acknowledged
order was applied exactly once, no fill is duplicated, the projections equal a replay of the
journal, balances conserve, settlement batches resumed and every root on the chain is
reproduced from the journal. (The web and PostgreSQL restarts are left to the bench: a
second server start and a cluster restart would double the drill's time.)"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("faults")]


def test_nothing_acknowledged_is_lost_through_a_killed_worker_redis_and_chain_outage():
    drill = subprocess.run(  # noqa: S603 - a fixed command line
        [
            sys.executable,
            str(ROOT / "bench" / "faults.py"),
            "--faults",
            "engine,redis,chain",
            "--stream-seconds",
            "2",
            "--outage",
            "4",
            "--traders",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert drill.stdout.strip(), drill.stderr[-3000:]
    result = json.loads(drill.stdout.strip().splitlines()[-1])

    assert result["acknowledged"] > 0
    assert result["applied"] == result["acknowledged"]
    assert all(result["checks"].values()), result
    assert drill.returncode == 0
