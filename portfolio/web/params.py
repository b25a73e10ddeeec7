"""Reading query parameters: bad input gets a clear message, never a server error."""

from __future__ import annotations

from datetime import date

from django import forms

from portfolio.book import BOOK_LABELS, BOOKS, DEFAULT_BOOK
from portfolio.book.dates import shown_date_error

#: A text input in the pages' one date format: a browser's date picker would show its locale's
#: (mm/dd/yyyy in en-US) instead.
ISO_DATE_INPUT = forms.DateInput(
    format="%Y-%m-%d",
    attrs={"placeholder": "YYYY-MM-DD", "pattern": r"\d{4}-\d{2}-\d{2}", "size": 10, "autocomplete": "off"},
)


class AsOfForm(forms.Form):
    as_of = forms.DateField(required=False, label="As of", widget=ISO_DATE_INPUT)

    def clean_as_of(self):
        value = self.cleaned_data.get("as_of")
        error = value and shown_date_error(value)
        if error:
            raise forms.ValidationError(error)
        return value


class BasisForm(AsOfForm):
    basis = forms.ChoiceField(
        required=False,
        label="Book",
        choices=[(name, BOOK_LABELS[name]) for name in BOOKS],
        help_text="Held counts what the government holds on the date; the others are shown beside it.",
    )


def basis_from(form: forms.Form) -> str:
    """The valid book of a bound form, or the held book."""
    if form.is_valid() and form.cleaned_data.get("basis"):
        return form.cleaned_data["basis"]
    return DEFAULT_BOOK


class DashboardForm(BasisForm):
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
