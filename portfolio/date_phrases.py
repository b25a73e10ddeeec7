"""Read the date phrases that sources use ("late 2027", "H2 2026", "2029-30") as windows.

A phrase becomes a ``DateWindow``: the first and last day it can mean, and how precise it is.
Text that cannot be read comes back with no window and precision ``unparsed``, so that it is
kept and flagged for a steward rather than dropped or guessed.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from django.db import models

MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9

# Parts of a year, as thirds: early = Jan-Apr, mid = May-Aug, late = Sep-Dec.
SEASONS = {"early": (1, 4), "mid": (5, 8), "late": (9, 12)}


class DatePrecision(models.TextChoices):
    """How precisely a source stated a date; the window's width follows from it."""

    DAY = "day", "Day"
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    HALF = "half", "Half year"
    SEASON = "season", "Part of a year (early, mid, late)"
    YEAR = "year", "Year"
    MULTI_YEAR = "multi_year", "Range of years"
    UNPARSED = "unparsed", "Not understood (needs a steward)"


@dataclass(frozen=True)
class DateWindow:
    text: str
    start: date | None
    end: date | None
    precision: str

    @property
    def is_parsed(self) -> bool:
        return self.precision != DatePrecision.UNPARSED


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _months(year: int, first: int, last: int, precision: str, text: str) -> DateWindow:
    return DateWindow(text, date(year, first, 1), _month_end(year, last), precision)


def _year(token: str, century_from: int | None = None) -> int:
    """A four-digit year, or a two-digit one completed from ``century_from`` ("2029-30")."""
    if len(token) == 2 and century_from is not None:
        return century_from // 100 * 100 + int(token)
    return int(token)


_YEAR = r"((?:19|20)\d{2})"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^{_YEAR}-(\d{{2}})-(\d{{2}})$"), "iso_day"),
    (re.compile(rf"^(\d{{1,2}}) ([a-z]+),? {_YEAR}$"), "day_month_year"),
    (re.compile(rf"^([a-z]+) (\d{{1,2}}),? {_YEAR}$"), "month_day_year"),
    (re.compile(rf"^{_YEAR}-(0[1-9]|1[0-2])$"), "iso_month"),
    (re.compile(rf"^(early|mid|late)[- ]{_YEAR}$"), "season"),
    (re.compile(rf"^([a-z]+),? {_YEAR}$"), "month_year"),
    (re.compile(rf"^q([1-4]),? {_YEAR}$|^{_YEAR} ?q([1-4])$|^([1-4])q,? {_YEAR}$"), "quarter"),
    (re.compile(rf"^h([12]),? {_YEAR}$|^{_YEAR} ?h([12])$|^([12])h,? {_YEAR}$"), "half"),
    (re.compile(rf"^(first|second) half (?:of )?{_YEAR}$"), "half_words"),
    (re.compile(rf"^(?:year[- ]end|end[- ]of|end)[- ]{_YEAR}$"), "year_end"),
    (re.compile(rf"^{_YEAR} ?(?:-|to|/) ?(\d{{2}}|(?:19|20)\d{{2}})$"), "year_range"),
    (re.compile(rf"^{_YEAR}$"), "year"),
]

# Words that narrow nothing: "by end of 2026" is a deadline within 2026; "through 2028" is 2028.
_LEADING_NOISE = re.compile(
    r"^(?:by|in|during|from|through|thru|around|about|approximately|circa|targeted|target)\s+|^~\s*"
)


def _normalise(text: str) -> str:
    cleaned = text.strip().lower()
    cleaned = cleaned.replace("\u2013", "-").replace("\u2014", "-").replace("\u2011", "-")
    cleaned = re.sub(r"[.,;:]+$", "", cleaned)
    cleaned = re.sub(r"\s+", " ", cleaned)
    cleaned = re.sub(r"\bthe ", "", cleaned)
    previous = None
    while previous != cleaned:
        previous = cleaned
        cleaned = _LEADING_NOISE.sub("", cleaned)
    return cleaned


def parse_date_phrase(text: str) -> DateWindow:
    """Return the window a phrase describes; precision ``unparsed`` (and no dates) if unreadable."""
    raw = (text or "").strip()
    phrase = _normalise(raw)
    deadline = bool(re.match(r"^\s*by\b", raw.lower()))
    for pattern, kind in _PATTERNS:
        match = pattern.match(phrase)
        if not match:
            continue
        try:
            window = _window(kind, [g for g in match.groups() if g is not None], raw)
        except ValueError:  # e.g. February 30
            break
        if window is None:  # the words did not name a month, or the years run backwards
            continue
        if deadline and kind == "year_end" and window.end is not None:
            # "by end of 2026": any time up to the end of 2026.
            return DateWindow(raw, date(window.end.year, 1, 1), window.end, DatePrecision.YEAR)
        return window
    return DateWindow(raw, None, None, DatePrecision.UNPARSED)


def _window(kind: str, groups: list[str], raw: str) -> DateWindow | None:
    if kind == "iso_day":
        day = date(int(groups[0]), int(groups[1]), int(groups[2]))
        return DateWindow(raw, day, day, DatePrecision.DAY)
    if kind in ("day_month_year", "month_day_year"):
        day_token, month_token = (groups[0], groups[1]) if kind == "day_month_year" else (groups[1], groups[0])
        month = MONTHS.get(month_token)
        if month is None:
            return None
        day = date(int(groups[2]), month, int(day_token))
        return DateWindow(raw, day, day, DatePrecision.DAY)
    if kind == "iso_month":
        month = int(groups[1])
        return _months(int(groups[0]), month, month, DatePrecision.MONTH, raw)
    if kind == "month_year":
        month = MONTHS.get(groups[0])
        if month is None:
            return None
        return _months(int(groups[1]), month, month, DatePrecision.MONTH, raw)
    if kind in ("quarter", "half"):
        # Either (number, year) or (year, number) depending on the alternative matched.
        a, b = groups
        number, year = (int(a), int(b)) if len(a) == 1 else (int(b), int(a))
        if kind == "quarter":
            return _months(year, 3 * number - 2, 3 * number, DatePrecision.QUARTER, raw)
        return _months(year, 6 * number - 5, 6 * number, DatePrecision.HALF, raw)
    if kind == "half_words":
        number = 1 if groups[0] == "first" else 2
        return _months(int(groups[1]), 6 * number - 5, 6 * number, DatePrecision.HALF, raw)
    if kind == "season":
        first, last = SEASONS[groups[0]]
        return _months(int(groups[1]), first, last, DatePrecision.SEASON, raw)
    if kind == "year_end":
        return _months(int(groups[0]), 10, 12, DatePrecision.QUARTER, raw)
    if kind == "year_range":
        first = int(groups[0])
        last = _year(groups[1], century_from=first)
        if last <= first:
            return None
        return DateWindow(raw, date(first, 1, 1), date(last, 12, 31), DatePrecision.MULTI_YEAR)
    if kind == "year":
        return _months(int(groups[0]), 1, 12, DatePrecision.YEAR, raw)
    return None
