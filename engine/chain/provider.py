"""The chain the registry and settlement state are committed to: web3's in-process tester
chain ("embedded", the default), or any EVM JSON-RPC endpoint (anvil in tests, X Layer)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from web3 import Web3

EMBEDDED = "embedded"


@cache
def chain_web3() -> Web3:
    # Imported on first use, not when the URLconf loads: web3 pulls in py_ecc, which raises
    # the interpreter's recursion limit to 100,000 for the whole process.
    from web3 import EthereumTesterProvider, Web3

    url = settings.CHAIN_RPC_URL
    if url == EMBEDDED:
        return Web3(EthereumTesterProvider())
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 5}))


def chain_describe() -> str:
    url = settings.CHAIN_RPC_URL
    return "embedded tester chain" if url == EMBEDDED else f"JSON-RPC {url}"
