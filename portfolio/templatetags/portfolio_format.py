"""Number formats of the pages: compact amounts with the exact figure beside them, multiples,
percentages, day counts, and "n/a" for what is not known."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString

from portfolio.models import country_name
from portfolio.services.steps import step_label

register = template.Library()
NA = "n/a"
SYMBOLS = {"USD": "US$", "CAD": "C$"}
#: (threshold, divisor, suffix, decimals): an amount reads in the largest unit it reaches.
COMPACT_UNITS = [
    (Decimal("1e12"), Decimal("1e12"), "T", 2),
    (Decimal("1e9"), Decimal("1e9"), "B", 2),
    (Decimal("1e6"), Decimal("1e6"), "M", 1),
]


def _symbol(currency: str) -> str:
    return SYMBOLS.get(currency, f"{currency} ")


#: Each currency's symbol as HTML, escaped once.
_ESCAPED_SYMBOLS: dict[str, str] = {}


def _amount(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _exact(amount: Decimal, symbol: str) -> str:
    return f"{'-' if amount < 0 else ''}{symbol}{abs(amount):,.0f}"


def _compact(amount: Decimal, symbol: str) -> str | None:
    """The compact reading of an amount of a million or more; None below (it reads exactly)."""
    size = abs(amount)
    index = next((i for i, unit in enumerate(COMPACT_UNITS) if size >= unit[0]), None)
    if index is None:
        return None
    _, divisor, suffix, places = COMPACT_UNITS[index]
    shown = (size / divisor).quantize(Decimal(1).scaleb(-places))
    if shown >= 1000 and index > 0:  # 999.96M reads "US$1.00B", not "US$1,000.0M"
        _, divisor, suffix, places = COMPACT_UNITS[index - 1]
        shown = (size / divisor).quantize(Decimal(1).scaleb(-places))
    return f"{'-' if amount < 0 else ''}{symbol}{shown:,.{places}f}{suffix}"


def money_exact(value, currency: str = "USD") -> str:
    """1551630819.4 -> "US$1,551,630,819": to the unit, with separators; negative with a minus sign."""
    return _exact(_amount(value), _symbol(currency))


def money_compact(value, currency: str = "USD") -> str:
    """1551630819.4 -> "US$1.55B", 533400000 -> "US$533.4M"; below a million, the exact figure."""
    amount, symbol = _amount(value), _symbol(currency)
    return _compact(amount, symbol) or _exact(amount, symbol)


@register.filter
def money(value, currency: str = "USD") -> str | SafeString:
    """An amount for a page: compact (US$1.55B) with the exact figure (US$1,551,630,819) as its
    tooltip and as the text a screen reader reads; amounts under a million read exactly; None -> n/a.

    The amount is read and written once for both, and the markup is put together without
    ``format_html`` escaping each part again (a page may show thousands of amounts; that escaping
    took half of this function's time): every part is a number written by Python's format (digits,
    separators, a sign, a point and a unit letter) after the currency's symbol, which is escaped."""
    if value is None or value == "":
        return NA
    amount = _amount(value)
    symbol = _ESCAPED_SYMBOLS.get(currency) or _ESCAPED_SYMBOLS.setdefault(currency, escape(_symbol(currency)))
    exact = _exact(amount, symbol)
    compact = _compact(amount, symbol)
    # Safe as it is: formatted numbers after an escaped symbol (see above).
    if compact is None:
        return SafeString(exact)  # nosec B703
    return SafeString(  # nosec B703
        f'<span class="amount" title="{exact}"><span aria-hidden="true">{compact}</span>'
        f'<span class="visually-hidden">{exact}</span></span>'
    )


@register.filter
def signed_money(value, currency: str = "USD") -> str | SafeString:
    """A change of an amount, signed: "+US$12.3M", "-US$400", "US$0"; None -> n/a."""
    if value is None or value == "":
        return NA
    shown = money(value, currency)
    # One element, so that a phone's card keeps the sign with the amount.
    return format_html('<span class="signed">+{}</span>', shown) if Decimal(str(value)) > 0 else shown


@register.filter
def direction(value) -> str:
    """Which way a change went: "up", "down", "unchanged"; "na" when it is not known."""
    if value is None or value == "":
        return "na"
    amount = Decimal(str(value))
    return "up" if amount > 0 else "down" if amount < 0 else "unchanged"


@register.filter
def money_full(value, currency: str = "USD") -> str:
    """An amount to the unit, for where the exact figure is the point (a calculation, a trail)."""
    return NA if value is None or value == "" else money_exact(value, currency)


@register.filter
def money_cents(value, currency: str = "USD") -> str:
    """An amount to the cent (US$1,551,630,819.40), where sums must be checkable to the cent."""
    if value is None or value == "":
        return NA
    amount = Decimal(str(value))
    sign = "-" if amount < 0 else ""
    return f"{sign}{_symbol(currency)}{abs(amount):,.2f}"


@register.filter
def country(code: str) -> str:
    """A country code by its name: CA -> "Canada"."""
    return country_name(code or "")


@register.filter
def step(value: str) -> str:
    """A refresh step's name: "fx" -> "FX rates"."""
    return step_label(value or "")


@register.filter
def multiple(value) -> str:
    return NA if value is None else f"{Decimal(str(value)):.2f}x"


@register.filter
def signed_multiple(value) -> str:
    """A change of a multiple, signed: 0.05 -> "+0.05x", -0.1 -> "-0.10x"; None -> n/a."""
    if value is None:
        return NA
    amount = Decimal(str(value))
    return f"+{amount:.2f}x" if amount > 0 else f"{amount:.2f}x"


@register.filter
def signed_pct(value, places: int = 1) -> str:
    """A fraction's change as a signed percentage: 0.0123 -> "+1.2 %", -0.25 -> "-25.0 %" (the
    sign kept with its figure and unit: joined by a no-break space)."""
    if value is None:
        return NA
    shown = f"{float(value) * 100:.{int(places)}f}\u00a0%"
    return f"+{shown}" if value > 0 else shown


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
