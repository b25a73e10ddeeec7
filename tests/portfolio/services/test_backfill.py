"""A backfill values each day of its range from inputs loaded once: every day's valuations are those
the day would get valued on its own, with the inputs read for that day alone."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from functools import partial

import pytest
from django.db import transaction

from portfolio import models as m
from portfolio.services.demo_data import demo_data_load
from portfolio.services.refresh import DayWriter, refresh_request, refresh_run_execute
from portfolio.services.valuations import valuations_compute
from tests.services import require_services

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


@pytest.mark.django_db(transaction=True)
def test_a_backfill_run_outside_a_transaction_writes_its_days_in_a_thread_of_their_own():
    """Run as a worker runs it (PostgreSQL, outside any transaction), a backfill writes each day in
    a thread of its own while the next is valued: every weekday ends with its valuations (those the
    day alone gives), its snapshot and its kept rows equal to the valuations summed again."""
    from django.db import connection

    from portfolio.book.verify import verify_kept
    from portfolio.services.kept_figures import verify_kept_figures

    require_services(
        available=connection.vendor == "postgresql",
        reason="the writer's own connection needs PostgreSQL (CI's second pass runs this)",
    )
    demo_data_load()
    start = dt.date(2026, 1, 19)
    switch = sys.getswitchinterval()
    run = refresh_request(kind="backfill", trigger="command", as_of=END, parameters={"from": start.isoformat()})
    run = refresh_run_execute(run_id=run.pk)
    assert run.status in ("succeeded", "partial"), run.message
    assert sys.getswitchinterval() == switch  # as it was before the writer's thread
    assert not any(thread.name == "backfill-writer" for thread in threading.enumerate())
    weekdays = [start + dt.timedelta(days=i) for i in range((END - start).days + 1)]
    weekdays = [day for day in weekdays if day.weekday() < 5]
    assert sorted(set(m.Valuation.objects.values_list("as_of", flat=True))) == weekdays
    assert sorted(m.PortfolioSnapshot.objects.values_list("as_of", flat=True)) == weekdays
    assert sorted(set(m.KeptValue.objects.values_list("as_of", flat=True))) == weekdays
    assert not verify_kept().differences
    for day in (weekdays[0], weekdays[-1]):
        assert _rows(day) == _valued_alone(day), day
    # The kept figures, after days committed by the writer's thread, equal a recomputation.
    assert verify_kept_figures() == (3, [])


@pytest.mark.django_db(transaction=True)
def test_a_day_the_writer_cannot_store_fails_the_run_with_the_reason():
    """The database refuses the snapshot of one day (a trigger, on PostgreSQL): the run fails naming
    the refusal, and no day after it is written."""
    from django.db import connection

    require_services(
        available=connection.vendor == "postgresql",
        reason="the writer's own connection needs PostgreSQL (CI's second pass runs this)",
    )
    demo_data_load()
    start, refused = dt.date(2026, 1, 26), dt.date(2026, 1, 29)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_snapshot() RETURNS trigger AS $$ BEGIN "
            "IF NEW.as_of = DATE '2026-01-29' THEN RAISE EXCEPTION 'snapshot of 2026-01-29 refused'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_snapshot BEFORE INSERT ON portfolio_portfoliosnapshot "
            "FOR EACH ROW EXECUTE FUNCTION refuse_snapshot()"
        )
    try:
        run = refresh_request(kind="backfill", trigger="command", as_of=END, parameters={"from": start.isoformat()})
        with pytest.raises(RuntimeError, match="snapshot of 2026-01-29 refused"):
            refresh_run_execute(run_id=run.pk)
        run.refresh_from_db()
        assert run.status == "failed"
        assert "snapshot of 2026-01-29 refused" in run.message
        written = set(m.PortfolioSnapshot.objects.values_list("as_of", flat=True))
        assert written == {dt.date(2026, 1, 26), dt.date(2026, 1, 27), dt.date(2026, 1, 28)}
        assert not m.Valuation.objects.filter(as_of__gt=refused).exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_snapshot ON portfolio_portfoliosnapshot")
            cursor.execute("DROP FUNCTION refuse_snapshot()")


def test_inside_a_transaction_the_day_writer_writes_each_day_as_it_is_submitted():
    """Inside a transaction (a test's, or any caller's) a second connection could not see what the
    run wrote: each day is written at once, in the caller's thread."""
    writer = DayWriter()
    written: list[tuple[int, str]] = []
    for day in range(3):
        writer.submit(partial(lambda d: written.append((d, threading.current_thread().name)), day))
        assert [d for d, _ in written] == list(range(day + 1))  # written before submit returns
    writer.finish()
    assert writer.threaded is False
    assert {name for _, name in written} == {threading.current_thread().name}


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_on_postgresql_the_day_writer_writes_in_order_in_its_own_thread():
    """A worker's run: days are written in the order submitted, by the writer's thread, and
    ``finish`` returns once the last is written, the thread gone."""
    from django.db import connection

    require_services(
        available=connection.vendor == "postgresql",
        reason="the writer's own connection needs PostgreSQL (CI's second pass runs this)",
    )
    writer = DayWriter()
    written: list[tuple[int, str]] = []
    for day in range(5):
        writer.submit(partial(lambda d: written.append((d, threading.current_thread().name)), day))
    writer.finish()
    assert writer.threaded is True
    assert written == [(day, "backfill-writer") for day in range(5)]
    assert not any(thread.name == "backfill-writer" for thread in threading.enumerate())
