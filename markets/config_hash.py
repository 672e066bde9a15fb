"""The config hash of a market: keccak-256 of the RFC 8785 canonical JSON of its spec.

The on-chain registry holds the same value, so the spec stays plain JSON: strings, integers,
booleans, lists and objects. Decimals travel as strings; a float is refused, because two
equal prices must never hash differently through binary rounding."""

from __future__ import annotations

from typing import Any

import rfc8785
from eth_utils.crypto import keccak


def _check_plain_json(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return
    if isinstance(value, float):
        raise TypeError(f"{path} is a float; market specs carry decimals as strings")
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain_json(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path} has a non-string key {key!r}")
            _check_plain_json(item, f"{path}.{key}")
        return
    raise TypeError(f"{path} is a {type(value).__name__}, not plain JSON")


def canonical_spec(spec: dict[str, Any]) -> bytes:
    """The RFC 8785 (JCS) canonical JSON bytes of `spec`."""
    _check_plain_json(spec, "spec")
    return rfc8785.dumps(spec)


def config_hash(spec: dict[str, Any]) -> str:
    """`0x` + 64 hex digits: keccak-256 of the canonical spec."""
    return "0x" + keccak(canonical_spec(spec)).hex()
