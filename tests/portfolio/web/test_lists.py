"""The list pages of companies, projects, agencies and SEC filings, and the search: their figures
are the book's, their filters and sorts answer bad input with a message, the search respects each
kind's permission, and no page's query count grows with its rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from portfolio import models as m
from portfolio.web import lists
from portfolio.web.list_forms import SearchForm
from tests import factories as f
from tests.portfolio.web.test_pages import BOOK, DEFAULT_DATE, HISTORY, LOGIN, _deal

pytestmark = pytest.mark.django_db


def _page(client, url_name: str, params: dict | None = None) -> str:
    response = client.get(reverse(url_name), params or {})
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def _row(page: str, text: str) -> str:
    """The table row of ``page`` holding ``text`` (not a filter's option of it)."""
    start = page.rindex("<tr", 0, page.index(text, page.index("<tbody")))
    return page[start : page.index("</tr>", start)]


# --- Figures -----------------------------------------------------------------------------------


def test_the_companies_list_shows_the_held_books_figures(viewer_client):
    """A company holding 1,000 shares valued at 10 USD (US$10,000), a loan with 1,000 drawn, on
    1,000,000 shares outstanding: value US$10,000, exposure US$11,000 and ownership 0.10 %, with
    its ticker, one deal and one project; a company with nothing held shows dashes, not zeros."""
    deal = _deal(company__name="Hand Worked Corp.")
    f.CompanyFactory(name="Nothing Held Inc.", country="CA")
    page = _page(viewer_client, "companies")
    row = _row(page, "Hand Worked Corp.")
    ticker = deal.company.listings.get().ticker
    assert ticker in row
    assert "United States" in row
    assert "US$10,000" in row
    assert "US$11,000" in row
    assert "0.10 %" in row
    assert row.count('<td class="num">1</td>') == 2  # one deal, one project
    empty = _row(page, "Nothing Held Inc.")
    assert "Canada" in empty
    assert "US$" not in empty
    assert "not listed" in empty


def test_the_agencies_list_shows_the_held_books_figures(viewer_client):
    """The agency of the hand-worked deal holds US$10,000 of shares it paid 8,000 for, and has lent
    1,000: held value US$10,000, invested US$8,000, exposure US$11,000; its parent is named."""
    parent = f.AgencyFactory(name="Department of Energy", short_name="DOE")
    _deal(agency__name="Loan Programs Office", agency__short_name="DOE-LPO", agency__parent=parent)
    row = _row(_page(viewer_client, "agencies"), "Loan Programs Office")
    assert "DOE-LPO" in row
    assert "Department of Energy" in row
    assert "United States" in row
    assert row.index("US$10,000") < row.index("US$8,000") < row.index("US$11,000")


def test_the_projects_list_counts_milestones_late_and_next(viewer_client):
    """A project with a milestone past its window, one achieved, one cancelled past its window and
    two ahead: five milestones, one late, the nearer one ahead next; labels, not codes."""
    today = timezone.now().date()
    project = f.ProjectFactory(
        name="Thacker Pass", country="CA", stage=m.ProjectStage.COMMERCIAL_PRODUCTION, kind=m.Project.Kind.METAL_ALLOY
    )
    project.commodities.add(f.CommodityFactory(code="lithium-carbonate", name="Lithium carbonate"))
    past = today - dt.timedelta(days=30)
    f.MilestoneFactory(project=project, title="Overdue", forecast_start=past, forecast_end=past)
    f.MilestoneFactory(project=project, title="Done", forecast_start=past, forecast_end=past, achieved_on=past,
                       status="achieved")  # fmt: skip
    f.MilestoneFactory(project=project, title="Dropped", forecast_start=past, forecast_end=past, status="cancelled")
    soon, later = today + dt.timedelta(days=10), today + dt.timedelta(days=100)
    f.MilestoneFactory(project=project, title="Later one", forecast_start=later, forecast_end=later)
    f.MilestoneFactory(project=project, title="Soon one", forecast_start=soon, forecast_end=soon)
    row = _row(_page(viewer_client, "projects"), "Thacker Pass")
    assert "Metal / alloy" in row
    assert "Commercial production" in row
    assert "Canada" in row
    assert "Lithium carbonate" in row
    assert '<td class="num">5</td>' in row
    assert '<span class="status late">1</span>' in row
    assert f'Soon one <small class="muted">by {soon}</small>' in row
    assert "commercial_production" not in row


def test_the_filings_list_says_when_the_check_last_ran_and_what_it_found(viewer_client):
    """Before any check the page says none has run; after one it gives the time, the run and what
    the filings step found; a later pipeline run (no filings step) does not replace it. Each filing
    links to its document without sending the referrer, its review status in words."""
    assert "The SEC filings check has not run yet" in _page(viewer_client, "filings")
    run = f.RefreshRunFactory(
        kind="filings",
        lock_key="filings",
        status="partial",
        started_at=dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC),
        finished_at=dt.datetime(2026, 11, 27, 6, 5, tzinfo=dt.UTC),
        counts={"shares": {"total": 3, "failed": 0, "written": 3, "revised": 0},
                "filings": {"total": 3, "failed": 1, "written": 2, "revised": 0}},
    )  # fmt: skip
    f.RefreshRunFactory()  # a later pipeline run checks no filings
    filing = f.FilingEventFactory(company__name="Filer Corp.", description="Current report", review_status="milestone")
    page = _page(viewer_client, "filings")
    line = page[page.index('id="filings-check"') : page.index("</p>", page.index('id="filings-check"'))]
    assert "SEC filings last checked 2026-11-27 06:05 UTC" in line
    assert f"refresh #{run.pk}" in line
    assert "succeeded with errors" in line
    assert "3 companies checked, 2 new filings" in line
    assert "1 could not be read" in line
    row = _row(page, "Filer Corp.")
    assert f'<a href="{filing.url}" rel="noopener noreferrer">Current report' in row
    assert "Reviewed, milestone recorded" in row
    assert "1.01,3.02" in row


