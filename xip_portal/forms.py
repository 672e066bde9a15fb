from typing import Any

from django import forms
from django_countries import countries

from .models import InstitutionMembership, User

# A country picker with an empty first choice (forms that ask for a country of residence).
COUNTRY_CHOICES = [("", "—"), *[(code, name) for code, name in countries]]


class InstitutionForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="The organisation's legal or trading name.")
    website = forms.URLField(required=False, assume_scheme="https")


class InstitutionMemberForm(forms.Form):
    email = forms.EmailField(help_text="The address the person signed up with.")
    role = forms.ChoiceField(
        choices=InstitutionMembership.Role.choices, initial=InstitutionMembership.Role.MEMBER
    )


class SignupForm(forms.Form):
    """What allauth's sign-up form adds (ACCOUNT_SIGNUP_FORM_CLASS): the name other people
    see, so that pages never fall back to showing an e-mail address."""

    display_name = forms.CharField(
        max_length=120,
        label="Display name",
        help_text="Shown to others on proposals, comments and reviews; not your e-mail.",
    )

    def clean_display_name(self) -> str:
        name: str = self.cleaned_data["display_name"].strip()
        if "@" in name:
            raise forms.ValidationError("Choose a name that is not an e-mail address.")
        return name

    def signup(self, request: Any, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"]
        user.save(update_fields=["display_name"])
