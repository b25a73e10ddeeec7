"""Refresh runs: request one (one of a kind at a time), execute its steps, record what happened.

A run's steps are FX, then prices and commodity prices, then the deals' deadlines, then
valuations, then the portfolio snapshot (or a subset); an SEC run reads the companies' share
counts (once a day) and their new filings; a backfill loads the history of a date
range and values each weekday and its last day.
The same ``refresh_run_execute`` serves the Celery task and the ``refresh`` command, so a run
behaves the same in the background and in the foreground.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import sys
import threading
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from portfolio.book import today
from portfolio.book.grouping import DealGrouping
from portfolio.book.valuing import ComputedValuation, ValuationDays
from portfolio.exceptions import BrokerUnavailableError, RefreshRefusedError
from portfolio.figures_cache import data_changed
from portfolio.integrations.market_data import TransientProviderError
from portfolio.models import ACTIVE_RUN_STATUSES, RefreshRun
from portfolio.selectors import positions_to_value

from .filings import filings_refresh
from .kept_figures import figures_changed, keeping_deferred
from .liveness import abandoned, heartbeat, held_elsewhere, stale_before, this_worker
from .market_data import commodity_prices_refresh, fx_refresh, prices_refresh
from .milestones import deal_deadlines_refresh, milestones_refresh
from .queue import Job, enqueue_or_fail
from .share_counts import share_counts_refresh
from .snapshots import portfolio_snapshot_record
from .steps import StepResult
from .valuations import valuations_compute, valuations_store, valuations_value

logger = logging.getLogger(__name__)
Kind = RefreshRun.Kind
Status = RefreshRun.Status
Trigger = RefreshRun.Trigger

#: Runs that share a lock key never run at the same time.
LOCK_KEYS: dict[str, str] = {
    Kind.PIPELINE: "market",
    Kind.FX: "market",
    Kind.PRICES: "market",
    Kind.VALUATIONS: "market",
    Kind.SNAPSHOT: "market",
    Kind.BACKFILL: "market",
    Kind.MILESTONES: "milestones",
    Kind.FILINGS: "filings",
}
#: A run that values checks the deals' deadlines first, so that it reports the deals that lapsed.
STEPS: dict[str, list[str]] = {
    Kind.PIPELINE: ["fx", "prices", "commodities", "deadlines", "valuations", "snapshot"],
    Kind.FX: ["fx"],
    Kind.PRICES: ["prices", "commodities"],
    Kind.VALUATIONS: ["deadlines", "valuations", "snapshot"],
    Kind.SNAPSHOT: ["snapshot"],
    Kind.MILESTONES: ["milestones"],
    # Share counts first: they are read in a company's first run of the day, which the filings step
    # then records (share_counts.share_counts_due).
    Kind.FILINGS: ["shares", "filings"],
}
FINISHED = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.REFUSED)
#: A run started this many times without finishing is given up: a run that kills its worker
#: (out of memory, a crash) would otherwise be redelivered for ever.
MAX_ATTEMPTS = 6


def _queued_too_long() -> timedelta:
    """A queued run no worker took within the hard time limit (plus a margin) has lost its message."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 300)


def _expire_abandoned(lock_key: str) -> None:
    """Release the lock of a run whose worker stopped (its process gone, or no sign of life for
    LODESTONE_RUN_STALE_SECONDS), and of a queued run no worker took."""
    queued_cutoff = timezone.now() - _queued_too_long()
    for run in RefreshRun.objects.filter(lock_key=lock_key, status__in=ACTIVE_RUN_STATUSES):
        if run.status == Status.RUNNING and abandoned(run.worker, run.updated_at):
            _abandon(run, f"its worker stopped (no sign of life since {run.updated_at:%Y-%m-%d %H:%M:%S} UTC)")
        elif run.status == Status.QUEUED and run.updated_at < queued_cutoff:
            _abandon(run, f"no worker took it since {run.updated_at:%Y-%m-%d %H:%M} UTC")


