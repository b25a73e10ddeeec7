"""The periods a change of the figures is shown over (1 day, 1 week, 1 month, the year to date),
the date each starts from, and the change of a group's value, gain and MOIC between two dates.

A change is the figures on the date less the figures on the period's start, each from the book
of its own date: what was in the book then against what is in it now. Where either side has no
value (not in the book, or a position in it that could not be valued), there is no change, and
``Change.missing`` says why.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import models

from .core import Figures
from .dates import EARLIEST


class ChangePeriod(models.TextChoices):
    DAY = "1d", "1 day"
    WEEK = "1w", "1 week"
    MONTH = "1m", "1 month"
    YEAR_TO_DATE = "ytd", "Year to date"


#: The period shown when none is asked for.
DEFAULT_PERIOD = ChangePeriod.WEEK


def period_start(as_of: date, period: str) -> date:
    """The date a change over ``period`` up to ``as_of`` is measured from: the day before (1d),
    seven days before (1w), the same day of the previous month, or that month's last day when it
    is shorter (1m: 2026-03-31 -> 2026-02-28), 31 December of the previous year (ytd). Never
    before the earliest shown date. An unknown period is an error."""
    if period not in ChangePeriod.values:
        raise ValueError(f"unknown period {period!r}; choose one of {', '.join(ChangePeriod.values)}")
    if as_of <= EARLIEST:
        return EARLIEST
    if period == ChangePeriod.DAY:
        start = as_of - timedelta(days=1)
    elif period == ChangePeriod.WEEK:
        start = as_of - timedelta(days=7)
    elif period == ChangePeriod.MONTH:
        year, month = (as_of.year, as_of.month - 1) if as_of.month > 1 else (as_of.year - 1, 12)
        start = date(year, month, min(as_of.day, calendar.monthrange(year, month)[1]))
    else:  # the year to date
        start = date(as_of.year - 1, 12, 31)
    return max(start, EARLIEST)


def _why_missing(figures: Figures | None, when: str) -> str | None:
    if figures is None:
        return f"not in the book {when}"
    if figures.value is None:
        return f"no value {when}"
    return None


@dataclass(frozen=True)
class Change:
    """How a group's figures moved between two dates: the value and the gain in USD (to the cent),
    the MOIC in multiples, and the value's change as a fraction of the value at the start."""

    value: Decimal | None
    gain: Decimal | None
    moic: Decimal | None
    value_fraction: Decimal | None  # None when the value at the start is zero or unknown
    missing: str = ""  # why there is no change of value and gain ("" when there is)
    moic_missing: str = ""  # why there is no change of MOIC ("" when there is)

    @classmethod
    def between(cls, before: Figures | None, after: Figures | None) -> Change:
        """The change from ``before`` (the figures at the start) to ``after`` (those on the date);
        either may be None, for a group not in the book on its date."""
        reasons = [r for r in (_why_missing(before, "at the start"), _why_missing(after, "on the date")) if r]
        if before is None or after is None or before.value is None or after.value is None:
            missing = " and ".join(reasons)
            return cls(value=None, gain=None, moic=None, value_fraction=None, missing=missing, moic_missing=missing)
        value = after.value - before.value
        gain = None if before.gain is None or after.gain is None else after.gain - before.gain
        moic: Decimal | None = None
        moic_missing = ""
        if before.moic is None or after.moic is None:
            moic_missing = "nothing invested at the start" if before.moic is None else "nothing invested on the date"
        else:
            moic = after.moic - before.moic
        fraction = value / before.value if before.value else None
        return cls(value=value, gain=gain, moic=moic, value_fraction=fraction, moic_missing=moic_missing)
