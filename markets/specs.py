"""Market specs: how a spec reads on a page."""

from __future__ import annotations

from typing import Any


def spec_rows(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """The spec as (label, text) rows for a page."""
    rows = []
    for name, value in spec.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            text = "; ".join(", ".join(f"{k} {v}" for k, v in item.items()) for item in value)
        elif isinstance(value, list):
            text = ", ".join(str(item) for item in value) or "—"
        elif isinstance(value, dict):
            text = "; ".join(f"{k} = {v}" for k, v in value.items())
        else:
            text = "—" if value in (None, "") else str(value)
        rows.append((name.replace("_", " "), text))
    return rows
