"""Figures as plain data, as the API answers them and a scenario run stores them: amounts as
decimal strings to the cent, quantities and prices as entered, ratios rounded, a price floor's
liability with its inputs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from portfolio.book.exposure import FloorTrail

CENT = Decimal("0.01")


def amount(value: Decimal | None) -> str | None:
    """An amount to the cent, as text (None stays None: a figure that cannot be had)."""
    return None if value is None else str(value.quantize(CENT))


def quantity(value: Decimal | None) -> str | None:
    """A quantity or price as entered, however large (share counts, tonnes, prices per unit)."""
    return None if value is None else f"{value.normalize():f}"


def ratio(value: Decimal | float | None, places: int = 6) -> float | None:
    return None if value is None else round(float(value), places)


def floor_trail(trail: FloorTrail) -> dict[str, Any]:
    """A price floor's liability on the date and the inputs it was computed from."""
    return {
        "deal": trail.deal_reference,
        "commodity": trail.commodity,
        "floor_price": quantity(trail.floor_price),
        "currency": trail.currency,
        "unit": trail.unit,
        "covers": trail.measure,
        "market_price": quantity(trail.price),
        "market_price_on": trail.price_on,
        "market_price_source": trail.price_source or None,
        "simulated": trail.simulated,
        "volume_t": quantity(trail.volume_t),
        "period_start": trail.period_start,
        "period_end": trail.period_end,
        "liability": quantity(trail.liability),
        "liability_usd": amount(trail.liability_usd),
        "reported_for_period": amount(trail.reported),
        "missing": trail.missing or None,
    }
