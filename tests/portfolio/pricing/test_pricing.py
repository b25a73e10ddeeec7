"""Valuation arithmetic against hand-worked and published cases."""

import datetime as dt
import itertools
import math
import statistics
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.pricing.convertible import convertible_value
from portfolio.pricing.options import black_scholes_call
from portfolio.pricing.statistics import annualised_volatility, log_returns, returns_volatility


def test_black_scholes_textbook_case():
    """S=42, K=40, r=0.10, q=0, T=0.5, vol=0.20 gives 4.7594 (Hull's example)."""
    call = black_scholes_call(spot=42, strike=40, rate=0.10, dividend_yield=0, years=0.5, vol=0.20)
    assert call.value == pytest.approx(4.759422, abs=1e-6)
    assert call.d1 == pytest.approx(0.769263, abs=1e-6)
    assert call.d2 == pytest.approx(0.627841, abs=1e-6)
    assert not call.floored_at_intrinsic


def test_dividend_yield_lowers_the_value():
    """A dividend yield lowers the call's value below the textbook case without one."""
    with_q = black_scholes_call(spot=42, strike=40, rate=0.10, dividend_yield=0.03, years=0.5, vol=0.20)
    assert with_q.value < 4.759422


def test_penny_warrant_is_worth_about_the_share_price_less_strike():
    """A $0.01 strike 10-year warrant on a $5 share: about S - K e^(-rT)."""
    call = black_scholes_call(spot=5.0, strike=0.01, rate=0.04, dividend_yield=0, years=10, vol=0.6)
    assert call.value == pytest.approx(5.0 - 0.01 * math.exp(-0.4), abs=1e-4)
    assert call.value >= 5.0 - 0.01


def test_never_below_intrinsic():
    """Deep in the money with a high dividend yield the model value falls below S - K; the floor holds."""
    call = black_scholes_call(spot=100, strike=10, rate=0.0, dividend_yield=0.2, years=5, vol=0.1)
    assert call.model_value < 90
    assert call.value == 90
    assert call.floored_at_intrinsic


def test_expired_or_zero_vol_is_intrinsic():
    """An expired call is worth its intrinsic value: S - K in the money, 0 out of it."""
    assert black_scholes_call(spot=42, strike=40, rate=0.1, dividend_yield=0, years=0, vol=0.2).value == 2
    assert black_scholes_call(spot=38, strike=40, rate=0.1, dividend_yield=0, years=0, vol=0.2).value == 0


def test_bad_inputs_are_refused():
    """A share price of zero or a negative strike is refused with an error naming it, not valued."""
    with pytest.raises(ValueError, match="share price"):
        black_scholes_call(spot=0, strike=1, rate=0, dividend_yield=0, years=1, vol=0.2)
    with pytest.raises(ValueError, match="negative"):
        black_scholes_call(spot=1, strike=-1, rate=0, dividend_yield=0, years=1, vol=0.2)


def test_volatility_of_alternating_returns():
    """Closes 100, 110, 100, 110: log returns +-ln(1.1); sample stdev = ln(1.1) x sqrt(4/3); x sqrt(252)."""
    vol = annualised_volatility([100, 110, 100, 110])
    assert vol == pytest.approx(math.log(1.1) * math.sqrt(4 / 3) * math.sqrt(252), rel=1e-12)


@given(closes=st.lists(st.floats(min_value=0.01, max_value=1e4, allow_nan=False), min_size=3, max_size=300))
def test_volatility_agrees_with_the_exact_sample_deviation(closes):
    """Any closes: the same figure as the statistics module's exact computation, to 1e-12 of it."""
    returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    exact = statistics.stdev(returns) * math.sqrt(252)
    assert annualised_volatility(closes) == pytest.approx(exact, rel=1e-12, abs=1e-15)


def test_volatility_needs_enough_positive_closes():
    """Volatility needs at least three closes, all positive; fewer, or a zero close, is refused rather
    than giving a meaningless figure."""
    with pytest.raises(ValueError, match="three"):
        annualised_volatility([1, 2])
    with pytest.raises(ValueError, match="positive"):
        annualised_volatility([1, 0, 2])


@given(
    closes=st.lists(st.floats(min_value=-1, max_value=1e4, allow_nan=False), min_size=3, max_size=60),
    first=st.integers(min_value=0, max_value=59),
    size=st.integers(min_value=0, max_value=60),
)
def test_a_window_of_returns_worked_out_once_gives_the_windows_own_figure(closes, first, size):
    """A backfill works out a listing's log returns once and takes each day's window of them: the
    figure (or the refusal) is exactly that of the window's closes, whatever lies outside it (a
    zero or negative close outside the window included)."""
    window = closes[first : first + size]
    returns = log_returns(closes)[first : max(first, first + len(window) - 1)]
    try:
        expected: float | str = annualised_volatility(window)
    except ValueError as error:
        expected = str(error)
    try:
        got: float | str = returns_volatility(returns)
    except ValueError as error:
        got = str(error)
    # Closes thousands of orders of magnitude apart make an infinite return and a NaN figure: both ways.
    assert repr(got) == repr(expected)


def test_convertible_carries_the_preference_when_the_shares_are_cheap():
    """MP Series A one year after issue at 7 % PIK: stated 1,000 -> 1,070; 400,000 shares.
    Preference 428,000,000. As converted at S=20: 400,000 x 1,070 / 30.03 x 20 = 285,048,285.05."""
    result = convertible_value(
        quantity=Decimal("400000"),
        stated_value=Decimal("1000"),
        conversion_price=Decimal("30.03"),
        pik_rate_pct=Decimal("7"),
        issued_on=dt.date(2025, 7, 10),
        as_of=dt.date(2026, 7, 10),
        share_price=Decimal("20"),
    )
    assert result.years_accrued == 1
    assert result.accreted_stated_value == Decimal("1070")
    assert result.liquidation_preference == Decimal("428000000")
    assert round(result.as_converted_value, 2) == Decimal("285048285.05")
    assert result.value == result.liquidation_preference
    assert result.carried == "liquidation_preference"


def test_convertible_carries_the_conversion_value_when_the_shares_are_dear():
    """At issue (no accretion) and S=60: 400,000 x 1,000 / 30.03 x 60 = 799,200,799.20 > 400,000,000."""
    result = convertible_value(
        quantity=Decimal("400000"),
        stated_value=Decimal("1000"),
        conversion_price=Decimal("30.03"),
        pik_rate_pct=Decimal("7"),
        issued_on=dt.date(2025, 7, 10),
        as_of=dt.date(2025, 7, 10),
        share_price=Decimal("60"),
    )
    assert round(result.value, 2) == Decimal("799200799.20")
    assert result.carried == "as_converted"