def test_a_filings_check_that_failed_before_recording_says_so(viewer_client):
    """A filings run that failed before its step recorded anything is the last check, and the line
    says it stopped, with the run's reason."""
    f.RefreshRunFactory(kind="filings", lock_key="filings", status="failed", message="EDGAR unreachable",
                        finished_at=dt.datetime(2026, 11, 27, 6, 5, tzinfo=dt.UTC))  # fmt: skip
    page = _page(viewer_client, "filings")
    assert "the check stopped before it recorded what it found (EDGAR unreachable)" in page


# --- Filters and sorting -----------------------------------------------------------------------


def test_the_companies_list_filters(viewer_client):
    """Companies filter by name or ticker, country (by name), region and a held stake."""
    held = _deal(company__name="Held Lithium Corp.", company__country="CA").company
    f.CompanyFactory(name="Unheld Lithium Ltd.", country="AU")
    f.CompanyFactory(name="Magnet Works", country="US")
    ticker = held.listings.get().ticker
    page = _page(viewer_client, "companies", {"q": ticker.lower()})
    assert "Held Lithium Corp." in page
    assert "Unheld Lithium Ltd." not in page
    page = _page(viewer_client, "companies", {"q": "lithium"})
    assert "Held Lithium Corp." in page
    assert "Unheld Lithium Ltd." in page
    assert "Magnet Works" not in page
    page = _page(viewer_client, "companies", {"country": "AU"})
    assert '<option value="AU" selected>Australia</option>' in page
    assert "Unheld Lithium Ltd." in page
    assert "Held Lithium Corp." not in page
    page = _page(viewer_client, "companies", {"region": "elsewhere"})
    assert "Unheld Lithium Ltd." in page
    assert "Magnet Works" not in page
    page = _page(viewer_client, "companies", {"held": "on"})
    assert "Held Lithium Corp." in page
    assert "Unheld Lithium Ltd." not in page


def test_the_companies_list_sorts_by_value_with_the_unvalued_last(viewer_client):
    """By value, highest first or lowest first, companies with nothing held come last either way;
    by name by default."""
    _deal(company__name="Small Corp.")
    big = _deal(company__name="Big Corp.")
    m.Valuation.objects.filter(position__deal=big).update(value_usd=Decimal("50000"), value_local=Decimal("50000"))
    f.CompanyFactory(name="Aardvark None")
    page = _page(viewer_client, "companies", {"sort": "-value"})
    assert page.index("Big Corp.") < page.index("Small Corp.") < page.index("Aardvark None")
    page = _page(viewer_client, "companies", {"sort": "value"})
    assert page.index("Small Corp.") < page.index("Big Corp.") < page.index("Aardvark None")
    page = _page(viewer_client, "companies")
    assert page.index("Aardvark None") < page.index("Big Corp.") < page.index("Small Corp.")


