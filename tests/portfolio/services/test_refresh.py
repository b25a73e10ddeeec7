"""Refresh runs: the pipeline end to end, idempotency, the lock, and every provider failure mode
leaving earlier data intact and recorded in the run."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import responses
from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError
from django.test import override_settings
from django.utils import timezone

from portfolio import models as m
from portfolio.exceptions import RefreshRefusedError
from portfolio.integrations.market_data import TransientProviderError
from portfolio.services.demo_data import demo_data_load
from portfolio.services.market_data import fx_refresh, prices_refresh
from portfolio.services.refresh import refresh_request, refresh_run_execute
from tests import factories as f
from tests.services import require_services

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers"
YAHOO = re.compile(r"https://query1\.finance\.yahoo\.com/v8/finance/chart/.*")
STOOQ = re.compile(r"https://stooq\.com/q/d/l/.*")
AS_OF = dt.date(2025, 7, 11)


def _run(kind="pipeline", as_of=AS_OF) -> m.RefreshRun:
    run = refresh_request(kind=kind, trigger="command", as_of=as_of)
    return refresh_run_execute(run_id=run.pk)


def _table(model, *fields):
    return list(model.objects.order_by("pk").values_list("pk", *fields))


def test_the_snapshot_gives_the_held_valuations_of_its_date_summed_by_each_breakdown():
    """The snapshot reads its agency, company and instrument breakdowns from the date's kept rows:
    each equals the day's held valuations summed again by the database, group by group, and its
    value and count are theirs."""
    from django.db.models import Count, Sum

    from portfolio.book.basis import book_q

    demo_data_load()
    day = dt.date(2026, 11, 27)
    assert _run(as_of=day).status == "succeeded"
    snapshot = m.PortfolioSnapshot.objects.get(as_of=day)
    held = m.Valuation.objects.filter(book_q("held", day=day, prefix="position__"), as_of=day)
    columns = {
        "agency": "position__deal__agency__short_name",
        "company": "position__deal__company__name",
        "instrument": "position__kind",
        "fair_value_level": "fair_value_level",
    }
    for name, column in columns.items():
        summed = held.values(column).annotate(total=Sum("value_usd")).values_list(column, "total")
        stored = {key: Decimal(total) for key, total in snapshot.breakdown[name].items()}
        assert stored == {str(key): total for key, total in sorted(summed)}, name
    totals = held.aggregate(value=Sum("value_usd"), count=Count("pk"))
    assert (
        (snapshot.value_usd, snapshot.positions_valued)
        == (totals["value"], totals["count"])
        == (
            snapshot.value_usd,
            11,
        )
    )


def test_pipeline_values_the_demo_portfolio_and_a_rerun_changes_nothing():
    """The full pipeline on the demo data runs every step, values every position but the lapsed letter
    of intent's and snapshots the held book; running it again for the same day leaves valuations,
    prices, rates and snapshot exactly as they were."""
    # given
    demo_data_load()
    # when
    run = _run(as_of=dt.date(2026, 11, 27))
    # then
    assert run.status == "succeeded", run.errors
    assert set(run.counts) == {"fx", "prices", "commodities", "deadlines", "valuations", "snapshot", "simulated"}
    # The four positions of the Trilogy letter of intent, lapsed after 2026-05-31, are not valued.
    lapsed = m.Position.objects.filter(deal__reference="tmq-dow-2025").count()
    assert run.counts["valuations"]["written"] == m.Position.objects.count() - lapsed == 16
    assert run.started_at <= run.finished_at
    assert (run.progress_done, run.progress_total) == (6, 6)
    snapshot = m.PortfolioSnapshot.objects.get(as_of=dt.date(2026, 11, 27))
    assert snapshot.is_simulated
    # Held: MP's two, LAC's two warrants, NMG's four (two deals), ATALCO's preferred, the Department of
    # War's 40% of the Korea Zinc JV and Investissement Québec's Nemaska tranche.
    assert (snapshot.positions_valued, snapshot.positions_missing) == (11, 0)
    assert m.Listing.objects.filter(positions__isnull=False).exclude(price_status="ok").count() == 0
    before = (
        _table(m.Valuation, "position_id", "as_of", "value_usd", "formula"),
        _table(m.SecurityPrice, "listing_id", "on", "source", "close"),
        _table(m.FxRate, "quote_id", "on", "source", "rate"),
        _table(m.PortfolioSnapshot, "as_of", "value_usd"),
    )
    # when: the same refresh again
    _run(as_of=dt.date(2026, 11, 27))
    # then
    after = (
        _table(m.Valuation, "position_id", "as_of", "value_usd", "formula"),
        _table(m.SecurityPrice, "listing_id", "on", "source", "close"),
        _table(m.FxRate, "quote_id", "on", "source", "rate"),
        _table(m.PortfolioSnapshot, "as_of", "value_usd"),
    )
    assert after == before


def test_a_second_refresh_of_the_same_kind_is_refused_and_recorded():
    """While a pipeline is active, a prices refresh (same lock) is refused naming the active run and
    recorded as refused; a milestones refresh, under another lock, is still accepted."""
    active = refresh_request(kind="pipeline", trigger="command")
    with pytest.raises(RefreshRefusedError) as excinfo:
        refresh_request(kind="prices", trigger="web")
    assert f"refresh #{active.pk}" in excinfo.value.message
    refused = m.RefreshRun.objects.get(pk=excinfo.value.extra["refused_run"])
    assert refused.status == "refused"
    assert f"#{active.pk}" in refused.message
    # Other kinds of refresh are not blocked.
    refresh_request(kind="milestones", trigger="command")


def test_a_run_abandoned_by_a_dead_worker_stops_blocking_after_the_time_limit():
    """A run left 'running' for two hours with no sign of life is marked failed as abandoned when a new
    refresh is asked for, and the new one is queued."""
    stuck = refresh_request(kind="pipeline", trigger="command")
    m.RefreshRun.objects.filter(pk=stuck.pk).update(status="running", updated_at=timezone.now() - dt.timedelta(hours=2))
    fresh = refresh_request(kind="pipeline", trigger="command")
    stuck.refresh_from_db()
    assert stuck.status == "failed"
    assert "abandoned" in stuck.message
    assert fresh.status == "queued"


def test_the_database_allows_one_active_run_per_lock():
    """The database itself refuses a second active run under the same lock, whatever path writes it."""
    from django.db import IntegrityError, transaction

    f.RefreshRunFactory(status="running", lock_key="market")
    with pytest.raises(IntegrityError), transaction.atomic():
        f.RefreshRunFactory(status="queued", lock_key="market")


# --- Provider failures ----------------------------------------------------------------------


@pytest.fixture
def priced_listing():
    """A listing with one earlier price, priced from Yahoo first and Stooq second."""
    position = f.PositionFactory()
    listing = position.listing
    listing.price_providers = "yahoo"
    listing.save()
    f.SecurityPriceFactory(listing=listing, on=dt.date(2025, 7, 8), close=Decimal("30.18"), source="yahoo")
    return listing


def _prices_now(listing):
    return list(m.SecurityPrice.objects.filter(listing=listing).values_list("on", "source", "close"))


@responses.activate
@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ({"body": requests.Timeout("read timed out")}, "transient"),
        ({"body": "Too many", "status": 429}, "rate_limited"),
        ({"body": "<!DOCTYPE html><html>blocked</html>", "status": 200}, "transient"),
        ({"body": (FIXTURES / "yahoo_chart_garbage.json").read_text(), "status": 200}, "transient"),
        ({"body": (FIXTURES / "yahoo_chart_not_found.json").read_text(), "status": 404}, "unknown_symbol"),
    ],
    ids=["timeout", "429", "html-with-200", "garbage-numbers", "unknown-symbol"],
)
def test_a_failing_provider_leaves_earlier_prices_intact_and_is_recorded(priced_listing, answer, kind):
    """A timeout, a 429, an HTML page, garbage numbers or an unknown symbol leave the stored prices
    untouched and are recorded as a failure of the right kind against the provider; only an unknown
    symbol changes the listing's status."""
    # given
    responses.get(YAHOO, **answer)
    before = _prices_now(priced_listing)
    # when
    result = prices_refresh(as_of=AS_OF)
    # then
    assert _prices_now(priced_listing) == before
    assert result.failed == 1
    assert result.errors[0]["kind"] == kind
    assert result.errors[0]["provider"] == "yahoo"
    priced_listing.refresh_from_db()
    expected_status = "unknown_symbol" if kind == "unknown_symbol" else "ok"
    assert priced_listing.price_status == expected_status


