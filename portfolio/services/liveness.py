"""Signs of life of the worker processes running jobs (refreshes, large imports).

A process running a job names itself on the job's row (``host:pid``) and, from a thread of its
own, touches the row's ``updated_at`` every ``LODESTONE_HEARTBEAT_SECONDS`` while the job runs,
whatever the job is doing (a long database statement, a slow provider). A job whose process is
gone, or whose row has shown no sign of life for ``LODESTONE_RUN_STALE_SECONDS``, is abandoned:
another process may take it over, and the recovery task marks it and starts its work again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

logger = logging.getLogger(__name__)


def this_worker() -> str:
    """This process, as a job's row names it."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def stale_before() -> datetime:
    """A job whose last sign of life is older than this is abandoned."""
    return timezone.now() - timedelta(seconds=settings.LODESTONE_RUN_STALE_SECONDS)


def process_gone(worker: str) -> bool:
    """Whether the process a job's row names has certainly ended: only a process of this host can
    be looked at; any other may be alive, and is judged by its signs of life alone."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(int(pid))


def _zombie(pid: int) -> bool:
    """A process that ended but was not yet reaped by its parent (a killed worker's pool process,
    left to an init that does not reap) still answers signals: its state says it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].startswith(("Z", "X"))


def abandoned(worker: str, updated_at: datetime) -> bool:
    """Whether a job that is running can be taken over: no process named, the process gone, or
    no sign of life for too long."""
    return not worker or updated_at < stale_before() or process_gone(worker)


def held_elsewhere(worker: str, updated_at: datetime) -> bool:
    """Whether a job's row is held by another process that is alive: a second delivery of its task
    must leave it."""
    return bool(worker) and worker != this_worker() and not abandoned(worker, updated_at)


@contextmanager
def heartbeat(beat: Callable[[], object], every: float | None = None) -> Iterator[None]:
    """Call ``beat`` every ``every`` seconds from a thread while the block runs.

    The thread has its own database connection, closed when it stops. A beat that fails (the
    database briefly unreachable, a SQLite write lock) is logged and tried again at the next one.
    """
    interval = settings.LODESTONE_HEARTBEAT_SECONDS if every is None else every
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(interval):
                try:
                    beat()
                except DatabaseError as exc:
                    logger.warning("Heartbeat not recorded: %s", exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=loop, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 10)
