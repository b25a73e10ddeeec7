"""Reading query parameters: bad input gets a clear message, never a server error."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError

from portfolio.book import BOOK_LABELS, BOOKS, DEFAULT_BOOK, DEFAULT_PERIOD, ChangePeriod
from portfolio.book.bridge import default_start
from portfolio.book.dates import shown_date_error
from portfolio.models import Scenario

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


class ReportForm(BasisForm):
    scenario = forms.ModelChoiceField(
        queryset=Scenario.objects.order_by("name"),
        required=False,
        empty_label="None",
        label="Scenario",
        help_text="A saved scenario, run on the report's date, printed after the figures.",
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


class ChangeForm(forms.Form):
    """The period the tiles show the change over (``change``: 1d, 1w, 1m or ytd). Read beside a
    page's own form, so that a bad period leaves its date and book as asked."""

    change = forms.ChoiceField(required=False, label="Change over", choices=ChangePeriod.choices)


def change_from(form: ChangeForm) -> str:
    """The valid period of a bound form, or the default (a week)."""
    if form.is_valid() and form.cleaned_data.get("change"):
        return form.cleaned_data["change"]
    return DEFAULT_PERIOD


def as_of_from(form: forms.Form, default: date) -> date:
    """The valid as-of date of a bound form, or ``default``."""
    if form.is_valid() and form.cleaned_data.get("as_of"):
        return form.cleaned_data["as_of"]
    return default


class PeriodForm(forms.Form):
    """A period from ``start`` to ``end`` (both shown dates, the start not after the end)."""

    start = forms.DateField(required=False, label="From", widget=ISO_DATE_INPUT)
    end = forms.DateField(required=False, label="To", widget=ISO_DATE_INPUT)

    def clean_start(self):
        return shown_date(self.cleaned_data.get("start"))

    def clean_end(self):
        return shown_date(self.cleaned_data.get("end"))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("start", "The start comes before the end.")
        return cleaned


def shown_date(value: date | None) -> date | None:
    """A form's date, refused with the reason where the pages show no figures for it."""
    error = value and shown_date_error(value)
    if error:
        raise forms.ValidationError(error)
    return value


def period_from(form: PeriodForm, default_end: date) -> tuple[date, date]:
    """The valid period of a bound form; what is not given (or not valid) is the default: the
    sixty days up to ``default_end``, or the sixty days before a given end."""
    cleaned = form.cleaned_data if form.is_valid() else {}
    end = cleaned.get("end") or default_end
    start = cleaned.get("start") or default_start(end)
    return start, end


def refusal_on(form: forms.Form, exc: ValidationError) -> None:
    """A service's refusal (a model's checks) shown on ``form``: on the field it concerns, or
    above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)
