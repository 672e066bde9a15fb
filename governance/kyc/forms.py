"""Forms of the KYC and review pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from governance.memberships.models import Membership
from xip_portal.forms import COUNTRY_CHOICES
from xip_portal.models import Institution

from .models import KycApplication, KycDocument, KycStatus
from .services import QUEUE_MAX_AGE_DAYS


class KycApplyForm(forms.Form):
    kind = forms.ChoiceField(
        choices=KycApplication.Kind.choices,
        widget=forms.RadioSelect,
        initial=KycApplication.Kind.PERSON,
        label="Who applies",
    )
    institution = forms.ModelChoiceField(
        queryset=Institution.objects.none(),
        required=False,
        help_text="For an institutional (KYB) application: one you administer.",
    )

    def __init__(self, *args: Any, institutions: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if institutions is not None:
            self.fields["institution"].queryset = institutions  # type: ignore[attr-defined]


class PersonProfileForm(forms.Form):
    legal_name = forms.CharField(max_length=200, required=False, label="Legal name")
    date_of_birth = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Date of birth"
    )
    nationality = forms.ChoiceField(choices=COUNTRY_CHOICES, required=False)
    country_of_residence = forms.ChoiceField(
        choices=COUNTRY_CHOICES, required=False, label="Country of residence"
    )
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class InstitutionProfileForm(forms.Form):
    registration_number = forms.CharField(max_length=80, required=False)
    jurisdiction = forms.ChoiceField(choices=COUNTRY_CHOICES, required=False)
    registered_address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    beneficial_owners = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="One owner per line: name; country code; share in percent "
        "(e.g. Ada Lovelace; GB; 60).",
    )

    def clean_beneficial_owners(self) -> list[dict[str, str]]:
        owners = []
        for number, line in enumerate(self.cleaned_data["beneficial_owners"].splitlines(), 1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split(";")]
            if len(parts) != 3:
                raise forms.ValidationError(
                    f"Line {number}: write name; country code; share in percent."
                )
            owners.append({"name": parts[0], "country": parts[1], "share_percent": parts[2]})
        return owners

    @staticmethod
    def owners_text(owners: list[dict[str, str]]) -> str:
        return "\n".join(
            f"{owner.get('name', '')}; {owner.get('country', '')}; {owner.get('share_percent', '')}"
            for owner in owners
        )


def profile_form(application: KycApplication, data: Any = None) -> forms.Form:
    """The profile form of the application's kind, filled with what it holds."""
    if application.is_institution:
        initial: dict[str, Any] = {
            "registration_number": application.registration_number,
            "jurisdiction": str(application.jurisdiction or ""),
            "registered_address": application.registered_address,
            "beneficial_owners": InstitutionProfileForm.owners_text(application.beneficial_owners),
        }
        return InstitutionProfileForm(data, initial=initial)
    initial = {
        "legal_name": application.legal_name,
        "date_of_birth": application.date_of_birth,
        "nationality": str(application.nationality or ""),
        "country_of_residence": str(application.country_of_residence or ""),
        "address": application.address,
    }
    return PersonProfileForm(data, initial=initial)


class DocumentUploadForm(forms.Form):
    kind = forms.ChoiceField(choices=KycDocument.Kind.choices, label="Document")
    file = forms.FileField(
        help_text="PDF, JPEG or PNG, at most 10 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
        allow_empty_file=True,  # the service refuses empty files with its own message
    )

    def __init__(self, *args: Any, kinds: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kinds is not None:
            self.fields["kind"].choices = [(k.value, k.label) for k in kinds]  # type: ignore[attr-defined]


class ReviewDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            ("approve", "Approve"),
            ("reject", "Reject"),
            ("needs_info", "Ask for more information"),
        ]
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Required to reject (the reason) or to ask for information; the applicant "
        "sees it.",
    )
    tier = forms.ChoiceField(choices=[("", "Default"), *Membership.Tier.choices], required=False)


class ReviewQueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Waiting for a decision")]
        + [(s.value, s.label) for s in KycStatus if s != KycStatus.DRAFT],
        required=False,
    )
    kind = forms.ChoiceField(choices=[("", "Any"), *KycApplication.Kind.choices], required=False)
    min_age_days = forms.IntegerField(
        min_value=0, max_value=QUEUE_MAX_AGE_DAYS, required=False, label="Older than (days)"
    )
    group = forms.SlugField(required=False, widget=forms.HiddenInput)
