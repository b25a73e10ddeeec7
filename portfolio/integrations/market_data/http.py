"""HTTP for providers: explicit timeouts, status and content checks, secrets kept out of errors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

import requests
from django.conf import settings

from .errors import InvalidResponseError, PermanentProviderError, RateLimitedError, TransientProviderError

logger = logging.getLogger(__name__)


def user_agent() -> str:
    """Who is asking, with a contact address (SEC EDGAR's fair-access policy requires one)."""
    return f"Lodestone/1.0 ({settings.LODESTONE_CONTACT_EMAIL})"


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


_local = threading.local()


def _session() -> requests.Session:
    """One HTTP session per thread: connections (and TLS handshakes) are reused across calls."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def get(
    provider: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    secrets: Iterable[str] = (),
    expect: str = "json",
    missing_is_answer: bool = False,
) -> requests.Response:
    """GET with (connect, read) timeouts; map failures to transient, rate-limited or permanent errors.

    ``expect`` is "json" or "text": an HTML page where data was expected is an InvalidResponseError
    even with HTTP 200. Error messages name the host and path only, never the query string, so
    an API key in the parameters cannot leak into logs or run records. ``missing_is_answer``: a 404
    is returned to the caller whatever its body (an API that answers a missing record with an XML
    or HTML error page), for the caller to report what is missing.
    """
    secrets = [s for s in secrets if s]
    timeout = (settings.LODESTONE_HTTP_CONNECT_TIMEOUT, settings.LODESTONE_HTTP_READ_TIMEOUT)
    merged_headers = {"User-Agent": user_agent(), **(headers or {})}
    try:
        response = _session().get(url, params=params, headers=merged_headers, timeout=timeout)
    except requests.Timeout as exc:
        raise TransientProviderError(provider, f"timed out after {timeout[1]} s") from exc
    except requests.ConnectionError as exc:
        raise TransientProviderError(provider, "could not connect") from exc
    except requests.RequestException as exc:
        raise TransientProviderError(provider, redact(f"request failed: {type(exc).__name__}", secrets)) from exc
    status = response.status_code
    if status == 429:
        raise RateLimitedError(provider, "rate limited (HTTP 429)", retry_after=_retry_after(response))
    if status >= 500:
        raise TransientProviderError(provider, f"server error (HTTP {status})")
    if status == 404 and missing_is_answer:
        return response
    body_start = response.text[:200].lstrip().lower()
    looks_like_html = body_start.startswith(("<!doctype html", "<html", "<?xml", "<head", "<body"))
    if looks_like_html and expect != "xml":
        raise InvalidResponseError(provider, f"answered HTTP {status} with an HTML page instead of data")
    if status >= 400 and status != 404:
        raise PermanentProviderError(provider, f"refused the request (HTTP {status})")
    return response


def json_body(provider: str, response: requests.Response) -> Any:
    """The parsed JSON body, of whatever shape the provider sent: the caller checks the shape."""
    try:
        return response.json()
    except ValueError as exc:
        raise InvalidResponseError(
            provider, f"answered HTTP {response.status_code} with a body that is not JSON"
        ) from exc