def test_the_projects_list_filters_and_sorts(viewer_client):
    """Projects filter by name, company, commodity, stage and country; sort by stage in the
    lifecycle's order and by the number of late milestones."""
    early = f.ProjectFactory(name="Early mine", stage=m.ProjectStage.EXPLORATION, country="CA")
    late = f.ProjectFactory(name="Late plant", stage=m.ProjectStage.RAMP_UP, country="US")
    late.commodities.add(f.CommodityFactory(code="ndpr-oxide", name="NdPr oxide"))
    past = timezone.now().date() - dt.timedelta(days=5)
    f.MilestoneFactory(project=late, forecast_start=past, forecast_end=past)
    cases = [
        ({"q": "early"}, early),
        ({"company": early.company.pk}, early),
        ({"commodity": "ndpr-oxide"}, late),
        ({"stage": "ramp_up"}, late),
        ({"country": "CA"}, early),
    ]
    for params, shown in cases:
        page = _page(viewer_client, "projects", params)
        hidden = late if shown is early else early
        assert shown.name in page, params
        assert hidden.name not in page, params
    page = _page(viewer_client, "projects", {"sort": "-stage"})
    assert page.index("Late plant") < page.index("Early mine")
    page = _page(viewer_client, "projects", {"sort": "stage"})
    assert page.index("Early mine") < page.index("Late plant")
    page = _page(viewer_client, "projects", {"sort": "-late"})
    assert page.index("Late plant") < page.index("Early mine")


def test_the_agencies_list_sorts_and_searches_aliases(viewer_client):
    """Agencies sort by held value (the unvalued last) and are found by another name they go by."""
    _deal(agency__name="Office of Strategic Capital", agency__short_name="DOD-OSC")
    f.AgencyAliasFactory(agency=m.Agency.objects.get(short_name="DOD-OSC"), alias="Department of War")
    f.AgencyFactory(name="A quiet fund", short_name="AQF")
    page = _page(viewer_client, "agencies", {"sort": "-value"})
    assert page.index("Office of Strategic Capital") < page.index("A quiet fund")
    page = _page(viewer_client, "agencies", {"q": "war"})
    assert "Office of Strategic Capital" in page
    assert "A quiet fund" not in page


def test_the_filings_list_filters_and_sorts(viewer_client):
    """Filings filter by company, form, review status and a date range, and sort by date, company
    or form."""
    a = f.FilingEventFactory(company__name="Alpha Corp.", form="8-K", filed_on=dt.date(2026, 1, 5))
    b = f.FilingEventFactory(company__name="Beta Corp.", form="10-Q", filed_on=dt.date(2026, 3, 5),
                             review_status="reviewed")  # fmt: skip
    cases = [
        ({"company": a.company.pk}, a),
        ({"form": "10-Q"}, b),
        ({"review": "new"}, a),
        ({"filed_from": "2026-02-01"}, b),
        ({"filed_to": "2026-02-01"}, a),
        ({"filed_from": "2026-01-01", "filed_to": "2026-01-31"}, a),
    ]
    for params, shown in cases:
        page = _page(viewer_client, "filings", params)
        hidden = b if shown is a else a
        assert shown.url in page, params
        assert hidden.url not in page, params
    page = _page(viewer_client, "filings")
    assert page.index(b.url) < page.index(a.url)  # newest first
    page = _page(viewer_client, "filings", {"sort": "filed"})
    assert page.index(a.url) < page.index(b.url)
    page = _page(viewer_client, "filings", {"sort": "-company"})
    assert page.index(b.url) < page.index(a.url)
    page = _page(viewer_client, "filings", {"sort": "form"})
    assert page.index(b.url) < page.index(a.url)  # 10-Q before 8-K


