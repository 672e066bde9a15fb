from django import forms
from django_countries import countries

from .models import InstitutionMembership

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
