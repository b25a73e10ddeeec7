"""Dated amounts summed by group and day: a hand-worked case, and the same sums as a loop over every
amount, to the last bit, for any holdings and shares."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from portfolio.book.dated import DatedAmounts
from portfolio.pricing.returns import DayFlows

D1, D2, D3 = (day.toordinal() for day in (dt.date(2026, 1, 5), dt.date(2026, 1, 6), dt.date(2026, 2, 2)))


def arrays(holdings: list[list[tuple[int, float]]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each holding's (day, amount) pairs as a ledger gives them: an array of days, one of amounts."""
    return [
        (np.array([day for day, _ in pairs], dtype=np.int64), np.array([amount for _, amount in pairs], dtype=float))
        for pairs in holdings
    ]


def listed(groups: list[DayFlows]) -> list[list[tuple[int, float]]]:
    return [list(zip(group.days.tolist(), group.amounts.tolist(), strict=True)) for group in groups]


def test_each_group_sums_its_holdings_shares_by_day():
    """Holding 0 pays 100 on D1 and receives 30 on D3; holding 1 pays 50 on D1 and 10 on D2;
    holding 2 has no amounts. Group 0 (the total) takes all of each: D1 -150, D2 -10, D3 30. Group 1
    takes a quarter of holding 0 and group 2 three quarters of it and all of holding 1: group 1 D1
    -25, D3 7.5; group 2 D1 -75 - 50 = -125, D2 -10, D3 22.5. Group 3 holds only holding 2: nothing."""
    amounts = DatedAmounts.of(arrays([[(D1, -100.0), (D3, 30.0)], [(D1, -50.0), (D2, -10.0)], []]))
    total = amounts.by_group([(0, 0, 1.0), (1, 0, 1.0), (2, 0, 1.0)], 1)
    assert listed(total) == [[(D1, -150.0), (D2, -10.0), (D3, 30.0)]]
    split = amounts.by_group([(0, 0, 0.25), (0, 1, 0.75), (1, 1, 1.0), (2, 2, 1.0)], 3)
    assert listed(split) == [[(D1, -25.0), (D3, 7.5)], [(D1, -125.0), (D2, -10.0), (D3, 22.5)], []]
    assert listed(DatedAmounts.of([]).by_group([], 2)) == [[], []]


DAYS = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2020, 1, 20)).map(dt.date.toordinal)
AMOUNT = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(
    holdings=st.lists(st.lists(st.tuples(DAYS, AMOUNT), max_size=6), max_size=6),
    data=st.data(),
)
def test_the_sums_are_a_loops_to_the_last_bit(holdings, data):
    """Each group's day sum adds its amounts in the order of the shares and of each holding's
    amounts, exactly as a loop over them does (floats are not associative)."""
    groups = 3
    shares = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, max(len(holdings) - 1, 0)), st.integers(0, groups - 1), st.sampled_from([1.0, 0.25, 0.3])
            ),
            max_size=12,
        )
        if holdings
        else st.just([])
    )
    looped: list[dict[int, float]] = [defaultdict(float) for _ in range(groups)]
    for holding, group, weight in shares:
        for on, amount in holdings[holding]:
            looped[group][on] += amount * weight
    assert listed(DatedAmounts.of(arrays(holdings)).by_group(shares, groups)) == [
        sorted(days.items()) for days in looped
    ]
