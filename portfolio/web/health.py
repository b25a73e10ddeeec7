"""/healthz and /readyz for load balancers: no login (they carry no portfolio data)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from portfolio.health import DOWN, liveness, readiness


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process answers."""
    return JsonResponse(liveness())


@login_not_required
@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """503 when the database does not answer (take the instance out), 200 otherwise, with each
    check's state (``degraded`` when the broker or the cache is down)."""
    report = readiness()
    return JsonResponse(report, status=503 if report["status"] == DOWN else 200)
