"""Figures kept in the database: worked out again once each change has committed, read by the first
request after it while their generation is the current one, never within a transaction, and equal
to the figures worked out afresh."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from portfolio import figures_cache
from portfolio import models as m
from portfolio.book import DEFAULT_BOOK, default_as_of
from portfolio.services import kept_figures
from portfolio.services.demo_data import demo_data_load
from portfolio.services.records import record_save
from portfolio.services.refresh import refresh_request, refresh_run_execute
from tests.services import require_services

AS_OF = dt.date(2026, 11, 27)
DASHBOARD = figures_cache.DASHBOARD_DIMENSIONS


def _refresh() -> None:
    run = refresh_request(kind="pipeline", trigger="command", as_of=AS_OF)
    assert refresh_run_execute(run_id=run.pk).status in ("succeeded", "partial")


def _fee(user, amount: str = "1000", day: int = 30) -> m.CashFlow:
    position = m.Position.objects.filter(deal__status="closed").order_by("pk").first()
    flow = m.CashFlow(position=position, kind="fee", occurred_on=dt.date(2026, 6, day), amount=Decimal(amount),
                      currency_id="USD")  # fmt: skip
    record_save(flow, user=user, reason="test")
    return flow


def _encoded(figures) -> bytes:
    return figures_cache.encoded(figures)


def _book_queries(fn) -> list[str]:
    """The statements ``fn`` sends that read what a book is worked out from (the kept ledgers)."""
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return [q["sql"] for q in ctx.captured_queries if "portfolio_keptledger" in q["sql"]]


def _dashboard_figures():
    return figures_cache.book_figures(as_of=AS_OF, dimensions=DASHBOARD, returns=figures_cache.DASHBOARD_RETURNS)


@pytest.fixture
def uncached(settings):
    """The figures' cache off, as the benchmark measures a first request: only the kept figures remain."""
    settings.LODESTONE_CACHE_FIGURES = False


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_keeps_the_figures_the_first_request_reads(analyst, uncached):
    """After a refresh and after a steward's fee, the kept figures are of the current generation and
    equal the figures worked out afresh (the fee counted); the dashboard's and the summary's figures
    are read from them, with no book worked out."""
    demo_data_load()
    _refresh()
    assert default_as_of() == AS_OF
    generation = figures_cache.figures_generation()
    kept_before = figures_cache._kept("book", AS_OF, DEFAULT_BOOK, ",".join(DASHBOARD), ",".join(DASHBOARD))
    assert kept_before is not None
    _fee(analyst)
    assert figures_cache.figures_generation() == generation + 1  # one transaction, one step
    kept = figures_cache._kept("book", AS_OF, DEFAULT_BOOK, ",".join(DASHBOARD), ",".join(DASHBOARD))
    assert kept.by["total"]["total"].invested == kept_before.by["total"]["total"].invested + Decimal("1000")
    assert _encoded(kept) == _encoded(figures_cache.compute_book_figures(AS_OF, DASHBOARD, DEFAULT_BOOK, DASHBOARD))

    assert _book_queries(_dashboard_figures) == []
    assert _book_queries(lambda: figures_cache.book_figures(as_of=AS_OF, dimensions=["agency"])) == []
    assert _book_queries(lambda: figures_cache.ownership(as_of=AS_OF)) == []
    start = dt.date(2026, 11, 20)  # the tiles' default change: a week before
    assert _book_queries(lambda: figures_cache.group_figures(as_of=start, dimension="total")) == []
    # Figures not kept (another date, the deals' dimension) are worked out as before.
    assert _book_queries(lambda: figures_cache.book_figures(as_of=start, dimensions=["total"])) != []
    assert _book_queries(lambda: figures_cache.book_figures(as_of=AS_OF, dimensions=["deal"])) != []
    call_command("verify_figures")


@pytest.mark.django_db(transaction=True)
def test_figures_kept_at_an_older_generation_are_not_read(uncached):
    """Once the generation has moved (a change committed whose figures are not kept yet), the kept
    figures are not read: the figures are worked out from the data."""
    demo_data_load()
    _refresh()
    assert _book_queries(_dashboard_figures) == []
    kept_figures._raise_generation()
    assert _book_queries(_dashboard_figures) != []


@pytest.mark.django_db(transaction=True)
def test_a_transaction_raises_the_generation_once_and_one_rolled_back_not_at_all(analyst):
    demo_data_load()
    generation = figures_cache.figures_generation()
    with transaction.atomic():
        _fee(analyst, "1", day=1)
        _fee(analyst, "2", day=2)
    assert figures_cache.figures_generation() == generation + 1
    with transaction.atomic():
        _fee(analyst, "3", day=3)
        transaction.set_rollback(True)
    assert figures_cache.figures_generation() == generation + 1


