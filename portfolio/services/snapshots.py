"""The portfolio's totals on a date, from the stored valuations."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from portfolio.models import PortfolioSnapshot, Position, Valuation

from .market_data import StepResult


def portfolio_snapshot_record(*, as_of: date, refresh_run_id: int | None = None) -> StepResult:
    """Write (or rewrite) the snapshot of ``as_of``: total USD value, breakdowns, positions missing.

    Side effects: one PortfolioSnapshot row, upserted on its date. Idempotent.
    """
    result = StepResult("snapshot")
    # Plain rows: every position's valuation of the day is read.
    valuations = list(
        Valuation.objects.filter(as_of=as_of).values_list(
            "value_usd",
            "fair_value_level",
            "is_simulated",
            "position__kind",
            "position__deal__agency__short_name",
            "position__deal__company__name",
            named=True,
        )
    )
    # Positions held on the date (acquired by then, or with no acquisition date).
    total_positions = Position.objects.filter(Q(acquired_on__isnull=True) | Q(acquired_on__lte=as_of)).count()
    breakdown: dict[str, dict[str, Decimal]] = {
        "agency": defaultdict(Decimal),
        "company": defaultdict(Decimal),
        "instrument": defaultdict(Decimal),
        "fair_value_level": defaultdict(Decimal),
    }
    for valuation in valuations:
        breakdown["agency"][valuation.position__deal__agency__short_name] += valuation.value_usd
        breakdown["company"][valuation.position__deal__company__name] += valuation.value_usd
        breakdown["instrument"][valuation.position__kind] += valuation.value_usd
        breakdown["fair_value_level"][str(valuation.fair_value_level)] += valuation.value_usd
    with transaction.atomic():
        PortfolioSnapshot.objects.update_or_create(
            as_of=as_of,
            defaults={
                "value_usd": sum((v.value_usd for v in valuations), Decimal("0")),
                "positions_valued": len(valuations),
                "positions_missing": max(total_positions - len(valuations), 0),
                "is_simulated": any(v.is_simulated for v in valuations),
                "breakdown": {dim: {k: str(v) for k, v in sorted(values.items())} for dim, values in breakdown.items()},
                "refresh_run_id": refresh_run_id,
            },
        )
    result.total = result.written = 1
    result.simulated = any(v.is_simulated for v in valuations)
    return result
