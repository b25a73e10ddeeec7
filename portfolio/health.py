"""Health of a running instance, for load balancers and operators.

``liveness`` says the process answers; ``readiness`` checks each dependency (database, task
broker, cache) and reports the age of the latest successful valuation refresh.

The overall status is ``ok`` when all answer, ``degraded`` when the broker or the cache does not
(pages and API reads go on; refreshes are refused and recorded), and ``down`` when the database
does not (nothing can be served). Only ``down`` takes an instance out of a load balancer: with
Redis gone every instance is equally degraded, and removing them all would serve nothing. A stale
refresh is reported but changes no status (the pages show the latest values, flagged stale).

``filings_check_last`` says when the SEC filings check last ran and what it found, for the filings
review queue (an empty queue means nothing unless the check has run).
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from portfolio.models import RefreshRun
from tracker.celery import app as celery_app

OK, DEGRADED, DOWN, STALE, NEVER = "ok", "degraded", "down", "stale", "never"
# The runs that value the portfolio: a backfill values each weekday of its range, its last day included.
REFRESH_KINDS = (RefreshRun.Kind.PIPELINE, RefreshRun.Kind.VALUATIONS, RefreshRun.Kind.BACKFILL)


@dataclass(frozen=True)
class Check:
    name: str
    state: str
    seconds: float | None = None  # how long the check took, or the refresh's age
    detail: str = ""


def _timed(name: str, probe) -> Check:
    started = time.monotonic()
    try:
        detail = probe() or ""
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency means it is down
        return Check(name, DOWN, round(time.monotonic() - started, 3), type(exc).__name__)
    return Check(name, OK, round(time.monotonic() - started, 3), detail)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache() -> None:
    # A key of this process's own: probes of several instances at once must not read each other's.
    key, token = f"health:probe:{socket.gethostname()}:{os.getpid()}", secrets.token_hex(8)
    cache.set(key, token, timeout=30)
    if cache.get(key) != token:
        # The cache swallows its connection errors (see redis_cache in the settings).
        raise ConnectionError("the cache did not keep a value")


def _broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)


def _last_refresh() -> Check:
    finished = (
        RefreshRun.objects.filter(kind__in=REFRESH_KINDS, status=RefreshRun.Status.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if finished is None:
        return Check("last_refresh", NEVER, None, "no valuation refresh has succeeded yet")
    age = (timezone.now() - finished).total_seconds()
    limit = settings.LODESTONE_REFRESH_STALE_HOURS * 3600
    return Check("last_refresh", OK if age <= limit else STALE, round(age), finished.isoformat())


def liveness() -> dict:
    return {"status": OK}


def readiness() -> dict:
    """Every check with its state, and the overall ``status``: ok, degraded or down."""
    database, broker, cache_check = _timed("database", _database), _timed("broker", _broker), _timed("cache", _cache)
    checks = [database, broker, cache_check]
    if database.state != OK:
        status = DOWN
        checks.append(Check("last_refresh", DOWN, None, "unknown: the database is down"))
    else:
        status = OK if broker.state == OK and cache_check.state == OK else DEGRADED
        checks.append(_last_refresh())
    return {"status": status, "checks": [asdict(check) for check in checks]}


#: The step of a filings run that reads EDGAR (its counts and errors are kept under this name).
FILINGS_STEP = "filings"
#: The errors of a check quoted with it; the run's page has them all.
FILINGS_ERRORS_QUOTED = 3


@dataclass(frozen=True)
class FilingsCheck:
    """The latest SEC filings check that finished: when, how it ended and what it found.

    ``companies``, ``recorded`` and ``failed`` are None when the run ended before its filings step
    did (a failure, or the share counts' step failing first): it then found nothing to report.
    """

    run_id: int
    finished_at: datetime
    status: str  # a RefreshRun.Status
    status_label: str
    message: str
    companies: int | None  # companies with a CIK whose filings were asked for
    recorded: int | None  # new filings of the watched forms recorded for review
    failed: int | None  # companies whose filings could not be read
    errors: tuple[str, ...]  # the first of the step's errors, "subject: message"
    error_count: int

    @property
    def finished_step(self) -> bool:
        return self.companies is not None


def filings_check_last() -> FilingsCheck | None:
    """The latest finished run of the SEC filings check (one query), or None if no check has ever
    finished. Runs refused because another was in progress never ran, and are passed over."""
    run = (
        RefreshRun.objects.filter(kind=RefreshRun.Kind.FILINGS, finished_at__isnull=False)
        .exclude(status=RefreshRun.Status.REFUSED)
        .order_by("-finished_at", "-id")
        .only("id", "finished_at", "status", "message", "counts", "errors")
        .first()
    )
    if run is None or run.finished_at is None:
        return None
    counts = run.counts.get(FILINGS_STEP) if isinstance(run.counts, dict) else None
    errors = [e for e in run.errors or [] if isinstance(e, dict) and e.get("step") == FILINGS_STEP]
    return FilingsCheck(
        run_id=run.pk,
        finished_at=run.finished_at,
        status=run.status,
        status_label=run.get_status_display(),
        message=run.message,
        companies=counts.get("total", 0) if counts else None,
        recorded=counts.get("written", 0) if counts else None,
        failed=counts.get("failed", 0) if counts else None,
        errors=tuple(
            ": ".join(str(part) for part in (e.get("subject"), e.get("message")) if part)
            for e in errors[:FILINGS_ERRORS_QUOTED]
        ),
        error_count=len(errors),
    )