@responses.activate
def test_a_transient_outage_of_every_provider_asks_for_a_retry(priced_listing):
    """The run is not marked failed: it is queued again, for the task's retry with backoff, which
    any worker may take."""
    responses.get(YAHOO, body=requests.ConnectionError("down"))
    run = refresh_request(kind="prices", trigger="command", as_of=AS_OF)
    with pytest.raises(TransientProviderError):
        refresh_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.worker) == ("queued", "")
    assert run.message.startswith("Waiting to retry")
    assert run.errors[0]["kind"] == "transient"


@responses.activate
def test_the_next_provider_is_tried_when_one_fails(priced_listing):
    """When the first provider fails, the listing's next one is asked, with the listing's own symbol for
    it, and its prices are stored with no failure counted."""
    priced_listing.price_providers = "yahoo,stooq"
    priced_listing.provider_symbols = {"stooq": "T.US"}
    priced_listing.save()
    responses.get(YAHOO, body="down", status=503)
    responses.get(STOOQ, body=(FIXTURES / "stooq_mp.csv").read_text())
    result = prices_refresh(as_of=AS_OF)
    assert result.failed == 0
    assert m.SecurityPrice.objects.filter(listing=priced_listing, source="stooq").count() == 3
    assert "s=t.us" in responses.calls[1].request.url