def _abandon(run: RefreshRun, reason: str) -> bool:
    """Fail ``run`` as abandoned, unless it showed a sign of life since it was read."""
    now = timezone.now()
    failed = RefreshRun.objects.filter(pk=run.pk, status=run.status, updated_at=run.updated_at).update(
        status=Status.FAILED, finished_at=now, message=f"Failed: abandoned: {reason}."[:2000], updated_at=now
    )
    RefreshRun.objects.filter(pk=run.pk, started_at__isnull=True).update(started_at=now)
    if failed:
        logger.warning("Refresh #%s abandoned: %s", run.pk, reason)
    return bool(failed)


def refresh_runs_recover() -> list[RefreshRun]:
    """Start again the work of runs whose worker stopped, without waiting for the broker to
    deliver their task again (Redis does so only after its visibility timeout, an hour).

    A running run whose process is gone, or that showed no sign of life for
    LODESTONE_RUN_STALE_SECONDS, is failed as abandoned (releasing its lock) and a new run of the
    same kind, date and parameters is queued in its place, carrying its attempts (so a run that
    kills its worker is still given up after MAX_ATTEMPTS). A run queued that long is queued
    again: its message may have been lost with a worker that had reserved it (a run is only ever
    executed once at a time, so a second message is harmless). Called every minute by the
    scheduler; returns the runs queued.
    """
    queued: list[RefreshRun] = []
    for run in RefreshRun.objects.filter(status=Status.RUNNING):
        since = f"{run.updated_at:%Y-%m-%d %H:%M:%S} UTC"
        if not abandoned(run.worker, run.updated_at) or not _abandon(run, f"its worker stopped (no sign of life "
                                                                          f"since {since}); run again"):  # fmt: skip
            continue
        try:
            again = refresh_request(kind=run.kind, trigger=Trigger.RECOVERY, as_of=run.as_of,
                                    requested_by=run.requested_by, parameters=run.parameters,
                                    attempts=run.attempts, message=f"Runs again refresh #{run.pk}, whose worker "
                                    f"stopped.")  # fmt: skip
        except RefreshRefusedError:
            continue  # another run of its lock was requested meanwhile
        transaction.on_commit(partial(_enqueue_quietly, again.pk))
        queued.append(again)
    for run in RefreshRun.objects.filter(status=Status.QUEUED, updated_at__lt=stale_before()):
        if RefreshRun.objects.filter(pk=run.pk, status=Status.QUEUED, updated_at=run.updated_at).update(
            updated_at=timezone.now()
        ):
            transaction.on_commit(partial(_enqueue_quietly, run.pk))
            queued.append(run)
    return queued


def _enqueue_quietly(run_id: int) -> None:
    try:
        _enqueue(run_id)
    except BrokerUnavailableError:
        logger.warning("Refresh #%s could not be queued: the broker is unreachable", run_id)


def refresh_request(
    *,
    kind: str,
    trigger: str,
    as_of: date | None = None,
    requested_by=None,
    parameters: dict | None = None,
    attempts: int = 0,
    message: str = "",
) -> RefreshRun:
    """Record a queued run, or refuse it (recording the refusal) while one of its kind is active.

    The database allows one queued or running run per lock key, so two simultaneous requests
    cannot both pass. A run left active by a dead worker is expired first (the lock's TTL).
    Raises RefreshRefusedError naming the active run.
    """
    lock_key = LOCK_KEYS[kind]
    _expire_abandoned(lock_key)
    fields = {
        "kind": kind,
        "trigger": trigger,
        "as_of": as_of or today(),
        "requested_by": requested_by,
        "parameters": parameters or {},
        "lock_key": lock_key,
    }
    try:
        with transaction.atomic():
            return RefreshRun.objects.create(status=Status.QUEUED, attempts=attempts, message=message, **fields)
    except IntegrityError:
        active = RefreshRun.objects.filter(lock_key=lock_key, status__in=ACTIVE_RUN_STATUSES).first()
        now = timezone.now()
        detail = (
            f"refresh #{active.pk} ({active.get_kind_display().lower()}) is {active.get_status_display().lower()}"
            f" since {active.created_at:%Y-%m-%d %H:%M} UTC"
            if active
            else "another refresh of this kind is in progress"
        )
        refused = RefreshRun.objects.create(
            status=Status.REFUSED, started_at=now, finished_at=now, message=f"Not started: {detail}.", **fields
        )
        raise RefreshRefusedError(
            f"A refresh is already in progress: {detail}.",
            extra={"refused_run": refused.pk, "active_run": active.pk if active else None},
        ) from None


