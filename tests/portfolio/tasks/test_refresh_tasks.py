"""Refresh tasks: how they are retried, the schedules, and a real worker running the pipeline
against the configured broker and database (a worker killed mid-run: test_worker_killed.py)."""

from __future__ import annotations

import datetime as dt
import inspect
import re
import time

import pytest
import requests
import responses
from celery.contrib.testing.worker import start_worker
from django_celery_beat.models import PeriodicTask

from portfolio import models as m
from portfolio.integrations.market_data import TransientProviderError
from portfolio.services.demo_data import demo_data_load
from portfolio.services.refresh import refresh_start
from portfolio.tasks import refresh_run_task, refresh_scheduled_task
from tests import factories as f
from tracker.celery import app


@pytest.mark.django_db
@responses.activate
def test_each_retry_after_a_transient_outage_waits_a_random_delay_that_doubles():
    """Every price provider unreachable: the task is retried by Celery's own machinery, each retry
    after a random delay of at most 30 s x 2^n (30 s, 1, 2, 4 minutes), so workers that failed
    together do not all come back at once; after the fourth retry the run is failed."""
    from celery.signals import task_retry

    from portfolio.services.refresh import refresh_request

    listing = f.PositionFactory().listing
    listing.price_providers = "yahoo"
    listing.save()
    responses.get(re.compile(r"https://query1\.finance\.yahoo\.com/.*"), body=requests.ConnectionError("down"))
    delays = []

    def record(sender=None, reason=None, **kwargs):
        delays.append(reason.when)  # the countdown the retry was scheduled with

    task_retry.connect(record, sender=refresh_run_task, weak=False)
    try:
        run = refresh_request(kind="prices", trigger="command", as_of=dt.date(2025, 7, 11))
        assert refresh_run_task.apply(args=[run.pk]).state == "FAILURE"  # apply runs the retries at once
    finally:
        task_retry.disconnect(record, sender=refresh_run_task)
    assert len(delays) == 4
    for n, delay in enumerate(delays):
        assert 0 <= delay <= 30 * 2**n, delays
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("failed", 5)


def test_time_limits_are_below_the_visibility_timeout():
    """With Redis the timeout is set in all three places Celery reads it; every limit stays below it."""
    from django.conf import settings

    visibility = settings.VISIBILITY_TIMEOUT
    if app.conf.broker_url.startswith("redis"):
        assert app.conf.broker_transport_options["visibility_timeout"] == visibility
        assert app.conf.result_backend_transport_options["visibility_timeout"] == visibility
        assert app.conf.visibility_timeout == visibility
    assert refresh_run_task.soft_time_limit < refresh_run_task.time_limit < visibility
    assert refresh_run_task.retry_backoff_max < visibility
    assert app.conf.task_time_limit < visibility


def test_tasks_take_ids_not_objects():
    """Task signatures are primitive ids and names (the JSON serializer rejects anything else)."""
    assert list(inspect.signature(refresh_run_task.run).parameters) == ["run_id"]
    assert list(inspect.signature(refresh_scheduled_task.run).parameters) == ["kind"]
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]


@pytest.mark.django_db
def test_every_schedule_names_a_registered_task_and_expires():
    """Every beat schedule names a task the worker has, in UTC, with an expiry, so a backlog after an
    outage does not replay stale refreshes."""
    app.loader.import_default_modules()
    entries = PeriodicTask.objects.exclude(task__startswith="celery.")
    assert entries.count() >= 2
    for entry in entries:
        assert entry.task in app.tasks, f"{entry.name}: {entry.task} is not a registered task"
        assert entry.expire_seconds, f"{entry.name} has no expiry: a backlog would replay stale refreshes"
        assert entry.crontab.timezone.key == "UTC"


@pytest.mark.django_db
def test_default_schedules_are_created_once_and_operator_edits_are_kept():
    """Ensuring the default schedules again creates none and keeps an operator's change (a schedule
    turned off stays off)."""
    from portfolio.services.schedules import schedules_ensure

    entry = PeriodicTask.objects.get(name="FX rates, daily")
    entry.enabled = False
    entry.save()
    assert schedules_ensure() == 0
    assert PeriodicTask.objects.filter(name="FX rates, daily").count() == 1
    assert PeriodicTask.objects.get(name="FX rates, daily").enabled is False


@pytest.mark.django_db
def test_refresh_start_queues_the_run_id_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    """Starting a refresh queues its task only once the run's row is committed, and sends the run's id,
    never the object."""
    queued = []
    monkeypatch.setattr(refresh_run_task, "delay", lambda run_id: queued.append(run_id))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = refresh_start(kind="pipeline", trigger="web")
    assert queued == []  # nothing reaches the broker before the run row is committed
    assert len(callbacks) == 1
    callbacks[0]()
    assert queued == [run.pk]
    assert isinstance(queued[0], int)


@pytest.mark.django_db
def test_a_broker_that_cannot_be_reached_fails_the_run_with_the_reason(monkeypatch, django_capture_on_commit_callbacks):
    """When the broker cannot be reached, starting a refresh raises a clear error and the run is
    recorded as failed, saying the task queue could not be reached."""
    from kombu.exceptions import OperationalError

    from portfolio.exceptions import BrokerUnavailableError

    def refuse(run_id):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    monkeypatch.setattr(refresh_run_task, "delay", refuse)
    with pytest.raises(BrokerUnavailableError), django_capture_on_commit_callbacks(execute=True):
        refresh_start(kind="pipeline", trigger="api")
    run = m.RefreshRun.objects.get()
    assert run.status == "failed"
    assert "task queue could not be reached" in run.message


