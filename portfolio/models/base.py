"""Building blocks shared by every model: timestamps, provenance, decimal field shapes, checks."""

from __future__ import annotations

import decimal
from datetime import date, timedelta
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django_countries import countries


class DecimalShape(TypedDict):
    """The digits of a decimal column, spread into its field: DecimalField(**MONEY)."""

    max_digits: int
    decimal_places: int


# Decimal shapes. Money and quantities are never floats.
MONEY: DecimalShape = {"max_digits": 20, "decimal_places": 2}  # up to 10^18 in the instrument's currency
PRICE: DecimalShape = {"max_digits": 20, "decimal_places": 8}  # penny strikes such as 0.0001 per unit
QUANTITY: DecimalShape = {"max_digits": 24, "decimal_places": 6}  # JV units run to billions
PERCENT: DecimalShape = {"max_digits": 9, "decimal_places": 6}  # 0-100
RATE: DecimalShape = {"max_digits": 20, "decimal_places": 10}  # FX rates


class DecimalField(models.DecimalField):
    """A decimal column whose stored values always read back.

    SQLite keeps decimals as 8-byte floats, to 15 significant digits (a limitation Django
    documents): a value at the top of a column's range, such as 999,999,999,999,999,999.99 in a
    money column, comes back rounded up to 10^18, a digit more than the column holds, and
    Django's SQLite reader then raises InvalidOperation, taking down every page and API answer
    that reads the row. On SQLite this field reads with a digit of headroom and brings such a
    value back to the largest the column holds (as near the stored value as SQLite's own
    rounding). PostgreSQL stores decimals exactly and is unaffected. Deconstructed as Django's
    own field: the schema and the migrations are the same.
    """

    @cached_property
    def context(self) -> decimal.Context:
        return decimal.Context(prec=self.max_digits + 1)

    @cached_property
    def largest(self) -> decimal.Decimal:
        """The largest value the column holds, e.g. 999,999,999,999,999,999.99 for money."""
        unit = decimal.Decimal(1).scaleb(-self.decimal_places)
        return decimal.Decimal(10) ** (self.max_digits - self.decimal_places) - unit

    def get_db_converters(self, connection):
        converters = super().get_db_converters(connection)
        return [*converters, self._within_column] if connection.vendor == "sqlite" else converters

    def _within_column(self, value, expression, connection):
        if value is not None and abs(value) > self.largest:
            return self.largest.copy_sign(value)
        return value

    def deconstruct(self):
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


class URLField(models.URLField):
    """A URL field whose form assumes https:// when a steward types a bare domain."""

    def formfield(self, **kwargs):
        kwargs.setdefault("assume_scheme", "https")
        return super().formfield(**kwargs)


class TimeStampedModel(models.Model):
    """Abstract base: creation and last-update times on every row."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Evidence(models.TextChoices):
    """How well a fact is supported by its source."""

    FILING = "filing", "SEC filing"
    GOVERNMENT = "government", "Government release"
    COMPANY = "company", "Company release"
    NEWS = "news", "News report"
    UNVERIFIED = "unverified", "Unverified"


#: Sources that speak for a party to the deal (a filing, a government or company release, or a
#: verbatim copy of one); news reports and unverified claims are secondary.
PRIMARY_EVIDENCE = (Evidence.FILING, Evidence.GOVERNMENT, Evidence.COMPANY)


class SourcedModel(TimeStampedModel):
    """Abstract base for records that state facts: where they come from and how well supported."""

    source_url = URLField(max_length=500, blank=True)
    source_published_on = models.DateField(null=True, blank=True, help_text="Date the source was published.")
    evidence = models.CharField(
        max_length=12,
        choices=Evidence.choices,
        default=Evidence.UNVERIFIED,
        help_text="Unverified facts are shown flagged, never as fact. Anything else needs its source URL.",
    )

    class Meta:
        abstract = True

    @property
    def is_unverified(self) -> bool:
        return self.evidence == Evidence.UNVERIFIED


# --- Validators (model validation; the database checks mirror them) ---------------------------

#: The dates a record may carry. The government's stakes in these projects are recent, and terms
#: run decades at most: a date outside this range is a typing error (a year 26 for 2026).
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2100, 12, 31)
#: How far ahead an event (a cash flow, an acquisition, a closing, an achievement) may be dated: a
#: steward may record one that is due, not one years away.
EVENT_HORIZON_DAYS = 366


def plausible_date(value: date) -> None:
    """Refuse a date outside 1990-2100."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValidationError(
            f"Enter a date from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}; {value.isoformat()} "
            "looks like a typing error."
        )