def refresh_start(
    *, kind: str, trigger: str, as_of: date | None = None, requested_by=None, parameters: dict | None = None
) -> RefreshRun:
    """Request a run and queue its task once the run row is committed.

    Raises RefreshRefusedError (another run active) or BrokerUnavailableError (the run is then
    recorded as failed with the reason, so nothing is silently lost).
    """
    run = refresh_request(kind=kind, trigger=trigger, as_of=as_of, requested_by=requested_by, parameters=parameters)
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    enqueue_or_fail(Job.REFRESH_RUN, run_id, fail=refresh_run_fail, what="refresh")


def _plan(run: RefreshRun) -> list[tuple[str, Callable[[], StepResult]]]:
    """The steps of a run, in order, each a label and a call."""
    as_of = run.as_of
    if as_of is None:  # every run is requested with its date (refresh_request)
        raise ValueError(f"refresh #{run.pk} has no date to run for")
    steps: dict[str, Callable[[], StepResult]] = {
        "fx": lambda: fx_refresh(as_of=as_of),
        "prices": lambda: prices_refresh(as_of=as_of),
        "commodities": lambda: commodity_prices_refresh(as_of=as_of),
        "deadlines": lambda: deal_deadlines_refresh(as_of=as_of),
        "valuations": lambda: valuations_compute(as_of=as_of, refresh_run_id=run.pk),
        "snapshot": lambda: portfolio_snapshot_record(as_of=as_of, refresh_run_id=run.pk),
        "milestones": lambda: milestones_refresh(as_of=as_of, refresh_run_id=run.pk),
        "filings": lambda: filings_refresh(as_of=as_of, refresh_run_id=run.pk),
        "shares": lambda: share_counts_refresh(as_of=as_of, refresh_run_id=run.pk),
    }
    if run.kind != Kind.BACKFILL:
        return [(name, steps[name]) for name in STEPS[run.kind]]
    # Backfill: load the history of the whole range once, then value each weekday in it.
    start, end = date.fromisoformat(run.parameters["from"]), as_of
    plan: list[tuple[str, Callable[[], StepResult]]] = [
        ("fx", lambda: fx_refresh(as_of=end, start=start)),
        ("prices", lambda: prices_refresh(as_of=end, start=start)),
        ("commodities", lambda: commodity_prices_refresh(as_of=end, start=start)),
        ("deadlines", lambda: deal_deadlines_refresh(as_of=end)),
    ]
    # The range's inputs (closes, marks, flows, FX) are read once, by the first day's step, after
    # the steps above have stored them; each day is then valued from memory.
    days = _RangeInputs(start, end)
    day = start
    while day <= end:
        # Markets close on weekdays; the last day is valued whatever it is, as the run's own date.
        if day.weekday() < 5 or day == end:
            plan.append((f"valuations {day}", partial(_value_day, day, run.pk, days, last=day == end)))
        day += timedelta(days=1)
    return plan


class _RangeInputs:
    """A backfill's ``ValuationDays``, loaded when its first day is valued, and its days' writer."""

    def __init__(self, start: date, end: date) -> None:
        self.start, self.end = start, end
        self._days: ValuationDays | None = None
        self.writer = DayWriter()
        self.grouping = DealGrouping()  # the deals' grouping for the kept rows, kept from day to day

    def get(self) -> ValuationDays:
        if self._days is None:
            self._days = ValuationDays(start=self.start, end=self.end, positions=list(positions_to_value()))
        return self._days


