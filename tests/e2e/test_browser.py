"""The staff pages in a real browser: log in, read the dashboard and a valuation trail, filter,
export, start a refresh and watch it finish; no console error and no CSP violation anywhere."""

from __future__ import annotations

import csv
import datetime as dt
import re
from itertools import pairwise

import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.auth.models import Group

from portfolio import models as m
from portfolio.services.demo_data import demo_data_load
from portfolio.services.refresh import refresh_request, refresh_run_execute
from tests.e2e.conftest import screenshot
from tests.factories import UserFactory
from tracker.celery import app

# One worker runs them all (`--dist loadgroup`, pyproject.toml): the browser is started once a
# worker (a session fixture), so on both workers it would be started twice and two would compete
# for the two cores with the live servers and the workers' other tests.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("browser")]
PASSWORD = "a long password for the browser"


@pytest.fixture
def demo(transactional_db):
    """The demo data with a week of valuations and today's milestone statuses."""
    demo_data_load()
    run = refresh_request(
        kind="backfill", trigger="command", as_of=dt.date(2026, 11, 27), parameters={"from": "2026-11-20"}
    )
    refresh_run_execute(run_id=run.pk)
    run = refresh_request(kind="milestones", trigger="command")
    refresh_run_execute(run_id=run.pk)


def _user(role: str, username: str):
    user = UserFactory.create(username=username, password=PASSWORD)
    user.groups.add(Group.objects.get(name=role))
    return user


def _log_in(page, username: str) -> None:
    page.goto("/")
    assert "/accounts/login/" in page.url
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))


def test_analyst_reads_the_dashboard_a_deal_and_filters_and_exports(page, demo, tmp_path):
    """In a real browser an analyst reads the dashboard's drawn charts and the held book, switches book
    and the period of the tiles' change, follows a deal's valuation trail, filters deals by agency,
    downloads the positions CSV whole, and sees every other page draw without a console error or CSP
    violation."""
    _user("Analyst", "ana")
    _log_in(page, "ana")
    # the dashboard: tiles and drawn charts with data
    assert page.get_by_text("Current value").is_visible()
    assert page.get_by_text("SIMULATED prices").first.is_visible()
    page.wait_for_selector("canvas[data-chart='value'][data-drawn='true']")
    chart = page.evaluate(
        "(() => { const c = document.querySelector(\"canvas[data-chart='value']\").chart;"
        " return {labels: c.data.labels.length, total: c.data.datasets.reduce((s, d) => s + d.data[0], 0)}; })()"
    )
    assert chart["labels"] == 6  # the weekdays 2026-11-20 to 2026-11-27
    assert chart["total"] > 0
    assert page.locator("canvas[data-drawn='true']").count() == 6
    # the headline is the held book; the others are beside it, and the Book control switches
    assert page.get_by_role("heading", name=re.compile("^Held book")).is_visible()
    beside = page.get_by_role("region", name="Not in the headline")
    assert "Lapsed or terminated" in beside.inner_text()  # the Trilogy letter of intent
    screenshot(page, "dashboard")
    page.get_by_label("Book").select_option("committed")
    page.get_by_role("form", name="Dashboard options").get_by_role("button", name="Show").click()
    assert page.get_by_role("heading", name=re.compile("^Committed \\(signed, not closed\\) book")).is_visible()
    # the change over a day, picked with the tiles' control, keeps the book asked for
    page.get_by_role("combobox", name="Change over").select_option("1d")
    page.get_by_role("form", name="Change over").get_by_role("button", name="Show").click()
    assert "basis=committed" in page.url
    assert "since 2026-11-26" in page.get_by_role("form", name="Change over").inner_text()
    assert "over 1 day" in page.locator(".tile .change").first.inner_text()
    page.goto("/")

    # a deal and its valuation trail
    page.get_by_role("link", name="Deals", exact=True).click()
    page.get_by_role("link", name=re.compile("MP Materials")).first.click()
    trail = page.locator(".trail").filter(has_text="accreted stated value")
    assert trail.count() == 1
    assert "carried: the greater" in trail.inner_text()
    screenshot(page, "deal")

    # filter the deals list by agency
    page.goto("/deals/")
    page.get_by_label("Agency").select_option("CGF")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#deals-table tbody tr")
    assert rows.count() == m.Deal.objects.filter(agency__short_name="CGF").count() == 3  # NMG, Foran, Exiro
    assert all("CGF" in row.inner_text() for row in rows.all())
    screenshot(page, "deals")
    # and by issuers outside North America: the Korea Zinc (Crucible JV) deals alone
    page.goto("/deals/")
    page.get_by_label("Issuer").select_option("elsewhere")
    page.get_by_role("button", name="Filter").click()
    assert rows.count() == m.Deal.objects.filter(company__name="Korea Zinc").count() == 2

    # download the positions export and check its rows
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").first.click()
    path = tmp_path / "positions.csv"
    download.value.save_as(path)
    exported = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(exported) == m.Position.objects.count()
    assert {row["deal"] for row in exported} == set(
        m.Deal.objects.filter(positions__isnull=False).values_list("reference", flat=True)
    )

    # the company page draws the price history
    page.goto(f"/companies/{m.Company.objects.get(name='MP Materials Corp.').pk}/")
    page.wait_for_selector("canvas[data-chart='price'][data-drawn='true']")
    assert page.get_by_text("SIMULATED").first.is_visible()
    screenshot(page, "company")

    # the other pages render without errors
    for url in (
        "/milestones/",
        "/refresh-runs/",
        "/report/",
        f"/projects/{m.Project.objects.get(name='Thacker Pass').pk}/",
    ):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        screenshot(page, url.strip("/").replace("/", "-"))
    page.wait_for_selector("canvas[data-chart='timeline'][data-drawn='true']")
    axis_start = page.evaluate("document.querySelector(\"canvas[data-chart='timeline']\").chart.scales.x.min")
    assert axis_start > 1_500_000_000_000  # the axis starts near the milestones (after 2017), not at 1970