@responses.activate
def test_a_revised_price_is_updated_and_reported(priced_listing):
    """Yahoo now says 30.18 was 30.20 on 2025-07-08: the row is updated, and the run says so."""
    body = (FIXTURES / "yahoo_chart_mp.json").read_text().replace("30.18", "30.2")
    responses.get(YAHOO, body=body)
    result = prices_refresh(as_of=AS_OF)
    assert result.revised == 1
    assert "revised from 30.18" in next(e["message"] for e in result.errors if e["kind"] == "revised")
    assert m.SecurityPrice.objects.get(listing=priced_listing, on=dt.date(2025, 7, 8)).close == Decimal("30.2")


@responses.activate
def test_a_day_the_provider_gives_twice_keeps_its_last_close(priced_listing):
    """Yahoo lists 2025-07-11 twice (44.75, then 44.80, as a feed may while the day is still
    trading): one row is stored, with the later close, and the run goes on."""
    body = json.loads((FIXTURES / "yahoo_chart_mp.json").read_text())
    chart = body["chart"]["result"][0]
    chart["timestamp"].append(chart["timestamp"][-1] + 60)
    for series in chart["indicators"]["quote"][0].values():
        series.append(series[-1])
    chart["indicators"]["quote"][0]["close"][-1] = 44.80
    for adjusted in chart["indicators"].get("adjclose", []):
        adjusted["adjclose"].append(44.80)
    responses.get(YAHOO, json=body)
    result = prices_refresh(as_of=AS_OF)
    assert result.failed == 0
    assert list(
        m.SecurityPrice.objects.filter(listing=priced_listing, on=dt.date(2025, 7, 11)).values_list("close", flat=True)
    ) == [Decimal("44.8")]


def test_a_listing_whose_last_price_is_old_is_flagged_stale(priced_listing):
    """A listing no provider knows is flagged unknown; one whose provider is down and whose last price
    is weeks old is flagged stale, the note giving that price's date."""
    priced_listing.price_providers = "csv"
    priced_listing.save()
    with override_settings(LODESTONE_PRICE_CSV_DIR=str(FIXTURES)):  # no file for this ticker
        prices_refresh(as_of=dt.date(2025, 7, 31))
    priced_listing.refresh_from_db()
    # The CSV provider does not know the symbol at all, so it is flagged as unknown.
    assert priced_listing.price_status == "unknown_symbol"
    priced_listing.price_providers = "yahoo"
    priced_listing.save()
    with responses.RequestsMock() as mock:
        mock.get(YAHOO, body="down", status=503)
        prices_refresh(as_of=dt.date(2025, 7, 31))
    priced_listing.refresh_from_db()
    assert priced_listing.price_status == "stale"
    assert "2025-07-08" in priced_listing.price_status_note


@responses.activate
def test_the_requests_of_a_batch_overlap_as_many_at_once_as_the_provider_allows(priced_listing, settings):
    """Eight listings from a provider that allows four requests in flight: each answer waits until
    four requests have arrived together (a barrier: were they sent one after the other, the first
    would wait in vain and fail), never more than four are in flight, and every listing's closes
    are stored as they would be one request at a time."""
    import threading

    settings.LODESTONE_PROVIDER_GATES = {"yahoo": {"calls_per_second": 1000, "concurrent_requests": 4}}
    for _ in range(7):
        listing = f.PositionFactory().listing
        listing.price_providers = "yahoo"
        listing.save()
    together = threading.Barrier(4)
    lock = threading.Lock()
    in_flight = {"now": 0, "most": 0}

    def answer(request):
        with lock:
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])
        try:
            together.wait(timeout=10)
            return (200, {}, (FIXTURES / "yahoo_chart_mp.json").read_text())
        finally:
            with lock:
                in_flight["now"] -= 1

    responses.add_callback(responses.GET, YAHOO, callback=answer)
    result = prices_refresh(as_of=AS_OF)
    assert (result.total, result.failed, result.errors) == (8, 0, [])
    assert in_flight["most"] == 4
    assert len(responses.calls) == 8
    assert m.SecurityPrice.objects.filter(on=AS_OF).count() == 8


