"""The provider interface and the values providers return."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Protocol

from .errors import InvalidResponseError

# A close outside these bounds is not a price of the securities this product follows.
MIN_PRICE = Decimal("0.000001")
MAX_PRICE = Decimal("1000000")
MAX_FX = Decimal("100000")


@dataclass(frozen=True)
class Bar:
    """One day's prices of a security, in the listing's currency."""

    on: date
    close: Decimal
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    volume: int | None = None


@dataclass(frozen=True)
class Rate:
    """Units of the quote currency per one unit of the base currency on a day."""

    on: date
    rate: Decimal


@dataclass
class Series:
    """What a provider returned for one symbol or pair: the good points and what it rejected."""

    provider: str
    symbol: str
    points: list = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


class PriceProvider(Protocol):
    name: str
    simulated: bool

    def daily_bars(self, symbol: str, start: date, end: date) -> Series: ...


class CommodityProvider(Protocol):
    name: str
    simulated: bool

    def daily_commodity_prices(self, code: str, start: date, end: date) -> Series: ...


class FxProvider(Protocol):
    name: str
    simulated: bool

    def daily_rates(self, base: str, quote: str, start: date, end: date) -> Series: ...


def to_decimal(provider: str, raw: object, what: str) -> Decimal | None:
    """A number from a provider's payload; None for a null. Text that is not a number is an error."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, float) and not math.isfinite(raw):
        raise InvalidResponseError(provider, f"{what} is not a finite number")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise InvalidResponseError(provider, f"{what} {str(raw)[:40]!r} is not a number") from exc
    if not value.is_finite():
        raise InvalidResponseError(provider, f"{what} is not a finite number")
    return value


def accept_price(series: Series, on: date, close: Decimal | None, *, bound: Decimal = MAX_PRICE) -> bool:
    """Whether a close is plausible; a null is skipped silently, a bad value is noted as rejected."""
    if close is None:
        return False
    if close < MIN_PRICE or close > bound:
        series.rejected.append(f"{on}: {close} is not a plausible value")
        return False
    return True