@pytest.mark.django_db(transaction=True)
def test_within_a_transaction_its_own_changes_are_read_not_the_kept_figures(analyst, uncached):
    demo_data_load()
    _refresh()
    before = _dashboard_figures().by["total"]["total"].invested
    with transaction.atomic():
        _fee(analyst)
        assert _dashboard_figures().by["total"]["total"].invested == before + Decimal("1000")
        transaction.set_rollback(True)
    assert _dashboard_figures().by["total"]["total"].invested == before


@pytest.mark.django_db(transaction=True)
def test_runs_that_commit_many_times_keep_the_figures_once_at_their_end(analyst):
    """Within ``keeping_deferred`` each commit raises the generation, and the figures are kept once
    it ends: until then the kept ones are of an older generation (and not read)."""
    demo_data_load()
    _refresh()
    generation = figures_cache.figures_generation()
    with kept_figures.keeping_deferred():
        _fee(analyst, "1", day=1)
        _fee(analyst, "2", day=2)
        assert figures_cache.figures_generation() == generation + 2
        assert set(m.KeptFigures.objects.values_list("generation", flat=True)) == {generation}
    assert set(m.KeptFigures.objects.values_list("generation", flat=True)) == {generation + 2}


@pytest.mark.django_db(transaction=True)
def test_verify_figures_fails_on_kept_figures_that_differ(capsys):
    demo_data_load()
    _refresh()
    call_command("verify_figures")
    assert "3 kept books equal" in capsys.readouterr().out
    row = m.KeptFigures.objects.get(name="groups")
    row.payload = bytes(row.payload).replace(b'"invested":"', b'"invested":"1', 1)
    row.save()
    with pytest.raises(Exception, match="and 1 of 3 kept books differ"):
        call_command("verify_figures")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("dimensions", "returns"),
    [
        (DASHBOARD, figures_cache.DASHBOARD_RETURNS),  # the dashboard
        *[([dimension], [dimension]) for dimension in DASHBOARD],  # the summary, by each of them
        (["agency"], []),
        (["total", "commodity"], ["commodity"]),
    ],
)
def test_the_kept_book_narrowed_is_the_book_asked_for(dimensions, returns):
    """The kept book (every dimension of the dashboard, each with its returns), narrowed to what a
    read asks for, is to the byte the book worked out for that read."""
    demo_data_load()
    whole = figures_cache.compute_book_figures(AS_OF, DASHBOARD, DEFAULT_BOOK, DASHBOARD)
    narrowed = figures_cache._narrowed(whole, dimensions, returns)
    assert _encoded(narrowed) == _encoded(figures_cache.compute_book_figures(AS_OF, dimensions, DEFAULT_BOOK, returns))


@pytest.mark.django_db
def test_kept_figures_decode_to_what_was_kept():
    demo_data_load()
    whole = figures_cache.compute_book_figures(AS_OF, DASHBOARD, DEFAULT_BOOK, DASHBOARD)
    back = figures_cache._DECODERS["book"].decode(_encoded(whole))
    assert _encoded(back) == _encoded(whole)
    total, again = whole.by["total"]["total"], back.by["total"]["total"]
    assert (again.value, again.invested, again.twr, again.xirr(AS_OF)) == (
        total.value, total.invested, total.twr, total.xirr(AS_OF),
    )  # fmt: skip
    assert again.flows is not None
    assert again.flows.days.dtype == total.flows.days.dtype


@pytest.mark.django_db(transaction=True)
def test_two_connections_changing_the_book_at_once_leave_the_kept_figures_right(analyst, uncached):
    """Two threads (two database connections) save fees at the same time, each keeping the figures
    once it commits: whichever keeps last, the kept figures are of the last generation and equal the
    figures worked out again. On PostgreSQL, as in production; SQLite writes one transaction at a time."""
    import threading

    from django.db import connections

    require_services(
        available=connection.vendor == "postgresql",
        reason="concurrent writers need PostgreSQL (CI's second pass runs this)",
    )
    demo_data_load()
    _refresh()
    generation = figures_cache.figures_generation()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def fees(days: range) -> None:
        try:
            barrier.wait(timeout=10)
            for day in days:
                _fee(analyst, "10", day=day)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fees, args=(days,)) for days in (range(1, 6), range(11, 16))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert figures_cache.figures_generation() == generation + 10
    compared, differences = kept_figures.verify_kept_figures()
    assert (compared, differences) == (3, [])
    kept = figures_cache._kept("book", AS_OF, DEFAULT_BOOK, ",".join(DASHBOARD), ",".join(DASHBOARD))
    assert kept is not None