def _value_day(day: date, run_id: int, days: _RangeInputs, *, last: bool) -> StepResult:
    result, rows = valuations_value(as_of=day, days=days.get())
    days.writer.submit(partial(_write_day, day, rows, run_id, days.grouping))
    if last:
        days.writer.finish()  # the run ends when every day is written
    return result


def _write_day(day: date, rows: list[ComputedValuation], run_id: int, grouping: DealGrouping) -> None:
    """A backfill's day: its valuations, kept rows and snapshot, committed together."""
    with transaction.atomic():
        valuations_store(as_of=day, rows=rows, refresh_run_id=run_id, grouping=grouping)
        portfolio_snapshot_record(as_of=day, refresh_run_id=run_id)


class DayWriter:
    """Writes a backfill's days one at a time, in order, in a thread of its own, while the next day
    is valued: the database's work on one day overlaps Python's on the next.

    Only on PostgreSQL outside a transaction (a worker's or a command's run): the thread has its
    own connection, which must see what the run has committed. Elsewhere each day is written as
    it is submitted. A day whose write fails is reported by the next ``submit`` or by ``finish``,
    which fails the run; the days after it are not written. A thread left without work (its run
    failed before finishing) ends after ``IDLE_SECONDS``."""

    IDLE_SECONDS = 60
    #: How long a thread holds the interpreter before the other may run, while the writer runs
    #: (Python's default is 5 ms): the writer, woken by each answer of the database, would
    #: otherwise wait up to that long behind the valuing, twenty times a day.
    SWITCH_SECONDS = 0.001

    def __init__(self) -> None:
        self.threaded: bool | None = None  # decided by the first submit, where the run writes
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._switch = sys.getswitchinterval()  # restored when the thread ends, however it ends

    def submit(self, write: Callable[[], None]) -> None:
        self._raise()
        if self.threaded is None:
            connection = transaction.get_connection()
            self.threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        if not self.threaded:
            write()
            return
        if self._thread is None:
            self._switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch, self.SWITCH_SECONDS))
            # In the run's context: what its days' commits set off is deferred as the run's own is
            # (``keeping_deferred``: the kept figures worked out once, when the run ends).
            context = contextvars.copy_context()
            self._thread = threading.Thread(target=context.run, args=(self._run,), name="backfill-writer", daemon=True)
            self._thread.start()
        self._queue.put(write)  # waits while the day before is still being written

    def finish(self) -> None:
        """Wait until every submitted day is written; raise what a write raised."""
        self._stop()
        self._raise()

    def _stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _raise(self) -> None:
        if self._error is not None:
            self._stop()  # the days queued after the failed one are dropped, and the thread ends
            error, self._error = self._error, None
            raise RuntimeError(f"a day's valuations could not be written: {type(error).__name__}: {error}") from error

    def _run(self) -> None:
        try:
            while True:
                try:
                    write = self._queue.get(timeout=self.IDLE_SECONDS)
                except queue.Empty:
                    return
                if write is None:
                    return
                if self._error is None:
                    try:
                        write()
                    except BaseException as exc:  # noqa: BLE001 - reported to the run by the next submit or finish
                        self._error = exc
        finally:
            connections.close_all()  # this thread's own connection
            sys.setswitchinterval(self._switch)


def _record_step(run: RefreshRun, label: str, result: StepResult) -> None:
    run.counts[label] = {
        "total": result.total,
        "failed": result.failed,
        "written": result.written,
        "revised": result.revised,
    }
    if result.simulated:
        run.counts["simulated"] = True
    run.errors = [*run.errors, *result.errors][:500]
    run.progress_done += 1
    run.save(update_fields=["counts", "errors", "progress_done", "updated_at"])


