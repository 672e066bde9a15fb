"""Forms of the risk group pages: creation by site admins, policy edits by operators."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from xip_portal.models import Institution

from .models import ORACLE_KINDS, MarketType, RiskGroup
from .services import (
    BOUNDS_FIELDS,
    COUNTRY_LIST_FIELDS,
    GOVERNANCE_POLICY_FIELDS,
    MEMBERSHIP_POLICY_FIELDS,
    POLICY_FIELDS,
)


def _codes(text: str) -> list[str]:
    return [code.strip().upper() for code in text.replace(";", ",").split(",") if code.strip()]


class RiskGroupCreateForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(max_length=60, required=False, help_text="Made from the name if empty.")
    kind = forms.ChoiceField(choices=RiskGroup.Kind.choices)
    operator = forms.ModelChoiceField(queryset=Institution.objects.all(), required=False)


class RiskGroupPolicyForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    last_call_hours = forms.IntegerField(min_value=1, label="Last Call length (hours)")
    vote_quorum = forms.IntegerField(min_value=1, label="Voting quorum (votes)")
    vote_threshold_bps = forms.IntegerField(
        min_value=0, max_value=10000, label="Rejecting share of votes against (bps)"
    )
    operator_approval_required = forms.BooleanField(required=False)
    stagnant_after_days = forms.IntegerField(min_value=1)
    proposal_bond_amount = forms.DecimalField(min_value=0, max_digits=20, decimal_places=6)
    proposal_bond_asset = forms.CharField(max_length=16, required=False)
    reverification_days = forms.IntegerField(min_value=1, label="Re-verification period (days)")
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
    min_tick = forms.DecimalField(max_digits=30, decimal_places=18)
    max_tick = forms.DecimalField(max_digits=30, decimal_places=18)
    min_lot = forms.DecimalField(max_digits=30, decimal_places=18)
    max_lot = forms.DecimalField(max_digits=30, decimal_places=18)
    min_maker_fee_bps = forms.IntegerField()
    max_maker_fee_bps = forms.IntegerField()
    min_taker_fee_bps = forms.IntegerField()
    max_taker_fee_bps = forms.IntegerField()
    max_leverage = forms.IntegerField(min_value=1)
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
    haircut_bps = forms.IntegerField(min_value=0, max_value=9999, required=False, initial=0)
    remove = forms.BooleanField(required=False)
