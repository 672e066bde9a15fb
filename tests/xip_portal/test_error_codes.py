"""Error codes are declared once, in their room's errors.py, and mapped to HTTP in one place."""

import ast
from enum import StrEnum
from importlib import import_module
from pathlib import Path

import pytest

from engine.core.reasons import Reason
from xip_portal.errors import ORDER_END_REASONS, REASON_HTTP_STATUS, ErrorCode

ROOT = Path(__file__).resolve().parent.parent.parent
ROOM_ERRORS = {
    "xip_portal.errors": "ErrorCode",
    "governance.risk_groups.errors": "RiskGroupError",
    "governance.memberships.errors": "MembershipError",
    "governance.kyc.errors": "KycError",
    "governance.proposals.errors": "ProposalError",
    "markets.errors": "MarketError",
    "engine.errors": "EngineError",
    "trading.errors": "TradingError",
}


def _enums() -> list[type[StrEnum]]:
    return [getattr(import_module(module), name) for module, name in ROOM_ERRORS.items()]


def test_every_code_is_declared_once() -> None:
    values = [member.value for enum in _enums() for member in enum]
    assert len(values) == len(set(values)), sorted(v for v in values if values.count(v) > 1)
    assert ErrorCode.NOT_FOUND == "not_found"  # a code compares (and serialises) as its text


def _code_literals(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.keyword) and node.arg == "code":
            value = node.value
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not any(isinstance(t, ast.Name) and t.id == "code" for t in targets):
                continue
            value = node.value  # type: ignore[assignment]
        else:
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {value.value!r}")
    return found


def test_no_error_code_is_a_string_literal() -> None:
    # Codes come from the rooms' enums, so a typo is a NameError, not a new public code.
    literals = [
        literal
        for package in ("xip_portal", "governance", "markets", "engine", "trading")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts and path.name != "errors.py"
        for literal in _code_literals(path)
    ]
    assert literals == []


@pytest.mark.parametrize("reason", list(Reason))
def test_every_engine_reason_has_a_status_or_is_not_a_refusal(reason: Reason) -> None:
    assert (reason in REASON_HTTP_STATUS) != (reason in ORDER_END_REASONS)
    if reason in REASON_HTTP_STATUS:
        assert REASON_HTTP_STATUS[reason] in (400, 403, 404, 409)
