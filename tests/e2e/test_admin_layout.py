"""The admin at 1440 px in a real browser, on the demo data: every list shows all its columns beside
its filters, the milestone list its status, forecast and slippage, and the deal page its rows
without a sideways scroll."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin

from portfolio.services.demo_data import demo_data_load
from tests.e2e.conftest import screenshot
from tests.factories import UserFactory

# One worker runs the browser tests (see test_browser.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]
PASSWORD = "a long password for the browser"
LAPTOP = {"width": 1440, "height": 900}

#: Where a changelist's table overflows the box it scrolls in, and the headers cut off by that.
OVERFLOW = """() => {
  const box = document.querySelector('.results');
  if (!box) return null;
  const right = box.getBoundingClientRect().right;
  const cut = [...box.querySelectorAll('thead th')].filter(th => th.getBoundingClientRect().right > right + 1);
  return {overflow: box.scrollWidth - box.clientWidth, cut: cut.map(th => th.innerText.trim())};
}"""


@pytest.fixture
def steward_page(page, transactional_db):
    """The demo data, and a steward logged in to the admin in a 1440 px window."""
    demo_data_load()
    UserFactory(username="steward", password=PASSWORD, is_staff=True, is_superuser=True)
    page.set_viewport_size(LAPTOP)
    page.goto("/admin/")
    page.get_by_label("Username").fill("steward")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    return page


def test_the_milestone_list_shows_status_forecast_and_slippage_at_1440_px(steward_page):
    """The milestone list showed 3 of its 13 columns at 1440 px; its status, forecast and slippage
    headers are now within the window and within the list's box (nothing scrolls sideways)."""
    page = steward_page
    page.goto("/admin/portfolio/milestone/")
    page.wait_for_load_state("networkidle")
    headers = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#result_list thead th')].map(
            th => [th.innerText.trim().replace(/^\\d+\\s*/, ''), th.getBoundingClientRect().right]))"""
    )
    for name in ("STATUS", "FORECAST", "SLIPPAGE (DAYS)"):
        assert headers[name] <= LAPTOP["width"], (name, headers)
    assert page.evaluate(OVERFLOW) == {"overflow": 0, "cut": []}
    # a slippage figure is right-aligned in its cell
    assert page.locator("td.field-slippage").first.evaluate("td => getComputedStyle(td).textAlign") == "right"
    screenshot(page, "admin-milestones-1440")


def test_every_list_fits_beside_its_filters_at_1440_px(steward_page):
    """No portfolio list is wider than its box at 1440 px, so none hides a column to the right."""
    page = steward_page
    too_wide = {}
    for model in admin.site._registry:
        if model._meta.app_label != "portfolio":
            continue
        page.goto(f"/admin/portfolio/{model._meta.model_name}/")
        page.wait_for_load_state("networkidle")
        fit = page.evaluate(OVERFLOW)
        if fit and fit["overflow"] > 0:
            too_wide[model.__name__] = fit
    assert too_wide == {}


def test_the_deal_page_has_no_sideways_scroll_at_1440_px(steward_page):
    """The deal page was 2,743 px wide at 1440 px; now neither the page nor any of its kinds of
    record scrolls sideways on the deal with the most rows, and its figures read 400,000."""
    page = steward_page
    # Found as a steward finds it: the test reads nothing itself while the browser runs.
    page.goto("/admin/portfolio/deal/?q=mp-dod-2025")
    page.locator("#result_list th.field-title a").click()
    page.wait_for_url(re.compile(r"/admin/portfolio/deal/\d+/change/"))
    page.wait_for_load_state("networkidle")  # measured once the page's styles and scripts have run
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    wide = page.evaluate(
        """() => [...document.querySelectorAll('.inline-group')]
            .filter(group => group.scrollWidth > group.clientWidth).map(group => group.id)"""
    )
    assert wide == []
    assert page.locator("#id_positions-0-quantity").input_value() == "400,000"
    screenshot(page, "admin-deal-1440")
