"""Reading query parameters: bad input gets a clear message, never a server error."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone


class AsOfForm(forms.Form):
    as_of = forms.DateField(required=False, label="As of", widget=forms.DateInput(attrs={"type": "date"}))

    def clean_as_of(self):
        value = self.cleaned_data.get("as_of")
        if value and value > timezone.now().date():
            raise forms.ValidationError("Choose a date that is not in the future.")
        return value


class DashboardForm(AsOfForm):
    breakdown = forms.ChoiceField(
        required=False,
        label="Value over time by",
        choices=[(d, d.capitalize()) for d in ("agency", "commodity", "company")],
    )


def as_of_from(form: forms.Form, default: date) -> date:
    """The valid as-of date of a bound form, or ``default``."""
    if form.is_valid() and form.cleaned_data.get("as_of"):
        return form.cleaned_data["as_of"]
    return default
