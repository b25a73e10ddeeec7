"""Historical volatility from a series of closes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

TRADING_DAYS_PER_YEAR = 252


def log_returns(closes: Sequence[float]) -> list[float | None]:
    """Each day's log return from the close before (None where either close is not positive)."""
    return [math.log(b / a) if a > 0 and b > 0 else None for a, b in pairwise(closes)]


def annualised_volatility(closes: Sequence[float], *, periods_per_year: int = TRADING_DAYS_PER_YEAR) -> float:
    """Sample standard deviation of daily log returns, times sqrt(periods per year).

    ``closes`` are in date order. Needs at least three closes (two returns); raises ValueError
    otherwise, or if a close is not positive.
    """
    return returns_volatility(log_returns(closes), periods_per_year=periods_per_year)


def returns_volatility(returns: Sequence[float | None], *, periods_per_year: int = TRADING_DAYS_PER_YEAR) -> float:
    """``annualised_volatility`` of the closes behind ``returns`` (``log_returns``: a backfill works
    out a listing's returns once and takes each day's window of them)."""
    if len(returns) < 2:
        raise ValueError("at least three closes are needed to estimate volatility")
    if None in returns:
        raise ValueError("closes must be positive")
    # Sums in floating point without loss (fsum): the statistics module's exact fractions gave the
    # same figure to the last digit or so, at ten times the cost (a backfill computes it for every
    # listing with options on every day).
    mean = math.fsum(returns) / len(returns)  # type: ignore[arg-type]  # no None: refused above
    variance = math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1)  # type: ignore[operator]
    return math.sqrt(variance) * math.sqrt(periods_per_year)
