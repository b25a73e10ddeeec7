"""Staff reading the portfolio: the dashboard, the deals list and a deal's page, and the API's
main reads. Run by loadtest/run (see loadtest/README.md), never against anything but loopback.

Before the users start, each one's session is opened through the login form and one API token
is taken (as a service would hold it): the figures measure reading under load, not logging in
(a password check is deliberately slow, and fifty of them in five seconds would swamp them).

The server runs the production settings behind no proxy, so each request says what the
TLS-terminating proxy in front of production would (X-Forwarded-Proto: https); the session
cookie, Secure as in production, is sent by hand since the client speaks plain HTTP on loopback.
"""

from __future__ import annotations

import os
import random
import re

import requests
from locust import HttpUser, between, events, task

USERNAME = os.environ.get("LOADTEST_USERNAME", "loadtest")
PASSWORD = os.environ["LOADTEST_PASSWORD"]
PROXY = {"X-Forwarded-Proto": "https"}
SHARED: dict = {"sessions": [], "token": "", "deal_paths": []}


def _log_in(host: str) -> str:
    """A session opened through the login form, as a browser does; returns its cookie's value."""
    with requests.Session() as browser:
        page = browser.get(f"{host}/accounts/login/", headers=PROXY, timeout=30)
        csrf = page.cookies["__Host-csrftoken"]
        answer = browser.post(
            f"{host}/accounts/login/",
            data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": csrf},
            headers={**PROXY, "Referer": f"https://{host.split('://', 1)[1]}/accounts/login/",
                     "Cookie": f"__Host-csrftoken={csrf}"},
            allow_redirects=False,
            timeout=30,
        )  # fmt: skip
    if answer.status_code != 302 or "__Host-sessionid" not in answer.cookies:
        raise RuntimeError(f"login failed with {answer.status_code}")
    return answer.cookies["__Host-sessionid"]


@events.test_start.add_listener
def _prepare(environment, **kwargs) -> None:
    host = environment.host
    users = environment.parsed_options.num_users if environment.parsed_options else 1
    SHARED["sessions"] = [_log_in(host) for _ in range(users)]
    token = requests.post(
        f"{host}/api/v1/auth/token/", json={"username": USERNAME, "password": PASSWORD}, headers=PROXY, timeout=30
    )
    token.raise_for_status()
    SHARED["token"] = token.json()["token"]
    deals = requests.get(
        f"{host}/deals/", headers={**PROXY, "Cookie": f"__Host-sessionid={SHARED['sessions'][0]}"}, timeout=30
    )
    deals.raise_for_status()
    SHARED["deal_paths"] = sorted(set(re.findall(r'href="(/deals/[A-Za-z0-9_-]+/)"', deals.text)))
    if not SHARED["deal_paths"]:
        raise RuntimeError("the deals page lists no deal")


class Analyst(HttpUser):
    wait_time = between(0.5, 1.5)

    def _get(self, path: str, headers: dict, name: str) -> None:
        """A read that counts as failed unless it answers 200 itself (a redirect to the login page
        would otherwise pass for a page)."""
        with self.client.get(path, headers=headers, name=name, allow_redirects=False, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code} instead of 200")

    def on_start(self) -> None:
        self.page_headers = {**PROXY, "Cookie": f"__Host-sessionid={SHARED['sessions'].pop()}"}
        self.api_headers = {**PROXY, "Authorization": f"Token {SHARED['token']}"}

    @task(3)
    def dashboard(self) -> None:
        self._get("/", self.page_headers, "/ (dashboard)")

    @task(2)
    def deals(self) -> None:
        self._get("/deals/", self.page_headers, "/deals/")

    @task(2)
    def deal(self) -> None:
        path = random.choice(SHARED["deal_paths"])  # noqa: S311 - not for security
        self._get(path, self.page_headers, "/deals/<reference>/")

    @task(2)
    def api_deals(self) -> None:
        self._get("/api/v1/deals/", self.api_headers, "/api/v1/deals/")

    @task(2)
    def api_positions(self) -> None:
        self._get("/api/v1/positions/", self.api_headers, "/api/v1/positions/")

    @task(2)
    def api_summary(self) -> None:
        self._get("/api/v1/analytics/summary/?group_by=agency", self.api_headers, "/api/v1/analytics/summary/")

    @task(1)
    def api_valuations(self) -> None:
        self._get("/api/v1/valuations/?limit=100", self.api_headers, "/api/v1/valuations/")
