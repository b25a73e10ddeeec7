"""The milestones page, the portfolio timeline, the project page and the milestones export: slip and
days overdue side by side, stale forecasts flagged, filters by agency, company and deal, bad input
answered on the page, and query counts that do not grow with the milestones."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from portfolio import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db


def _today() -> dt.date:
    return timezone.now().date()


def _book():
    """Two agencies' deals in two companies' projects, each project with milestones:
    - "Mine A" (Alpha Corp., financed by DOE's loan): "Mill built" (first in the plan, tied to DOE's
      "Zulu grant"), re-forecast from a window ending in 200 days to one ending in 300 (slipped 100
      days, not due), and "Pit open" (second, tied to the loan), whose window ended 100 days ago with
      no revision since (stale, 100 days overdue);
    - "Plant B" (Beta Inc., financed by DOD's deal): "Magnets out", planned without a forecast;
    - DOD's deal's own "Closing long-stop", achieved.
    """
    today = _today()
    doe, dod = f.AgencyFactory(short_name="DOE"), f.AgencyFactory(short_name="DOD")
    alpha, beta = f.CompanyFactory(name="Alpha Corp."), f.CompanyFactory(name="Beta Inc.")
    mine = f.ProjectFactory(name="Mine A", company=alpha, stage="commercial_production")
    plant = f.ProjectFactory(name="Plant B", company=beta)
    loan = f.DealFactory(title="Alpha loan", reference="alpha-doe", agency=doe, company=alpha)
    loan.projects.add(mine)
    equity = f.DealFactory(title="Beta equity", reference="beta-dod", agency=dod, company=beta)
    equity.projects.add(plant)
    ended = today - dt.timedelta(days=100)
    zulu = f.DealFactory(title="Zulu grant", reference="alpha-zulu", agency=doe, company=alpha)
    f.MilestoneFactory(
        project=mine, deal=loan, sequence=20, title="Pit open", kind="construction_start", status="late",
        forecast_text="mid-year", forecast_start=ended - dt.timedelta(days=30), forecast_end=ended,
        baseline_start=ended - dt.timedelta(days=30), baseline_end=ended,
    )  # fmt: skip
    mill = f.MilestoneFactory(
        project=mine, deal=zulu, sequence=10, title="Mill built", kind="construction_complete",
        forecast_text="next year", forecast_start=today, forecast_end=today + dt.timedelta(days=300),
        baseline_start=today, baseline_end=today + dt.timedelta(days=200),
    )  # fmt: skip
    f.MilestoneRevisionFactory(milestone=mill, source_published_on=today)
    f.MilestoneFactory(
        project=plant, title="Magnets out", kind="first_production", forecast_text="", status="planned",
        forecast_start=None, forecast_end=None, forecast_precision="", baseline_start=None, baseline_end=None,
    )  # fmt: skip
    f.MilestoneFactory(
        project=None, deal=equity, title="Closing long-stop", kind="long_stop", status="achieved",
        achieved_on=today - dt.timedelta(days=10),
    )  # fmt: skip
    return {"doe": doe, "dod": dod, "alpha": alpha, "beta": beta, "mine": mine, "loan": loan, "equity": equity}


def _titles(page: str) -> set[str]:
    return {t for t in ("Pit open", "Mill built", "Magnets out", "Closing long-stop") if t in page}


def _row(page: str, title: str) -> str:
    """The table row of a milestone (from its title to the end of the row)."""
    start = page.index(title)
    return page[start : page.index("</tr>", start)]


# --- The milestones page ------------------------------------------------------------------------


def test_the_milestones_page_shows_slip_and_overdue_apart_and_flags_stale_forecasts(viewer_client):
    """The page shows each milestone's slip and days overdue in their own columns, a stale forecast
    flagged, kinds by their names, and "not forecast" where no forecast was given (no empty quotes)."""
    _book()
    page = viewer_client.get(reverse("milestones")).content.decode()
    pit = _row(page, "Pit open")
    assert "stale forecast" in pit
    assert '<td class="num">0 days</td><td class="num">+100 days</td>' in pit  # no slip, 100 days overdue
    assert "Construction start" in pit
    mill = _row(page, "Mill built")
    assert '<td class="num">+100 days</td><td class="num">—</td>' in mill  # slipped 100 days, not due
    assert "stale forecast" not in mill
    assert "not forecast" in _row(page, "Magnets out")
    assert "“”" not in page
    assert "construction_start" not in page[page.index("<table") :]  # a code only as a filter's value


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"agency": "DOE"}, {"Pit open", "Mill built"}),  # the agency's deal finances Mine A
        ({"agency": "DOD"}, {"Magnets out", "Closing long-stop"}),  # Plant B, and the deal's own milestone
        ({"company": "alpha"}, {"Pit open", "Mill built"}),
        ({"company": "beta"}, {"Magnets out", "Closing long-stop"}),
        ({"deal": "beta-dod"}, {"Magnets out", "Closing long-stop"}),
        ({"deal": "alpha-doe", "stale": "on"}, {"Pit open"}),
        ({"agency": "DOD", "status": "achieved"}, {"Closing long-stop"}),
    ],
)
def test_the_milestones_page_filters_by_agency_company_deal_and_stale_forecast(viewer_client, params, expected):
    """An agency, a company or a deal selects the milestones of the projects its deals finance and
    those of its deals themselves; the stale filter keeps the forecasts left unrevised after their
    window; filters combine."""
    book = _book()
    if "company" in params:
        params = {**params, "company": book[params["company"]].pk}
    page = viewer_client.get(reverse("milestones"), params).content.decode()
    assert _titles(page) == expected


@pytest.mark.parametrize("url_name", ["milestones", "milestone-timeline"])
def test_an_agency_filter_takes_in_its_sub_agencies(viewer_client, url_name):
    """Filtering by DOE shows the milestones of DOE-LPO's deals and of the projects they finance, and
    filtering by DOE-LPO does not show DOE's own."""
    _book()
    lpo = f.AgencyFactory(short_name="DOE-LPO", parent=m.Agency.objects.get(short_name="DOE"))
    loan = f.DealFactory(title="LPO loan", reference="lpo-loan", agency=lpo)
    project = f.ProjectFactory(name="Refinery C", company=loan.company)
    loan.projects.add(project)
    f.MilestoneFactory(project=project, title="Refinery financed")
    f.MilestoneFactory(project=None, deal=loan, title="Loan closing")
    page = viewer_client.get(reverse(url_name), {"agency": "DOE"}).content.decode()
    assert _titles(page) == {"Pit open", "Mill built"}
    assert "Refinery financed" in page
    assert "Loan closing" in page
    page = viewer_client.get(reverse(url_name), {"agency": "DOE-LPO"}).content.decode()
    assert _titles(page) == set()
    assert "Refinery financed" in page
    assert "Loan closing" in page


@pytest.mark.parametrize(
    "params",
    [{"agency": "NOPE"}, {"company": "abc"}, {"company": "99999999999999999999999"}, {"deal": "no-such-deal"}],
)
@pytest.mark.parametrize("url_name", ["milestones", "milestone-timeline"])
def test_an_unknown_agency_company_or_deal_is_answered_on_the_page(viewer_client, url_name, params):
    """An agency, company or deal that does not exist (or is not a number where one is expected) is
    answered with a message on the page, which then filters nothing, never with a server error."""
    _book()
    response = viewer_client.get(reverse(url_name), params)
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Select a valid choice" in page
    assert "Showing all." in page
    assert _titles(page) == {"Pit open", "Mill built", "Magnets out", "Closing long-stop"}


# --- The portfolio timeline ---------------------------------------------------------------------


def _chart(page: str) -> dict:
    found = re.search(r'<script id="chart-portfolio-timeline" type="application/json">(.*?)</script>', page, re.S)
    assert found, "the page embeds the timeline's data"
    return json.loads(found.group(1))


def test_the_timeline_draws_every_milestone_by_project_with_today(viewer_client):
    """The timeline's chart has a heading per project (a deal's own milestones under the deal), the
    milestones of a project in the plan's order, each milestone's baseline and forecast windows and
    achievement, the stale forecast marked and today's date for the line; the same figures are in a
    table for screen readers; the menu leads here."""
    _book()
    page = viewer_client.get(reverse("milestone-timeline")).content.decode()
    assert 'data-chart="portfolio-timeline"' in page
    chart = _chart(page)
    assert chart["type"] == "portfolio-timeline"
    today = dt.datetime.combine(_today(), dt.time(0), tzinfo=dt.UTC)
    assert chart["today"] == int(today.timestamp() * 1000)
    headings = [row["label"] for row in chart["rows"] if row.get("heading")]
    assert headings == ["Mine A (Alpha Corp.)", "Plant B (Beta Inc.)", "Deal: Beta equity"]
    order = [row["label"] for row in chart["rows"]]
    assert order[:3] == ["Mine A (Alpha Corp.)", "Mill built", "Pit open"]  # the plan's order, not the deals'
    rows = {row["label"]: row for row in chart["rows"] if not row.get("heading")}
    assert rows["Pit open"]["stale"] is True
    assert rows["Mill built"]["stale"] is False
    assert rows["Mill built"]["baseline"][1] < rows["Mill built"]["forecast"][1]
    assert rows["Magnets out"]["forecast"] is None
    assert rows["Closing long-stop"]["achieved"] is not None
    table = page[page.index("The figures of this chart") :]
    assert "stale forecast" in _row(table, "Pit open")
    assert "+100 days" in _row(table, "Mill built")
    assert "not forecast" in _row(table, "Magnets out")
    assert "1 of the milestones shown has a forecast whose window has ended" in page
    menu = page[page.index('<nav aria-label="Main">') : page.index("</nav>")]
    assert menu.index(">Milestones</a>") < menu.index('aria-current="page">Timeline</a>')


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"agency": "DOE"}, {"Pit open", "Mill built"}),
        ({"company": "beta"}, {"Magnets out", "Closing long-stop"}),
        ({"deal": "beta-dod"}, {"Magnets out", "Closing long-stop"}),
        ({"status": "late"}, {"Pit open"}),
        ({"agency": "DOD", "status": "planned"}, {"Magnets out"}),
    ],
)
def test_the_timeline_filters_by_agency_company_deal_and_status(viewer_client, params, expected):
    """The timeline shows only the milestones of the agency's, company's or deal's projects and deals,
    or of one status, in the chart as in the table."""
    book = _book()
    if "company" in params:
        params = {**params, "company": book[params["company"]].pk}
    page = viewer_client.get(reverse("milestone-timeline"), params).content.decode()
    labels = {row["label"] for row in _chart(page)["rows"] if not row.get("heading")}
    assert labels == expected
    assert _titles(page) == expected


