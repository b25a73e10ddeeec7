"""Runs whose worker stopped: their lock is released within minutes, their work is run again
without waiting for the broker's visibility timeout, and a second delivery of a task never runs
a job that a live process is running.

A worker is named ``host:pid``. "Gone" here is a real process of this host that has ended (a
child started and reaped by the test); "elsewhere" is another host, judged by its signs of life
alone.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date, timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from portfolio import models as m
from portfolio.exceptions import RefreshRefusedError
from portfolio.services.imports import import_check_queued, import_runs_recover
from portfolio.services.liveness import abandoned, heartbeat, process_gone, this_worker
from portfolio.services.refresh import refresh_request, refresh_run_execute, refresh_runs_recover, refresh_start
from tests import factories as f
from tests.services import require_services

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 11, 27)


@pytest.fixture(scope="module")
def gone() -> str:
    """A worker name whose process has ended and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{this_worker().rpartition(':')[0]}:{child.pid}"


def _running(worker: str, seconds_ago: float = 0, **fields) -> m.RefreshRun:
    run = refresh_request(kind="valuations", trigger="api", as_of=AS_OF, **fields)
    when = timezone.now() - timedelta(seconds=seconds_ago)
    m.RefreshRun.objects.filter(pk=run.pk).update(status="running", worker=worker, attempts=1, started_at=when,
                                                   updated_at=when)  # fmt: skip
    run.refresh_from_db()
    return run


def test_liveness_of_a_worker(gone):
    """A worker of this host is gone when its process has ended and alive while it runs; one of another
    host cannot be looked at, so it is abandoned only after three minutes without a sign of life; no
    worker at all counts as abandoned."""
    now = timezone.now()
    assert not process_gone(this_worker())
    assert process_gone(gone)
    assert not process_gone("elsewhere:1")  # another host's process cannot be looked at
    assert abandoned(gone, now)
    assert abandoned("", now)
    assert not abandoned("elsewhere:1", now)
    assert abandoned("elsewhere:1", now - timedelta(seconds=181))
    assert not abandoned(this_worker(), now - timedelta(seconds=179))


def test_a_run_whose_process_is_gone_lets_a_new_refresh_in_at_once(gone):
    """A run whose worker process has ended no longer blocks: a new refresh is queued at once and the
    old run is failed as abandoned, saying since when."""
    dead = _running(gone)

    new = refresh_request(kind="pipeline", trigger="api", as_of=AS_OF)

    dead.refresh_from_db()
    assert dead.status == "failed"
    assert dead.message.startswith("Failed: abandoned: its worker stopped (no sign of life since")
    assert new.status == "queued"


def test_a_run_elsewhere_is_abandoned_after_three_minutes_without_a_sign_of_life():
    """A run on another host still blocks a new refresh 170 seconds after its last sign of life, and is
    failed as abandoned once 190 seconds have passed."""
    alive = _running("elsewhere:1", seconds_ago=170)
    with pytest.raises(RefreshRefusedError):
        refresh_request(kind="pipeline", trigger="api", as_of=AS_OF)
    m.RefreshRun.objects.filter(pk=alive.pk).update(updated_at=timezone.now() - timedelta(seconds=190))

    refresh_request(kind="pipeline", trigger="api", as_of=AS_OF)

    alive.refresh_from_db()
    assert alive.status == "failed"


def test_the_stale_limit_is_a_setting(settings):
    """LODESTONE_RUN_STALE_SECONDS sets how long a silent run elsewhere blocks: at 30 seconds, one
    silent for 40 no longer does."""
    settings.LODESTONE_RUN_STALE_SECONDS = 30
    _running("elsewhere:1", seconds_ago=40)
    assert refresh_request(kind="pipeline", trigger="api", as_of=AS_OF).status == "queued"


