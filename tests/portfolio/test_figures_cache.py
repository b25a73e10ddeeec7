"""Cached portfolio figures: served from the cache while nothing changes, retired when a refresh
step commits or a record is saved, and the same figures as computed afresh."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portfolio import figures_cache
from portfolio import models as m
from portfolio.book import book_on
from portfolio.services.demo_data import demo_data_load
from portfolio.services.records import record_save
from portfolio.services.refresh import refresh_request, refresh_run_execute
from tests import factories as f

AS_OF = dt.date(2026, 11, 27)


def _refresh() -> None:
    run = refresh_request(kind="pipeline", trigger="command", as_of=AS_OF)
    assert refresh_run_execute(run_id=run.pk).status in ("succeeded", "partial")


@pytest.mark.django_db
def test_cached_figures_are_the_computed_ones_and_a_second_call_reads_no_table(django_assert_num_queries):
    """After a refresh the cached figures equal those computed from the book, and asking again reads
    them from the cache with no database query at all."""
    demo_data_load()
    _refresh()
    cached = figures_cache.metrics(as_of=AS_OF)["total"]
    computed = book_on(AS_OF).figures()["total"]
    assert (cached.value, cached.invested, cached.realised) == (computed.value, computed.invested, computed.realised)
    assert cached.xirr(AS_OF) == pytest.approx(computed.xirr(AS_OF))
    assert len(cached.flows) == 0  # kept small: the XIRR on the date is stored instead
    with django_assert_num_queries(0):
        again = figures_cache.metrics(as_of=AS_OF)["total"]
    assert again.value == cached.value


@pytest.mark.django_db
def test_warming_caches_the_dashboard_and_the_start_of_its_change(django_assert_num_queries):
    """Warming caches the dashboard's figures of its date (the last valuation's, 2026-11-27) and of
    the start of the tiles' default change, a week before (2026-11-20): the first visitor's tiles
    and their change are read from the cache."""
    f.ValuationFactory(position=f.PositionFactory(), as_of=AS_OF)
    assert figures_cache.dashboard_warm()
    assert figures_cache.dashboard_is_warm(AS_OF)
    with django_assert_num_queries(0):
        figures_cache.book_figures(
            as_of=AS_OF, dimensions=figures_cache.DASHBOARD_DIMENSIONS, returns=figures_cache.DASHBOARD_RETURNS
        )
        figures_cache.group_figures(as_of=dt.date(2026, 11, 20), dimension="total")


@pytest.mark.django_db(transaction=True)
def test_a_refresh_retires_cached_figures_when_it_commits():
    """A refresh that bulk-writes valuations (no model signals) still retires the cached figures, so the
    next read shows the new values, not the unvalued ones cached before."""
    demo_data_load()
    before = figures_cache.metrics(as_of=AS_OF)["total"]
    assert before.value is None  # no prices stored yet: the listed positions cannot be valued
    version = figures_cache.data_version()
    _refresh()  # valuations are bulk-written: no signal, the refresh itself retires the figures
    assert figures_cache.data_version() != version
    after = figures_cache.metrics(as_of=AS_OF)["total"]
    assert after.positions_valued == after.positions > 0
    assert after.value == book_on(AS_OF).figures()["total"].value


@pytest.mark.django_db
def test_a_record_saved_retires_cached_figures(analyst):
    """A cash flow saved through the records service retires the cached figures: the next read counts
    the new amount."""
    demo_data_load()
    before = figures_cache.metrics(as_of=AS_OF)["total"]
    position = m.Position.objects.filter(deal__status="closed").order_by("pk").first()
    flow = m.CashFlow(position=position, kind="fee", occurred_on=dt.date(2026, 6, 30), amount=Decimal("1000"),
                      currency_id="USD")  # fmt: skip
    record_save(flow, user=analyst, reason="test")
    after = figures_cache.metrics(as_of=AS_OF)["total"]
    assert after.invested == before.invested + Decimal("1000")


@pytest.mark.django_db
def test_an_unreachable_cache_means_figures_computed_every_time(settings):
    """With the cache unreachable the figures are computed from the database instead of failing."""
    from tracker.settings.base import redis_cache

    settings.CACHES = {"default": redis_cache("redis://127.0.0.1:1/0")}
    demo_data_load()
    assert figures_cache.data_version() is None
    assert figures_cache.metrics(as_of=AS_OF)["total"].positions == book_on(AS_OF).figures()["total"].positions > 0


@pytest.mark.django_db
def test_without_a_shared_cache_figures_are_computed_every_time(settings):
    """On the embedded defaults each process has its own cache, which a refresh in the worker
    could not retire: figures are not cached there."""
    settings.LODESTONE_CACHE_FIGURES = False
    demo_data_load()
    held = min(h.row.pk for h in book_on(AS_OF).holdings if h.basis == "held")
    before = figures_cache.metrics(as_of=AS_OF)["total"].positions
    later = AS_OF + dt.timedelta(days=1)
    m.Position.objects.filter(pk=held).update(acquired_on=later)  # a change that sends no signal: not held yet
    assert figures_cache.metrics(as_of=AS_OF)["total"].positions == before - 1
    assert figures_cache.data_version() is not None  # the cache works; it is simply not used
