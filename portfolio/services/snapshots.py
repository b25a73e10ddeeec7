"""The held book's totals on a date, from the stored valuations, kept as a snapshot."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from portfolio.book.core import held_totals
from portfolio.models import PortfolioSnapshot

from .market_data import StepResult


def portfolio_snapshot_record(*, as_of: date, refresh_run_id: int | None = None) -> StepResult:
    """Write (or rewrite) the snapshot of ``as_of``: the held book's USD value, its breakdowns, and
    the held positions without a stored valuation.

    Side effects: one PortfolioSnapshot row, upserted on its date. Idempotent.
    """
    result = StepResult("snapshot")
    totals = held_totals(as_of)
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
