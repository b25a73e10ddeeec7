"""Login protection (django-axes) on the web login, the admin login and the API token endpoint;
session timeouts; the security log."""

from __future__ import annotations

import datetime as dt
import logging
from http import HTTPStatus

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from freezegun import freeze_time
from rest_framework import throttling  # noqa: F401 - imported before any clock is frozen (its timer is bound at import)
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LIMIT = settings.AXES_FAILURE_LIMIT


def _web_login(client, username, password, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def _admin_login(client, username, password, address="10.0.0.1"):
    data = {"username": username, "password": password, "next": "/admin/"}
    return client.post(reverse("admin:login"), data, REMOTE_ADDR=address)


def _token(client, username, password, address="10.0.0.1"):
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


def test_the_policy_is_five_failures_and_a_fifteen_minute_cool_off():
    """The lockout policy as documented: five failures lock out one user name from one address for
    fifteen minutes."""
    assert settings.AXES_FAILURE_LIMIT == 5
    assert dt.timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


@pytest.mark.parametrize("login", [_web_login, _admin_login], ids=["web", "admin"])
def test_a_pages_login_locks_after_the_limit_and_opens_after_the_cool_off(client, login):
    """The web and admin logins answer 429 on the fifth failure and then refuse even the right password,
    with Retry-After 900, until the cool-off has passed."""
    UserFactory(username="ada", is_staff=True)
    with freeze_time("2026-03-02 09:00:00") as clock:
        for _ in range(LIMIT - 1):
            refused = login(client, "ada", "wrong")
            assert refused.status_code == HTTPStatus.OK  # the form again, with its error
        assert login(client, "ada", "wrong").status_code == HTTPStatus.TOO_MANY_REQUESTS  # the limit reached
        locked = login(client, "ada", PASSWORD)  # now even the right password is refused
        assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert "Too many failed logins" in locked.content.decode()
        assert locked["Retry-After"] == "900"
        assert "_auth_user_id" not in client.session
        clock.tick(dt.timedelta(minutes=16))
        opened = login(client, "ada", PASSWORD)
        assert opened.status_code == HTTPStatus.FOUND
        assert client.session["_auth_user_id"]


def test_the_token_endpoint_locks_after_the_limit_with_the_api_error_format():
    """The API token endpoint locks out in the same way, answering 429 in the API's error format and
    issuing no token until the cool-off has passed."""
    UserFactory(username="ada")
    api = APIClient()
    with freeze_time("2026-03-02 09:00:00") as clock:
        for _ in range(LIMIT - 1):
            assert _token(api, "ada", "wrong").status_code == HTTPStatus.UNAUTHORIZED
        assert _token(api, "ada", "wrong").status_code == HTTPStatus.TOO_MANY_REQUESTS
        locked = _token(api, "ada", PASSWORD)
        assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert locked.json()["error"]["code"] == "locked_out"
        assert "token" not in locked.json()
        clock.tick(dt.timedelta(minutes=16))
        cache.clear()  # the endpoint's own throttle, counted apart from the lockout
        assert _token(api, "ada", PASSWORD).status_code == HTTPStatus.OK


def test_a_lockout_holds_one_user_name_from_one_address_only(client):
    """Someone guessing from one address locks out that user name from that address only: another user
    there, and the same user elsewhere, still log in."""
    UserFactory(username="ada")
    UserFactory(username="grace")
    for _ in range(LIMIT):
        _web_login(client, "ada", "wrong", address="10.0.0.66")
    assert _web_login(client, "ada", PASSWORD, address="10.0.0.66").status_code == HTTPStatus.TOO_MANY_REQUESTS
    # Someone guessing from one address cannot lock the user out elsewhere, nor lock out others.
    assert _web_login(client, "grace", PASSWORD, address="10.0.0.66").status_code == HTTPStatus.FOUND
    client.logout()
    assert _web_login(client, "ada", PASSWORD, address="10.0.0.7").status_code == HTTPStatus.FOUND


def test_a_success_before_the_limit_clears_the_count(client):
    """A successful login before the limit starts the count again, so a user who mistypes now and then
    is never locked out."""
    UserFactory(username="ada")
    for _ in range(LIMIT - 1):
        _web_login(client, "ada", "wrong")
    assert _web_login(client, "ada", PASSWORD).status_code == HTTPStatus.FOUND
    client.logout()
    for _ in range(LIMIT - 1):
        _web_login(client, "ada", "wrong")
    assert _web_login(client, "ada", PASSWORD).status_code == HTTPStatus.FOUND


def test_behind_trusted_proxies_the_address_is_read_from_the_right(settings, rf):
    """The client's address is the peer's unless it is a trusted proxy; then it is the rightmost
    untrusted X-Forwarded-For entry, so a client cannot choose its address by writing the header."""
    from portfolio.security import client_ip

    via_proxy = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert client_ip(via_proxy) == "10.0.0.2"  # no proxy trusted: the peer
    settings.LODESTONE_TRUSTED_PROXIES = ["10.0.0.2", "10.0.0.3"]
    assert client_ip(via_proxy) == "203.0.113.9"  # what our proxy saw; "1.2.3.4" was the client's own claim
    two_proxies = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9, 10.0.0.3", REMOTE_ADDR="10.0.0.2")
    assert client_ip(two_proxies) == "203.0.113.9"
    # A client that reaches the server directly cannot pick its address by writing the header.
    direct = rf.get("/", HTTP_X_FORWARDED_FOR="10.9.9.9", REMOTE_ADDR="198.51.100.7")
    assert client_ip(direct) == "198.51.100.7"


def test_a_token_issued_is_logged_and_clears_the_failure_count(caplog):
    """Issuing a token clears the failure count like a web login does, and the token's login and logout
    are in the security log."""
    UserFactory(username="ada")
    api = APIClient()
    caplog.set_level(logging.INFO, logger="lodestone.security")
    for _ in range(LIMIT - 1):
        _token(api, "ada", "wrong")
    token = _token(api, "ada", PASSWORD).json()["token"]
    for _ in range(LIMIT - 1):  # counted from zero again: not locked
        assert _token(api, "ada", "wrong").status_code == HTTPStatus.UNAUTHORIZED
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.post("/api/v1/auth/logout/").status_code == HTTPStatus.NO_CONTENT
    lines = [record.getMessage() for record in caplog.records if record.name == "lodestone.security"]
    assert any(line.startswith("login user=ada address=10.0.0.1") and line.endswith("via=token") for line in lines)
    assert any(line.startswith("logout user=ada") and line.endswith("via=token") for line in lines)


def test_failed_logins_lockouts_and_refusals_are_logged_with_user_and_address(client, caplog, viewer):
    """The security log has every failed login, the lockout and each 403 and 401 refusal with the user
    and address, and never the password tried."""
    UserFactory(username="ada")
    caplog.set_level(logging.INFO, logger="lodestone.security")
    for _ in range(LIMIT + 1):
        _web_login(client, "ada", "s3cret-guess", address="10.0.0.66")
    client.force_login(viewer)
    client.get(reverse("refresh-runs"), REMOTE_ADDR="10.0.0.8")  # a viewer may look ...
    client.post(reverse("refresh-start"), REMOTE_ADDR="10.0.0.8")  # ... but not start a refresh
    APIClient().get("/api/v1/deals/", REMOTE_ADDR="10.0.0.9")
    lines = [record.getMessage() for record in caplog.records if record.name == "lodestone.security"]
    assert sum(line.startswith("login failed user=ada address=10.0.0.66") for line in lines) == LIMIT + 1
    assert any(line.startswith("locked out user=ada address=10.0.0.66") for line in lines)
    assert any(line.startswith("refused status=403 user=viewer method=POST address=10.0.0.8") for line in lines)
    assert any(line.startswith("refused status=401 user=anonymous method=GET address=10.0.0.9") for line in lines)
    assert not any("s3cret-guess" in line for line in lines)


def test_log_lines_cannot_be_forged_through_a_user_name(client, caplog):
    """A user name holding a newline cannot add a forged line to the security log."""
    caplog.set_level(logging.INFO, logger="lodestone.security")
    _web_login(client, "ada\nlogin user=admin address=1.1.1.1", "wrong")
    lines = [record.getMessage() for record in caplog.records if record.name == "lodestone.security"]
    assert lines
    assert all("\n" not in line for line in lines)


# --- Sessions ----------------------------------------------------------------------------------


def _viewer_named(username: str):
    from django.contrib.auth.models import Group

    user = UserFactory.create(username=username)
    user.groups.add(Group.objects.get(name="Viewer"))
    return user


def test_a_session_ends_after_an_hour_idle(client):
    """A session stays open while used at least once an hour and ends after more than an hour idle,
    sending the user to the login page."""
    _viewer_named("ada")
    with freeze_time("2026-03-02 09:00:00") as clock:
        assert _web_login(client, "ada", PASSWORD).status_code == HTTPStatus.FOUND
        clock.tick(dt.timedelta(minutes=59))
        assert client.get(reverse("deals")).status_code == HTTPStatus.OK
        clock.tick(dt.timedelta(minutes=59))  # active 59 minutes ago: still in
        assert client.get(reverse("deals")).status_code == HTTPStatus.OK
        clock.tick(dt.timedelta(minutes=61))
        response = client.get(reverse("deals"))
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("login"))


