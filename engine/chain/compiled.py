"""The contracts of `contracts/`, compiled by the `vyper` package when first needed and cached
under build/contracts/ (keyed by the sources and the compiler's version, never committed)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from django.conf import settings

CONTRACTS = ("SimulatedUSDC", "MarketRegistry", "SettlementLedger", "CollateralVault", "PriceFeed")


@dataclass(frozen=True)
class Compiled:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def _sources_dir() -> Path:
    return Path(settings.BASE_DIR) / "contracts"


def _fingerprint() -> str:
    digest = hashlib.sha256(f"vyper {version('vyper')} snekmate {version('snekmate')}".encode())
    for name in CONTRACTS:
        digest.update((_sources_dir() / f"{name}.vy").read_bytes())
    return digest.hexdigest()[:24]


@cache
def contracts_compiled() -> dict[str, Compiled]:
    """Every contract's ABI and deployment bytecode."""
    cached = Path(settings.BASE_DIR) / "build" / "contracts" / f"{_fingerprint()}.json"
    if cached.exists():
        data = json.loads(cached.read_text())
    else:
        # The compiler loads on a cache miss only (a second or two per contract).
        from vyper.cli.vyper_compile import compile_files

        paths = [str(_sources_dir() / f"{name}.vy") for name in CONTRACTS]
        output = compile_files(paths, ("abi", "bytecode"))
        data = {
            Path(path).stem: {"abi": result["abi"], "bytecode": result["bytecode"]}
            for path, result in output.items()
        }
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".tmp")
        partial.write_text(json.dumps(data))
        partial.replace(cached)
    return {name: Compiled(name, data[name]["abi"], data[name]["bytecode"]) for name in CONTRACTS}
