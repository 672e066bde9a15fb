"""The XIP draft editor: the proposal's own fields plus the spec fields of its type. The form
only reshapes text into the spec's structure; the checks live in markets/specs.py and
governance/proposals/specs.py, whose errors are keyed by these same field names, so they
show beside each field."""

from __future__ import annotations

import copy
import json
from typing import Any

from django import forms

from governance.risk_groups.models import MarketType, RiskGroup
from markets.specs import MARKET_TYPE_FIELDS
from xip_portal.models import Institution, User

from .models import Proposal, ProposalType


def _text(label: str, help_text: str = "", **kw: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text, **kw)


def _lines(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, help_text=help_text, widget=forms.Textarea(attrs={"rows": 4})
    )


def _when(label: str, help_text: str = "UTC.") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


SPEC_FIELDS: dict[str, dict[str, forms.Field]] = {
    ProposalType.MARKET: {
        "market_type": forms.ChoiceField(label="Market type", choices=MarketType.choices),
        "symbol": _text("Symbol", "e.g. BTC-USDC; must not collide with a listed market."),
        "name": _text("Display name", "Optional, e.g. 2026 World Cup winner."),
        "base_asset": _text("Base asset", "Spot and perpetual markets, e.g. BTC."),
        "quote_asset": _text("Quote asset", "The asset prices are in (collateral), e.g. USDC."),
        "outcomes": _lines(
            "Outcomes", "Prediction markets: one per line; none for a YES/NO market."
        ),
        "tick": _text("Tick size", "Decimal, e.g. 0.01."),
        "lot": _text("Lot size", "Decimal, e.g. 0.001."),
        "min_size": _text("Minimum size", "A whole number of lots."),
        "price_band_bps": _text("Price band (bps)", "Max distance from the reference."),
        "maker_fee_bps": _text("Maker fee (bps)", "Negative for a rebate."),
        "taker_fee_bps": _text("Taker fee (bps)"),
        "deployer_share_bps": _text("Deployer fee share (bps)", "Your share of the fees."),
        "oracle_kind": _text("Oracle kind", "e.g. chainlink, pyth, manual, uma."),
        "oracle_source": _text("Oracle source", "Feed address, URL or resolution body."),
        "margin_tiers": _lines(
            "Margin tiers", "Perpetuals: one tier per line: max notional, initial bps, "
            "maintenance bps (e.g. 100000 1000 500).",
        ),
        "oracle_signers": _lines(
            "Oracle signers", "Perpetuals: addresses (0x...) allowed to push signed prices, one "
            "per line.",
        ),
        "oracle_max_age_seconds": _text(
            "Oracle max age (s)", "Perpetuals: the market halts when its price is older."
        ),
        "oracle_max_move_bps": _text(
            "Oracle max move (bps)", "Perpetuals: a push moving the index more is refused."
        ),
        "funding_interval_hours": _text("Funding interval (hours)", "Perpetuals."),
        "funding_cap_bps": _text("Funding cap (bps)", "Perpetuals: cap per interval."),
        "close_time": _when("Close time", "Prediction markets, UTC."),
        "resolution_source": _text("Resolution source", "Prediction markets."),
        "resolver": _text(
            "Resolver", "Prediction markets: slug of the institution that proposes the outcome "
            "(default: the proposing institution).",
        ),
        "dispute_window_hours": _text("Dispute window (hours)", "Prediction markets."),
        "dispute_bond": _text(
            "Dispute bond",
            "Prediction markets, in the quote asset (default: the group's XIP bond).",
        ),
        "launch_time": _when("Launch time", "Optional, UTC: scheduled at listing."),
    },
    ProposalType.PARAMETER_CHANGE: {
        "market": _text("Market", "Symbol of a market in the target group."),
        "changes": _lines("Changes", "One per line: field = new value (e.g. taker_fee_bps = 6)."),
        "enactment_time": _when("Enactment time"),
    },
    ProposalType.DELISTING: {
        "market": _text("Market", "Symbol of a market in the target group."),
        "reason": _lines("Reason", "Why the market should go."),
        "wind_down_time": _when("Wind-down time"),
    },
    ProposalType.RISK_GROUP: {
        "name": _text("Group name"),
        "slug": _text("Slug", "Lower-case, e.g. asia-open."),
        "kind": forms.ChoiceField(label="Kind", choices=RiskGroup.Kind.choices),
        "description": _lines("Description", ""),
        "last_call_minutes": _text("Last Call (minutes)", "e.g. 10080 for a week."),
        "vote_quorum": _text("Vote quorum", "Fewest votes for a vote to count."),
        "vote_threshold_bps": _text("Rejection threshold (bps)", "Share against that rejects."),
        "stagnant_after_days": _text("Stagnant after (days)"),
        "proposal_bond_amount": _text("Proposal bond", "Decimal; 0 for none."),
        "proposal_bond_asset": _text("Bond asset", "e.g. USDC."),
    },
    ProposalType.PROCESS: {},
}  # fmt: skip


