"""Scenario runs done by the worker: a scenario's figures, the book's sensitivities or a historical
stress path, asked for through the API and worked out by a Celery task, as refreshes are.

A run is a read of the book: it writes nothing but its own row. Asked for again while the same run
(kind, scenario, date and path) is queued or running, it is refused (ScenarioRunRefusedError,
409); with the task queue unreachable, it is recorded as failed (BrokerUnavailableError, 503). A
worker that stops midway leaves the run to ``scenario_runs_recover``, which queues it again.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from functools import partial

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from portfolio.exceptions import BrokerUnavailableError, ScenarioRunRefusedError
from portfolio.models import Scenario, ScenarioRun
from portfolio.scenario_data import scenario_data, sensitivities_data, stress_data

from .liveness import abandoned, heartbeat, held_elsewhere, stale_before, this_worker
from .queue import Job, enqueue_or_fail

logger = logging.getLogger(__name__)

#: A run started this many times without finishing is given up.
MAX_ATTEMPTS = 3


def scenario_run_start(
    *,
    kind: str,
    as_of: date,
    user,
    scenario: Scenario | None = None,
    start: date | None = None,
    end: date | None = None,
) -> ScenarioRun:
    """Record a run and queue its task once the row is committed. Raises ScenarioRunRefusedError
    when the same run is already queued or running (naming it; two identical requests at the same
    instant may both be taken: each only reads, so that costs time, not figures), BrokerUnavailableError when the
    queue cannot be reached (the run is then recorded as failed), ValidationError for a run that
    cannot be (a result without its scenario, a path that ends before it starts)."""
    with transaction.atomic():
        same = ScenarioRun.objects.filter(
            kind=kind, scenario=scenario, as_of=as_of, start=start, end=end, status__in=ScenarioRun.ACTIVE
        ).first()
        if same is not None:
            raise ScenarioRunRefusedError(
                f"The same run (#{same.pk}) is already {same.get_status_display().lower()}.", extra={"run": same.pk}
            )
        run = ScenarioRun(kind=kind, scenario=scenario, as_of=as_of, start=start, end=end, requested_by=user)
        run.full_clean()
        run.save()
        transaction.on_commit(partial(_enqueue, run.pk), robust=False)
    return run


def _enqueue(run_id: int) -> None:
    enqueue_or_fail(Job.SCENARIO_RUN, run_id, fail=scenario_run_fail, what="run")


def scenario_run_fail(*, run_id: int, reason: str) -> None:
    """Record a run that is still queued or running as failed, with the reason."""
    ScenarioRun.objects.filter(pk=run_id, status__in=ScenarioRun.ACTIVE).update(
        status=ScenarioRun.Status.FAILED, message=reason[:2000], finished_at=timezone.now(), worker=""
    )


def _claim(run_id: int) -> ScenarioRun | None:
    """Take a queued (or abandoned) run for this process, or None when it has ended or another
    live process holds it (a second delivery of its task)."""
    with transaction.atomic():
        run = ScenarioRun.objects.select_for_update(of=("self",)).select_related("scenario").filter(pk=run_id).first()
        if run is None or not run.in_progress:
            return None
        if held_elsewhere(run.worker, run.updated_at):
            logger.info("Scenario run #%s is being worked on by %s: this delivery leaves it", run.pk, run.worker)
            return None
        if run.attempts >= MAX_ATTEMPTS:
            scenario_run_fail(run_id=run.pk, reason=f"given up after {run.attempts} attempts that did not finish")
            return None
        run.attempts += 1
        run.status, run.worker, run.started_at = ScenarioRun.Status.RUNNING, this_worker(), timezone.now()
        run.save(update_fields=["attempts", "status", "worker", "started_at", "updated_at"])
    return run


def scenario_run_execute(*, run_id: int) -> ScenarioRun | None:
    """The worker's work on a queued run: its figures stored as the API answers them. A run that
    cannot be worked out (a stored shock that no longer reads, a date without a book) fails with the
    reason."""
    run = _claim(run_id)
    if run is None:
        return ScenarioRun.objects.filter(pk=run_id).first()
    alive = ScenarioRun.objects.filter(pk=run.pk, worker=run.worker)
    try:
        with heartbeat(lambda: alive.update(updated_at=timezone.now())):
            result = _work_out(run)
    except Exception as exc:  # any failure is the run's, recorded with its reason
        logger.exception("Scenario run #%s failed", run.pk)
        scenario_run_fail(run_id=run.pk, reason=f"{type(exc).__name__}: {exc}")
        return ScenarioRun.objects.get(pk=run.pk)
    alive.update(status=ScenarioRun.Status.SUCCEEDED, result=result, finished_at=timezone.now(), worker="")
    return ScenarioRun.objects.get(pk=run.pk)


def _work_out(run: ScenarioRun) -> dict:
    if run.kind == ScenarioRun.Kind.RESULT and run.scenario is not None:
        return _plain(scenario_data(run.scenario, run.as_of))
    if run.kind == ScenarioRun.Kind.SENSITIVITIES:
        return _plain(sensitivities_data(run.as_of))
    if run.kind == ScenarioRun.Kind.STRESS and run.start is not None and run.end is not None:
        return _plain(stress_data(run.as_of, run.start, run.end))
    raise ValueError(f"a {run.kind} run without what it needs")


def _plain(data: object) -> dict:
    """``data`` with its dates as ISO text, as JSON stores them."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def scenario_runs_recover() -> list[ScenarioRun]:
    """Queue again each run whose worker stopped (its process gone, or no sign of life for
    LODESTONE_RUN_STALE_SECONDS) or that no worker took that long. A run writes only its own row,
    so doing it again is harmless. Called every minute by the scheduler; returns the runs queued
    again."""
    queued = []
    for run in ScenarioRun.objects.filter(status__in=ScenarioRun.ACTIVE):
        stopped = bool(run.worker) and abandoned(run.worker, run.updated_at)
        never_taken = not run.worker and run.updated_at < stale_before()
        if not (stopped or never_taken):
            continue
        retaken = ScenarioRun.objects.filter(pk=run.pk, updated_at=run.updated_at).update(
            status=ScenarioRun.Status.QUEUED, worker="", updated_at=timezone.now()
        )
        if retaken:
            logger.warning("Scenario run #%s: its worker stopped; its task is queued again", run.pk)
            transaction.on_commit(partial(_enqueue_again, run.pk))
            queued.append(run)
    return queued


def _enqueue_again(run_id: int) -> None:
    try:
        _enqueue(run_id)
    except BrokerUnavailableError:
        logger.warning("Scenario run #%s could not be queued again: the task queue is unreachable", run_id)
