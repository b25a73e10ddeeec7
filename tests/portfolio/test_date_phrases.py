"""Date phrases as sources write them become windows with a precision; the unreadable is flagged."""

import datetime as dt

import pytest

from portfolio.date_phrases import parse_date_phrase
from portfolio.models import DatePrecision as P

D = dt.date
CASES = [
    ("late 2027", D(2027, 9, 1), D(2027, 12, 31), P.SEASON),
    ("mid-2026", D(2026, 5, 1), D(2026, 8, 31), P.SEASON),
    ("mid 2026", D(2026, 5, 1), D(2026, 8, 31), P.SEASON),
    ("early 2027", D(2027, 1, 1), D(2027, 4, 30), P.SEASON),
    ("H2 2026", D(2026, 7, 1), D(2026, 12, 31), P.HALF),
    ("H1 2026", D(2026, 1, 1), D(2026, 6, 30), P.HALF),
    ("second half of 2026", D(2026, 7, 1), D(2026, 12, 31), P.HALF),
    ("Q4 2025", D(2025, 10, 1), D(2025, 12, 31), P.QUARTER),
    ("Q2 2026", D(2026, 4, 1), D(2026, 6, 30), P.QUARTER),
    ("2026 Q1", D(2026, 1, 1), D(2026, 3, 31), P.QUARTER),
    ("by end of 2026", D(2026, 1, 1), D(2026, 12, 31), P.YEAR),
    ("end-2025", D(2025, 10, 1), D(2025, 12, 31), P.QUARTER),
    ("2028", D(2028, 1, 1), D(2028, 12, 31), P.YEAR),
    ("by 2028", D(2028, 1, 1), D(2028, 12, 31), P.YEAR),
    ("through 2028", D(2028, 1, 1), D(2028, 12, 31), P.YEAR),
    ("2029-30", D(2029, 1, 1), D(2030, 12, 31), P.MULTI_YEAR),
    ("2029\u20132030", D(2029, 1, 1), D(2030, 12, 31), P.MULTI_YEAR),
    ("March 2025", D(2025, 3, 1), D(2025, 3, 31), P.MONTH),
    ("Sept 2026", D(2026, 9, 1), D(2026, 9, 30), P.MONTH),
    ("~Oct 2026", D(2026, 10, 1), D(2026, 10, 31), P.MONTH),
    ("February 2028", D(2028, 2, 1), D(2028, 2, 29), P.MONTH),  # leap year
    ("2025-12", D(2025, 12, 1), D(2025, 12, 31), P.MONTH),
    ("2026-03-31", D(2026, 3, 31), D(2026, 3, 31), P.DAY),
    ("July 10, 2025", D(2025, 7, 10), D(2025, 7, 10), P.DAY),
    ("10 July 2025", D(2025, 7, 10), D(2025, 7, 10), P.DAY),
]


@pytest.mark.parametrize(("text", "start", "end", "precision"), CASES, ids=[c[0] for c in CASES])
def test_phrase_becomes_window(text, start, end, precision):
    """Each phrase written as sources write it (seasons, halves, quarters, years, ranges, months, days)
    becomes the window and precision worked out by hand."""
    window = parse_date_phrase(text)
    assert (window.start, window.end, window.precision) == (start, end, precision)
    assert window.text == text
    assert window.is_parsed


@pytest.mark.parametrize("text", ["soon", "", "TBD", "Feb 30 2026", "2030-29", "foo 2026", "Q5 2026", "2026-13"])
def test_unreadable_text_is_kept_and_flagged(text):
    """Text that names no real date is kept as written, flagged unparsed, with no window, rather than
    guessed."""
    window = parse_date_phrase(text)
    assert window.precision == P.UNPARSED
    assert (window.start, window.end) == (None, None)
    assert window.text == text
    assert not window.is_parsed


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("LATE 2027", D(2027, 9, 1), D(2027, 12, 31)),
        ("  h2 2026  ", D(2026, 7, 1), D(2026, 12, 31)),
        ("late-2027.", D(2027, 9, 1), D(2027, 12, 31)),
        ("2029 to 2030", D(2029, 1, 1), D(2030, 12, 31)),
        ("by the end of 2026", D(2026, 1, 1), D(2026, 12, 31)),
    ],
)
def test_odd_spacing_case_and_punctuation(text, start, end):
    """Capitals, surrounding spaces, a trailing full stop and wordier forms of a phrase give the same
    window as the plain one."""
    window = parse_date_phrase(text)
    assert (window.start, window.end) == (start, end)


@pytest.mark.parametrize("text", ["late", "2027 maybe", "Q4", "H3 2026", "mid-27", "19999", "late 2027 or 2028"])
def test_partial_or_ambiguous_text_is_not_guessed(text):
    """A phrase without a year, with an impossible half, a two-digit year or two choices is left
    unparsed rather than guessed."""
    assert parse_date_phrase(text).precision == P.UNPARSED