@pytest.mark.parametrize(
    ("url_name", "params", "message"),
    [
        ("companies", {"sort": "bogus"}, "Unknown sort; showing by name."),
        ("companies", {"country": "ZZ"}, "Select a valid choice"),
        ("companies", {"region": "mars"}, "Select a valid choice"),
        ("companies", {"q": "x" * 101}, "Search for at most 100 characters."),
        ("projects", {"sort": "-"}, "Unknown sort; showing by name."),
        ("projects", {"company": "abc"}, "Select a valid choice"),
        ("projects", {"commodity": "unobtainium"}, "Select a valid choice"),
        ("projects", {"stage": "bogus"}, "Select a valid choice"),
        ("agencies", {"sort": "-value-"}, "Unknown sort; showing by name."),
        ("agencies", {"q": "x" * 101}, "Search for at most 100 characters."),
        ("filings", {"sort": "accession"}, "Unknown sort; showing the newest first."),
        ("filings", {"filed_from": "yesterday"}, "Enter a valid date."),
        ("filings", {"filed_from": "2026-03-01", "filed_to": "2026-01-01"}, "The range ends before it starts"),
        ("filings", {"review": "ignored"}, "Select a valid choice"),
        ("filings", {"company": "99999999"}, "Select a valid choice"),
        ("filings", {"page": "last-but-one"}, "SEC filings"),
    ],
)
def test_bad_list_input_gets_a_message_and_filters_nothing(viewer_client, url_name, params, message):
    """An unknown sort, an unknown choice, a malformed date, a reversed range or an overlong search
    is answered on the page with a message (role alert) and the whole list, not an error page."""
    _deal(company__name="Shown Anyway Corp.")
    f.FilingEventFactory(company=m.Company.objects.get(name="Shown Anyway Corp."))
    page = _page(viewer_client, url_name, params)
    assert message in page
    if url_name != "filings" or "page" not in params:
        assert 'role="alert"' in page
    shown = {"companies": "Shown Anyway Corp.", "projects": "Project", "agencies": "Investing Agency"}
    assert shown.get(url_name, "Shown Anyway Corp.") in page


@pytest.mark.parametrize(
    ("url_name", "columns"),
    [
        ("companies", lists.COMPANY_COLUMNS),
        ("projects", lists.PROJECT_COLUMNS),
        ("agencies", lists.AGENCY_COLUMNS),
        ("filings", lists.FILING_COLUMNS),
    ],
)
def test_every_column_sorts_both_ways(viewer_client, url_name, columns):
    """Every sortable column of each list page answers up and down, its header marked as sorted."""
    deal = _deal()
    f.FilingEventFactory(company=deal.company)
    f.CompanyFactory()
    f.AgencyFactory(parent=deal.agency)
    for key in columns:
        for param in (key, f"-{key}"):
            page = _page(viewer_client, url_name, {"sort": param})
            assert "Unknown sort" not in page, param
            direction = "descending" if param.startswith("-") else "ascending"
            assert f'aria-sort="{direction}"' in page, param


def test_list_pages_keep_filters_and_sort_across_pages(viewer_client):
    """With more rows than a page, the next page's link keeps the filter and the sort, and the sort
    headers keep the filter."""
    for i in range(30):
        f.FilingEventFactory(company__name=f"Pager {i:02d}", form="8-K")
    page = _page(viewer_client, "filings", {"form": "8-K", "sort": "company"})
    assert "Page 1 of 2 (30 in all)" in page
    assert "form=8-K&amp;sort=company&amp;page=2" in page
    assert 'href="?form=8-K&amp;sort=-company"' in page


# --- Search ------------------------------------------------------------------------------------


def _lithium(i: int) -> m.Deal:
    """A deal, its company, agency, project and a milestone, each with "Lithium" in its name."""
    deal = _deal(
        title=f"Lithium deal {i:02d}",
        company__name=f"Lithium Corp {i:02d}",
        agency__name=f"Lithium Agency {i:02d}",
        agency__short_name=f"LITH-{i:02d}",
    )
    project = deal.projects.get()
    project.name = f"Lithium mine {i:02d}"
    project.save()
    f.MilestoneFactory(project=project, title=f"Lithium plant {i:02d} commissioned")
    return deal