def test_the_timeline_says_when_nothing_matches_and_when_a_status_is_unknown(viewer_client):
    """A filter that matches nothing says so (no empty chart); an unknown status is answered with a
    message and filters nothing."""
    _book()
    page = viewer_client.get(reverse("milestone-timeline"), {"status": "cancelled"}).content.decode()
    assert "No milestone matches." in page
    assert "chart-portfolio-timeline" not in page
    response = viewer_client.get(reverse("milestone-timeline"), {"status": "bogus"})
    assert response.status_code == HTTPStatus.OK
    assert "Select a valid choice. bogus is not one of the available choices. Showing all." in response.content.decode()


def test_the_timeline_needs_a_login_and_the_right_to_see_milestones(client):
    """An anonymous visitor is sent to the login page; a user who may see deals but not milestones is
    refused (403), as on the milestones page."""
    url = reverse("milestone-timeline")
    response = client.get(url)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("login"))
    user = f.UserFactory(username="deals-only")
    user.user_permissions.add(Permission.objects.get(codename="view_deal", content_type__app_label="portfolio"))
    client.force_login(user)
    assert client.get(url).status_code == HTTPStatus.FORBIDDEN
    assert client.get(reverse("milestones")).status_code == HTTPStatus.FORBIDDEN
    user.user_permissions.add(Permission.objects.get(codename="view_milestone", content_type__app_label="portfolio"))
    assert client.get(url).status_code == HTTPStatus.OK


