"""Login protection and the security log.

Every login, failed login, lockout and refused request is logged on ``lodestone.security`` with
the user name and the client address; passwords never are. django-axes counts the failures (see
``AXES_*`` in the settings) and answers a locked-out attempt through :func:`lockout_response`.
"""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.views.decorators.csrf import requires_csrf_token

log = logging.getLogger("lodestone.security")

API_PREFIX = "/api/"


def client_ip(request: HttpRequest) -> str:
    """The client's address: the socket's peer, or, when the peer is a trusted reverse proxy
    (``LODESTONE_TRUSTED_PROXIES``), the nearest address in X-Forwarded-For that is not one.

    Each proxy appends the address it received the request from, so X-Forwarded-For is read from
    the right: what a client wrote there itself lies further left and is never reached while a
    trusted proxy's entry comes first. A peer that is not a trusted proxy is believed alone.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    trusted = settings.LODESTONE_TRUSTED_PROXIES
    if peer not in trusted:
        return peer
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if address not in trusted:
            return address
    return peer


def _safe(value: object) -> str:
    """A value fit for one log line: control characters escaped, length bounded."""
    text = str(value)[:150]
    return text.encode("unicode_escape").decode("ascii")


def _who(request: HttpRequest | None) -> str:
    if request is None:
        return "address=-"
    return f"address={_safe(client_ip(request))} path={_safe(request.path)}"


@receiver(user_logged_in, dispatch_uid="lodestone.security.logged_in")
def _logged_in(sender, request, user, **kwargs) -> None:
    if request is not None and request.session is not None:
        request.session["authenticated_at"] = _now_seconds()
        request.session["last_seen"] = _now_seconds()
    log.info("login user=%s %s", _safe(user.get_username()), _who(request))


@receiver(user_logged_out, dispatch_uid="lodestone.security.logged_out")
def _logged_out(sender, request, user, **kwargs) -> None:
    name = user.get_username() if user is not None else "-"
    log.info("logout user=%s %s", _safe(name), _who(request))


@receiver(user_login_failed, dispatch_uid="lodestone.security.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django hides the password in ``credentials``; only the user name is logged.
    log.warning("login failed user=%s %s", _safe(credentials.get("username", "-")), _who(request))


def _now_seconds() -> int:
    return int(timezone.now().timestamp())


def session_expired(request: HttpRequest) -> str | None:
    """Why the request's logged-in session must end now (idle too long, or open too long), or None.

    Records the request as the session's latest activity, writing the session at most once a
    minute.
    """
    session = request.session
    if "_auth_user_id" not in session:
        return None
    now = _now_seconds()
    started = session.setdefault("authenticated_at", now)
    last_seen = session.get("last_seen", now)
    if now - started > settings.SESSION_COOKIE_AGE:
        return "open longer than the session limit"
    if now - last_seen > settings.LODESTONE_SESSION_IDLE_MINUTES * 60:
        return "idle longer than the idle limit"
    if now - last_seen >= 60 or "last_seen" not in session:
        session["last_seen"] = now
    return None


def log_session_end(request: HttpRequest, reason: str) -> None:
    log.info("session ended user=%s %s reason=%s", _safe(request.user.get_username()), _who(request), reason)


def token_issued(request: HttpRequest, user) -> None:
    """An API token was issued: logged like a login, and the user name's failure count from this
    address cleared, as a login through a page clears it."""
    from axes.utils import reset

    reset(ip=client_ip(request), username=user.get_username())
    log.info("login user=%s %s via=token", _safe(user.get_username()), _who(request))


def token_ended(request: HttpRequest, user) -> None:
    log.info("logout user=%s %s via=token", _safe(user.get_username()), _who(request))


def log_refused(request: HttpRequest, status: int, reason: str) -> None:
    """Log a request refused for want of a login or a permission (401 or 403)."""
    user = getattr(request, "user", None)
    name = user.get_username() if user is not None and user.is_authenticated else "anonymous"
    log.warning("refused status=%s user=%s method=%s %s reason=%s", status, _safe(name), request.method,
                _who(request), _safe(reason))  # fmt: skip


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """Answer a login attempt while its user name and address are locked out: 429 with the wait.

    The API's token endpoint gets the API's error format; the web and admin logins a page.
    """
    cooloff = settings.AXES_COOLOFF_TIME
    minutes = math.ceil(cooloff.total_seconds() / 60)
    username = (credentials or {}).get("username", "")
    log.warning("locked out user=%s %s", _safe(username or "-"), _who(request))
    message = (
        f"Too many failed logins for this user name from this address. Try again in {minutes} minutes, "
        "or ask an administrator to unlock the account."
    )
    retry_after = str(int(cooloff.total_seconds()))
    if request.path.startswith(API_PREFIX):
        body = {"error": {"code": "locked_out", "message": message}}
        response: HttpResponse = JsonResponse(body, status=429)
    else:
        response = render(request, "locked_out.html", {"message": message, "minutes": minutes}, status=429)
    response["Retry-After"] = retry_after
    return response


# --- Error pages: nothing of the server's inside (no trace, no SQL) goes out ----------------------


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """500: a generic message (the details are in the server log). Rendered without the request's
    context, which may be what failed."""
    if request.path.startswith(API_PREFIX):
        body = {"error": {"code": "server_error", "message": "The server failed to answer; the error is logged."}}
        return JsonResponse(body, status=500)
    return HttpResponse(loader.get_template("500.html").render(), status=500)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: the API's error format under /api/, a page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"error": {"code": "not_found", "message": "Not found."}}, status=404)
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403 on a page: logged with the user, then a page saying the role does not allow it."""
    log_refused(request, 403, "the user's role does not allow this page")
    return render(request, "403.html", status=403)
