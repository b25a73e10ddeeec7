"""Black-Scholes call values with a continuous dividend yield, floored at intrinsic value."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_N = NormalDist()


@dataclass(frozen=True)
class CallValue:
    """A call's value per underlying share, with the intermediate figures for the trail."""

    value: float
    model_value: float  # Black-Scholes before the intrinsic floor
    intrinsic: float
    d1: float | None
    d2: float | None
    floored_at_intrinsic: bool


def black_scholes_call(
    *, spot: float, strike: float, rate: float, dividend_yield: float, years: float, vol: float
) -> CallValue:
    """Value of a European call per share, never below intrinsic value max(S - K, 0).

    d1 = [ln(S/K) + (r - q + s^2/2) T] / (s sqrt T);  d2 = d1 - s sqrt T
    C  = S e^(-qT) N(d1) - K e^(-rT) N(d2)

    Edge cases: a zero strike is worth the share (S e^(-qT)); at or after expiry, or with no
    volatility, the value is the discounted forward intrinsic value. Raises ValueError for a
    non-positive spot, a negative strike or a negative volatility.
    """
    if spot <= 0:
        raise ValueError("the share price must be positive")
    if strike < 0 or vol < 0:
        raise ValueError("strike and volatility cannot be negative")
    intrinsic = max(spot - strike, 0.0)
    if strike == 0:
        model = spot * math.exp(-dividend_yield * max(years, 0.0))
        d1 = d2 = None
    elif years <= 0 or vol == 0:
        t = max(years, 0.0)
        model = max(spot * math.exp(-dividend_yield * t) - strike * math.exp(-rate * t), 0.0)
        d1 = d2 = None
    else:
        sqrt_t = math.sqrt(years)
        d1 = (math.log(spot / strike) + (rate - dividend_yield + vol * vol / 2.0) * years) / (vol * sqrt_t)
        d2 = d1 - vol * sqrt_t
        model = spot * math.exp(-dividend_yield * years) * _N.cdf(d1) - strike * math.exp(-rate * years) * _N.cdf(d2)
    value = max(model, intrinsic)
    return CallValue(
        value=value, model_value=model, intrinsic=intrinsic, d1=d1, d2=d2, floored_at_intrinsic=model < intrinsic
    )