def test_search_finds_each_kind(viewer_client):
    """A word found in a company, a deal, a project, a milestone and an agency lists each under its
    kind with its count, whatever the case, each linking to its page."""
    deal = _lithium(1)
    project = deal.projects.get()
    page = _page(viewer_client, "search", {"q": "LITHIUM"})
    assert "5 records found" in page
    for heading in ("Companies (1)", "Deals (1)", "Projects (1)", "Milestones (1)", "Agencies (1)"):
        assert heading in page
    assert f'href="{reverse("company", args=[deal.company.pk])}"' in page
    assert f'href="{reverse("deal", args=[deal.reference])}"' in page
    assert f'href="{reverse("project", args=[project.pk])}"' in page
    assert f'href="{reverse("agency", args=[deal.agency.short_name])}"' in page
    assert "Lithium plant 01 commissioned" in page


def test_search_finds_a_company_by_ticker_the_exact_ticker_first(viewer_client):
    """Searching "MP" lists the company whose ticker is MP before one whose ticker only contains
    it, and one whose name contains it (the deal's "Company … Corp."); an alias finds its agency; a
    reference finds its deal."""
    f.ListingFactory(company__name="Aaa Holdings", ticker="AMPX")
    f.ListingFactory(company__name="Zed Materials", ticker="MP")
    deal = f.DealFactory(reference="tmq-dow-2025", title="Trilogy Metals stake")
    f.AgencyAliasFactory(agency=deal.agency, alias="Department of War")
    page = _page(viewer_client, "search", {"q": "mp"})
    companies = page[page.index("Companies (3)") :]
    assert companies.index("Zed Materials") < companies.index("Aaa Holdings") < companies.index(deal.company.name)
    assert '<span class="badge">ticker</span>' in companies[: companies.index("Aaa Holdings")]
    assert "Trilogy Metals stake" in _page(viewer_client, "search", {"q": "TMQ-DOW"})
    assert deal.agency.name in _page(viewer_client, "search", {"q": "of war"})


def test_search_shows_ten_of_each_kind_and_links_to_the_rest(viewer_client):
    """With 12 matches of each kind, ten of each are shown with the count of all, and a link to the
    kind's list page searching the same text, where they all are."""
    for i in range(12):
        _lithium(i)
    page = _page(viewer_client, "search", {"q": "lithium"})
    assert "Companies (12)" in page
    assert "Lithium Corp 09" in page
    assert "Lithium Corp 10" not in page
    for url_name in ("companies", "deals", "projects", "milestones", "agencies"):
        assert f'href="{reverse(url_name)}?q=lithium"' in page, url_name
    assert "(10 of 12 shown here)" in page
    assert "Lithium Corp 11" in _page(viewer_client, "companies", {"q": "lithium"})
    assert "Lithium mine 11" in _page(viewer_client, "projects", {"q": "lithium"})
    assert "Lithium Agency 11" in _page(viewer_client, "agencies", {"q": "lithium"})


def test_search_shows_only_what_the_user_may_view(client):
    """A user who may view everything but milestones finds no milestone; one who may view deals only
    finds deals only; one who may view nothing is refused."""
    _lithium(1)
    viewer = Group.objects.get(name="Viewer")
    no_milestones = Group.objects.create(name="No milestones")
    no_milestones.permissions.set(viewer.permissions.exclude(codename="view_milestone"))
    user = f.UserFactory(username="nomilestones")
    user.groups.add(no_milestones)
    client.force_login(user)
    page = _page(client, "search", {"q": "lithium"})
    assert "Deals (1)" in page
    assert "Milestones" not in page[page.index("<main") :]
    assert "Lithium plant 01" not in page
    deals_only = f.UserFactory(username="dealsonly")
    deals_only.user_permissions.add(Permission.objects.get(codename="view_deal"))
    client.force_login(deals_only)
    page = _page(client, "search", {"q": "lithium"})
    assert "Deals (1)" in page
    assert "Companies (" not in page
    assert "Projects (" not in page
    assert "Agencies (" not in page
    client.force_login(f.UserFactory(username="nobody"))
    assert client.get(reverse("search"), {"q": "lithium"}).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Type a company, ticker, deal, project, milestone or agency to search for."),
        ("    ", "Type a company, ticker, deal, project, milestone or agency to search for."),
        ("x" * 101, "Search for at most 100 characters."),
    ],
)
def test_search_refuses_empty_and_overlong_text_with_a_message(viewer_client, query, message):
    """An empty query, one of spaces only and one over 100 characters are answered with a message
    and no results."""
    _lithium(1)
    page = _page(viewer_client, "search", {"q": query})
    assert message in page
    assert "records found" not in page
    assert "Lithium deal 01" not in page


