"""A real Celery worker process (prefork pool) killed with SIGKILL in the middle of a refresh: the
task is delivered again, runs again, and its result is written exactly once. A whole worker killed
(its main process too, so nothing tells the broker, which would deliver the task again only after
its visibility timeout, an hour): a new refresh is accepted at once and run by another worker.

The worker is a separate process, so it needs a database and a broker another process can reach:
PostgreSQL and Redis, as in CI's second pass (which sets REQUIRE_SERVICES, so that there the test
fails rather than skips if they are missing). On the embedded defaults (an in-memory SQLite
database, an in-memory broker) it is skipped, saying so.

To stop the refresh at a known point, the test holds a lock on the snapshots table: the worker
fetches FX and prices and commits the valuations, then waits to write the portfolio snapshot;
the test sees it waiting (in PostgreSQL's own view of its sessions), kills the worker's pool
process, and releases the lock. The second attempt writes everything again: the valuations the
first one committed must be the same rows, not a second set.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from portfolio import models as m
from portfolio.services.demo_data import demo_data_load
from portfolio.services.liveness import process_gone
from portfolio.services.refresh import refresh_start
from tests.services import require_services
from tracker.celery import app

ROOT = Path(__file__).resolve().parents[3]
AS_OF = dt.date(2026, 11, 27)


def _require_services() -> None:
    require_services(
        available=connection.vendor == "postgresql" and app.conf.broker_url.startswith("redis://"),
        reason="needs PostgreSQL and a Redis broker that a second process can reach (CI's second pass runs it)",
    )


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _wait_for(condition, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not seen within {timeout} s; worker log:\n{log.read_text()[-4000:]}")


def _backend_waiting_on_a_lock() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query ILIKE '%%portfolio_portfoliosnapshot%%'"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_refresh_runs_the_task_again_and_writes_once(tmp_path):
    """A pool process killed with SIGKILL after committing the valuations: the task, acknowledged only
    once done, is delivered again, and the second attempt succeeds, rewriting the same valuation rows
    and one snapshot."""
    _require_services()
    demo_data_load()
    # Every position is valued but the four of the Trilogy letter of intent, lapsed before AS_OF.
    positions = m.Position.objects.exclude(deal__reference="tmq-dow-2025").count()
    app.control.purge()  # nothing left over from earlier tests reaches this worker
    log = tmp_path / "worker.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tracker.settings.test", "DATABASE_URL": _database_url()}
    command = [sys.executable, "-m", "celery", "-A", "tracker", "worker", "--pool", "prefork", "--concurrency", "1",
               "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
               "--hostname", f"killed-{os.getpid()}@%h"]  # fmt: skip
    with log.open("w") as out:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        finished, first = _kill_mid_refresh_and_wait(worker, positions, log)
    finally:  # the worker is stopped whatever happened: one left running would take later tests' tasks
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    text = log.read_text()
    assert "SIGKILL" in text or "signal 9" in text, text[-4000:]
    assert finished.status == "succeeded", (finished.message, text[-4000:])
    assert finished.attempts == 2  # delivered again after the kill, and run once more
    valuations = m.Valuation.objects.filter(as_of=AS_OF)
    assert valuations.count() == positions
    assert dict(valuations.values_list("pk", "value_usd")) == first  # rewritten in place: same rows, same values
    assert m.PortfolioSnapshot.objects.filter(as_of=AS_OF).count() == 1


def _kill_mid_refresh_and_wait(worker, positions: int, log: Path):
    """Start a refresh, kill the worker's process once it has committed the valuations and waits to
    write the snapshot, and wait for the run to finish: the finished run and the first valuations."""
    lock = psycopg.connect(_database_url().replace("postgres://", "postgresql://", 1))
    try:
        lock.execute("LOCK TABLE portfolio_portfoliosnapshot IN SHARE ROW EXCLUSIVE MODE")  # writes wait
        run = refresh_start(kind="pipeline", trigger="api", as_of=AS_OF)  # committed and queued at once here

        _wait_for(_backend_waiting_on_a_lock, 120, "the worker waiting to write the snapshot", log)
        run.refresh_from_db()
        assert (run.status, run.attempts) == ("running", 1)
        first = dict(m.Valuation.objects.filter(as_of=AS_OF).values_list("pk", "value_usd"))
        assert len(first) == positions  # the first attempt committed its valuations ...
        assert not m.PortfolioSnapshot.objects.filter(as_of=AS_OF).exists()  # ... and stopped before the end
        (child,) = _children(worker.pid)
        os.kill(child, signal.SIGKILL)
        _wait_for(lambda: child not in _children(worker.pid), 30, "the killed process gone", log)
    finally:
        lock.rollback()  # releases the lock
        lock.close()
    finished = _wait_for(
        lambda: m.RefreshRun.objects.exclude(status__in=["queued", "running"]).filter(pk=run.pk).first(),
        120,
        "the run finished",
        log,
    )
    return finished, first


def _worker(log: Path, name: str) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tracker.settings.test", "DATABASE_URL": _database_url()}
    command = [sys.executable, "-m", "celery", "-A", "tracker", "worker", "--pool", "prefork", "--concurrency", "1",
               "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
               "--hostname", f"{name}-{os.getpid()}@%h"]  # fmt: skip
    with log.open("w") as out:  # a session of its own: the test can kill the worker and its pool at once
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                start_new_session=True)  # fmt: skip


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


@pytest.mark.django_db(transaction=True)
def test_a_whole_worker_killed_mid_refresh_lets_a_new_refresh_in_at_once(tmp_path):
    """A whole worker killed mid-refresh, so nothing tells the broker: a new refresh is accepted at once
    (the dead run failed as abandoned) and run to the end by another worker, without waiting for the
    visibility timeout."""
    _require_services()
    demo_data_load()
    app.control.purge()
    first_log, second_log = tmp_path / "killed.log", tmp_path / "second.log"
    worker = _worker(first_log, "whole")
    lock = psycopg.connect(_database_url().replace("postgres://", "postgresql://", 1))
    try:
        lock.execute("LOCK TABLE portfolio_portfoliosnapshot IN SHARE ROW EXCLUSIVE MODE")
        run = refresh_start(kind="pipeline", trigger="api", as_of=AS_OF)
        _wait_for(_backend_waiting_on_a_lock, 120, "the worker waiting to write the snapshot", first_log)
        run.refresh_from_db()
        assert run.status == "running"
        assert run.worker  # the pool process running it, host:pid
        os.killpg(worker.pid, signal.SIGKILL)  # the main process and its pool: nobody tells the broker
        worker.wait(timeout=30)
    finally:
        lock.rollback()
        lock.close()
        _stop(worker)
    killed = time.monotonic()
    _wait_for(lambda: process_gone(run.worker), 30, "the killed pool process gone", first_log)
    run.refresh_from_db()
    assert run.status == "running"  # as the killed process left it

    again = refresh_start(kind="pipeline", trigger="api", as_of=AS_OF)  # accepted, not refused

    accepted_after = time.monotonic() - killed
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.message.startswith("Failed: abandoned: its worker stopped"), run.message
    assert accepted_after < 300
    second = _worker(second_log, "second")
    try:
        finished = _wait_for(
            lambda: m.RefreshRun.objects.exclude(status__in=["queued", "running"]).filter(pk=again.pk).first(),
            180,
            "the new run finished",
            second_log,
        )
    finally:
        _stop(second)
    assert finished.status == "succeeded", (finished.message, second_log.read_text()[-4000:])
    assert m.PortfolioSnapshot.objects.filter(as_of=AS_OF).count() == 1
