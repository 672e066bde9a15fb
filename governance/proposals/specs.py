"""The structured part of an XIP, per type: a market's spec and its parameter changes and
delistings are checked by the market registry (markets/specs.py), a new risk group's here."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from engine.core.markets import BPS
from governance.risk_groups.models import RiskGroup
from markets.specs import delisting_spec_clean, market_spec_clean, parameter_change_spec_clean
from xip_portal.specs import SpecChecker, SpecError, decimal_text

from .models import ProposalType


def risk_group_spec_clean(raw: dict[str, Any]) -> dict[str, Any]:
    check = SpecChecker(raw)
    name = check.text("name", max_length=120)
    slug = check.text("slug", max_length=60).lower()
    if slug and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
        check.fail("slug", "Lower-case letters, digits and '-'.")
    if name and RiskGroup.objects.filter(name__iexact=name).exists():
        check.fail("name", f"A risk group named {name!r} exists.")
    if slug and RiskGroup.objects.filter(slug=slug).exists():
        check.fail("slug", f"A risk group {slug!r} exists.")
    kind = check.text("kind")
    if kind and kind not in RiskGroup.Kind.values:
        check.fail("kind", f"One of {', '.join(RiskGroup.Kind.values)}.")
    spec: dict[str, Any] = {
        "name": name,
        "slug": slug,
        "kind": kind,
        "description": check.text("description", required=False, max_length=2000),
        "last_call_hours": check.integer("last_call_hours", low=1, high=24 * 60),
        "vote_quorum": check.integer("vote_quorum", low=0, high=1_000_000),
        "vote_threshold_bps": check.integer("vote_threshold_bps", low=1, high=BPS),
        "stagnant_after_days": check.integer("stagnant_after_days", low=1, high=3650),
    }
    bond = check.decimal("proposal_bond_amount", required=False)
    if bond is not None and bond < 0:
        check.fail("proposal_bond_amount", "Can not be negative.")
    spec["proposal_bond_amount"] = decimal_text(bond) if bond is not None else "0"
    spec["proposal_bond_asset"] = check.text("proposal_bond_asset", required=False).upper()
    check.raise_if_errors()
    return spec


def proposal_spec_clean(
    proposal_type: str,
    raw: dict[str, Any],
    *,
    risk_group: RiskGroup,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The normalised spec for an XIP of `proposal_type`, or SpecError per field."""
    if not isinstance(raw, dict):
        raise SpecError("The spec must be an object.", fields={"spec": ["Must be an object."]})
    if proposal_type == ProposalType.MARKET:
        return market_spec_clean(raw, risk_group=risk_group, now=now)
    if proposal_type == ProposalType.PARAMETER_CHANGE:
        return parameter_change_spec_clean(raw, risk_group=risk_group, now=now)
    if proposal_type == ProposalType.DELISTING:
        return delisting_spec_clean(raw, risk_group=risk_group, now=now)
    if proposal_type == ProposalType.RISK_GROUP:
        return risk_group_spec_clean(raw)
    if proposal_type == ProposalType.PROCESS:
        return {}
    raise SpecError(
        f"Unknown XIP type {proposal_type!r}.", fields={"proposal_type": ["Unknown type."]}
    )