def _parse_tiers(text: str) -> list[dict[str, str]]:
    tiers = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.replace(",", " ").split()
        if not parts:
            continue
        if len(parts) != 3:
            raise forms.ValidationError(
                f"Line {number}: give max notional, initial bps and maintenance bps."
            )
        tiers.append({"max_notional": parts[0], "im_bps": parts[1], "mm_bps": parts[2]})
    return tiers


def _parse_changes(text: str) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise forms.ValidationError(f"Line {number}: write field = value.")
        changes[name.strip()] = value.strip()
    return changes


def spec_to_initial(proposal_type: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The editor's initial values for a stored spec."""
    initial = dict(spec)
    if proposal_type == ProposalType.MARKET:
        initial["outcomes"] = "\n".join(spec.get("outcomes") or [])
        initial["margin_tiers"] = "\n".join(
            f"{tier['max_notional']} {tier['im_bps']} {tier['mm_bps']}"
            for tier in spec.get("margin_tiers") or []
        )
    if proposal_type == ProposalType.PARAMETER_CHANGE:
        initial["changes"] = "\n".join(
            f"{name} = {value if isinstance(value, str) else json.dumps(value)}"
            for name, value in (spec.get("changes") or {}).items()
        )
    for name in ("close_time", "launch_time", "enactment_time", "wind_down_time"):
        if isinstance(initial.get(name), str):
            initial[name] = initial[name].rstrip("Z")[:16]
    return initial


class ProposalForm(forms.Form):
    """Title, target group, institution and body, plus the spec fields of `proposal_type`;
    for a market XIP only those of its `market_type`, with the ones a spec must give required."""

    title = forms.CharField(max_length=200)
    risk_group = forms.ModelChoiceField(
        queryset=RiskGroup.objects.order_by("name"), label="Target risk group"
    )
    institution = forms.ModelChoiceField(
        queryset=Institution.objects.none(),
        required=False,
        help_text="Whom you propose for. Required in KYC-regulated groups.",
    )
    coauthors = forms.CharField(
        label="Co-authors",
        required=False,
        help_text="Email addresses of registered users, separated by commas.",
    )
    market_type_label = ""
    body = forms.CharField(
        label="Body (markdown)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Motivation, rationale and risks.",
    )

    def __init__(
        self,
        *args: Any,
        user: User,
        proposal_type: str,
        market_type: str = "",
        proposal: Proposal | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.proposal_type = proposal_type
        institution_field = self.fields["institution"]
        assert isinstance(institution_field, forms.ModelChoiceField)  # noqa: S101
        institution_field.queryset = Institution.objects.filter(members=user).order_by("name")
        fields = SPEC_FIELDS[proposal_type]
        required: dict[str, bool] = {}
        if proposal_type == ProposalType.MARKET and market_type in MARKET_TYPE_FIELDS:
            required = MARKET_TYPE_FIELDS[market_type]
            fields = {name: field for name, field in fields.items() if name in required}
        self.spec_field_names = list(fields)
        for name, field in fields.items():
            self.fields[name] = copy.deepcopy(field)
            self.fields[name].required = required.get(name, False)
        if required:
            # The market type was chosen before the form; it travels with it, unchangeable.
            self.fields["market_type"].widget = forms.HiddenInput()
            self.fields["market_type"].initial = market_type
            self.market_type_label = MarketType(market_type).label
        if proposal is not None:
            # Type, group and institution are fixed once drafted; the edit is a revision.
            for name in ("risk_group", "institution"):
                del self.fields[name]
            self.fields["summary"] = forms.CharField(
                max_length=300, required=False, help_text="What this edit changes."
            )
            del self.fields["coauthors"]
            self.fields["normative"] = forms.BooleanField(
                required=False,
                help_text="The edit changes what the proposal does (spec edits always do). "
                "In Last Call a normative edit sends the proposal back to Review.",
            )

    def clean_coauthors(self) -> list[str]:
        text = self.cleaned_data.get("coauthors") or ""
        return [email.strip() for email in text.replace(";", ",").split(",") if email.strip()]

    def clean_outcomes(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["outcomes"].splitlines() if line.strip()]

    def clean_oracle_signers(self) -> list[str]:
        text = self.cleaned_data["oracle_signers"]
        return [line.strip() for line in text.splitlines() if line.strip()]

    def clean_margin_tiers(self) -> list[dict[str, str]]:
        return _parse_tiers(self.cleaned_data["margin_tiers"])

    def clean_changes(self) -> dict[str, Any]:
        return _parse_changes(self.cleaned_data["changes"])

    def spec_data(self) -> dict[str, Any]:
        """The raw spec the service checks (empty fields left out)."""
        return {
            name: self.cleaned_data[name]
            for name in self.spec_field_names
            if self.cleaned_data.get(name) not in (None, "", [], {})
        }

    def spec_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.spec_field_names if not self[name].is_hidden]

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.spec_field_names]


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment (markdown)", widget=forms.Textarea(attrs={"rows": 4}), max_length=20_000
    )
    kind = forms.ChoiceField(
        choices=[("comment", "Comment"), ("objection", "Objection (Last Call)")],
        initial="comment",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
