"""Refresh tasks: their retry and acknowledgement policy, the schedules, and a real worker
running the pipeline against the configured broker and database."""

from __future__ import annotations

import datetime as dt
import inspect
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django_celery_beat.models import PeriodicTask

from portfolio import models as m
from portfolio.integrations.market_data import PermanentProviderError, TransientProviderError
from portfolio.services.demo_data import demo_data_load
from portfolio.services.refresh import refresh_start
from portfolio.tasks import refresh_run_task, refresh_scheduled_task
from tracker.celery import app


def test_refresh_task_retries_transient_errors_only_with_capped_jittered_backoff():
    task = refresh_run_task
    assert task.autoretry_for == (TransientProviderError,)
    assert not issubclass(PermanentProviderError, TransientProviderError)
    assert task.retry_backoff
    assert task.retry_jitter is True
    assert 0 < task.retry_backoff_max <= 600
    assert task.max_retries is not None
    assert task.max_retries <= 5


def test_refresh_task_acknowledges_late_and_is_requeued_if_its_worker_dies():
    """It is idempotent (every step upserts), so running it again after a crash is safe."""
    assert refresh_run_task.acks_late is True
    assert refresh_run_task.reject_on_worker_lost is True


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
    app.loader.import_default_modules()
    entries = PeriodicTask.objects.exclude(task__startswith="celery.")
    assert entries.count() >= 2
    for entry in entries:
        assert entry.task in app.tasks, f"{entry.name}: {entry.task} is not a registered task"
        assert entry.expire_seconds, f"{entry.name} has no expiry: a backlog would replay stale refreshes"
        assert entry.crontab.timezone.key == "UTC"


@pytest.mark.django_db
def test_default_schedules_are_created_once_and_operator_edits_are_kept():
    from portfolio.services.schedules import schedules_ensure

    entry = PeriodicTask.objects.get(name="FX rates, daily")
    entry.enabled = False
    entry.save()
    assert schedules_ensure() == 0
    assert PeriodicTask.objects.filter(name="FX rates, daily").count() == 1
    assert PeriodicTask.objects.get(name="FX rates, daily").enabled is False


@pytest.mark.django_db
def test_refresh_start_queues_the_run_id_after_commit(django_capture_on_commit_callbacks, monkeypatch):
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
        cached = figures_cache.book_figures(as_of=as_of, dimensions=figures_cache.DASHBOARD_DIMENSIONS).by
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
    from portfolio.services.refresh import MAX_ATTEMPTS, refresh_request, refresh_run_execute

    run = refresh_request(kind="fx", trigger="command")
    m.RefreshRun.objects.filter(pk=run.pk).update(status="running", attempts=MAX_ATTEMPTS)
    run = refresh_run_execute(run_id=run.pk)
    assert run.status == "failed"
    assert f"given up after {MAX_ATTEMPTS} attempts" in run.message


@pytest.mark.django_db
def test_a_scheduled_refresh_refused_by_a_running_one_is_tried_again_later():
    from portfolio.services.refresh import refresh_request

    refresh_request(kind="fx", trigger="schedule")
    refresh_scheduled_task.apply(args=["pipeline"])  # apply runs the retries at once
    refused = m.RefreshRun.objects.filter(kind="pipeline", status="refused").count()
    assert refused == refresh_scheduled_task.max_retries + 1
    from portfolio.tasks import SCHEDULED_RETRY_SECONDS

    assert SCHEDULED_RETRY_SECONDS * refresh_scheduled_task.max_retries <= 3600
