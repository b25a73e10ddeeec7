"""The worker's and the scheduler's output: the recovery task's every-minute lines are left out."""

from __future__ import annotations

import logging

import pytest


def _record(name: str, level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


@pytest.fixture
def console() -> logging.Handler:
    (handler,) = [h for h in logging.getLogger().handlers if any(type(f).__name__ == "QuietRoutineTasks"
                                                                for f in h.filters)]  # fmt: skip
    return handler


def test_the_recovery_task_routine_lines_are_left_out(console):
    """Beat's 'sending' line and the worker's 'succeeded' line of the every-minute recovery task are
    filtered out of the console."""
    sent = "Scheduler: Sending due task Recover runs (portfolio.tasks.runs_recover_task)"
    done = "Task portfolio.tasks.runs_recover_task[d56479bc] succeeded in 0.005s: None"
    assert not console.filter(_record("celery.beat", logging.INFO, sent))
    assert not console.filter(_record("celery.app.trace", logging.INFO, done))


def test_other_tasks_and_every_warning_stay(console):
    """The filter keeps other tasks' lines, the recovery task's errors, and any line merely mentioning
    the task from another logger."""
    assert console.filter(_record("celery.app.trace", logging.INFO, "Task portfolio.tasks.refresh_run_task[1] "
                                                                    "succeeded in 3s: None"))  # fmt: skip
    assert console.filter(_record("celery.app.trace", logging.ERROR, "Task portfolio.tasks.runs_recover_task[1] "
                                                                     "raised OperationalError"))  # fmt: skip
    assert console.filter(_record("portfolio.services.refresh", logging.INFO, "portfolio.tasks.runs_recover_task"))
