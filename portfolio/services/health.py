"""Health of a running instance, for load balancers and operators.

``liveness`` says the process answers; ``readiness`` checks each dependency (database, task
broker, cache) and reports the age of the latest successful valuation refresh. The instance is
ready when every dependency answers; a stale refresh is reported but does not take the instance
out of service (its pages still show the latest values, flagged as stale).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from portfolio.models import RefreshRun

OK, DOWN, STALE, NEVER = "ok", "down", "stale", "never"
REFRESH_KINDS = (RefreshRun.Kind.PIPELINE, RefreshRun.Kind.VALUATIONS)


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
    key, token = "health:probe", secrets.token_hex(8)
    cache.set(key, token, timeout=30)
    if cache.get(key) != token:
        # The cache swallows its connection errors (see redis_cache in the settings).
        raise ConnectionError("the cache did not keep a value")


def _broker() -> None:
    from tracker.celery import app

    with app.connection_for_write() as conn:
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
    """Every check with its state; ``status`` is ``ok`` when database, broker and cache answer."""
    checks = [_timed("database", _database), _timed("broker", _broker), _timed("cache", _cache)]
    ready = all(check.state == OK for check in checks)
    if checks[0].state == OK:
        checks.append(_last_refresh())
    else:
        checks.append(Check("last_refresh", DOWN, None, "unknown: the database is down"))
    return {"status": OK if ready else DOWN, "checks": [asdict(check) for check in checks]}
