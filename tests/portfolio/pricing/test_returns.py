"""XIRR, MOIC and time-weighted return against published and hand-worked cases."""

import datetime as dt
import itertools
import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.pricing.returns import (
    DayFlows,
    Flow,
    Period,
    _schedule,
    chained_return,
    modified_dietz,
    moic,
    time_weighted_return,
    xirr,
)

D = dt.date


def test_xirr_three_flows():
    """-2,750 on 2008-02-05, +1,000 on 2008-07-05, +2,000 on 2009-01-05: 12.36 % (calcapp's example)."""
    flows = [Flow(D(2008, 2, 5), -2750), Flow(D(2008, 7, 5), 1000), Flow(D(2009, 1, 5), 2000)]
    assert xirr(flows) == pytest.approx(0.123631, abs=1e-6)


def test_xirr_five_flows():
    """-12,000 then 2,800 / 3,250 / 4,460 / 5,000 from 1991-05 to 1992-04: 36.32 % (a spreadsheet manual's example)."""
    flows = [
        Flow(D(1991, 2, 1), -12000),
        Flow(D(1991, 5, 1), 2800),
        Flow(D(1991, 10, 1), 3250),
        Flow(D(1992, 2, 1), 4460),
        Flow(D(1992, 4, 1), 5000),
    ]
    assert xirr(flows) == pytest.approx(0.363222, abs=1e-6)


def test_xirr_the_common_spreadsheet_example():
    """XIRR of the five-flow example spreadsheets document is 37.34 %, as they give it."""
    flows = [
        Flow(D(2008, 1, 1), -10000),
        Flow(D(2008, 3, 1), 2750),
        Flow(D(2008, 10, 30), 4250),
        Flow(D(2009, 2, 15), 3250),
        Flow(D(2009, 4, 1), 2750),
    ]
    assert xirr(flows) == pytest.approx(0.373363, abs=1e-6)


def test_xirr_exactly_one_year_doubling_and_a_loss():
    """-100 then +200 after 365 days is +100 %; -100 then +50 is -50 %."""
    assert xirr([Flow(D(2025, 1, 1), -100), Flow(D(2026, 1, 1), 200)]) == pytest.approx(1.0, abs=1e-9)
    assert xirr([Flow(D(2025, 1, 1), -100), Flow(D(2026, 1, 1), 50)]) == pytest.approx(-0.5, abs=1e-9)


def test_xirr_is_undefined_without_a_payment_and_a_receipt():
    """Without both a payment and a receipt there is no rate: no flows, only a receipt (warrants
    received for nothing) or only payments give None."""
    assert xirr([]) is None
    assert xirr([Flow(D(2025, 1, 1), 100)]) is None  # received for nothing paid (e.g. warrants as consideration)
    assert xirr([Flow(D(2025, 1, 1), -100), Flow(D(2025, 6, 1), -5)]) is None


def test_moic():
    """MOIC is (realised + value) / invested, 1.5 for 400 in, 20 out and 580 held; with nothing invested
    it is None, not infinite."""
    assert moic(invested=Decimal("400"), realised=Decimal("20"), value=Decimal("580")) == Decimal("1.5")
    assert moic(invested=Decimal("0"), realised=Decimal("0"), value=Decimal("52000000")) is None


def test_modified_dietz_hand_worked():
    """V0 = 100, a contribution of 50 halfway through a 30-day period, V1 = 160:
    (160 - 100 - 50) / (100 + 50 x 15/30) = 10 / 125 = 8 %."""
    period = Period(D(2026, 1, 1), D(2026, 1, 31), 100, 160, [(D(2026, 1, 16), 50)])
    assert modified_dietz(period) == pytest.approx(0.08)


def test_time_weighted_return_chains_periods():
    """+10 % then -10 %: 1.1 x 0.9 - 1 = -1 %, whatever money came in between."""
    periods = [
        Period(D(2026, 1, 1), D(2026, 2, 1), 100, 110),
        Period(D(2026, 2, 1), D(2026, 3, 1), 110, 999, [(D(2026, 2, 1), 1000)]),  # (999-110-1000)/(110+1000)
    ]
    assert time_weighted_return(periods) == pytest.approx(-0.01)
    assert time_weighted_return([]) is None


def test_xirr_finds_a_deep_loss_where_newton_runs_away_upwards():
    """Six payments, then one receipt of 60 % of them: from 10 % Newton's steps grow without bound
    (the slope tends to zero), so the bracket [-99.99 %, 1e6] is bisected instead. The NPV is
    +315,218 at -50 % and -137,298 at -40 %: the root lies between, at about -44.29 %."""
    flows = [
        Flow(dt.date(2020, 1, 21), -41843.41),
        Flow(dt.date(2021, 6, 16), -170009.92),
        Flow(dt.date(2021, 10, 7), -80883.14),
        Flow(dt.date(2021, 12, 29), -149347.41),
        Flow(dt.date(2022, 10, 26), -190384.11),
        Flow(dt.date(2022, 11, 30), -177298.67),
        Flow(dt.date(2023, 3, 3), 487707.80),
    ]
    rate = xirr(flows)
    assert rate == pytest.approx(-0.4429, abs=1e-4)
    npv = sum(f.amount / (1 + rate) ** ((f.on - flows[0].on).days / 365) for f in flows)
    assert abs(npv) < 0.01


