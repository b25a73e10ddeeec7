"""How the admin shows numbers and dates: list columns with thousands separators and fixed places,
right-aligned in tabular figures (the ``num`` class, admin.css), and decimal inputs that show
400,000 rather than 400000.000000 and take back exactly what they show."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from portfolio.models import country_name

#: What an empty cell shows.
DASH = "-"


def number(value: Decimal | int | None, places: int = 0) -> str:
    """Thousands-separated, or a dash when there is no value."""
    if value is None:
        return DASH
    return f"{value:,.{places}f}"


def places_needed(value: Decimal, at_least: int) -> int:
    """The decimal places that show a value whole, and at least ``at_least``: a close of
    4.25000000 needs 2, a penny strike of 0.00010000 needs 4."""
    exponent = value.normalize().as_tuple().exponent
    return max(at_least, -exponent) if isinstance(exponent, int) else at_least


def figure(value: Decimal | int | None, places: int = 2, unit: str = "", *, whole: bool = False) -> SafeString:
    """A number for a list column, right-aligned: ``1,551,688,728.00 USD``; a dash when there is none.

    ``whole`` shows every significant place beyond ``places`` (prices and rates, whose last places
    matter); otherwise the value is rounded to ``places``.
    """
    if value is None:
        return format_html('<span class="num">{}</span>', DASH)
    shown = places_needed(Decimal(value), places) if whole else places
    text = number(value, shown)
    return format_html('<span class="num">{}</span>', f"{text} {unit}" if unit else text)


def figure_text(text: str) -> SafeString:
    """Figures already written out (3/6 steps), right-aligned as a figure is."""
    return format_html('<span class="num">{}</span>', text)


def figure_column(
    field: str, description: str, *, places: int = 2, whole: bool = False, unit: str = "", unit_of: str = ""
) -> Callable[[Any, Any], SafeString]:
    """A list column that shows a number field as a figure and sorts by it; ``unit_of`` names the
    attribute holding the unit, dotted through relations the list selects (``currency_id``, a
    currency's code, or ``listing.currency_id``: read without a query)."""
    unit_getter = operator.attrgetter(unit_of) if unit_of else None

    def column(model_admin: Any, obj: Any) -> SafeString:
        return figure(getattr(obj, field), places, str(unit_getter(obj)) if unit_getter else unit, whole=whole)

    return admin.display(description=description, ordering=field)(column)


def iso_date(value: date | None) -> SafeString:
    """A date as the staff pages write it, 2026-11-27, kept on one line; a dash when there is none."""
    return format_html('<span class="nowrap">{}</span>', value.isoformat() if value else DASH)


def date_column(field: str, description: str) -> Callable[[Any, Any], SafeString]:
    """A list column that shows a date field as an ISO date and sorts by it."""

    def column(model_admin: Any, obj: Any) -> SafeString:
        return iso_date(getattr(obj, field))

    return admin.display(description=description, ordering=field)(column)


def iso_datetime(value: datetime | None) -> SafeString:
    """A moment as the staff pages write it, 2026-11-27 14:03 UTC, in the site's time zone."""
    if value is None:
        return format_html('<span class="nowrap">{}</span>', DASH)
    local = timezone.localtime(value)
    return format_html('<span class="nowrap">{} {}</span>', local.strftime("%Y-%m-%d %H:%M"), local.tzname())


def datetime_column(field: str, description: str) -> Callable[[Any, Any], SafeString]:
    """A list column that shows a date and time field as an ISO moment and sorts by it."""

    def column(model_admin: Any, obj: Any) -> SafeString:
        return iso_datetime(getattr(obj, field))

    return admin.display(description=description, ordering=field)(column)


def country_column(field: str = "country", description: str = "Country") -> Callable[[Any, Any], str]:
    """A list column that names a country field's country, "Canada" for CA, and sorts by the code."""

    def column(model_admin: Any, obj: Any) -> str:
        return country_name(getattr(obj, field))

    return admin.display(description=description, ordering=field)(column)


def readonly_fields_of(model: Any) -> list[Any]:
    """Every field of a model, for a page that only shows it, its decimals as figures: 276,437,000.00
    rather than 276437000.00, a rate of 1.0000000000 as 1.00 and of 0.7331000000 as 0.7331."""

    def shown(field: Any) -> Any:
        def value(obj: Any) -> str:
            amount = getattr(obj, field.name)
            return number(amount, places_needed(amount, min(2, field.decimal_places))) if amount is not None else DASH

        value.__name__ = field.name
        return admin.display(description=field.verbose_name)(value)

    return [shown(field) if isinstance(field, models.DecimalField) else field.name for field in model._meta.fields]


def date_range(start: date | None, end: date | None) -> str:
    """An ISO date range, ``2027-07-01 to 2027-12-31``; one date when the range has one end or is one day."""
    if start is None or end is None or start == end:
        one = start or end
        return one.isoformat() if one else ""
    return f"{start.isoformat()} to {end.isoformat()}"


def deal_name(deal: Any) -> str:
    """A deal named short, by its company and its agency: "USA Rare Earth, Inc. (DOC-CHIPS)" (its
    title is a sentence, its reference a key); the list selects the deal's company and agency."""
    return f"{deal.company.name} ({deal.agency.short_name})"


def position_name(position: Any) -> str:
    """A position as a steward knows it, by its company and its label (its deal's reference is a
    key, not a name); the list selects the position's deal and company."""
    return f"{position.deal.company.name}: {position.label}"


def grouped(value: Decimal) -> str:
    """A decimal as a steward would write it: 400,000 for 400000.000000, 1,234.5 for 1234.500000,
    with no exponent however large or small."""
    return format(value.normalize(), ",f")


#: Commas only between groups of three digits: 1,234,567.89 and not 1,5 (a decimal comma).
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")


class GroupedDecimalInput(forms.TextInput):
    """A decimal input that shows its value thousands-separated, without trailing zeros."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"inputmode": "decimal", "size": 16, **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, Decimal) and value.is_finite():
            return grouped(value)
        return super().format_value(value)


class GroupedDecimalField(forms.DecimalField):
    """A decimal typed as 400000, 400,000 or 400000.00, all the same value; a comma anywhere but
    between groups of three digits is refused rather than guessed (1,5 is not read as 15)."""

    widget = GroupedDecimalInput
    default_error_messages = {
        "grouping": "Use commas only between groups of three digits and a point for decimals, e.g. 1,234,567.89.",
    }

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]  # the stubs give the integer field's type
        if isinstance(value, str) and "," in value:
            text = value.strip()
            if not _GROUPED.match(text):
                raise ValidationError(self.error_messages["grouping"], code="grouping")
            value = text.replace(",", "")
        return super().to_python(value)