@keeping_deferred()  # its steps' changes kept once, when the run ends
def refresh_run_execute(
    *, run_id: int, on_progress: Callable[[RefreshRun, str, StepResult | None], None] | None = None
) -> RefreshRun:
    """Run the steps of a queued (or interrupted) run and record the outcome.

    Idempotent: every step upserts, so running a run again (a redelivered task after a worker
    was killed, a retry) writes the same rows. A run already finished is returned untouched.
    A transient provider outage that failed every subject of a step is re-raised so that the
    task can retry later; any other error marks the run failed with the reason and is re-raised.
    """
    me = this_worker()
    with transaction.atomic():
        run = RefreshRun.objects.select_for_update().get(pk=run_id)
        if run.status in FINISHED:
            return run
        if run.status == Status.RUNNING and held_elsewhere(run.worker, run.updated_at):
            logger.info("Refresh #%s is being run by %s: this delivery leaves it to it", run.pk, run.worker)
            return run
        if run.attempts >= MAX_ATTEMPTS:
            refresh_run_fail(run_id=run.pk, reason=f"given up after {run.attempts} attempts that did not finish")
            run.refresh_from_db()
            return run
        steps = _plan(run)
        run.attempts += 1
        run.worker = me
        run.status = Status.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.progress_total = len(steps)
        run.progress_done = 0
        run.counts, run.errors, run.message = {}, [], ""
        run.save(update_fields=["attempts", "worker", "status", "started_at", "progress_total", "progress_done",
                                "counts", "errors", "message", "updated_at"])  # fmt: skip
    alive = RefreshRun.objects.filter(pk=run.pk, status=Status.RUNNING, worker=me)
    with heartbeat(lambda: alive.update(updated_at=timezone.now())):
        return _run_steps(run, steps, on_progress)


def _run_steps(
    run: RefreshRun,
    steps: list[tuple[str, Callable[[], StepResult]]],
    on_progress: Callable[[RefreshRun, str, StepResult | None], None] | None,
) -> RefreshRun:
    failed_subjects = total_subjects = 0
    try:
        for label, call in steps:
            if on_progress:
                on_progress(run, label, None)
            result = call()
            data_changed()  # the step's bulk writes send no signals: retire cached figures here
            figures_changed()  # and the kept ones, once the run ends
            _record_step(run, label, result)
            if on_progress:
                on_progress(run, label, result)
            failed_subjects += result.failed
            total_subjects += result.total
            if result.all_failed_transiently:
                raise TransientProviderError(label, f"every {label} provider call failed; will retry")
    except TransientProviderError as exc:
        # Queued again for the retry, which any worker may take.
        run.status, run.worker, run.message = Status.QUEUED, "", f"Waiting to retry: {exc}"
        run.save(update_fields=["status", "worker", "message", "updated_at"])
        raise
    except BaseException as exc:
        refresh_run_fail(run_id=run.pk, reason=f"{type(exc).__name__}: {exc}")
        raise
    run.status = Status.PARTIAL if failed_subjects else Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.message = (
        f"{failed_subjects} of {total_subjects} items could not be refreshed; see the errors."
        if failed_subjects
        else "Completed."
    )
    run.save(update_fields=["status", "finished_at", "message", "updated_at"])
    return run


def refresh_changes_figures(run: RefreshRun) -> bool:
    """Whether a finished run changed what the portfolio's figures are computed from."""
    return LOCK_KEYS[run.kind] == "market" and run.status in (Status.SUCCEEDED, Status.PARTIAL)


def refresh_run_fail(*, run_id: int, reason: str) -> None:
    """Mark a run failed with its reason (releasing its lock). Does nothing to a finished run."""
    now = timezone.now()
    RefreshRun.objects.filter(pk=run_id, status__in=ACTIVE_RUN_STATUSES).update(
        status=Status.FAILED, finished_at=now, message=f"Failed: {reason}"[:2000], updated_at=now
    )
    RefreshRun.objects.filter(pk=run_id, started_at__isnull=True).update(started_at=now)