#: The session, the user and the permissions (4); the agency, company and deal choices of the
#: filters (3); the count and the page of milestones, each with its latest revision date (2).
TIMELINE_QUERIES = 4 + 3 + 2


def _milestones(count: int) -> None:
    """``count`` milestones across projects of different companies and deals, each with revisions."""
    today = _today()
    for n in range(count):
        deal = f.DealFactory.create()
        project = f.ProjectFactory.create(company=deal.company)
        deal.projects.add(project)
        achieved = n % 4 == 0
        milestone = f.MilestoneFactory.create(
            project=project if n % 3 else None, deal=None if n % 3 else deal,
            forecast_end=today - dt.timedelta(days=n), forecast_start=today - dt.timedelta(days=n + 30),
            achieved_on=today - dt.timedelta(days=n) if achieved else None, status="achieved" if achieved else "late",
        )  # fmt: skip
        f.MilestoneRevisionFactory.create_batch(2, milestone=milestone)


@pytest.mark.parametrize("url_name", ["milestone-timeline", "milestones", "project"])
def test_query_count_is_the_same_with_1_and_30_milestones(viewer_client, url_name, django_assert_num_queries):
    """The timeline, the milestones page and a project's page cost the same queries with 1 milestone
    and with 30 (each with revisions): the stale flag and the groups are read in the page's query."""
    _milestones(1)
    project = f.ProjectFactory()
    f.DealFactory(company=project.company).projects.add(project)
    url = reverse(url_name, args=[project.pk]) if url_name == "project" else reverse(url_name)
    # the project page: the project with its company, its commodities, deals with their agencies,
    # and its milestones with their revision dates
    queries = 4 + 1 + 3 + 1 if url_name == "project" else TIMELINE_QUERIES
    with django_assert_num_queries(queries):
        assert viewer_client.get(url).status_code == HTTPStatus.OK
    _milestones(29)
    for _ in range(30):
        f.MilestoneRevisionFactory(milestone=f.MilestoneFactory(project=project))
    with django_assert_num_queries(queries):
        page = viewer_client.get(url).content.decode()
    if url_name == "milestone-timeline":
        assert len([row for row in _chart(page)["rows"] if not row.get("heading")]) == 60  # 30 + 30
    if url_name == "project":
        assert len(_chart_of_project(page)["rows"]) == 30


