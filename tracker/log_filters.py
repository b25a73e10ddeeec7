"""Logging filters named in ``LOGGING``."""

from __future__ import annotations

import logging


class QuietRoutineTasks(logging.Filter):
    """Drop the routine lines (sent, received, succeeded) of tasks that run every minute, which
    would otherwise fill the worker's and the scheduler's output; their warnings and errors stay."""

    ROUTINE = ("portfolio.tasks.runs_recover_task",)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or not record.name.startswith("celery"):
            return True
        message = record.getMessage()
        return not any(task in message for task in self.ROUTINE)
