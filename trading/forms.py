import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from governance.risk_groups.models import RiskGroup
from xip_portal.cache import cache_key, kept_in_process

from .services import SCOPES


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=50, help_text="What the key is for, e.g. “market maker”.")
    passphrase = forms.CharField(
        min_length=8,
        max_length=32,
        strip=False,
        widget=forms.PasswordInput,
        help_text="8 to 32 characters you pick; the key's requests send it.",
    )
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in SCOPES],
        initial=["read"],
        widget=forms.CheckboxSelectMultiple,
        help_text="Every key may read; trade places and cancels orders.",
    )
    ip_allowlist = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Addresses or networks (CIDR), one a line; empty allows any.",
    )


class WithdrawalForm(forms.Form):
    risk_group = forms.ModelChoiceField(
        queryset=RiskGroup.objects.order_by("name"), to_field_name="slug", empty_label=None
    )
    amount = forms.DecimalField(
        min_value=Decimal("0.000001"),
        max_digits=24,
        decimal_places=6,
        help_text="Collateral to withdraw (at most 6 decimals).",
    )
    recipient = forms.CharField(
        min_length=42, max_length=42, help_text="The address the vault pays (0x…)."
    )


class QuickBuyForm(forms.Form):
    """One click on the board: buy `size` YES or NO shares of `market` at the market."""

    market = forms.CharField(max_length=120)
    outcome = forms.ChoiceField(choices=[("yes", "YES"), ("no", "NO")])
    size = forms.DecimalField(min_value=0, max_digits=30, decimal_places=18, initial=10)


class TransferForm(forms.Form):
    """Collateral from the user's account in one risk group to theirs in another."""

    from_group = forms.ModelChoiceField(queryset=RiskGroup.objects.none(), label="From")
    to_group = forms.ModelChoiceField(queryset=RiskGroup.objects.none(), label="To")
    amount = forms.DecimalField(min_value=0, max_digits=30, decimal_places=18)
    transfer_id = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args: Any, groups: QuerySet[RiskGroup], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from_group, to_group = self.fields["from_group"], self.fields["to_group"]
        from_group.queryset = to_group.queryset = groups  # type: ignore[attr-defined]

        # both lists offer `groups` itself, not a copy of it: the groups are read once, only
        # if the form is shown, and not again when the view has read them already
        def offered() -> list[tuple[Any, Any]]:
            listing = from_group.iterator(from_group)  # type: ignore[attr-defined]
            blank = [("", from_group.empty_label)] if from_group.empty_label is not None else []  # type: ignore[attr-defined]
            return blank + [listing.choice(group) for group in groups]

        from_group.choices = to_group.choices = offered  # type: ignore[attr-defined]


# a transfer id no transfer has: it stands for each new form's own in the kept fields
TRANSFER_ID_STAND_IN = uuid.UUID(int=0)


def transfer_fields(groups: list[RiskGroup]) -> SafeString:
    """A new transfer's fields for a member of `groups` (the risk groups they may move
    collateral between), as trading/includes/transfer_fields.html renders them. They are
    the same for every member of the same groups but for the transfer's id, new each time,
    and the dearest part of the portfolio to render (Django's widgets), so they are kept
    rendered in the process while the groups are the same (one entry per set of groups that
    members hold; the same set gives the same names to everyone)."""

    def render() -> str:
        offered = RiskGroup.objects.filter(pk__in=[group.pk for group in groups])
        form = TransferForm(
            groups=offered.order_by("name"), initial={"transfer_id": TRANSFER_ID_STAND_IN}
        )
        return render_to_string("trading/includes/transfer_fields.html", {"transfer_form": form})

    kept = kept_in_process(
        cache_key("transfer-fields", ",".join(str(group.pk) for group in groups)),
        tuple((group.pk, group.name) for group in groups),
        render,
    )
    # the id's hidden input comes before the groups' names
    head, _, tail = kept.partition(str(TRANSFER_ID_STAND_IN))
    return SafeString(f"{head}{uuid.uuid4()}{tail}")


class FaucetForm(forms.Form):
    risk_group = forms.ModelChoiceField(
        queryset=RiskGroup.objects.filter(simulated_collateral=True)
    )
