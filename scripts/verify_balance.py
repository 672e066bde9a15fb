#!/usr/bin/env python3
"""Check a balance proof of the Exchange OS portal against the chain, with nothing but web3.

    python scripts/verify_balance.py --rpc http://127.0.0.1:8545 proof.json

proof.json is what GET /api/v1/accounts/proof/?risk_group=<slug> answers (or the portfolio's
"verify my balance" download). The script reads the balance root of the proof's batch from
the SettlementLedger at `ledger_address`, rebuilds the leaf from its ABI types and values as
OpenZeppelin's StandardMerkleTree does (keccak256(keccak256(abi.encode(values)))), folds
the proof (sorted pairs) and prints whether the result is the committed root. Exit status:
0 verified, 1 not verified, 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from web3 import Web3

LEDGER_ABI = [
    {
        "name": "balance_root",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "risk_group", "type": "uint256"}, {"name": "batch", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bytes32"}],
    }
]


def _typed(abi_type: str, value: str) -> Any:
    if abi_type.startswith(("uint", "int")):
        return int(value)
    if abi_type == "address":
        return Web3.to_checksum_address(value)
    if abi_type.startswith("bytes"):
        return bytes.fromhex(value.removeprefix("0x"))
    if abi_type == "bool":
        return value in (True, "true", "1")
    return value


def leaf_of(w3: Web3, types: list[str], values: list[str]) -> bytes:
    encoded = w3.codec.encode(types, [_typed(t, v) for t, v in zip(types, values, strict=True)])
    return Web3.keccak(Web3.keccak(encoded))


def root_from_proof(leaf: bytes, proof: list[str]) -> bytes:
    node = leaf
    for sibling_hex in proof:
        sibling = bytes.fromhex(sibling_hex.removeprefix("0x"))
        node = Web3.keccak(node + sibling if node < sibling else sibling + node)
    return bytes(node)


def verify(w3: Web3, document: dict[str, Any]) -> tuple[bool, str]:
    types, values = document["leaf"]["types"], document["leaf"]["values"]
    computed = root_from_proof(leaf_of(w3, types, values), document["proof"])
    ledger = w3.eth.contract(
        address=Web3.to_checksum_address(document["ledger_address"]), abi=LEDGER_ABI
    )
    risk_group_id = int(values[0])
    committed = bytes(ledger.functions.balance_root(risk_group_id, int(document["batch"])).call())
    if committed == bytes(32):
        return False, f"batch {document['batch']} of risk group {risk_group_id} is not on-chain"
    if computed != committed:
        return False, f"the proof gives 0x{computed.hex()}, the chain holds 0x{committed.hex()}"
    held = f"balance {values[3]} {values[2]} of account {values[1]}"
    return True, f"verified: {held} is in root 0x{committed.hex()} (batch {document['batch']})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rpc", required=True, help="JSON-RPC URL of the chain")
    parser.add_argument("proof", help="the proof JSON file ('-' for standard input)")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.proof == "-" else open(args.proof).read()
        document = json.loads(text)
        w3 = Web3(Web3.HTTPProvider(args.rpc))
        ok, message = verify(w3, document)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"unusable input: {exc}", file=sys.stderr)
        return 2
    print(message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