def test_a_session_ends_ten_hours_after_login_however_active(client):
    """A session ends ten hours after login even when it was used every half hour."""
    _viewer_named("ada")
    with freeze_time("2026-03-02 09:00:00") as clock:
        _web_login(client, "ada", PASSWORD)
        for _ in range(19):
            clock.tick(dt.timedelta(minutes=30))
            assert client.get(reverse("deals")).status_code == HTTPStatus.OK
        clock.tick(dt.timedelta(minutes=31))
        assert client.get(reverse("deals")).status_code == HTTPStatus.FOUND


def test_logging_in_gives_a_new_session_key_and_logging_out_ends_it(client):
    """Logging in changes the session key (no session fixation) and the key is worthless once the user
    has logged out."""
    _viewer_named("ada")
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    _web_login(client, "ada", PASSWORD)
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    client.post(reverse("logout"))
    stale = APIClient()
    stale.cookies[settings.SESSION_COOKIE_NAME] = after
    assert stale.get("/api/v1/deals/").status_code == HTTPStatus.UNAUTHORIZED


def test_a_deactivated_user_loses_sessions_and_tokens(client):
    """Deactivating a user ends their open session and invalidates their API tokens at once."""
    user = _viewer_named("ada")
    _web_login(client, "ada", PASSWORD)
    token = _token(APIClient(), "ada", PASSWORD).json()["token"]
    user.is_active = False
    user.save()
    assert client.get(reverse("deals")).status_code == HTTPStatus.FOUND
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/deals/").status_code == HTTPStatus.UNAUTHORIZED
