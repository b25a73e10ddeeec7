"""The production settings as deployed: `check --deploy` clean at WARNING, HTTPS only, security
headers on every kind of response (pages, admin, API, API docs), secure cookies, generic errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from http import HTTPStatus

import pytest

from tests.tracker.test_settings import PRODUCTION_ENV, ROOT, _environment_without_settings


def _production_env(**extra: str) -> dict[str, str]:
    return {
        **_environment_without_settings(),
        **PRODUCTION_ENV,
        "DJANGO_SETTINGS_MODULE": "tracker.settings.production",
        "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens there: no test reaches a real server
        **extra,
    }


def test_production_settings_pass_the_deploy_checks_at_warning_level():
    """Django's own deployment checks find nothing, not even a warning, in the production settings."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """What the production settings answer, from a separate process on a scratch SQLite file."""
    scratch = tmp_path_factory.mktemp("production")
    env = _production_env(
        DATABASE_URL=f"sqlite:///{scratch / 'db.sqlite3'}", LODESTONE_VAR_DIR=str(scratch), PYTHONPATH=str(ROOT)
    )
    result = subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, os.path.join("tests", "tracker", "production_probe.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_plain_http_is_sent_to_https_except_the_health_checks(deployed):
    """Plain HTTP is redirected permanently to HTTPS, but /healthz answers as it is, so a load
    balancer's probe over HTTP still works."""
    assert deployed["plain_http"] == HTTPStatus.MOVED_PERMANENTLY
    assert deployed["plain_http_healthz"] == HTTPStatus.OK


def test_cookies_are_secure_httponly_samesite_and_host_only(deployed):
    """The session and CSRF cookies are sent over HTTPS only, with the __Host- prefix (no domain, path
    /), SameSite=Lax; the session one is hidden from scripts and ends with the browser."""
    session = deployed["login"]["cookies"]["__Host-sessionid"]
    assert deployed["login"]["status"] == HTTPStatus.FOUND
    assert session["secure"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    assert session["domain"] == ""
    assert session["path"] == "/"
    assert session["max-age"] == ""  # ends with the browser; the server ends it sooner (tests/tracker)
    csrf = deployed["login"]["csrf_cookies"]["__Host-csrftoken"]
    assert csrf["secure"]
    assert csrf["samesite"] == "Lax"


EXPECTED_STATUS = {
    "/accounts/login/": 302,  # already logged in: on to the dashboard
    "/": 200,
    "/deals/": 200,
    "/admin/login/": 302,
    "/admin/": 200,
    "/api/v1/deals/": 200,
    "/api/docs/": 200,
    "/healthz": 200,
    "/no-such-page/": 404,
}


@pytest.mark.parametrize("url", list(EXPECTED_STATUS))
def test_every_kind_of_response_carries_the_security_headers(deployed, url):
    """Pages, admin, API, API docs, health check and 404 alike carry HSTS, nosniff, same-origin
    referrer, no framing and a CSP that allows no inline script, no plugins and no <base>."""
    page = deployed["pages"][url]
    headers = page["headers"]
    assert page["status"] == EXPECTED_STATUS[url]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    directives = [part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";")]
    policy = dict(directives)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # never inline script, on any page
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
