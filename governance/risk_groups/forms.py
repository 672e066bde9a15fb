"""Forms of the risk group pages: creation by site admins, policy edits by operators."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from xip_portal.bounded_values import BoundedDecimalFormField, BoundedIntegerFormField
from xip_portal.models import Institution

from .models import ORACLE_KINDS, MarketType, RiskGroup
from .services import (
    BOUNDS_FIELDS,
    BOUNDS_INTEGER_LIMITS,
    COUNTRY_LIST_FIELDS,
    GOVERNANCE_POLICY_FIELDS,
    MEMBERSHIP_POLICY_FIELDS,
    POLICY_FIELDS,
    POLICY_INTEGER_LIMITS,
)


def _whole(name: str, **kwargs: Any) -> BoundedIntegerFormField:
    """A whole-number field with the limits the service holds `name` to."""
    minimum, maximum = (POLICY_INTEGER_LIMITS | BOUNDS_INTEGER_LIMITS)[name]
    return BoundedIntegerFormField(min_value=minimum, max_value=maximum, **kwargs)


def _bound_decimal() -> BoundedDecimalFormField:
    return BoundedDecimalFormField(max_digits=30, decimal_places=18)


def _codes(text: str) -> list[str]:
    return [code.strip().upper() for code in text.replace(";", ",").split(",") if code.strip()]


class RiskGroupCreateForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(max_length=60, required=False, help_text="Made from the name if empty.")
    kind = forms.ChoiceField(choices=RiskGroup.Kind.choices)
    operator = forms.ModelChoiceField(queryset=Institution.objects.all(), required=False)


class RiskGroupPolicyForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    last_call_minutes = _whole("last_call_minutes", label="Last Call length (minutes)")
    vote_quorum = _whole("vote_quorum", label="Voting quorum (votes)")
    vote_threshold_bps = _whole(
        "vote_threshold_bps", label="Rejecting share of votes against (bps)"
    )
    operator_approval_required = forms.BooleanField(required=False)
    stagnant_after_days = _whole("stagnant_after_days")
    proposal_bond_amount = BoundedDecimalFormField(min_value=0, max_digits=20, decimal_places=6)
    proposal_bond_asset = forms.CharField(max_length=16, required=False)
    simulated_collateral = forms.BooleanField(
        required=False, label="Simulated collateral (members take it from a faucet)"
    )
    faucet_daily_amount = BoundedDecimalFormField(
        min_value=0, max_digits=20, decimal_places=6, label="Faucet per account per day"
    )
    reverification_days = _whole("reverification_days", label="Re-verification period (days)")
    four_eyes_for_institutions = forms.BooleanField(
        required=False, label="Institutional approvals need two KYC admins"
    )
    high_risk_countries = forms.CharField(
        required=False, help_text="ISO 3166 codes separated by commas; these need four eyes."
    )
    blocked_jurisdictions = forms.CharField(required=False, help_text="ISO 3166 codes.")
    allowed_jurisdictions = forms.CharField(
        required=False, help_text="ISO 3166 codes; empty: every jurisdiction not blocked."
    )
    terms = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    # Market bounds.
    min_tick = _bound_decimal()
    max_tick = _bound_decimal()
    min_lot = _bound_decimal()
    max_lot = _bound_decimal()
    min_maker_fee_bps = _whole("min_maker_fee_bps")
    max_maker_fee_bps = _whole("max_maker_fee_bps")
    min_taker_fee_bps = _whole("min_taker_fee_bps")
    max_taker_fee_bps = _whole("max_taker_fee_bps")
    max_leverage = _whole("max_leverage")
    allowed_market_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in MarketType.values],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    allowed_oracle_kinds = forms.MultipleChoiceField(
        choices=[(k, k) for k in ORACLE_KINDS], widget=forms.CheckboxSelectMultiple, required=False
    )
    reason = forms.CharField(required=False, help_text="Why (kept in the audit log).")

    SECTIONS = (
        ("Governance", GOVERNANCE_POLICY_FIELDS),
        ("Membership", MEMBERSHIP_POLICY_FIELDS),
        ("Market bounds", BOUNDS_FIELDS),
        ("Why", ("reason",)),
    )

    @classmethod
    def for_group(cls, group: RiskGroup, data: Any = None) -> RiskGroupPolicyForm:
        initial: dict[str, Any] = {name: getattr(group, name) for name in POLICY_FIELDS}
        for name in COUNTRY_LIST_FIELDS:
            initial[name] = ", ".join(initial[name])
        bounds = getattr(group, "bounds", None)
        if bounds is not None:
            initial.update({name: getattr(bounds, name) for name in BOUNDS_FIELDS})
        for name, value in initial.items():
            if isinstance(value, Decimal):  # 0.0001, not 0.000100000000000000
                initial[name] = format(value.normalize(), "f")
        return cls(data, initial=initial)

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def split(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(policy, bounds) as the service takes them."""
        data = dict(self.cleaned_data)
        data.pop("reason", None)
        for name in COUNTRY_LIST_FIELDS:
            data[name] = _codes(data[name])
        policy = {name: data[name] for name in POLICY_FIELDS}
        bounds = {name: data[name] for name in BOUNDS_FIELDS}
        return policy, bounds


class CollateralForm(forms.Form):
    symbol = forms.CharField(max_length=16)
    haircut_bps = BoundedIntegerFormField(min_value=0, max_value=9999, required=False, initial=0)
    remove = forms.BooleanField(required=False)
