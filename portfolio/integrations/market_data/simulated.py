"""A deterministic simulated provider: the embedded default, needing no network.

Prices follow a random walk whose every step is derived from a hash of the symbol and the
date, so the same symbol and date always give the same price, on any machine, and the stored
history has a realistic volatility. Every value derived from it is labelled SIMULATED.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from statistics import NormalDist

from portfolio.sources import SIMULATED

from .base import Bar, Rate, Series

NAME = SIMULATED
EPOCH = date(2015, 1, 1)
_N = NormalDist()


def _uniform(*parts: str) -> float:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2**64


def _is_business_day(day: date) -> bool:
    return day.weekday() < 5


@lru_cache(maxsize=256)
def _walk(key: str, start_level: float, annual_vol: float, last: date) -> dict[date, float]:
    """Levels of a geometric random walk from EPOCH to ``last`` (business days only)."""
    daily_vol = annual_vol / math.sqrt(252)
    level, day, levels = start_level, EPOCH, {}
    while day <= last:
        if _is_business_day(day):
            shock = _N.inv_cdf(_uniform(key, day.isoformat()))
            level *= math.exp(daily_vol * shock - daily_vol * daily_vol / 2)
            levels[day] = level
        day += timedelta(days=1)
    return levels


def _horizon(end: date) -> date:
    # Cache whole years so that nearby requests share one walk.
    return date(end.year, 12, 31)


def simulated_close(symbol: str, on: date) -> Decimal | None:
    """The simulated close of ``symbol`` on ``on`` (None on weekends and before the epoch)."""
    key = symbol.upper()
    start_level = 2.0 + 58.0 * _uniform(key, "level")  # between 2 and 60
    vol = 0.35 + 0.35 * _uniform(key, "vol")  # 35 % to 70 % a year, like small miners
    level = _walk(key, start_level, vol, _horizon(on)).get(on)
    return None if level is None else Decimal(f"{level:.4f}")


#: Levels to start the simulated FX walks from, per (base, quote). USD/KRW: about 1,500 won a
#: dollar, as the 2.85T won (about US$1.9B) of Korea Zinc shares in the public deals imply.
FX_ANCHORS = {
    ("USD", "CAD"): 1.36,
    ("USD", "EUR"): 0.92,
    ("EUR", "USD"): 1.087,
    ("CAD", "USD"): 0.735,
    ("USD", "KRW"): 1500.0,
    ("KRW", "USD"): 1 / 1500.0,
}


#: Published rates a simulated FX walk is bent to pass through (see COMMODITY_OBSERVATIONS below).
#: USD/KRW: 2.85T won for about US$1.9B of Korea Zinc shares, announced 2025-12-15 (derived:
#: 2,850,000,000,000 / 1,900,000,000 = 1,500).
FX_OBSERVATIONS: dict[tuple[str, str], tuple[tuple[date, float], ...]] = {
    ("USD", "KRW"): ((date(2025, 12, 15), 1500.0),),
}


def simulated_fx(base: str, quote: str, on: date) -> Decimal | None:
    """A simulated rate around plausible levels (USD/CAD near 1.36, USD/KRW near 1,500), with about
    7 % annual volatility."""
    start = FX_ANCHORS.get((base, quote), 0.5 + 1.5 * _uniform(base, quote, "level"))
    level = _observed_walk(f"FX:{base}{quote}", start, 0.07, on, FX_OBSERVATIONS.get((base, quote), ()))
    return None if level is None else Decimal(f"{level:.6f}")


# Levels to start the simulated walks of commodity prices from, in USD per price unit.
COMMODITY_ANCHORS = {"ndpr-oxide": 75.0, "dy-oxide": 250.0, "tb-oxide": 1000.0, "lithium-carbonate": 10000.0}

#: Published observations a simulated commodity walk is bent to pass through (business days, USD
#: per price unit), so that the simulated history has plausible levels. The values between them
#: are still simulated. NdPr oxide: about US$55-56/kg at the MP Materials deal of July 2025
#: (thedeepdive.ca; the middle, 55.5, is used) and 850,000 yuan/t, about US$123/kg, on 2026-02-18
#: (tradevae.com).
COMMODITY_OBSERVATIONS: dict[str, tuple[tuple[date, float], ...]] = {
    "ndpr-oxide": ((date(2025, 7, 10), 55.5), (date(2026, 2, 18), 123.0)),
}


def _bent(level: float, on: date, walk: dict[date, float], observations: tuple[tuple[date, float], ...]) -> float:
    """``level`` (the walk's on ``on``) scaled so that the walk meets each observation: by the ratio
    at the nearest observation before the first or after the last, and by a ratio interpolated
    geometrically between two observations."""
    ratios = [(day, price / walk[day]) for day, price in observations]
    if on <= ratios[0][0]:
        return level * ratios[0][1]
    for (day0, ratio0), (day1, ratio1) in itertools.pairwise(ratios):
        if on <= day1:
            weight = (on - day0).days / (day1 - day0).days
            return level * ratio0 ** (1 - weight) * ratio1**weight
    return level * ratios[-1][1]


def _observed_walk(
    key: str, start: float, annual_vol: float, on: date, observations: tuple[tuple[date, float], ...]
) -> float | None:
    """The walk's level on ``on``, bent through ``observations`` if there are any."""
    last = max([_horizon(on), *(_horizon(day) for day, _ in observations)])
    walk = _walk(key, start, annual_vol, last)
    level = walk.get(on)
    if level is None or not observations:
        return level
    return _bent(level, on, walk, observations)


def simulated_commodity_price(code: str, on: date) -> Decimal | None:
    start = COMMODITY_ANCHORS.get(code, 5.0 + 95.0 * _uniform(code, "commodity"))
    observations = COMMODITY_OBSERVATIONS.get(code, ())
    level = _observed_walk(f"COMMODITY:{code}", start, 0.3, on, observations)
    return None if level is None else Decimal(f"{level:.4f}")


def _days(start: date, end: date):
    day = max(start, EPOCH)
    while day <= end:
        yield day
        day += timedelta(days=1)


class SimulatedProvider:
    name = NAME
    simulated = True

    def daily_bars(self, symbol: str, start: date, end: date) -> Series:
        series = Series(self.name, symbol)
        for day in _days(start, end):
            close = simulated_close(symbol, day)
            if close is not None:
                series.points.append(Bar(on=day, close=close))
        return series

    def daily_commodity_prices(self, code: str, start: date, end: date) -> Series:
        """Simulated prices in USD per the commodity's price unit."""
        series = Series(self.name, code)
        for day in _days(start, end):
            price = simulated_commodity_price(code, day)
            if price is not None:
                series.points.append(Bar(on=day, close=price))
        return series

    def daily_rates(self, base: str, quote: str, start: date, end: date) -> Series:
        series = Series(self.name, f"{base}/{quote}")
        for day in _days(start, end):
            rate = simulated_fx(base, quote, day)
            if rate is not None:
                series.points.append(Rate(on=day, rate=rate))
        return series
