"""The periods of a change (where each starts) and the change of value, gain and MOIC between two
sets of figures, worked by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portfolio.book import DEFAULT_PERIOD, Change, ChangePeriod, Figures, period_start
from portfolio.book.dates import EARLIEST

D = Decimal


def test_the_periods_by_code_and_label():
    """Four periods, a week by default, each code with the label the control shows."""
    assert ChangePeriod.choices == [("1d", "1 day"), ("1w", "1 week"), ("1m", "1 month"), ("ytd", "Year to date")]
    assert DEFAULT_PERIOD == "1w"


@pytest.mark.parametrize(
    ("as_of", "period", "start"),
    [
        # the day before, across a month's and a year's end
        (dt.date(2026, 11, 27), "1d", dt.date(2026, 11, 26)),
        (dt.date(2026, 3, 1), "1d", dt.date(2026, 2, 28)),
        (dt.date(2026, 1, 1), "1d", dt.date(2025, 12, 31)),
        # seven days before: 27 - 7 = 20; 3 March 2024 - 7 days = 25 February (2024 leap, 29 days)
        (dt.date(2026, 11, 27), "1w", dt.date(2026, 11, 20)),
        (dt.date(2024, 3, 3), "1w", dt.date(2024, 2, 25)),
        (dt.date(2026, 1, 4), "1w", dt.date(2025, 12, 28)),
        # the same day of the previous month
        (dt.date(2026, 11, 27), "1m", dt.date(2026, 10, 27)),
        (dt.date(2026, 1, 15), "1m", dt.date(2025, 12, 15)),
        # clamped to the previous month's end: February has 28 days in 2026, 29 in 2024 (leap year)
        (dt.date(2026, 3, 31), "1m", dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 29), "1m", dt.date(2026, 2, 28)),
        (dt.date(2024, 3, 31), "1m", dt.date(2024, 2, 29)),
        (dt.date(2024, 3, 29), "1m", dt.date(2024, 2, 29)),
        (dt.date(2026, 5, 31), "1m", dt.date(2026, 4, 30)),
        # 29 February 2024 (leap) back a month: 29 January
        (dt.date(2024, 2, 29), "1m", dt.date(2024, 1, 29)),
        # the year to date: from 31 December of the previous year, 1 January included
        (dt.date(2026, 11, 27), "ytd", dt.date(2025, 12, 31)),
        (dt.date(2026, 1, 1), "ytd", dt.date(2025, 12, 31)),
        (dt.date(2026, 12, 31), "ytd", dt.date(2025, 12, 31)),
    ],
)
def test_where_a_period_starts(as_of, period, start):
    """Each case worked by hand in its comment above."""
    assert period_start(as_of, period) == start


@pytest.mark.parametrize("period", ChangePeriod.values)
def test_a_period_never_starts_before_the_earliest_date(period):
    """On the earliest shown date (1990-01-01) every period starts on it: the day before, the week
    before, 1 December 1989 and 31 December 1989 are all earlier."""
    assert period_start(dt.date(1990, 1, 1), period) == EARLIEST == dt.date(1990, 1, 1)


def test_a_period_reaching_before_the_earliest_date_is_clamped():
    """1990-01-05: a week back is 1989-12-29, a month back 1989-12-05, the year to date 1989-12-31,
    all clamped to 1990-01-01; a day back, 1990-01-04, is not."""
    as_of = dt.date(1990, 1, 5)
    assert [period_start(as_of, p) for p in ("1w", "1m", "ytd")] == [EARLIEST] * 3
    assert period_start(as_of, "1d") == dt.date(1990, 1, 4)


def test_an_unknown_period_is_refused():
    """A code that is not a period raises an error naming it, rather than answering some date."""
    with pytest.raises(ValueError, match="unknown period '2w'"):
        period_start(dt.date(2026, 11, 27), "2w")


def _figures(*, invested: str, realised: str = "0", value: str | None) -> Figures:
    """Figures of one position: invested, realised and its value, or unvalued (value None)."""
    figures = Figures(invested=D(invested), realised=D(realised), positions=1)
    if value is None:
        figures.unvalued.append("Deal: Common: no close")
    else:
        figures.known_value = D(value)
        figures.positions_valued = 1
    return figures


def test_the_change_of_value_gain_and_moic():
    """Before: 1,000 invested, worth 1,200 (gain 200, MOIC 1.2). After: 1,000 more invested (2,000),
    100 received, worth 2,500 (gain 2,500 + 100 - 2,000 = 600, MOIC (100 + 2,500) / 2,000 = 1.3).
    Value +1,300 (+108.3 % of 1,200: 1,300 / 1,200 = 1.0833...), gain +400, MOIC +0.1."""
    before = _figures(invested="1000", value="1200")
    after = _figures(invested="2000", realised="100", value="2500")
    change = Change.between(before, after)
    assert (change.value, change.gain, change.moic) == (D("1300"), D("400"), D("0.1"))
    assert change.value_fraction == D("1300") / D("1200")
    assert (change.missing, change.moic_missing) == ("", "")


def test_a_fall_is_negative():
    """Worth 1,200 then 900 on 1,000 invested: value -300 (-25 %: -300 / 1,200), gain 200 -> -100 is
    -300, MOIC 1.2 -> 0.9 is -0.3."""
    change = Change.between(_figures(invested="1000", value="1200"), _figures(invested="1000", value="900"))
    assert (change.value, change.gain, change.moic) == (D("-300"), D("-300"), D("-0.3"))
    assert change.value_fraction == D("-0.25")


def test_no_change_where_a_side_has_no_value():
    """A group not in the book at the start, or one with a position that could not be valued on
    either date, has no change of value, gain or MOIC, and says why."""
    valued = _figures(invested="1000", value="1200")
    unvalued = _figures(invested="1000", value=None)
    cases = [
        (None, valued, "not in the book at the start"),
        (valued, None, "not in the book on the date"),
        (unvalued, valued, "no value at the start"),
        (valued, unvalued, "no value on the date"),
        (unvalued, unvalued, "no value at the start and no value on the date"),
        (None, None, "not in the book at the start and not in the book on the date"),
    ]
    for before, after, reason in cases:
        change = Change.between(before, after)
        assert (change.value, change.gain, change.moic, change.value_fraction) == (None, None, None, None)
        assert (change.missing, change.moic_missing) == (reason, reason)


def test_no_moic_change_without_money_invested_and_no_percentage_from_zero():
    """Warrants received for nothing: worth 0 at the start, 500 on the date. Value +500, gain +500
    (nothing invested, so the gain is the value), but no MOIC on either side (nothing invested)
    and no percentage of a zero start."""
    change = Change.between(_figures(invested="0", value="0"), _figures(invested="0", value="500"))
    assert (change.value, change.gain, change.moic, change.value_fraction) == (D("500"), D("500"), None, None)
    assert (change.missing, change.moic_missing) == ("", "nothing invested at the start")


def test_a_change_is_frozen():
    """A change cannot be altered once made."""
    change = Change.between(_figures(invested="1000", value="1200"), _figures(invested="1000", value="1300"))
    with pytest.raises(AttributeError):
        change.value = D("0")
