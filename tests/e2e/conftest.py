"""Browser tests: Playwright driving Debian's Chromium against the live test server.

They skip, saying why, only when no Chromium is installed and REQUIRE_BROWSER is unset; CI
installs Chromium and sets REQUIRE_BROWSER, so there they always run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's synchronous API runs an event loop in this thread; Django's ORM calls made by the
# test itself are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but no Chromium was found at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium, or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Console:
    """Everything a page complained about: console errors, uncaught exceptions, CSP violations."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.problems.append(f"console: {msg.text}")

    def watch(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    console = Console()
    console.watch(page)
    page.console = console
    yield page
    page.wait_for_load_state("networkidle")
    context.close()
    assert page.console.problems == [], page.console.problems


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
