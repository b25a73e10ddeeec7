"""The held book's totals on a date, from the stored valuations, kept as a snapshot."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from portfolio.book.core import held_totals
from portfolio.models import PortfolioSnapshot
from portfolio.models.base import MONEY

from .steps import StepResult

#: A snapshot's value is a money column: it holds less than 10^18.
LARGEST_VALUE = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"])


def portfolio_snapshot_record(*, as_of: date, refresh_run_id: int | None = None) -> StepResult:
    """Write (or rewrite) the snapshot of ``as_of``: the held book's USD value, its breakdowns, and
    the held positions without a stored valuation.

    Side effects: one PortfolioSnapshot row, upserted on its date; none when the value is beyond
    what a snapshot records (reported in the result). Idempotent.
    """
    result = StepResult("snapshot")
    totals = held_totals(as_of)
    if totals.value >= LARGEST_VALUE:
        # Each valuation holds less than 10^18, their sum need not: a snapshot of it could not be
        # stored (PostgreSQL) or read back (SQLite, where it took the dashboard down). Reported;
        # an earlier snapshot of the date is left as it was, as valuations are.
        result.total = result.failed = 1
        result.error(
            str(as_of),
            f"the held book's value ({totals.value:.6E} USD) is beyond what a snapshot records "
            f"(below {LARGEST_VALUE:.0E})",
        )
        return result
    with transaction.atomic():
        PortfolioSnapshot.objects.update_or_create(
            as_of=as_of,
            defaults={
                "value_usd": totals.value,
                "positions_valued": totals.positions_valued,
                "positions_missing": max(totals.positions_held - totals.positions_valued, 0),
                "is_simulated": totals.simulated,
                "breakdown": {dim: {k: str(v) for k, v in values.items()} for dim, values in totals.breakdown.items()},
                "refresh_run_id": refresh_run_id,
            },
        )
    result.total = result.written = 1
    result.simulated = totals.simulated
    return result