def test_the_changes_page_draws_the_bridge_at_both_widths(page, demo):
    """The Changes page over the demo's week of valuations: the waterfall is drawn, from the opening
    through each step to the closing; the steps' table adds up to the closing; at 390 px the chart
    lies on its side and nothing scrolls sideways."""
    _user("Viewer", "vic")
    _log_in(page, "vic")
    page.goto("/changes/?start=2026-11-20&end=2026-11-27")
    page.wait_for_selector("canvas[data-chart='bridge'][data-drawn='true']")
    bars = page.evaluate("document.querySelector(\"canvas[data-chart='bridge']\").chart.data.datasets[0].data")
    assert bars[0][0] == 0
    assert bars[-1][0] == 0
    assert all(abs(before[1] - after[0]) < 0.01 for before, after in pairwise(bars[1:-1]))
    assert abs(bars[-2][1] - bars[-1][1]) < 0.01  # the last step ends at the closing value
    assert page.get_by_role("table", name="The value bridge's steps").is_visible()
    screenshot(page, "changes")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_selector("canvas[data-chart='bridge'][data-drawn='true']")
    axis = page.evaluate("document.querySelector(\"canvas[data-chart='bridge']\").chart.options.indexAxis")
    assert axis == "y"
    screenshot(page, "changes-390")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_analyst_starts_a_refresh_and_watches_it_finish(page, demo):
    """An analyst presses Refresh now and the run's page follows a real worker's run until it shows
    succeeded, without reloading by hand."""
    _user("Analyst", "ana")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"):
        _log_in(page, "ana")
        page.goto("/refresh-runs/")
        page.get_by_role("button", name="Refresh now").click()
        page.wait_for_url(re.compile(r"/refresh-runs/\d+/$"))
        page.wait_for_selector("[data-run-status='succeeded']", timeout=60_000)
        screenshot(page, "refresh-run")
    assert m.RefreshRun.objects.filter(trigger="web", status="succeeded").count() == 1


def test_a_viewer_asks_for_a_stress_path_and_watches_it_finish(page, demo):
    """A viewer opens the historical stress from the Scenarios page, asks for a path (a date typed
    wrong is refused on the form first), and the run's page follows a real worker's run: once it
    has succeeded the page reloads by itself and draws the path's chart, the worst day marked
    across it and in the table."""
    _user("Viewer", "vic")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"):
        _log_in(page, "vic")
        page.goto("/scenarios/")
        page.get_by_role("link", name="Historical stress").click()
        page.wait_for_url(re.compile(r"/scenarios/stress/$"))
        page.get_by_label("Path start").fill("2026-09-01")
        page.get_by_label("Path end").fill("2026-08-01")
        page.get_by_role("button", name="Replay the path").click()
        assert "The path ends on or before its start" in page.locator("#id_end_error").inner_text()
        assert not m.ScenarioRun.objects.exists()
        page.get_by_label("Path end").fill("2026-11-27")
        page.get_by_role("button", name="Replay the path").click()
        page.wait_for_url(re.compile(r"/scenarios/runs/\d+/$"))
        page.wait_for_selector("canvas[data-chart='stress'][data-drawn='true']", timeout=120_000)
    run = m.ScenarioRun.objects.get()
    assert (run.kind, run.status, run.requested_by.username) == ("stress", "succeeded", "vic")
    assert page.locator("[data-run-status='succeeded']").is_visible()
    chart = page.evaluate(
        "(() => { const c = document.querySelector(\"canvas[data-chart='stress']\").chart;"
        " return [c.data.labels, c.data.datasets.map((d) => d.label), c.options.plugins.marker.at]; })()"
    )
    assert chart[0] == ["2026-09-30", "2026-10-31", "2026-11-27"]
    assert chart[1] == ["Held value", "Exposure", "Price-floor liability"]
    assert chart[0][chart[2]] == run.result["worst"]
    assert page.locator("tr.worst td").first.inner_text().startswith(run.result["worst"])
    screenshot(page, "scenario-run-stress-finished")


