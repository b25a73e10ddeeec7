"""Return arithmetic: XIRR (money-weighted), MOIC, Modified Dietz and chained time-weighted return."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import numpy as np

DAYS_PER_YEAR = 365.0
#: The bracket of the bisection, and the bounds Newton's method must stay within.
LOWEST_RATE, HIGHEST_RATE = -0.9999, 1e6


class Flow(NamedTuple):
    """A dated amount from the investor's side: negative paid out, positive received. A named
    tuple: a portfolio's figures build tens of thousands of them."""

    on: date
    amount: float


@dataclass(frozen=True, eq=False)
class DayFlows:
    """Flows as two arrays, for a group's tens of thousands: each one's day (its ordinal) and amount,
    in the order they were added (a day may come more than once)."""

    days: np.ndarray  # int64 ordinals
    amounts: np.ndarray  # float

    @classmethod
    def empty(cls) -> DayFlows:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0))

    @classmethod
    def of(cls, flows: Sequence[Flow]) -> DayFlows:
        return cls(
            np.fromiter((f.on.toordinal() for f in flows), dtype=np.int64, count=len(flows)),
            np.fromiter((f.amount for f in flows), dtype=float, count=len(flows)),
        )

    def __len__(self) -> int:
        return len(self.amounts)

    def joined(self, other: DayFlows) -> DayFlows:
        """These flows, then ``other``'s."""
        return DayFlows(np.concatenate([self.days, other.days]), np.concatenate([self.amounts, other.amounts]))


class _Schedule(NamedTuple):
    """Flows netted by day, as arrays: years from the first day, and amounts."""

    years: np.ndarray
    amounts: np.ndarray


def _schedule(flows: DayFlows) -> _Schedule:
    """Flows of the same day are discounted alike: they are summed first, each day's in the order
    given (a portfolio's tens of thousands of flows fall on a few thousand days)."""
    days, day_of = np.unique(flows.days, return_inverse=True)
    amounts = np.bincount(day_of, weights=flows.amounts, minlength=len(days))  # adds in the order given
    return _Schedule((days - days[0]) / DAYS_PER_YEAR, amounts)


def _factors(rate: float, schedule: _Schedule) -> np.ndarray | None:
    """(1 + rate) ** years for each day; None where one overflows or vanishes (flows centuries apart)."""
    with np.errstate(all="ignore"):  # overflow gives inf, 0 or NaN, which the callers test for
        factors: np.ndarray = np.power(1.0 + rate, schedule.years)
    if not np.all(np.isfinite(factors)) or not np.all(factors):
        return None
    return factors


def _npv(rate: float, schedule: _Schedule) -> float:
    """The flows' value at their first day; NaN (or infinite) where a discount factor overflows or
    vanishes."""
    factors = _factors(rate, schedule)
    if factors is None:
        return math.nan
    with np.errstate(all="ignore"):  # overflow gives inf, 0 or NaN, which the callers test for
        return float(np.sum(schedule.amounts / factors))


def _npv_derivative(rate: float, schedule: _Schedule) -> float:
    factors = _factors(rate, schedule)
    if factors is None:
        return math.nan
    with np.errstate(all="ignore"):  # overflow gives inf, 0 or NaN, which the callers test for
        return float(-np.sum(schedule.years * schedule.amounts / (factors * (1.0 + rate))))


def xirr(flows: Sequence[Flow] | DayFlows, *, tolerance: float = 1e-10, max_iterations: int = 200) -> float | None:
    """The annual rate r with sum(CF_i / (1+r)^((d_i - d_0)/365)) = 0, or None when undefined.

    Undefined when the flows do not contain both a payment and a receipt, or when no rate in
    [-0.9999, 1e6] can be computed (flows so far apart that every discount factor overflows).
    Newton-Raphson from 10 %, falling back to bisection on that bracket when Newton leaves it or
    stalls. Never raises.
    """
    given = flows if isinstance(flows, DayFlows) else DayFlows.of(flows)
    moving = given.amounts != 0
    if not (given.amounts[moving] < 0).any() or not (given.amounts[moving] > 0).any():
        return None
    schedule = _schedule(DayFlows(given.days[moving], given.amounts[moving]))
    rate = 0.1
    for _ in range(max_iterations):
        value = _npv(rate, schedule)
        if not math.isfinite(value):
            break
        if abs(value) < tolerance:
            return rate
        slope = _npv_derivative(rate, schedule)
        if slope == 0 or not math.isfinite(slope):
            break
        step = value / slope
        rate -= step
        if not LOWEST_RATE <= rate <= HIGHEST_RATE:
            break  # diverging (towards +inf when the root is far below the start): bisect instead
        if abs(step) < tolerance:
            return rate
    return _bisect(schedule, tolerance)


