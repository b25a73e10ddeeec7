"""Historical volatility from a series of closes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from statistics import stdev

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
    return stdev(returns) * math.sqrt(periods_per_year)
