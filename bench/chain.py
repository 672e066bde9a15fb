"""The chain's figures on anvil (started here): gas and wall time of one settlement batch of
10, 1,000 and 10,000 fills (one transaction each, whatever the size), registry sync latency,
and deposit-to-credit time with N confirmations at one block a second. Last line JSON.

    .venv/bin/python bench/chain.py [--repeat 3]

In its own PostgreSQL database (BENCH_DATABASE, default bench_chain, dropped and made again).
The batches' fills and balances are written straight into the engine's projection tables
(as the writer would have), so the figure is the settlement path alone: reading them,
hashing the fills, building the balance tree (one leaf per account, as many accounts as
fills) and the one transaction."""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_database import ROOT, bench_database_configure  # noqa: E402

SIZES = (10, 1_000, 10_000)


def anvil_start() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    anvil = [str(ROOT / "node_modules" / ".bin" / "anvil"), "--port", str(port), "--silent"]
    process = subprocess.Popen(anvil)  # noqa: S603 (our own node_modules binary)
    url = f"http://127.0.0.1:{port}"
    from web3 import Web3

    for _ in range(100):
        try:
            if Web3(Web3.HTTPProvider(url)).eth.chain_id:
                break
        except OSError:
            time.sleep(0.1)
    return process, url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench_database_configure("bench_chain")
    from eth_account import Account

    process, url = anvil_start()
    operator, settler = Account.create(), Account.create()
    os.environ["CHAIN_RPC_URL"] = url
    os.environ["CHAIN_OPERATOR_KEY"] = operator.key.hex()
    os.environ["CHAIN_SETTLER_KEY"] = settler.key.hex()
    os.environ["CHAIN_CONFIRMATIONS"] = "3"
    import django

    django.setup()
    try:
        figures = run(args.repeat, operator.address, settler.address)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(json.dumps(figures))


def run(repeat: int, operator: str, settler: str) -> dict[str, object]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from engine import models as engine_models
    from engine.chain.deployment import chain_deploy
    from engine.chain.deposits import deposits_scan
    from engine.chain.operator import contract_at, operator_account
    from engine.chain.provider import chain_web3
    from engine.chain.registry import registry_entry_record, registry_sync_run
    from engine.chain.settlement import settlement_commit, settlement_cut
    from engine.services import shard_of
    from governance.risk_groups.models import RiskGroup
    from tests.factories import UserFactory
    from tests.governance.factories import PermissionlessGroupFactory
    from xip_portal.models import User

    w3: Any = chain_web3()  # web3's types do not follow a contract's ABI
    for sender in (operator, settler):
        w3.provider.make_request("anvil_setBalance", [sender, hex(10**22)])
    deployment = chain_deploy()
    group = cast(RiskGroup, PermissionlessGroupFactory())  # type: ignore[no-untyped-call]
    shard = shard_of(risk_group=group)
    figures: dict[str, object] = {}

    batches = {}
    seq = 0
    for size in SIZES:
        walls, gases = [], []
        for _ in range(repeat):
            engine_models.Balance.objects.filter(shard=shard).delete()
            engine_models.Balance.objects.bulk_create(
                engine_models.Balance(
                    shard=shard, account=a, asset="USDC", free=10**15 + a, locked=0, seq=seq + 1
                )
                for a in range(1, size + 1)
            )
            engine_models.Fill.objects.bulk_create(
                engine_models.Fill(
                    shard=shard,
                    seq=seq + 1 + i // 2,
                    index=i % 2,
                    market_id="BTC-USDC",
                    maker_order_id=2 * i + 1,
                    taker_order_id=2 * i + 2,
                    maker_account=i % size + 1,
                    taker_account=(i + 1) % size + 1,
                    taker_buys=i % 2 == 0,
                    price=65_000 * 10**6,
                    size=1_000,
                    maker_fee=-2,
                    taker_fee=10,
                )
                for i in range(size)
            )
            seq += size
            engine_models.Shard.objects.filter(pk=shard.pk).update(high_water=seq)
            started = time.perf_counter()
            batch = settlement_cut(deployment=deployment, risk_group_id=group.pk)
            if batch is None:
                raise RuntimeError("nothing to settle: the bench wrote no fills")
            tx = settlement_commit(batch=batch).transaction
            walls.append(time.perf_counter() - started)
            gases.append(tx.gas_used if tx and tx.gas_used else 0)
        batches[str(size)] = {
            "fills": size,
            "accounts": size,
            "transactions": 1,
            "gas": statistics.median(gases),
            "wall_s": round(statistics.median(walls), 3),
        }
        print(
            f"batch of {size:>6} fills: gas {statistics.median(gases):,.0f}, "
            f"{statistics.median(walls):.3f} s (median of {repeat})"
        )
    figures["settlement"] = batches

    latencies = []
    for version in range(repeat):
        started = time.perf_counter()
        registry_entry_record(
            market_id="BTC-USDC",
            config_hash="0x" + f"{version + 1:064x}",
            status="live",
            risk_group_id=group.pk,
            xip=1,
        )
        registry_sync_run(deployment=deployment)
        latencies.append(time.perf_counter() - started)
    figures["registry_sync_s"] = round(statistics.median(latencies), 3)
    print(f"registry sync (record to mined): {figures['registry_sync_s']} s")

    w3.provider.make_request("evm_setIntervalMining", [1])
    trader = cast(User, UserFactory())  # type: ignore[no-untyped-call]
    token: Any = contract_at("SimulatedUSDC", deployment.token)
    vault: Any = contract_at("CollateralVault", deployment.vault)
    wallet = w3.eth.accounts[1]
    credits = []
    for _ in range(repeat):
        mint = token.functions.mint(wallet, 10**6).build_transaction(
            {"from": operator, "nonce": w3.eth.get_transaction_count(operator, "pending")}
        )
        w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(operator_account().sign_transaction(mint).raw_transaction)
        )
        w3.eth.wait_for_transaction_receipt(
            token.functions.approve(deployment.vault, 10**6).transact({"from": wallet})
        )
        started = time.perf_counter()
        vault.functions.deposit(group.pk, trader.pk, 10**6).transact({"from": wallet})
        while not deposits_scan(deployment=deployment).credited:
            time.sleep(0.1)
        credits.append(time.perf_counter() - started)
    figures["deposit_to_credit_s"] = round(statistics.median(credits), 3)
    figures["confirmations"] = 3
    figures["block_time_s"] = 1
    print(f"deposit to credit, 3 confirmations at 1 block/s: {figures['deposit_to_credit_s']} s")
    return figures


if __name__ == "__main__":
    main()
