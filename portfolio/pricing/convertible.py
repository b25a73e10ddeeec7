"""Convertible preferred: accreted stated value, as-converted value, liquidation preference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

DAYS_PER_YEAR = Decimal("365")


@dataclass(frozen=True)
class ConvertibleValue:
    years_accrued: Decimal
    accreted_stated_value: Decimal  # per preferred share
    conversion_shares: Decimal  # total, as converted
    as_converted_value: Decimal  # total, at the share price
    liquidation_preference: Decimal  # total
    value: Decimal  # the greater of the two
    carried: str  # "as_converted" or "liquidation_preference"


def convertible_value(
    *,
    quantity: Decimal,
    stated_value: Decimal,
    conversion_price: Decimal,
    pik_rate_pct: Decimal | None,
    issued_on: date,
    as_of: date,
    share_price: Decimal,
) -> ConvertibleValue:
    """Carry the greater of the as-converted value and the accreted liquidation preference.

    The stated value compounds annually at the PIK rate for the (actual/365) years since issue:
    accreted = stated x (1 + PIK)^t. As converted: quantity x accreted / conversion price x S.
    Liquidation preference: quantity x accreted.
    """
    days = max((as_of - issued_on).days, 0)
    years = Decimal(days) / DAYS_PER_YEAR
    rate = (pik_rate_pct or Decimal("0")) / Decimal("100")
    growth = (1 + rate) ** years
    accreted = stated_value * growth
    shares = quantity * accreted / conversion_price
    as_converted = shares * share_price
    preference = quantity * accreted
    if as_converted >= preference:
        return ConvertibleValue(years, accreted, shares, as_converted, preference, as_converted, "as_converted")
    return ConvertibleValue(years, accreted, shares, as_converted, preference, preference, "liquidation_preference")
