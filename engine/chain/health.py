"""The chain's probe for /healthz (registered by engine.apps at start-up)."""

from __future__ import annotations

from xip_portal.health import ProbeResult


def probe_chain() -> ProbeResult:
    # web3 loads on the first probe, not when the app starts.
    from .provider import chain_describe, chain_web3

    try:
        block = chain_web3().eth.block_number
    except Exception as exc:  # web3 raises per provider; all mean unreachable
        return ProbeResult("chain", False, f"{chain_describe()} is not reachable: {exc}")
    return ProbeResult("chain", True, f"{chain_describe()}, block {block}")
