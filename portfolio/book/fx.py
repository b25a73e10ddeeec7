"""The one FX lookup: US dollars per unit of a currency on a date, from the stored rates.

The rate of a date is the latest stored on or before it, at most ``FX_LOOKBACK_DAYS`` earlier
(weekends and holidays have no fixing); none older is used. On one date a provider's rate wins
over a simulated one, and among providers the first by name.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from portfolio.models import SIMULATED_SOURCE, FxRate
from portfolio.models.base import MONEY

FX_LOOKBACK_DAYS = 10
ONE = Decimal("1")
#: The book's amounts in US dollars stay below what a money column holds (10^18): an amount at the
#: top of its column converted at a rate at the bottom of its own (a flow of 10^17 at 10^-10 per
#: dollar) would be far beyond it, a figure that can be neither rounded to the cent nor stored.
LARGEST_USD = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"])


class FxObservation(NamedTuple):
    """A stored USD/<quote> rate: units of the currency per US dollar."""

    quote: str
    on: date
    rate: Decimal
    source: str

    @property
    def is_simulated(self) -> bool:
        return self.source == SIMULATED_SOURCE


class FxRates:
    """The stored rates of some currencies over a date range, loaded in one query."""

    def __init__(self, currencies: set[str], *, start: date | None = None, end: date | None = None) -> None:
        quotes = set(currencies) - {"USD"}
        rows = FxRate.objects.filter(base_id="USD", quote_id__in=quotes)
        if start is not None:
            rows = rows.filter(on__gte=start - timedelta(days=FX_LOOKBACK_DAYS))
        if end is not None:
            rows = rows.filter(on__lte=end)
        chosen: dict[str, dict[date, FxObservation]] = defaultdict(dict)
        for row in rows.order_by("quote_id", "on", "source").values_list("quote_id", "on", "rate", "source"):
            rate = FxObservation._make(row)
            current = chosen[rate.quote].get(rate.on)
            if current is None or (current.is_simulated and not rate.is_simulated):
                chosen[rate.quote][rate.on] = rate
        self._days: dict[str, list[date]] = {}
        self._rates: dict[str, list[FxObservation]] = {}
        for quote, by_day in chosen.items():
            days = sorted(by_day)
            self._days[quote] = days
            self._rates[quote] = [by_day[d] for d in days]

    def observation(self, currency: str, on: date) -> FxObservation | None:
        """The rate used for ``currency`` on ``on`` (None for USD, and when none is stored)."""
        days = self._days.get(currency)
        if not days:
            return None
        index = bisect.bisect_right(days, on) - 1
        if index < 0 or (on - days[index]).days > FX_LOOKBACK_DAYS:
            return None
        return self._rates[currency][index]

    def usd_per(self, currency: str, on: date) -> Decimal | None:
        """US dollars per one unit of ``currency`` on ``on`` (1 for USD; None when no rate is stored)."""
        if currency == "USD":
            return ONE
        rate = self.observation(currency, on)
        return None if rate is None else ONE / rate.rate

    def to_usd(self, amount: Decimal, currency: str, on: date) -> Decimal | None:
        """``amount`` of ``currency`` in US dollars on ``on``; None when no rate is stored, or when
        the rate would put it beyond ``LARGEST_USD``: such an amount is left out of the figures
        as one without a rate is, and counted as such."""
        usd_per = self.usd_per(currency, on)
        if usd_per is None:
            return None
        usd = amount * usd_per
        return usd if abs(usd) < LARGEST_USD else None

    def convert(self, amount: Decimal, from_ccy: str, to_ccy: str, on: date) -> Decimal | None:
        if from_ccy == to_ccy:
            return amount
        from_usd, to_usd = self.usd_per(from_ccy, on), self.usd_per(to_ccy, on)
        if from_usd is None or to_usd is None:
            return None
        return amount * from_usd / to_usd


class ShiftedRates(FxRates):
    """``base``'s rates with some currencies' value in US dollars times a factor (a scenario's FX
    shock: a factor of 0.9 is the currency down 10 % against the dollar)."""

    def __init__(self, base: FxRates, factors: Mapping[str, Decimal]) -> None:
        self._days, self._rates, self._factors = base._days, base._rates, dict(factors)

    def observation(self, currency: str, on: date) -> FxObservation | None:
        rate = super().observation(currency, on)
        factor = self._factors.get(currency)
        return rate if rate is None or factor is None else rate._replace(rate=rate.rate / factor)
