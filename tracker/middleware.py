"""Project middleware."""

from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import JsonResponse
from django.urls import reverse

from portfolio.security import log_session_end, session_expired


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Every page needs a login, except the views marked ``login_not_required``.

    The admin keeps its own login page and staff check, so its URLs are left to it.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(reverse("admin:index")):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class RejectNulBytesMiddleware:
    """Refuse (400) a request whose path or query string carries a NUL character.

    PostgreSQL cannot store or compare text with NUL, so such input would otherwise end as a
    server error deep in a query; no legitimate client sends it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        values = [request.path, *request.GET.keys(), *(v for vs in request.GET.lists() for v in vs[1])]
        if any("\x00" in value for value in values):
            body = {"error": {"code": "invalid", "message": "The request contains a NUL character."}}
            return JsonResponse(body, status=400)
        return self.get_response(request)


class SessionTimeoutMiddleware:
    """Log out a session idle for ``LODESTONE_SESSION_IDLE_MINUTES``, or open for longer than
    ``SESSION_COOKIE_AGE`` since its login; the request then goes on as anonymous (the login page
    for a page, 401 for the API)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reason = session_expired(request)
        if reason is not None:
            log_session_end(request, reason)
            logout(request)
        return self.get_response(request)
