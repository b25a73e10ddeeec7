"""Number formats of the pages: money with separators, multiples, percentages, and "n/a"."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()
NA = "n/a"


@register.filter
def money(value, currency: str = "USD") -> str:
    """1551630819.4 -> "US$1,551,630,819"; negative values with a minus sign; None -> n/a."""
    if value is None or value == "":
        return NA
    symbol = {"USD": "US$", "CAD": "C$"}.get(currency, f"{currency} ")
    amount = Decimal(str(value))
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.0f}"


@register.filter
def multiple(value) -> str:
    return NA if value is None else f"{Decimal(str(value)):.2f}x"


@register.filter
def pct(value, places: int = 1) -> str:
    """A fraction as a percentage: 0.1234 -> "12.3 %"."""
    return NA if value is None else f"{float(value) * 100:.{int(places)}f} %"


@register.filter
def pct_points(value, places: int = 2) -> str:
    """A value already in percent: 11.75 -> "11.75 %"."""
    return NA if value is None else f"{Decimal(str(value)):.{int(places)}f} %"


@register.filter
def num(value, places: int = 0) -> str:
    return NA if value is None else f"{Decimal(str(value)):,.{int(places)}f}"


@register.filter
def days(value) -> str:
    if value is None:
        return NA
    return f"+{value} days" if value > 0 else f"{value} days"
