"""Form of the joining page: it parses input; the service decides."""

from django import forms

from xip_portal.forms import COUNTRY_CHOICES


class JoinForm(forms.Form):
    country_of_residence = forms.ChoiceField(choices=COUNTRY_CHOICES, label="Country of residence")
    accept_terms = forms.BooleanField(required=False, label="I accept the terms of this group")
