"""Celery tasks: thin adapters that take ids, call one service, and declare their retry policy.

Transient provider failures retry with exponential backoff and jitter (capped at 10 minutes);
nothing else is retried. Refresh tasks are idempotent, so they acknowledge late and are
re-queued if their worker dies; their time limits stay below the broker's visibility timeout.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from portfolio.digest import digest_send
from portfolio.exceptions import RefreshRefusedError
from portfolio.figures_cache import dashboard_warm
from portfolio.integrations.market_data import TransientProviderError
from portfolio.models import RefreshRun
from portfolio.services import queue
from portfolio.services.imports import import_apply_queued, import_check_queued, import_run_fail, import_runs_recover
from portfolio.services.refresh import (
    refresh_changes_figures,
    refresh_run_execute,
    refresh_run_fail,
    refresh_runs_recover,
    refresh_start,
)
from portfolio.services.scenario_runs import scenario_run_execute, scenario_run_fail, scenario_runs_recover

logger = logging.getLogger(__name__)


class RefreshTask(Task):
    """Marks the run failed when the task gives up (retries exhausted, time limit, an error)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        run_id = kwargs.get("run_id", args[0] if args else None)
        if run_id is not None:
            refresh_run_fail(run_id=run_id, reason=f"{type(exc).__name__}: {exc}")


@shared_task(
    bind=True,
    base=RefreshTask,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(TransientProviderError,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=4,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    ignore_result=True,
)
def refresh_run_task(self, run_id: int) -> None:
    """Execute a recorded refresh run (FX, prices, valuations, snapshot); then queue the warming
    of the dashboard's figures, so that its first visitor does not wait for them."""
    run = refresh_run_execute(run_id=run_id)
    if refresh_changes_figures(run):
        dashboard_warm_task.delay()


@shared_task(ignore_result=True, soft_time_limit=300, time_limit=360)
def dashboard_warm_task() -> None:
    """Compute and cache the dashboard's figures for the data as it is now."""
    dashboard_warm()


SCHEDULED_RETRY_SECONDS = 300


@shared_task(bind=True, ignore_result=True, max_retries=12)
def refresh_scheduled_task(self, kind: str) -> None:
    """Beat entry point: request a run of ``kind`` and queue it.

    While another run of the same lock is active (say the FX run before the evening pipeline),
    the refusal is recorded and the request tried again every 5 minutes, for up to an hour.
    """
    try:
        refresh_start(kind=kind, trigger=RefreshRun.Trigger.SCHEDULE)
    except RefreshRefusedError as exc:
        logger.info("Scheduled %s refresh not started yet: %s", kind, exc.message)
        raise self.retry(countdown=SCHEDULED_RETRY_SECONDS, exc=exc) from exc


@shared_task(ignore_result=True)
def digest_send_task() -> None:
    """Beat entry point: e-mail today's digest to the subscribed staff."""
    digest_send(as_of=timezone.now().date())


@shared_task(ignore_result=True, soft_time_limit=50, time_limit=55)
def runs_recover_task() -> None:
    """Beat entry point: run again the refreshes, imports and scenario runs whose worker stopped."""
    refresh_runs_recover()
    import_runs_recover()
    scenario_runs_recover()


class ImportTask(Task):
    """Marks the import run refused when the task fails (an error, the time limit): nothing was written."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        run_id = kwargs.get("run_id", args[0] if args else None)
        if run_id is not None:
            import_run_fail(run_id=run_id, reason=f"the worker failed ({type(exc).__name__}: {exc})")


IMPORT_TASK: dict[str, Any] = {"base": ImportTask, "ignore_result": True, "acks_late": True,
                               "reject_on_worker_lost": True, "soft_time_limit": 1500, "time_limit": 1800}  # fmt: skip


@shared_task(**IMPORT_TASK)
def import_check_task(run_id: int) -> None:
    """Check a large uploaded spreadsheet (a dry run), for the steward to confirm."""
    import_check_queued(run_id=run_id)


@shared_task(**IMPORT_TASK)
def import_apply_task(run_id: int) -> None:
    """Import a large spreadsheet whose check a steward confirmed (all or nothing)."""
    import_apply_queued(run_id=run_id)


class ScenarioTask(Task):
    """Marks the scenario run failed when the task fails (an error, the time limit)."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        run_id = kwargs.get("run_id", args[0] if args else None)
        if run_id is not None:
            scenario_run_fail(run_id=run_id, reason=f"the worker failed ({type(exc).__name__}: {exc})")


@shared_task(base=ScenarioTask, ignore_result=True, acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=1500, time_limit=1800)  # fmt: skip
def scenario_run_task(run_id: int) -> None:
    """Work out a scenario's figures, the sensitivities or a historical stress path."""
    scenario_run_execute(run_id=run_id)


# The jobs services queue (see portfolio.services.queue), and the task that runs each.
queue.register(queue.Job.REFRESH_RUN, refresh_run_task)
queue.register(queue.Job.IMPORT_CHECK, import_check_task)
queue.register(queue.Job.IMPORT_APPLY, import_apply_task)
queue.register(queue.Job.SCENARIO_RUN, scenario_run_task)