def test_search_says_when_nothing_is_found_and_what_it_searches_before_asked(viewer_client):
    """Nothing found is said as such; the page without a query says what it searches."""
    page = _page(viewer_client, "search", {"q": "zzz"})
    assert "Nothing found for “zzz”" in page
    page = _page(viewer_client, "search")
    assert "Searches the names and titles of companies, deals, projects, milestones, agencies" in page
    assert 'role="alert"' not in page


def test_search_refuses_nul_characters(viewer_client):
    """A NUL character in the query is refused (400) before any view runs, and the form refuses it
    too."""
    response = viewer_client.get(reverse("search"), {"q": "lith\x00ium"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    form = SearchForm({"q": "lith\x00ium"})
    assert not form.is_valid()
    assert "Null characters are not allowed." in form.errors["q"]


def test_search_treats_like_wildcards_as_text(viewer_client):
    """% and _ are searched as themselves, not as wildcards that match everything."""
    _lithium(1)
    for query in ("%", "_"):
        assert "Nothing found" in _page(viewer_client, "search", {"q": query}), query


# --- Query counts ------------------------------------------------------------------------------


def _companies(n: int) -> None:
    for _ in range(n):
        _deal()


def _projects(n: int) -> None:
    for _ in range(n):
        project = _deal().projects.get()
        past = timezone.now().date() - dt.timedelta(days=3)
        f.MilestoneFactory(project=project, forecast_start=past, forecast_end=past)


def _filings(n: int) -> None:
    for _ in range(n):
        f.FilingEventFactory()
    f.RefreshRunFactory(kind="filings", lock_key="filings", counts={"filings": {"total": n, "written": n}})


def _search(n: int) -> None:
    start = m.Deal.objects.count()
    for i in range(start, start + n):
        _lithium(i)


#: The exact number of queries of each page, the same with 1 row and with 30.
LIST_QUERIES = {
    # the book by company (with the instruments behind the ownership) and its value history; the
    # country filter's choices; the count and the page of companies with their deals and projects
    # counted; their listings
    "companies": (LOGIN + DEFAULT_DATE + BOOK + HISTORY + 1 + 1 + 2 + 1, _companies),  # 29
    # the country filter's choices; the count and the page of projects with their company and their
    # milestones counted; their commodities; the company and commodity filters' choices
    "projects": (LOGIN + 1 + 2 + 1 + 2, _projects),  # 10
    # the book by agency and its value history; the count and the page of agencies with their
    # parents and their deals counted
    "agencies": (LOGIN + DEFAULT_DATE + BOOK + HISTORY + 2, _companies),  # 26
    # the form filter's choices; the count and the page of filings with their companies; the last
    # check; the company filter's choices
    "filings": (LOGIN + 1 + 2 + 1 + 1, _filings),  # 9
    # each kind's first ten with the count of all (one query each), the companies' listings
    "search": (LOGIN + 5 + 1, _search),  # 10
}


@pytest.mark.parametrize("url_name", LIST_QUERIES)
def test_list_query_count_is_the_same_with_1_and_30_rows(viewer_client, url_name, django_assert_num_queries):
    """Each list page and the search cost exactly the queries counted in LIST_QUERIES with one row
    and with 30: a query per row fails here."""
    expected, make = LIST_QUERIES[url_name]
    url = reverse(url_name) + ("?q=lithium" if url_name == "search" else "")
    make(1)
    with django_assert_num_queries(expected) as one:
        assert viewer_client.get(url).status_code == HTTPStatus.OK
    make(29)
    with django_assert_num_queries(expected) as thirty:
        page = viewer_client.get(url)
        assert page.status_code == HTTPStatus.OK
    assert len(one.captured_queries) == len(thirty.captured_queries)
    assert "(30 in all)" in page.content.decode() or "(30)" in page.content.decode()
