"""The background jobs services hand to the worker, and the hook by which they are queued.

Services sit below the Celery tasks and never import them. A service names the job and the run
(``enqueue(Job.REFRESH_RUN, run.pk)``); ``portfolio.tasks`` registers the task that runs each
job when it is imported (in every process: the app's ``ready`` imports it). A broker that cannot
be reached is reported as ``BrokerUnavailableError``, whatever the transport raised.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

from kombu.exceptions import OperationalError

from portfolio.exceptions import BrokerUnavailableError


class Job(StrEnum):
    REFRESH_RUN = "refresh run"
    IMPORT_CHECK = "import check"
    IMPORT_APPLY = "import apply"
    SCENARIO_RUN = "scenario run"


class Queueable(Protocol):
    def delay(self, run_id: int) -> object: ...


_tasks: dict[Job, Queueable] = {}


def register(job: Job, task: Queueable) -> None:
    """Name the task that runs ``job`` (called by ``portfolio.tasks`` as it is imported)."""
    _tasks[job] = task


def enqueue(job: Job, run_id: int) -> None:
    """Queue the task of ``job`` for the run ``run_id``.

    Raises BrokerUnavailableError when the task queue cannot be reached, and LookupError when no
    task was registered for the job (the tasks module was not imported: a wiring error).
    """
    try:
        task = _tasks[job]
    except KeyError:
        raise LookupError(f"no task is registered for the {job} job; portfolio.tasks was not imported") from None
    try:
        task.delay(run_id)
    except (OperationalError, ConnectionError, OSError) as exc:
        raise BrokerUnavailableError(
            f"The task queue could not be reached ({type(exc).__name__}).", extra={"run": run_id}
        ) from exc


def enqueue_or_fail(job: Job, run_id: int, *, fail: Callable[..., object], what: str) -> None:
    """Queue the task of ``job`` for the run ``run_id``; when the task queue cannot be reached,
    record the run as failed with the reason (``fail(run_id=, reason=)``) and raise
    BrokerUnavailableError saying so, so that nothing asked for is silently lost."""
    try:
        enqueue(job, run_id)
    except BrokerUnavailableError as exc:
        fail(run_id=run_id, reason=f"the task queue could not be reached: {type(exc.__cause__).__name__}")
        raise BrokerUnavailableError(
            f"The task queue is unreachable; the {what} was recorded as failed.", extra={"run": run_id}
        ) from exc.__cause__
