"""Health of a running instance, for load balancers and operators.

``liveness`` says the process answers; ``readiness`` checks each dependency (database, task
broker, cache) and reports the age of the latest successful valuation refresh.

The overall status is ``ok`` when all answer, ``degraded`` when the broker or the cache does not
(pages and API reads go on; refreshes are refused and recorded), and ``down`` when the database
does not (nothing can be served). Only ``down`` takes an instance out of a load balancer: with
Redis gone every instance is equally degraded, and removing them all would serve nothing. A stale
refresh is reported but changes no status (the pages show the latest values, flagged stale).
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import asdict, dataclass

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