@responses.activate
def test_a_step_interrupted_mid_batch_writes_nothing_of_that_batch(priced_listing):
    """The soft time limit strikes while the second listing is fetched: the first one's prices,
    already fetched, are not written either, and the run is marked failed with the reason."""
    second = f.PositionFactory().listing
    second.price_providers = "yahoo"
    second.save()
    calls = {"n": 0}

    def answer(request):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SoftTimeLimitExceeded()
        return (200, {}, (FIXTURES / "yahoo_chart_mp.json").read_text())

    responses.add_callback(responses.GET, YAHOO, callback=answer)
    run = refresh_request(kind="prices", trigger="command", as_of=AS_OF)
    before = m.SecurityPrice.objects.count()
    with pytest.raises(SoftTimeLimitExceeded):
        refresh_run_execute(run_id=run.pk)
    assert m.SecurityPrice.objects.count() == before
    run.refresh_from_db()
    assert run.status == "failed"
    assert "SoftTimeLimitExceeded" in run.message


@responses.activate
def test_a_constraint_violation_inside_a_batch_rolls_the_batch_back_and_fails_the_run(priced_listing, settings):
    """Alpha Vantage sends a day whose low is above its high; the database's check refuses that
    row. No price of the batch is written (not the other listing's good ones either), earlier
    prices stay, and the run is marked failed naming the constraint."""
    settings.LODESTONE_ALPHAVANTAGE_API_KEY = "test-key"
    second = f.PositionFactory().listing
    second.price_providers = "alphavantage"
    second.save()
    responses.get(YAHOO, body=(FIXTURES / "yahoo_chart_mp.json").read_text())
    responses.get(
        re.compile(r"https://www\.alphavantage\.co/query.*"),
        body=(FIXTURES / "alphavantage_daily_low_above_high.json").read_text(),
        content_type="application/json",
    )
    before = _table(m.SecurityPrice, "listing", "on", "source", "close")
    run = refresh_request(kind="prices", trigger="command", as_of=AS_OF)
    with pytest.raises(IntegrityError):
        refresh_run_execute(run_id=run.pk)
    assert _table(m.SecurityPrice, "listing", "on", "source", "close") == before
    run.refresh_from_db()
    assert run.status == "failed"
    assert "IntegrityError" in run.message
    assert "securityprice_low_not_above_high" in run.message


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_requested_at_the_same_moment_one_is_queued_and_the_other_told_why():
    """Two requests race (two threads, two database connections, released together): the
    database admits one active run, and the other request is refused naming it, and recorded.

    On PostgreSQL, as in production. The in-memory SQLite test database shares one cache between
    threads, where a second writer fails at once instead of waiting: not what is tested here."""
    import threading

    from django.db import connection, connections

    require_services(
        available=connection.vendor == "postgresql",
        reason="two concurrent writers need PostgreSQL (CI's second pass runs this)",
    )

    barrier = threading.Barrier(2)
    outcomes: list[tuple[str, object]] = []

    def request(trigger: str) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(("queued", refresh_request(kind="pipeline", trigger=trigger).pk))
        except RefreshRefusedError as exc:
            outcomes.append(("refused", exc.message))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request, args=(trigger,)) for trigger in ("web", "api")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(kind for kind, _ in outcomes) == ["queued", "refused"]
    queued = next(value for kind, value in outcomes if kind == "queued")
    refusal = next(value for kind, value in outcomes if kind == "refused")
    assert f"#{queued}" in refusal
    assert list(m.RefreshRun.objects.order_by("status").values_list("status", flat=True)) == ["queued", "refused"]


def test_fx_reaches_back_to_the_first_payment_in_a_currency(settings):
    """C$250M paid on 2023-06-30, valued on 2025-07-11 with no CAD rate stored: the FX step loads
    rates from before the payment (not only the usual recent history), so the cost is converted
    at the rate of its day; a second run re-reads only the last days."""
    settings.LODESTONE_FX_PROVIDERS = ["simulated"]
    position = f.PositionFactory(currency_id="CAD", listing=None, kind="private_equity", underlying="Shares")
    f.CashFlowFactory(
        position=position, currency_id="CAD", amount=Decimal("250000000"), occurred_on=dt.date(2023, 6, 30)
    )
    fx_refresh(as_of=AS_OF)
    first = m.FxRate.objects.filter(quote_id="CAD").order_by("on").first()
    assert first is not None
    assert first.on <= dt.date(2023, 6, 30)
    count = m.FxRate.objects.count()
    fx_refresh(as_of=AS_OF)
    assert m.FxRate.objects.count() == count  # nothing new: the history is already there