#: Bracket ends tried in turn, widest first: flows decades or centuries apart overflow at the
#: widest rates, and a narrower bracket still holds their rate.
HIGH_ENDS = (HIGHEST_RATE, 1e3, 10.0, 1.0, 0.1, 0.01, 0.001)
LOW_ENDS = (LOWEST_RATE, -0.99, -0.9, -0.5, -0.1, -0.01, -0.001)


def _finite_end(ends: Sequence[float], schedule: _Schedule) -> tuple[float, float]:
    for end in ends:
        value = _npv(end, schedule)
        if math.isfinite(value):
            return end, value
    return ends[-1], math.nan


def _bisect(schedule: _Schedule, tolerance: float) -> float | None:
    (low, f_low), (high, f_high) = _finite_end(LOW_ENDS, schedule), _finite_end(HIGH_ENDS, schedule)
    if not (math.isfinite(f_low) and math.isfinite(f_high)) or f_low * f_high > 0:
        return None
    for _ in range(500):
        mid = (low + high) / 2.0
        f_mid = _npv(mid, schedule)
        if not math.isfinite(f_mid):
            return None
        if abs(f_mid) < tolerance or (high - low) / 2.0 < tolerance:
            return mid
        if f_low * f_mid < 0:
            high, f_high = mid, f_mid
        else:
            low, f_low = mid, f_mid
    return (low + high) / 2.0


def moic(*, invested: Decimal, realised: Decimal, value: Decimal) -> Decimal | None:
    """(realised + unrealised value) / invested; None ("n/a") when nothing was paid."""
    if invested <= 0:
        return None
    return (realised + value) / invested


@dataclass(frozen=True)
class Period:
    """A valuation period: value at its start and end, and the external flows inside it.

    Flows are contributions from the investor's side: positive money put in, negative money
    taken out (the opposite sign of ``Flow``).
    """

    start: date
    end: date
    start_value: float
    end_value: float
    contributions: Sequence[tuple[date, float]] = ()


def modified_dietz(period: Period) -> float | None:
    """(V1 - V0 - sum CF) / (V0 + sum w_i CF_i), w_i = days remaining / days in the period."""
    days = (period.end - period.start).days
    net = sum(amount for _, amount in period.contributions)
    weighted = 0.0
    if days > 0:
        weighted = sum(amount * (period.end - on).days / days for on, amount in period.contributions)
    denominator = period.start_value + weighted
    if denominator <= 0:
        return None
    return (period.end_value - period.start_value - net) / denominator


def time_weighted_return(periods: Sequence[Period]) -> float | None:
    """Chain the periods' returns: product of (1 + r_i) - 1. Periods with no capital are skipped."""
    growth, used = 1.0, 0
    for period in periods:
        r = modified_dietz(period)
        if r is None:
            continue
        growth *= 1.0 + r
        used += 1
    return growth - 1.0 if used else None


def chained_return(
    days: Sequence[date], values: Sequence[float], contributions: Sequence[tuple[date, float]] | DayFlows
) -> float | None:
    """``time_weighted_return`` of the periods between consecutive ``days`` (sorted, distinct),
    valued at ``values``, with the ``contributions`` (in date order) that fall in each (start, end],
    over arrays: a group's year of daily periods at once. The same arithmetic in the same order,
    so the same float."""
    if len(days) < 2:
        return None
    ordinals = np.fromiter((day.toordinal() for day in days), dtype=np.int64, count=len(days))
    value = np.fromiter(values, dtype=float, count=len(days))
    periods = len(days) - 1
    lengths = ordinals[1:] - ordinals[:-1]
    net: np.ndarray = np.zeros(periods)
    weighted: np.ndarray = np.zeros(periods)
    if len(contributions):
        if isinstance(contributions, DayFlows):
            on, amount = contributions.days, contributions.amounts
        else:
            on = np.fromiter((day.toordinal() for day, _ in contributions), dtype=np.int64, count=len(contributions))
            amount = np.fromiter((amount for _, amount in contributions), dtype=float, count=len(contributions))
        period = np.searchsorted(ordinals, on, side="left") - 1  # days[period] < on <= days[period + 1]
        inside = (period >= 0) & (period < periods)
        period, on, amount = period[inside], on[inside], amount[inside]
        net = np.bincount(period, weights=amount, minlength=periods)  # each period's in date order
        remaining = (ordinals[period + 1] - on).astype(float)
        weighted = np.bincount(period, weights=amount * remaining / lengths[period], minlength=periods)
    denominator = value[:-1] + weighted
    used = denominator > 0  # a period with no capital is skipped
    if not used.any():
        return None
    with np.errstate(all="ignore"):  # an overflow gives inf or NaN, as the loop's floats do
        returns = (value[1:] - value[:-1] - net)[used] / denominator[used]
    growth: float = math.prod((1.0 + returns).tolist())  # left to right, as the loop multiplies
    return growth - 1.0
