"""A backfill values each day of its range from inputs loaded once: every day's valuations are those
the day would get valued on its own, with the inputs read for that day alone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from portfolio import models as m
from portfolio.services.demo_data import demo_data_load
from portfolio.services.refresh import refresh_request, refresh_run_execute
from portfolio.services.valuations import valuations_compute

pytestmark = pytest.mark.django_db
#: Across the demo's payments of 2025-12-24, 2026-01-12, 2026-01-28 and 2026-01-30.
START, END = dt.date(2025, 12, 15), dt.date(2026, 2, 6)
FIELDS = ("position_id", "method", "fair_value_level", "inputs", "formula", "currency_id", "value_local",
          "fx_rate_to_usd", "value_usd", "is_contingent", "is_simulated")  # fmt: skip


class _Undone(Exception):
    """Raised to roll a day's revaluation back."""


def _rows(day: dt.date) -> list[tuple]:
    return list(m.Valuation.objects.filter(as_of=day).order_by("position_id").values_list(*FIELDS))


def _valued_alone(day: dt.date) -> list[tuple]:
    """The day's valuations as the day alone gives them: stored afresh, read, and rolled back."""
    rows: list[tuple] = []
    with pytest.raises(_Undone):
        _revalue(day, rows)
    return rows


def _revalue(day: dt.date, rows: list[tuple]) -> None:
    with transaction.atomic():
        m.Valuation.objects.filter(as_of=day).delete()
        valuations_compute(as_of=day)
        rows.extend(_rows(day))
        raise _Undone


def test_a_backfill_values_each_day_from_memory_as_the_day_alone_would():
    demo_data_load()
    run = refresh_request(kind="backfill", trigger="command", as_of=END, parameters={"from": START.isoformat()})
    run = refresh_run_execute(run_id=run.pk)
    assert run.status in ("succeeded", "partial")
    days = sorted(set(m.Valuation.objects.values_list("as_of", flat=True)))
    assert len(days) == 40  # the weekdays from 2025-12-15 to 2026-02-06
    kinds = set()
    for day in days:
        stored = _rows(day)
        assert stored, day
        assert stored == _valued_alone(day), day
        kinds |= {row[1] for row in stored}
    assert {"market", "black_scholes", "convertible", "cost"} <= kinds