def plausible_event_date(value: date) -> None:
    """Refuse an event dated outside 1990 to a year from today."""
    plausible_date(value)
    latest = timezone.now().date() + timedelta(days=EVENT_HORIZON_DAYS)
    if value > latest:
        raise ValidationError(
            f"An event can be dated at most {EVENT_HORIZON_DAYS} days ahead (until {latest.isoformat()}); "
            f"{value.isoformat()} is later."
        )


cik_validator = RegexValidator(r"^\d{10}$", "A CIK is the SEC's 10-digit number, zero-padded (e.g. 0001801368).")
country_validator = RegexValidator(r"^[A-Z]{2}$", "Use the two-letter ISO 3166 country code, e.g. US or CA.")


def country_name(code: str) -> str:
    """A country code's ISO name: CA -> "Canada"; a code without one is shown as it is."""
    return (countries.name(code) or code) if code else ""


accession_validator = RegexValidator(
    r"^\d{10}-\d{2}-\d{6}$", "An SEC accession number looks like 0001193125-25-278738."
)


# --- Constraint helpers -----------------------------------------------------------------------


def sourced(prefix: str) -> models.CheckConstraint:
    """A record that claims a source (any evidence but unverified) names it."""
    return check(
        f"{prefix}_source_named",
        Q(evidence=Evidence.UNVERIFIED) | ~Q(source_url=""),
        "Give the source URL, or mark the record unverified.",
    )


def check(name: str, condition: Q, message: str) -> models.CheckConstraint:
    """A CheckConstraint whose violation message a data steward can act on."""
    return models.CheckConstraint(condition=condition, name=name, violation_error_message=message)


def positive(field: str, label: str, prefix: str, *, nullable: bool = False) -> models.CheckConstraint:
    cond = Q(**{f"{field}__gt": 0})
    if nullable:
        cond |= Q(**{f"{field}__isnull": True})
    return check(f"{prefix}_{field}_positive", cond, f"{label} must be greater than zero.")


def non_negative(field: str, label: str, prefix: str, *, nullable: bool = False) -> models.CheckConstraint:
    cond = Q(**{f"{field}__gte": 0})
    if nullable:
        cond |= Q(**{f"{field}__isnull": True})
    return check(f"{prefix}_{field}_non_negative", cond, f"{label} cannot be negative.")


def percent(field: str, label: str, prefix: str, *, nullable: bool = True) -> models.CheckConstraint:
    cond = Q(**{f"{field}__gte": 0, f"{field}__lte": 100})
    if nullable:
        cond |= Q(**{f"{field}__isnull": True})
    return check(f"{prefix}_{field}_percent", cond, f"{label} must be between 0 and 100.")


def not_before(later: str, earlier: str, message: str, prefix: str) -> models.CheckConstraint:
    """``later`` is on or after ``earlier`` whenever both are set."""
    cond = (
        Q(**{f"{later}__isnull": True}) | Q(**{f"{earlier}__isnull": True}) | Q(**{f"{later}__gte": models.F(earlier)})
    )
    return check(f"{prefix}_{later}_not_before_{earlier}", cond, message)


def date_in_range(field: str, prefix: str) -> models.CheckConstraint:
    """``field`` is empty or within 1990-2100 (the database's half of ``plausible_date``)."""
    return check(
        f"{prefix}_{field}_in_range",
        Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": EARLIEST_DATE, f"{field}__lte": LATEST_DATE}),
        f"Enter a date from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}.",
    )


def country_code(field: str, prefix: str, *, blank: bool = False) -> models.CheckConstraint:
    cond = Q(**{f"{field}__regex": r"^[A-Z]{2}$"})
    if blank:
        cond |= Q(**{field: ""})
    return check(f"{prefix}_{field}_iso3166", cond, "Use the two-letter ISO 3166 country code, e.g. US or CA.")


class Currency(models.Model):
    """An ISO 4217 currency. The table is filled from portfolio/data/iso4217.csv after migrate."""

    code = models.CharField(max_length=3, primary_key=True)
    name = models.CharField(max_length=80)
    minor_units = models.PositiveSmallIntegerField(default=2)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "currencies"
        constraints = [
            check("currency_code_iso4217", Q(code__regex=r"^[A-Z]{3}$"), "A currency code is three capital letters."),
        ]

    def __str__(self) -> str:
        return self.code


def currency_field(**kwargs: Any) -> models.ForeignKey[Currency, Currency]:
    """A reference to an ISO 4217 currency; the database rejects codes that are not in the table."""
    kwargs.setdefault("on_delete", models.PROTECT)
    kwargs.setdefault("related_name", "+")
    kwargs.setdefault("default", "USD")
    kwargs.setdefault("error_messages", {"invalid": "%(value)r is not an ISO 4217 currency code (e.g. USD, CAD)."})
    return models.ForeignKey(Currency, **kwargs)