@pytest.fixture
def worker(transactional_db):
    """A real Celery worker (in a thread, solo pool) on the project's app and configured broker."""
    app.control.purge()  # messages other tests queued for runs that no longer exist
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"):
        yield


def _wait_until_finished(run_id: int, timeout: float = 60.0) -> m.RefreshRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = m.RefreshRun.objects.get(pk=run_id)
        if run.status not in ("queued", "running"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {run.status} after {timeout} s")


def _wait_until_warm(as_of: dt.date, timeout: float = 60.0) -> None:
    from portfolio import figures_cache

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if figures_cache.dashboard_is_warm(as_of):
            return
        time.sleep(0.2)
    raise AssertionError(f"the dashboard's figures of {as_of} were not cached within {timeout} s")


def test_a_worker_runs_the_pipeline_through_the_broker_and_writes_to_the_database(worker, django_assert_num_queries):
    """Then the worker caches the dashboard's figures: its first visitor reads them from the cache,
    and they are the figures computed afresh."""
    from portfolio import figures_cache
    from portfolio.book import book_on

    # given
    demo_data_load()
    as_of = dt.date(2026, 11, 27)
    # when
    run = refresh_start(kind="pipeline", trigger="api", as_of=as_of)
    # then
    finished = _wait_until_finished(run.pk)
    assert finished.status == "succeeded", (finished.message, finished.errors[:3])
    # Every position is valued but the four of the Trilogy letter of intent, lapsed on 2026-03-31.
    lapsed = m.Position.objects.filter(deal__reference="tmq-dow-2025").count()
    assert lapsed == 4
    assert m.Valuation.objects.filter(as_of=as_of).count() == m.Position.objects.count() - lapsed
    assert m.PortfolioSnapshot.objects.filter(as_of=as_of).exists()
    _wait_until_warm(as_of)
    with django_assert_num_queries(0):
        cached = figures_cache.book_figures(
            as_of=as_of, dimensions=figures_cache.DASHBOARD_DIMENSIONS, returns=figures_cache.DASHBOARD_RETURNS
        ).by
    fresh = book_on(as_of).figures_by(figures_cache.DASHBOARD_DIMENSIONS)
    assert cached["total"]["total"].value == fresh["total"]["total"].value > 0
    assert cached["agency"].keys() == fresh["agency"].keys()


@pytest.mark.django_db
def test_a_transient_outage_makes_the_task_retry_and_an_error_fails_the_run(monkeypatch):
    """Run through Celery's own retry machinery (apply runs the retries at once, without waiting)."""
    from portfolio.services import refresh as refresh_service
    from portfolio.services.refresh import refresh_request

    run = refresh_request(kind="fx", trigger="command")

    def outage():
        raise TransientProviderError("fx", "every fx provider call failed; will retry")

    monkeypatch.setattr(refresh_service, "_plan", lambda r: [("fx", outage)])
    assert refresh_run_task.apply(args=[run.pk]).state == "FAILURE"
    run.refresh_from_db()
    assert run.attempts == refresh_run_task.max_retries + 1  # tried, then retried until the limit
    assert run.status == "failed"
    assert "will retry" in run.message

    other = refresh_request(kind="fx", trigger="command")

    def broken():
        raise ValueError("bad terms")

    monkeypatch.setattr(refresh_service, "_plan", lambda r: [("fx", broken)])
    assert refresh_run_task.apply(args=[other.pk]).state == "FAILURE"
    other.refresh_from_db()
    assert other.attempts == 1  # not retried
    assert other.status == "failed"
    assert "ValueError: bad terms" in other.message


@pytest.mark.django_db
def test_a_run_that_keeps_killing_its_worker_is_given_up():
    """A run already attempted the maximum number of times is failed as given up when delivered again,
    rather than killing workers for ever."""
    from portfolio.services.refresh import MAX_ATTEMPTS, refresh_request, refresh_run_execute

    run = refresh_request(kind="fx", trigger="command")
    m.RefreshRun.objects.filter(pk=run.pk).update(status="running", attempts=MAX_ATTEMPTS)
    run = refresh_run_execute(run_id=run.pk)
    assert run.status == "failed"
    assert f"given up after {MAX_ATTEMPTS} attempts" in run.message


@pytest.mark.django_db
def test_a_scheduled_refresh_refused_by_a_running_one_is_tried_again_later():
    """A scheduled pipeline refused because another refresh holds the lock is tried again, each refusal
    recorded, until the task's retries run out, all within an hour."""
    from portfolio.services.refresh import refresh_request

    refresh_request(kind="fx", trigger="schedule")
    refresh_scheduled_task.apply(args=["pipeline"])  # apply runs the retries at once
    refused = m.RefreshRun.objects.filter(kind="pipeline", status="refused").count()
    assert refused == refresh_scheduled_task.max_retries + 1
    from portfolio.tasks import SCHEDULED_RETRY_SECONDS

    assert SCHEDULED_RETRY_SECONDS * refresh_scheduled_task.max_retries <= 3600
