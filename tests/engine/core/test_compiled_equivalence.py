"""The mypyc build of the engine core decides exactly as the pure source: the same random
streams give the same events and the same state hashes in both, the projections' fold
gives the same rows, and a replay of the streams' journal records the same final state.

The build is made by `make engine-core` (`make test` makes it first, so CI runs this); the
test is skipped only when no current build exists.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.core import Engine, command_to_dict, command_to_record, event_to_dict, keys_named
from engine.core.projection import ProjectionBatch, ProjectionRows, ProjectionState
from tests.engine.core.test_ledger import risky_stream
from tests.engine.core.test_snapshot_and_codec import mixed_stream

ROOT = Path(__file__).resolve().parents[3]
BUILD = ROOT / "build" / "engine-core"


def rows_text(rows: ProjectionRows) -> str:
    tables = ("orders", "order_updates", "fills", "statement", "insurance", "funding")
    tables += ("balances", "positions", "holdings", "markets", "candles")
    return json.dumps([getattr(rows, table) for table in tables])


def transcript() -> dict[str, Any]:
    """Of a set of streams: every command's journal record and events; every 25 commands
    and at the end, the state hash and the projection rows of the 25 (as JSON); at the end,
    the projection state read off the engine, the keys the events named and the state hash
    of a replay of the records; and which build made them."""
    import engine.core.engine as engine_module

    streams = [risky_stream(seed, 250) for seed in range(12)]
    streams += [mixed_stream(seed, 300) for seed in range(4)]
    runs = []
    for commands in streams:
        engine = Engine("rg", "USDC")
        state = ProjectionState("USDC")
        batch = ProjectionBatch(1)
        events, hashes, rows, records = [], [], [], []
        markets: set[str] = set()
        accounts: set[int] = set()
        for number, command in enumerate(commands):
            applied = engine.apply(command)
            records.append(command_to_record(command))
            events.append([event_to_dict(event) for event in applied])
            keys_named(applied, markets, accounts)
            state.apply(applied)
            batch.add(number + 1, number + 1, command_to_dict(command), applied, state, command.ts)
            if number % 25 == 0:
                hashes.append(engine.state_hash())
                rows.append(rows_text(batch.rows(state)))
                batch = ProjectionBatch(1)
        hashes.append(engine.state_hash())
        rows.append(rows_text(batch.rows(state)))
        recovered = ProjectionState.of_engine(engine)
        replayed = Engine("rg", "USDC")
        replayed.replay(json.loads(json.dumps(records)))
        runs.append(
            {
                "events": events,
                "hashes": hashes,
                "rows": rows,
                "recovered": repr(sorted(recovered.ledger.state().items())),
                "keys": [sorted(markets), sorted(accounts)],
                "records": records,
                "replayed": replayed.state_hash(),
            }
        )
    return {"compiled": not (engine_module.__file__ or "").endswith(".py"), "runs": runs}


def build_is_current() -> bool:
    spec = importlib.util.spec_from_file_location("core_build", ROOT / "engine/core_build.py")
    assert spec is not None and spec.loader is not None
    core_build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core_build)
    hash_file = BUILD / "SOURCE_HASH"
    return hash_file.exists() and hash_file.read_text() == core_build.source_hash()


@pytest.mark.skipif(not build_is_current(), reason="no current build: run make engine-core")
def test_the_compiled_build_gives_the_same_events_and_hashes_as_the_source():
    # given the pure source here, and the compiled build in a process of its own
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(BUILD)!r}, {str(ROOT)!r}]\n"
        "from tests.engine.core.test_compiled_equivalence import transcript\n"
        "print(json.dumps(transcript()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    compiled = json.loads(result.stdout)
    # when both run the same streams
    pure = json.loads(json.dumps(transcript()))
    # then the build really is compiled, and nothing differs
    assert compiled["compiled"] and not pure["compiled"]
    for number, (theirs, ours) in enumerate(zip(compiled["runs"], pure["runs"], strict=True)):
        assert theirs["hashes"] == ours["hashes"], f"stream {number}"
        assert theirs["events"] == ours["events"], f"stream {number}"
        assert theirs["rows"] == ours["rows"], f"stream {number}"
        assert theirs["recovered"] == ours["recovered"], f"stream {number}"
        assert theirs["keys"] == ours["keys"], f"stream {number}"
        assert theirs["records"] == ours["records"], f"stream {number}"
        assert theirs["replayed"] == ours["replayed"] == ours["hashes"][-1], f"stream {number}"