def _chart_of_project(page: str) -> dict:
    found = re.search(r'<script id="chart-timeline" type="application/json">(.*?)</script>', page, re.S)
    assert found
    return json.loads(found.group(1))


# --- The project page, the dashboard and the export ---------------------------------------------


def test_the_project_page_shows_slip_overdue_stale_and_today(viewer_client):
    """A project's page names its stage, gives the worst slip and the most overdue milestone, flags the
    stale forecast, and gives its chart today's date for the line."""
    book = _book()
    page = viewer_client.get(reverse("project", args=[book["mine"].pk])).content.decode()
    assert "Commercial production" in page
    assert "Commercial_production" not in page
    assert "Worst slip</dt><dd>+100 days" in page
    assert "Most overdue</dt><dd>+100 days" in page
    table = page[page.index("<table") :]
    assert "stale forecast" in _row(table, "Pit open")
    assert "stale forecast" not in _row(table, "Mill built")
    chart = _chart_of_project(page)
    assert chart["today"] == int(dt.datetime.combine(_today(), dt.time(0), tzinfo=dt.UTC).timestamp() * 1000)
    assert [(row["label"], row["stale"]) for row in chart["rows"]] == [("Mill built", False), ("Pit open", True)]


def test_the_dashboard_lists_give_slip_and_overdue(viewer_client):
    """The dashboard's late milestones give the slip and the days overdue, and the stale forecast; a
    deal's milestone is named by the deal's title, not its reference."""
    _book()
    page = viewer_client.get(reverse("dashboard")).content.decode()
    late = page[page.index("Late milestones") :]
    line = late[late.index("Pit open") : late.index("</li>", late.index("Pit open"))]
    assert "slip 0 days · overdue +100 days" in line
    assert "stale forecast" in line


def test_the_milestones_export_has_slip_overdue_and_stale(viewer_client):
    """The milestones export has the slip, the days overdue, the stale flag and the latest revision's
    date for each milestone."""
    _book()
    body = viewer_client.get(reverse("export-milestones", args=["csv"])).content.decode()
    rows = {row["title"]: row for row in csv.DictReader(io.StringIO(body))}
    pit, mill = rows["Pit open"], rows["Mill built"]
    assert (pit["slip_days"], pit["overdue_days"], pit["stale_forecast"], pit["last_revised_on"]) == (
        "0",
        "100",
        "True",
        "",
    )
    assert (mill["slip_days"], mill["overdue_days"], mill["stale_forecast"]) == ("100", "0", "False")
    assert mill["last_revised_on"] == _today().isoformat()
    assert rows["Closing long-stop"]["overdue_days"] == ""