def test_recovery_fails_the_abandoned_run_and_queues_its_work_again(gone, django_capture_on_commit_callbacks):
    """Recovery fails the abandoned run and queues a new one with the same kind, date, parameters and
    requester, carrying the attempts made and naming the run it replaces; a second pass finds nothing
    to do."""
    user = f.UserFactory()
    dead = _running(gone, requested_by=user, parameters={"note": "kept"})
    m.RefreshRun.objects.filter(pk=dead.pk).update(attempts=2)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        (again,) = refresh_runs_recover()

    dead.refresh_from_db()
    assert dead.status == "failed"
    assert "run again" in dead.message
    assert (again.kind, again.as_of, again.parameters, again.requested_by) == ("valuations", AS_OF, {"note": "kept"},
                                                                              user)  # fmt: skip
    assert (again.status, again.trigger, again.attempts) == ("queued", "recovery", 2)
    assert again.message == f"Runs again refresh #{dead.pk}, whose worker stopped."
    assert len(queued) >= 1
    assert refresh_runs_recover() == []  # nothing left to recover


def test_recovery_leaves_a_live_run_alone():
    """Recovery leaves a run whose worker is alive running."""
    live = _running(this_worker())
    assert refresh_runs_recover() == []
    live.refresh_from_db()
    assert live.status == "running"


def test_recovery_queues_again_a_run_queued_too_long(django_capture_on_commit_callbacks):
    """A run just queued is left for a worker; one still queued after four minutes (its message lost) is
    sent to the queue again, as the same run."""
    run = refresh_request(kind="valuations", trigger="api", as_of=AS_OF)
    assert refresh_runs_recover() == []  # just queued: a worker will take it
    m.RefreshRun.objects.filter(pk=run.pk).update(updated_at=timezone.now() - timedelta(minutes=4))

    with django_capture_on_commit_callbacks(execute=False) as queued:
        (again,) = refresh_runs_recover()

    assert again.pk == run.pk
    assert queued
    run.refresh_from_db()
    assert run.status == "queued"
    assert run.updated_at > timezone.now() - timedelta(minutes=1)


def test_a_second_delivery_leaves_a_run_that_a_live_process_is_running():
    """A task delivered twice leaves alone a run that a live process on another host is running: no
    second attempt, same worker."""
    run = _running("elsewhere:1")
    outcome = refresh_run_execute(run_id=run.pk)
    assert (outcome.status, outcome.attempts, outcome.worker) == ("running", 1, "elsewhere:1")


def test_a_delivery_takes_over_a_run_whose_process_is_gone(gone):
    """A delivery of a run whose process has ended takes it over, runs it to the end and counts a second
    attempt."""
    run = _running(gone)
    outcome = refresh_run_execute(run_id=run.pk)
    assert (outcome.status, outcome.attempts, outcome.worker) == ("succeeded", 2, this_worker())


def test_refresh_start_names_no_worker_until_one_takes_the_run(django_capture_on_commit_callbacks):
    """A run just started names no worker, so it is never mistaken for one that a live process holds."""
    with django_capture_on_commit_callbacks(execute=False):
        run = refresh_start(kind="valuations", trigger="api", as_of=AS_OF)
    assert run.worker == ""


def test_the_heartbeat_touches_the_run_from_its_own_thread_while_the_block_runs(transactional_db):
    """The heartbeat touches the run from a thread of its own while the work runs, so a long step still
    shows signs of life."""
    run = _running(this_worker(), seconds_ago=600)
    seen = threading.Event()
    threads = set()

    def beat():
        threads.add(threading.current_thread().name)
        m.RefreshRun.objects.filter(pk=run.pk).update(updated_at=timezone.now())
        seen.set()

    with heartbeat(beat, every=0.05):
        assert seen.wait(10)
    run.refresh_from_db()
    assert run.updated_at > timezone.now() - timedelta(seconds=10)
    assert threads == {"heartbeat"}


def _checking(worker: str, seconds_ago: float = 0) -> m.ImportRun:
    content = b"deal,position,kind,occurred_on,amount,currency\n"
    run = f.ImportRunFactory.create(status="checking", content=content, file_name="cash-flows.csv", file_format="csv",
                                    kinds=["cash-flows"], counts={}, worker=worker, requested_by=f.UserFactory(
                                        is_staff=True, is_superuser=True))  # fmt: skip
    m.ImportRun.objects.filter(pk=run.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds_ago))
    run.refresh_from_db()
    return run