@pytest.mark.parametrize("first", [D(26, 1, 1), D(1900, 1, 1), D(1, 1, 1)])
def test_flows_centuries_apart_never_raise(first):
    """A flow dated in year 26 (a typo for 2026) or 1900 makes the widest rates' discount factors
    overflow or vanish: the rate is found in a narrower bracket, (1.5)^(1/years) - 1, rather than
    raising ZeroDivisionError or OverflowError."""
    years = (D(2026, 1, 1) - first).days / 365
    assert xirr([Flow(first, -1000.0), Flow(D(2026, 1, 1), 1500.0)]) == pytest.approx(1.5 ** (1 / years) - 1)


def test_flows_whose_every_rate_overflows_have_no_rate():
    """Amounts so large that no discount factor keeps the value finite: n/a, not an error."""
    assert xirr([Flow(D(1, 1, 1), -1e308), Flow(D(9999, 1, 1), 1e308)]) is None


def test_a_chained_return_over_arrays_is_the_loops_hand_worked():
    """100 on 2026-01-01, 110 on 02-01, 1,099 on 03-01 with 1,000 put in on 03-01 (the last day of
    the second period, (02-01, 03-01], so weighted by no day): (110 - 100) / 100 = +10 %, then
    (1,099 - 110 - 1,000) / 110 = -10 %: 1.1 x 0.9 - 1 = -1 %. A contribution on the first day, or
    after the last, falls in no period."""
    days = [D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)]
    flows = [(D(2026, 1, 1), 5.0), (D(2026, 3, 1), 1000.0), (D(2026, 4, 1), 7.0)]
    assert chained_return(days, [100.0, 110.0, 1099.0], flows) == pytest.approx(-0.01)
    assert chained_return(days[:1], [100.0], []) is None
    assert chained_return(days[:2], [0.0, 5.0], []) is None  # no capital in its one period


@given(
    days=st.lists(st.dates(min_value=D(2025, 1, 1), max_value=D(2025, 3, 1)), unique=True, max_size=12).map(sorted),
    data=st.data(),
)
def test_a_chained_return_is_the_time_weighted_return_to_the_last_bit(days, data):
    """The same periods as ``time_weighted_return`` reads them (the contributions in (start, end]
    of each), the same float: the arithmetic is the same and in the same order."""
    money = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
    values = data.draw(st.lists(money, min_size=len(days), max_size=len(days)))
    drawn = data.draw(st.lists(st.tuples(st.dates(D(2024, 12, 1), D(2025, 3, 31)), money), max_size=20))
    flows = sorted(drawn, key=lambda flow: flow[0])  # in date order, a day's in the order drawn
    periods = [
        Period(start, end, values[i], values[i + 1], [(on, amount) for on, amount in flows if start < on <= end])
        for i, (start, end) in enumerate(itertools.pairwise(days))
    ]
    ours, theirs = chained_return(days, values, flows), time_weighted_return(periods)
    assert ours == theirs or (math.isnan(ours) and math.isnan(theirs))  # NaN where a period's return overflows


def test_xirr_nets_each_day_in_the_order_given():
    """Two flows on one day are one amount: -1,000 and +0 and -500 on 2025-01-01, then +1,650 a
    year later (365 days): 1,650 / 1,500 - 1 = 10 %. As arrays, two books' flows joined, the same."""
    first = DayFlows.of([Flow(D(2025, 1, 1), -1000.0), Flow(D(2025, 1, 1), 0.0)])
    second = DayFlows.of([Flow(D(2025, 1, 1), -500.0), Flow(D(2026, 1, 1), 1650.0)])
    assert xirr(first.joined(second)) == pytest.approx(0.10)
    assert len(first.joined(second)) == 4
    assert xirr(DayFlows.empty()) is None


@given(
    flows=st.lists(
        st.builds(
            Flow,
            st.dates(min_value=D(2020, 1, 1), max_value=D(2020, 3, 1)),
            st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
        ),
        min_size=1,
        max_size=15,
    )
)
def test_flows_are_netted_by_day_as_a_loop_nets_them(flows):
    """What XIRR discounts: each day once, in date order, its amounts added in the order given (as a
    loop adds them: floats are not associative), at its years from the first day."""
    by_day: dict[dt.date, float] = {}
    for flow in flows:
        by_day[flow.on] = by_day.get(flow.on, 0.0) + flow.amount
    days = sorted(by_day)
    schedule = _schedule(DayFlows.of(flows))
    assert schedule.amounts.tolist() == [by_day[day] for day in days]
    assert schedule.years.tolist() == [(day - days[0]).days / 365 for day in days]


@given(
    days=st.lists(st.dates(min_value=D(2025, 1, 1), max_value=D(2025, 3, 1)), unique=True, max_size=8).map(sorted),
    flows=st.lists(st.tuples(st.dates(D(2024, 12, 1), D(2025, 3, 31)), st.floats(-1e9, 1e9)), max_size=10),
)
def test_a_chained_return_reads_contributions_as_arrays_alike(days, flows):
    """Contributions given as arrays (a group's money in) give the list's return, to the bit."""
    contributions = sorted(flows, key=lambda flow: flow[0])
    values = [100.0 + i for i in range(len(days))]
    arrays = DayFlows.of([Flow(on, amount) for on, amount in contributions])
    assert _same(chained_return(days, values, contributions), chained_return(days, values, arrays))


def _same(a: float | None, b: float | None) -> bool:
    """The same float, NaN included."""
    return a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b))
