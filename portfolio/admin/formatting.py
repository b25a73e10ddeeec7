"""Display helpers for admin columns."""

from __future__ import annotations

from decimal import Decimal


def number(value: Decimal | None, places: int = 0) -> str:
    """Thousands-separated, or a dash when there is no value."""
    if value is None:
        return "-"
    return f"{value:,.{places}f}"