def test_an_import_whose_worker_stopped_is_queued_again(gone, django_capture_on_commit_callbacks):
    """Import recovery queues again only the check whose worker has ended, clearing its worker; a live
    worker's check and one just queued are left alone."""
    stopped, live, just_queued = _checking(gone), _checking(this_worker()), _checking("")

    with django_capture_on_commit_callbacks(execute=False) as queued:
        recovered = import_runs_recover()

    assert [run.pk for run in recovered] == [stopped.pk]
    assert queued
    stopped.refresh_from_db()
    assert (stopped.status, stopped.worker) == ("checking", "")
    live.refresh_from_db()
    just_queued.refresh_from_db()
    assert live.worker == this_worker()
    assert just_queued.status == "checking"


def test_an_import_queued_too_long_is_queued_again(django_capture_on_commit_callbacks):
    """An import check queued for over three minutes with no worker is sent to the queue again."""
    waiting = _checking("", seconds_ago=200)
    with django_capture_on_commit_callbacks(execute=False):
        assert [run.pk for run in import_runs_recover()] == [waiting.pk]


def test_a_second_delivery_leaves_an_import_a_live_process_is_checking():
    """A second delivery of an import check leaves alone the run a live process elsewhere is checking,
    counting no attempt."""
    run = _checking("elsewhere:1")
    outcome = import_check_queued(run_id=run.pk)
    assert (outcome.status, outcome.attempts) == ("checking", 0)


def test_a_delivery_checks_an_import_whose_worker_is_gone_and_records_its_progress(gone):
    """A delivery takes over an import whose worker has ended, checks it to a preview and records its
    progress and attempt."""
    run = _checking(gone)
    outcome = import_check_queued(run_id=run.pk)
    assert (outcome.status, outcome.attempts, outcome.worker) == ("previewed", 1, this_worker())
    assert outcome.progress_done == outcome.rows == 0


def test_an_import_that_keeps_stopping_its_worker_is_given_up(gone):
    """An import whose check has stopped its worker three times is refused as given up, rather than
    tried for ever."""
    run = _checking(gone)
    m.ImportRun.objects.filter(pk=run.pk).update(attempts=3)
    outcome = import_check_queued(run_id=run.pk)
    assert outcome.status == "refused"
    assert "given up after 3 attempts" in outcome.message


@pytest.mark.django_db(transaction=True)
def test_a_worker_check_shows_its_progress_while_it_goes(settings):
    """The rows gone through reach the run's row while the check's transaction is still open (the
    heartbeat writes them on its own connection). SQLite holds such a write back until the
    transaction ends, so this needs PostgreSQL (CI's second pass)."""
    require_services(
        available=connection.vendor == "postgresql",
        reason="a second connection writing during an open transaction needs PostgreSQL",
    )
    settings.LODESTONE_HEARTBEAT_SECONDS = 0.05
    deal = f.DealFactory(reference="acme-dod-2025")
    f.PositionFactory(deal=deal, label="Common shares")
    days = [date(2020, 1, 1) + timedelta(days=n) for n in range(1500)]
    content = "deal,position,kind,occurred_on,amount,currency\n" + "".join(
        f"acme-dod-2025,Common shares,fee,{day},1.00,USD\n" for day in days
    )
    run = _checking("")
    m.ImportRun.objects.filter(pk=run.pk).update(content=content.encode())
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def watch():
        try:
            while not done.is_set():
                seen.append(m.ImportRun.objects.values_list("progress_done", "rows").get(pk=run.pk))
                done.wait(0.05)
        finally:
            connections.close_all()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        outcome = import_check_queued(run_id=run.pk)
    finally:
        done.set()
        watcher.join()
    assert outcome.status == "previewed", outcome.message
    assert outcome.progress_done == outcome.rows == 1500
    assert any(0 < progress < 1500 and rows == 1500 for progress, rows in seen), seen[-5:]
