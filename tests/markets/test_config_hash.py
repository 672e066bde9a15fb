"""The config hash: keccak-256 of the RFC 8785 canonical JSON of the spec."""

import copy
from typing import Any

import pytest
from eth_utils.crypto import keccak

from markets.config_hash import canonical_spec, config_hash
from tests.markets.factories import perp_spec


def test_equal_specs_hash_equal_whatever_the_key_order() -> None:
    spec = perp_spec()
    reordered = dict(reversed(list(spec.items())))

    assert config_hash(spec) == config_hash(reordered)
    assert config_hash(spec) == config_hash(copy.deepcopy(spec))


def test_the_hash_is_keccak_of_the_canonical_json() -> None:
    spec = {"tick": "0.01", "symbol": "BTC-USDC", "maker_fee_bps": -1}

    assert canonical_spec(spec) == b'{"maker_fee_bps":-1,"symbol":"BTC-USDC","tick":"0.01"}'
    assert config_hash(spec) == "0x" + keccak(canonical_spec(spec)).hex()
    assert len(config_hash(spec)) == 66


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "0" if value[-1:].isdigit() and "." in value else value + "X"
    if isinstance(value, list):
        return [*value, value[-1]] if value else ["extra"]
    raise AssertionError(value)


@pytest.mark.parametrize("field", sorted(perp_spec()))
def test_the_hash_changes_with_any_field(field: str) -> None:
    spec = perp_spec()
    changed = copy.deepcopy(spec)
    changed[field] = _changed(spec[field])

    assert config_hash(changed) != config_hash(spec)


def test_a_nested_change_changes_the_hash() -> None:
    spec = perp_spec()
    changed = copy.deepcopy(spec)
    changed["margin_tiers"][0]["mm_bps"] += 1

    assert config_hash(changed) != config_hash(spec)


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError, match=r"spec\.tick is a float"):
        config_hash({"tick": 0.01})