def test_a_viewer_cannot_start_a_refresh(page, demo):
    """A viewer sees no refresh button, and a refresh posted from the browser with a valid CSRF token is
    still refused 403 with no run recorded."""
    _user("Viewer", "vic")
    _log_in(page, "vic")
    page.goto("/refresh-runs/")
    assert page.get_by_role("button", name="Refresh now").count() == 0
    token = page.context.cookies()
    csrf = next(c["value"] for c in token if c["name"] == "csrftoken")
    response = page.request.post("/refresh-runs/start/", headers={"X-CSRFToken": csrf, "Referer": page.url})
    assert response.status == 403
    assert not m.RefreshRun.objects.filter(trigger="web").exists()


def test_a_wrong_password_is_told_and_nothing_opens(page, transactional_db):
    """A wrong password shows an alert on the login page and opens nothing."""
    _user("Viewer", "vic")
    page.goto("/accounts/login/")
    page.get_by_label("User name").fill("vic")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").is_visible()
    assert "/accounts/login/" in page.url


def test_pages_fit_a_tablet_and_the_admin_runs_under_the_policy(page, demo):
    """At 768 px nothing overflows sideways; the admin's own pages raise no CSP violation either."""
    _user("Analyst", "ana")
    _log_in(page, "ana")
    page.set_viewport_size({"width": 768, "height": 1024})
    for url in ("/", "/deals/", f"/deals/{m.Deal.objects.get(company__name='MP Materials Corp.').reference}/"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url} is {overflow} px too wide at 768 px"
    screenshot(page, "dashboard-tablet")
    UserFactory(username="steward", password=PASSWORD, is_staff=True, is_superuser=True)
    page.context.clear_cookies()
    page.goto("/admin/")
    page.get_by_label("Username").fill("steward")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    deal = m.Deal.objects.get(company__name="MP Materials Corp.")
    for url in ("/admin/portfolio/deal/", f"/admin/portfolio/deal/{deal.pk}/change/", "/admin/portfolio/position/add/"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
    screenshot(page, "admin-position-add")


def test_a_steward_imports_a_spreadsheet_in_the_admin(page, demo, tmp_path):
    """Upload a CSV of cash flows, read the check's report, confirm: the flow is recorded under the
    steward; the pages raise no console error and no CSP violation."""
    UserFactory(username="steward", password=PASSWORD, is_staff=True, is_superuser=True)
    position = m.Position.objects.select_related("deal").order_by("pk").first()
    path = tmp_path / "cash-flows.csv"
    path.write_text(
        "deal,position,kind,occurred_on,amount,currency\n"
        f"{position.deal.reference},{position.label},fee,2026-11-02,12500.00,{position.currency_id}\n",
        encoding="utf-8",
    )
    page.goto("/admin/")
    page.get_by_label("Username").fill("steward")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    page.goto("/admin/portfolio/importrun/")
    page.get_by_role("link", name="Import a spreadsheet").click()
    page.get_by_label("File").set_input_files(str(path))
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_url(re.compile(r"/admin/portfolio/importrun/\d+/change/$"))
    assert page.locator("li.success").get_by_text("Checked: nothing was written.").is_visible()
    screenshot(page, "admin-import-report")
    page.get_by_role("button", name="Confirm: import this file").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("li.success").get_by_text("Imported.").is_visible()
    flow = m.CashFlow.objects.get(position=position, kind="fee", occurred_on=dt.date(2026, 11, 2))
    assert flow.recorded_by.username == "steward"


def test_the_api_docs_run_under_the_policy(page, transactional_db):
    """Swagger UI comes from the project's static files and raises no CSP violation."""
    _user("Viewer", "vic")
    _log_in(page, "vic")
    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 20
    screenshot(page, "api-docs")


def test_repeated_wrong_passwords_lock_the_login_and_say_for_how_long(page, transactional_db):
    """Five wrong passwords lock the login page, which says for how long; the right password is refused
    while the lock lasts."""
    _user("Viewer", "vic")
    page.goto("/accounts/login/")
    for attempt in range(5):
        page.get_by_label("User name").fill("vic")
        page.get_by_label("Password").fill(f"wrong-{attempt}")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("networkidle")
        if attempt < 4:
            assert page.get_by_role("alert").is_visible()
    assert page.get_by_role("heading", name="Login locked").is_visible()
    assert "Try again in 15 minutes" in page.get_by_role("alert").inner_text()
    screenshot(page, "login-locked")
    # The right password is refused too while the lock lasts.
    page.goto("/accounts/login/")
    page.get_by_label("User name").fill("vic")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("heading", name="Login locked").is_visible()
    # The browser reports each 429 answer on its console; nothing else may be there.
    rest = [p for p in page.console.problems if "status of 429" not in p]
    assert len(page.console.problems) - len(rest) <= 2
    page.console.problems[:] = rest
