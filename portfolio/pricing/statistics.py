"""Historical volatility from a series of closes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

TRADING_DAYS_PER_YEAR = 252


def annualised_volatility(closes: Sequence[float], *, periods_per_year: int = TRADING_DAYS_PER_YEAR) -> float:
    """Sample standard deviation of daily log returns, times sqrt(periods per year).

    ``closes`` are in date order. Needs at least three closes (two returns); raises ValueError
    otherwise, or if a close is not positive.
    """
    if len(closes) < 3:
        raise ValueError("at least three closes are needed to estimate volatility")
    if any(close <= 0 for close in closes):
        raise ValueError("closes must be positive")
    returns = [math.log(b / a) for a, b in pairwise(closes)]
    # Sums in floating point without loss (fsum): the statistics module's exact fractions gave the
    # same figure to the last digit or so, at ten times the cost (a backfill computes it for every
    # listing with options on every day).
    mean = math.fsum(returns) / len(returns)
    variance = math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return math.sqrt(variance) * math.sqrt(periods_per_year)
