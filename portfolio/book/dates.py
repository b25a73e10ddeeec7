"""The dates the figures are shown for."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Max
from django.utils import timezone

from portfolio.models import RefreshRun, Valuation
from portfolio.models.base import EARLIEST_DATE

#: Runs that store valuations, and the outcomes after which their date is complete.
VALUING_KINDS = (RefreshRun.Kind.PIPELINE, RefreshRun.Kind.VALUATIONS, RefreshRun.Kind.BACKFILL)
COMPLETED = (RefreshRun.Status.SUCCEEDED, RefreshRun.Status.PARTIAL)


#: The earliest date figures are shown for: the earliest a record may carry.
EARLIEST = EARLIEST_DATE


def shown_date_error(value: date) -> str | None:
    """Why figures cannot be shown as of ``value`` (before 1990 or after today), or None."""
    if value < EARLIEST or value > today():
        return f"Choose a date from {EARLIEST.isoformat()} to today ({today().isoformat()})."
    return None


def year_before(day: date) -> date:
    """The start of the year ending on ``day`` (never before the earliest shown date)."""
    return max(day - timedelta(days=365), EARLIEST)


def today() -> date:
    """Today in UTC: the date a refresh values when asked for none (prices of days not yet
    closed are simply the latest available)."""
    return timezone.now().date()


def has_completed_valuation_run() -> bool:
    return RefreshRun.objects.filter(kind__in=VALUING_KINDS, status__in=COMPLETED).exists()


def default_as_of() -> date:
    """The date pages, the API and exports show when none is asked for: the latest date with a
    completed valuation run; without any run, the latest stored valuation; without any, today."""
    completed = RefreshRun.objects.filter(kind__in=VALUING_KINDS, status__in=COMPLETED).aggregate(latest=Max("as_of"))
    completed_on: date | None = completed["latest"]
    if completed_on is not None:
        return min(completed_on, today())
    latest: date | None = Valuation.objects.aggregate(latest=Max("as_of"))["latest"]
    return latest or today()
