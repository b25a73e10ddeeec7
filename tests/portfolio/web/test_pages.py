"""Staff pages: login required, roles enforced, bad input answered clearly, constant query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from portfolio import models as m
from portfolio.services.refresh import refresh_request
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 27)


def _deal(**kwargs):
    """A deal with a valued position, a cash flow, a loan, a project with a milestone."""
    deal = f.DealFactory(**kwargs)
    project = f.ProjectFactory(company=deal.company)
    project.commodities.add(f.CommodityFactory(code="ndpr-oxide", name="NdPr oxide"))
    deal.projects.add(project)
    position = f.PositionFactory(deal=deal, quantity=Decimal("1000"))
    m.SecurityPrice.objects.get_or_create(listing=position.listing, on=AS_OF, source="manual", defaults={"close": 10})
    f.ValuationFactory(
        position=position,
        as_of=AS_OF,
        value_local=Decimal("10000"),
        value_usd=Decimal("10000"),
        formula="1,000 shares x 10.0000 USD = 10,000.00",
    )
    f.CashFlowFactory(position=position, amount=Decimal("8000"))
    loan = f.LoanFactory(deal=deal)
    m.LoanEvent.objects.create(loan=loan, kind="draw", occurred_on=dt.date(2025, 8, 1), amount=Decimal("1000"))
    m.Guarantee.objects.create(deal=deal, label="Minimum EBITDA", amount_per_year=Decimal("100"))
    f.PriceFloorFactory(deal=deal, commodity=m.Commodity.objects.get(code="ndpr-oxide"))
    m.ShareCount.objects.get_or_create(company=deal.company, as_of=dt.date(2025, 1, 1), shares=Decimal("1000000"))
    f.MilestoneFactory(project=project)
    return deal


def _pages(deal):
    project = deal.projects.first()
    run = f.RefreshRunFactory()
    published = f.PublishedReportFactory()
    return [
        reverse("dashboard"),
        reverse("deals"),
        reverse("deal", args=[deal.reference]),
        reverse("company", args=[deal.company.pk]),
        reverse("project", args=[project.pk]),
        reverse("agency", args=[deal.agency.short_name]),
        reverse("milestones"),
        reverse("milestone-timeline"),
        reverse("refresh-runs"),
        reverse("refresh-run", args=[run.pk]),
        reverse("report"),
        reverse("reports"),
        reverse("published-report", args=[published.pk]),
        reverse("export-positions", args=["csv"]),
        reverse("export-cash-flows", args=["xlsx"]),
        reverse("export-milestones", args=["csv"]),
        reverse("companies"),
        reverse("projects"),
        reverse("agencies"),
        reverse("filings"),
        reverse("search") + "?q=deal",
        reverse("changes"),
        reverse("export-bridge", args=["csv"]),
    ]


def test_every_page_answers_a_viewer(viewer_client):
    """Every staff page and export answers a viewer with 200."""
    for url in _pages(_deal()):
        response = viewer_client.get(url)
        assert response.status_code == HTTPStatus.OK, url


def test_every_page_sends_anonymous_visitors_to_the_login(client):
    """Every staff page and export sends an anonymous visitor to the login page rather than showing
    anything."""
    for url in _pages(_deal()):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"].startswith(reverse("login")), url


def test_a_user_without_a_role_is_refused(client):
    """A logged-in user without a role is refused every page and export (403): an account alone gives no
    access."""
    client.force_login(f.UserFactory(username="nobody"))
    for url in _pages(_deal()):
        assert client.get(url).status_code == HTTPStatus.FORBIDDEN, url


def test_login_with_the_form_then_logout(client):
    """A wrong password shows the form again with the error; the right one leads to the dashboard;
    logging out leads to the login page and the dashboard is closed again."""
    f.UserFactory(username="ana", password="a long password for ana")
    response = client.post(reverse("login"), {"username": "ana", "password": "wrong"})
    assert response.status_code == HTTPStatus.OK
    assert "Please enter a correct username and password" in response.content.decode()
    response = client.post(reverse("login"), {"username": "ana", "password": "a long password for ana"})
    assert response["Location"] == reverse("dashboard")
    assert client.post(reverse("logout"))["Location"] == reverse("login")
    assert client.get(reverse("dashboard")).status_code == HTTPStatus.FOUND


def test_password_change(client):
    """A user changes their own password with the old one, and the new one is the one kept."""
    user = f.UserFactory(username="ana", password="a long password for ana")
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "a long password for ana",
            "new_password1": "another long secret 42",
            "new_password2": "another long secret 42",
        },
    )
    assert response["Location"] == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password("another long secret 42")


def test_a_viewer_sees_no_refresh_button_and_cannot_start_one(viewer_client):
    """A viewer is offered no refresh button, and posting to start one anyway is refused with no run
    recorded."""
    page = viewer_client.get(reverse("refresh-runs")).content.decode()
    assert "Refresh now" not in page
    assert viewer_client.post(reverse("refresh-start")).status_code == HTTPStatus.FORBIDDEN
    assert not m.RefreshRun.objects.exists()


def test_an_analyst_starts_a_refresh_and_a_second_is_refused_with_the_reason(analyst_client, analyst):
    """An analyst starts a pipeline refresh from the page and is sent to its progress; a second one
    while it runs is refused, the page naming the active run, and the refusal recorded."""
    assert "Refresh now" in analyst_client.get(reverse("dashboard")).content.decode()
    response = analyst_client.post(reverse("refresh-start"))
    run = m.RefreshRun.objects.get()
    assert response["Location"] == reverse("refresh-run", args=[run.pk])
    assert (run.kind, run.trigger, run.requested_by) == ("pipeline", "web", analyst)
    second = analyst_client.post(reverse("refresh-start"), follow=True)
    assert f"A refresh is already in progress: refresh #{run.pk}" in second.content.decode()
    assert m.RefreshRun.objects.filter(status="refused").count() == 1


def test_refresh_progress_fragment_polls_while_running_and_stops_when_done(viewer_client):
    """The run's progress fragment asks to be reloaded every second while the run is active and stops
    asking once it has succeeded."""
    run = refresh_request(kind="pipeline", trigger="web")
    fragment = viewer_client.get(reverse("refresh-run", args=[run.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in fragment
    assert "<html" not in fragment
    m.RefreshRun.objects.filter(pk=run.pk).update(status="succeeded", progress_done=5, progress_total=5)
    done = viewer_client.get(reverse("refresh-run", args=[run.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done
    assert 'data-run-status="succeeded"' in done


def test_the_deal_page_explains_each_value(viewer_client):
    """The deal page shows each position's value with the formula that gives it."""
    deal = _deal()
    page = viewer_client.get(reverse("deal", args=[deal.reference])).content.decode()
    assert "1,000 shares x 10.0000 USD = 10,000.00" in page
    assert "US$10,000" in page


def test_the_deal_page_as_of_a_past_date(viewer_client):
    """As of a past date the deal page shows that day's stored valuation; on a day with neither a
    valuation nor a recent close it says there is no value and why, rather than showing an older one."""
    deal = _deal()
    position = deal.positions.get()
    f.ValuationFactory(
        position=position,
        as_of=dt.date(2026, 6, 30),
        value_local=Decimal("7000"),
        value_usd=Decimal("7000"),
        formula="past value",
    )
    page = viewer_client.get(reverse("deal", args=[deal.reference]), {"as_of": "2026-06-30"}).content.decode()
    assert "past value" in page
    assert "US$7,000" in page
    # No valuation stored for 2026-07-15 and no close within ten days of it: said, not guessed.
    page = viewer_client.get(reverse("deal", args=[deal.reference]), {"as_of": "2026-07-15"}).content.decode()
    assert "No value on 2026-07-15: no close for" in page
    assert "US$7,000" not in page


@pytest.mark.parametrize(
    ("url_name", "params", "message"),
    [
        ("dashboard", {"as_of": "2999-01-01"}, "Choose a date from 1990-01-01 to today"),
        ("dashboard", {"as_of": "yesterday"}, "Enter a valid date."),
        ("deals", {"country": "USA"}, "Use a two-letter country code"),
        ("deals", {"agency": "NOPE"}, "Select a valid choice"),
    ],
)
def test_bad_input_gets_a_clear_message(viewer_client, url_name, params, message):
    """A date out of range or unreadable, a malformed country code or an unknown agency in a filter is
    answered on the page with a message saying what to give, not with an error page."""
    _deal()
    response = viewer_client.get(reverse(url_name), params)
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()


def test_unknown_things_are_404(viewer_client):
    """An unknown deal, export format or company is a 404."""
    assert viewer_client.get(reverse("deal", args=["no-such-deal"])).status_code == HTTPStatus.NOT_FOUND
    assert viewer_client.get(reverse("export-positions", args=["pdf"])).status_code == HTTPStatus.NOT_FOUND
    assert viewer_client.get(reverse("company", args=[999999])).status_code == HTTPStatus.NOT_FOUND


def test_deals_list_filters(viewer_client):
    """The deals list filters by country whatever its case, and searches titles as well as sorting by
    value."""
    lithium = _deal(title="Lithium deal", company__country="CA")
    _deal(title="Magnet deal", company__country="US")
    page = viewer_client.get(reverse("deals"), {"country": "ca"}).content.decode()
    assert "Lithium deal" in page
    assert "Magnet deal" not in page
    page = viewer_client.get(reverse("deals"), {"q": "magnet", "sort": "value"}).content.decode()
    assert "Magnet deal" in page
    assert lithium.title not in page


def test_exports_contain_the_rows(viewer_client):
    """The positions CSV holds each position with its value and method, as a named attachment; the
    cash-flows workbook holds the flows under their column headings."""
    deal = _deal()
    response = viewer_client.get(reverse("export-positions", args=["csv"]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Disposition"] == 'attachment; filename="lodestone-positions.csv"'
    assert [(r["deal"], r["value_usd"], r["method"]) for r in rows] == [(deal.reference, "10000.00", "market")]
    workbook = load_workbook(io.BytesIO(viewer_client.get(reverse("export-cash-flows", args=["xlsx"])).content))
    sheet = workbook.active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:5] == ("deal", "instrument", "date", "kind", "amount")
    assert values[1][0] == deal.reference
    assert values[1][4] == 8000


#: Every page of a logged-in viewer begins with 4 queries: the session, the user, and the
#: permissions the user holds directly and through its role.
LOGIN = 4
#: The default date (``default_as_of``): the last completed valuation run's date, the last valuation's.
DEFAULT_DATE = 2
#: What a book reads whatever its date (``BookSource``): deals, positions, the kept ledgers, loans,
#: guarantees, price floors, project-commodity weights, project commodities, deal-project weights,
#: deal projects and the floors' reported payments. A page showing several dates or books reads it
#: once (``one_source``).
SOURCE = 11
#: What the book of a date reads beside it: commodity prices, the day's valuations, loan events,
#: production figures and share counts.
DATED = 5
#: The book on a date, loaded in bulk (``book_on``). The tests write records first, and every record
#: saved retires the cached figures, so each page here computes them: the counts are of the
#: computing path, not the cached one.
BOOK = SOURCE + DATED
#: The value history behind a time-weighted return: the held value summed by day, and the first
#: valuation's date; one more sum by day for each other dimension shown.
HISTORY = 2
#: The freshness line (dashboard and report): the listings whose price is not current, the last
#: snapshot, the last refresh run.
FRESHNESS = 3
#: The values computed on request for a date no refresh stored (the positions, their closes,
#: manual marks and cash flows): the tiles' change reads the book of the period's start (a week
#: before by default), for which the tests store no valuation.
ON_REQUEST = 4
#: The book of the change's start (beside the page's own: what is not dated is read once), valued on
#: request, for the one dimension the tiles show, without a time-weighted return (each page adds
#: what its dimension needs beside it).
CHANGE = DATED + ON_REQUEST
#: The exact number of queries of each page, the same with 1 deal and with 30 (nothing per row).
PAGE_QUERIES = {
    # the book by the dashboard's six dimensions, with the value history of the total (the
    # allocations show value and exposure, no return); the value series by agency over the year;
    # unreviewed filings and their count; milestones due and their count; late milestones and their
    # count; the names of the commodities and agencies allocated (the series by agency are labelled
    # by short name); the book of the change's start
    "dashboard": LOGIN + DEFAULT_DATE + BOOK + HISTORY + 1 + 2 + 4 + FRESHNESS + 2 + CHANGE,  # 45
    # every matching deal (the totals row sums them all), the book for their values (with the deals'
    # instruments for their ownership), the agency and commodity filters' choices
    "deals": LOGIN + DEFAULT_DATE + 1 + BOOK + 1 + 2,  # 26
    # the deal with its agency and company; its positions, loans, their events, guarantees, floors,
    # offtakes, grants, documents, milestones and projects; the book (with the deal's instruments
    # for its ownership) and the deal's value history; the company's share count of the day; its
    # positions' valuations, its history, the loans' events up to the day and its cash flows; the
    # book of the change's start by deal (with the deal's instruments for its ownership)
    "deal": LOGIN + 1 + 10 + DEFAULT_DATE + BOOK + 1 + HISTORY + 1 + 4 + CHANGE + 1,  # 51
    # the company; its listings, their currencies and its projects; the primary listing's prices
    # of the last year; its deals with their agencies; its share counts; the held book by company
    # with its value history and the instruments behind the ownership, and the same of all books
    # (the same book of the date; no value history: only the held book has a return); the share
    # count in force that day; the held book of the change's start by company (with the
    # instruments behind the ownership)
    "company": LOGIN + 1 + 3 + 1 + 1 + 1 + DEFAULT_DATE + (BOOK + HISTORY + 1) + 1 + 1 + CHANGE + 1,  # 44
    # the project with its company; its commodities, deals and their agencies; its milestones
    "project": LOGIN + 1 + 3 + 1,  # 9
    # the agency with its parent, and its aliases; its deals; the book of the date (all books by
    # deal for the deals' rows, with the deals' instruments for their ownership; the held book by
    # agency for the agency's figures, two cache entries) and the value history; the held book of
    # the change's start by agency
    "agency": LOGIN + 2 + DEFAULT_DATE + 1 + BOOK + 1 + HISTORY + CHANGE,  # 37
    # the count and the page (with each milestone's latest revision date); the agency, company and
    # deal filters' choices
    "milestones": LOGIN + 2 + 3,  # 9
    "milestone-timeline": LOGIN + 2 + 3,  # 9: the same, on the portfolio timeline
    "refresh-runs": LOGIN + 2,  # 6: the count and the page
    "refresh-run": LOGIN + 1,  # 5: the run with who asked for it
    # the book by agency, company (with the instruments behind the ownership) and instrument with
    # their value histories; late milestones; the agencies' names
    "report": LOGIN + DEFAULT_DATE + BOOK + HISTORY + 3 + 1 + 1 + FRESHNESS + 1 + 1,  # 34: the scenarios to choose from
    # the book and the value history; the positions and their valuations of the day
    "export-positions": LOGIN + DEFAULT_DATE + BOOK + HISTORY + 2,  # 26
    # the held book by deal (with the instruments behind the ownership) and its value history; the
    # deals' agencies and companies
    "export-exposure": LOGIN + DEFAULT_DATE + BOOK + 1 + HISTORY + 1,  # 26
    "export-cash-flows": LOGIN + 1,  # 5: the cash flows with their positions and deals
    "export-milestones": LOGIN + 1,  # 5: the milestones with their projects and deals
}


@pytest.mark.parametrize("url_name", PAGE_QUERIES)
def test_query_count_is_the_same_with_1_and_30_deals(viewer_client, url_name, django_assert_num_queries):
    """Each page costs exactly the queries counted in PAGE_QUERIES, with one deal and with 30 deals
    and more of everything a page lists: an N+1 query, or one more query added, fails here."""
    first = _deal()
    args = {
        "deal": [first.reference],
        "company": [first.company.pk],
        "project": [first.projects.first().pk],
        "agency": [first.agency.short_name],
        "export-positions": ["csv"],
        "export-exposure": ["xlsx"],
        "export-cash-flows": ["csv"],
        "export-milestones": ["xlsx"],
        "refresh-run": [f.RefreshRunFactory().pk],
    }.get(url_name, [])
    url = reverse(url_name, args=args)

    with django_assert_num_queries(PAGE_QUERIES[url_name]):
        assert viewer_client.get(url).status_code == HTTPStatus.OK
    for _ in range(29):
        _deal(agency=first.agency, company=first.company)
    # and more of everything the detail pages list, on the first deal and its project
    project = first.projects.first()
    for i in range(5):
        position = f.PositionFactory(deal=first, warrant=True)
        f.ValuationFactory(position=position, as_of=AS_OF)
        f.CashFlowFactory(position=position, occurred_on=dt.date(2026, 1, 1) + dt.timedelta(days=i))
        f.LoanFactory(deal=first)
        f.MilestoneFactory(project=project)
        f.DealDocumentFactory(deal=first)
        f.RefreshRunFactory()
        f.FilingEventFactory()
    with django_assert_num_queries(PAGE_QUERIES[url_name]):
        assert viewer_client.get(url).status_code == HTTPStatus.OK


def test_a_deals_value_sums_each_positions_value_of_the_day(viewer_client):
    """One position valued by a refresh (10,000), another with no stored valuation of the day,
    computed on request from the day's close (10 units x 10 = 100): the deal is worth 10,100, and
    filtering by commodity (two projects with it) does not count anything twice."""
    deal = _deal(title="Two-position deal")
    second = f.PositionFactory(deal=deal, quantity=Decimal("10"))
    f.ValuationFactory(
        position=second, as_of=AS_OF - dt.timedelta(days=1), value_local=Decimal("500"), value_usd=Decimal("500")
    )
    other_project = f.ProjectFactory(company=deal.company)
    other_project.commodities.add(m.Commodity.objects.get(code="ndpr-oxide"))
    deal.projects.add(other_project)
    for params in ({}, {"commodity": "ndpr-oxide"}):
        page = viewer_client.get(reverse("deals"), params).content.decode()
        assert "US$10,100" in page, params


def test_deals_sorted_by_value_put_unvalued_deals_last(viewer_client):
    """Sorted by value, deals with a value come first and deals without one last, rather than counting
    as zero or failing."""
    _deal(title="Valued deal")
    f.DealFactory(title="Unvalued deal")
    page = viewer_client.get(reverse("deals"), {"sort": "value"}).content.decode()
    assert page.index("Valued deal") < page.index("Unvalued deal")


def test_text_that_a_spreadsheet_would_run_is_neutralised(viewer_client):
    """A memo a spreadsheet would run as a formula is exported with a leading apostrophe, so opening the
    CSV cannot run it."""
    deal = _deal()
    flow = m.CashFlow.objects.get(position__deal=deal)
    flow.memo = '=HYPERLINK("http://example.com","click")'
    flow.save()
    body = viewer_client.get(reverse("export-cash-flows", args=["csv"])).content.decode()
    assert "'=HYPERLINK" in body
    assert ",=HYPERLINK" not in body


def test_control_characters_that_a_worksheet_cannot_hold_are_replaced_in_xlsx(viewer_client):
    """A memo pasted with a form feed and an escape took the XLSX export down (openpyxl refuses
    them); the worksheet shows each as the replacement character, the CSV keeps them as they are."""
    deal = _deal()
    flow = m.CashFlow.objects.get(position__deal=deal)
    flow.memo = "Tranche\x0c1\x1b"
    flow.save()
    response = viewer_client.get(reverse("export-cash-flows", args=["xlsx"]))
    assert response.status_code == HTTPStatus.OK
    values = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert values[1][8] == "Tranche\ufffd1\ufffd"
    body = viewer_client.get(reverse("export-cash-flows", args=["csv"])).content.decode()
    assert "Tranche\x0c1\x1b" in body


def test_the_milestones_board_says_when_a_filter_is_not_understood(viewer_client):
    """An unknown status in the milestones board's filter is answered with a message, not ignored."""
    page = viewer_client.get(reverse("milestones"), {"status": "bogus"}).content.decode()
    assert "Select a valid choice" in page


def test_a_milestone_past_its_window_is_late_on_the_dashboard_before_the_daily_job(viewer_client):
    """A milestone whose window has passed shows as late on the dashboard, with its days overdue on the
    board, before the daily job has updated its stored status."""
    _deal()
    overdue = f.MilestoneFactory(
        title="Power line live",
        forecast_text="Q2 2026",
        forecast_start=dt.date(2026, 4, 1),
        forecast_end=dt.date(2026, 6, 30),
        baseline_start=dt.date(2026, 4, 1),
        baseline_end=dt.date(2026, 6, 30),
        status="on_track",
    )
    page = viewer_client.get(reverse("dashboard")).content.decode()
    late_section = page[page.index("Late milestones") :]
    assert "Power line live" in late_section
    board = viewer_client.get(reverse("milestones")).content.decode()
    slipped = (dt.datetime.now(tz=dt.UTC).date() - dt.date(2026, 6, 30)).days
    assert f"+{slipped} days" in board[board.index("Power line live") :]  # overdue to today
    overdue.refresh_from_db()
    assert overdue.status == "on_track"  # shown late although the daily job has not run


def test_the_dashboard_says_how_many_positions_are_valued_on_a_past_date(viewer_client):
    """On a past date where one position has no price, the dashboard says how many positions could be
    valued and why the other could not."""
    deal = _deal()
    f.PositionFactory(deal=deal, listing=f.ListingFactory(company=deal.company, is_primary=False))  # no prices
    page = viewer_client.get(reverse("dashboard"), {"as_of": str(AS_OF)}).content.decode()
    assert "1 of 2 positions could be valued on this date" in page
    assert "no close for" in page


def test_the_report_shows_returns_and_freshness(viewer_client):
    """The printable report shows the XIRR, the time-weighted return and the last refresh."""
    _deal()
    f.RefreshRunFactory(status="succeeded")
    page = viewer_client.get(reverse("report")).content.decode()
    assert "XIRR" in page
    assert "Time-weighted return" in page
    assert "Last refresh #" in page


def test_the_dashboard_lists_the_most_urgent_milestones_and_counts_them_all(viewer_client):
    """A large book has thousands of late milestones: the dashboard shows the 15 longest overdue and
    links to the rest, at the same number of queries."""
    from django.utils import timezone

    today = timezone.now().date()
    project = f.ProjectFactory()
    for n in range(40):
        end = today - dt.timedelta(days=400 - n)
        f.MilestoneFactory(project=project, title=f"Overdue {n:02d}", forecast_end=end, forecast_start=end,
                           status="late", achieved_on=None)  # fmt: skip
    page = viewer_client.get(reverse("dashboard")).content.decode()
    assert "Late milestones (40)" in page
    assert "Overdue 00" in page
    assert "Overdue 14" in page
    assert "Overdue 15" not in page
    assert "The 15 longest overdue are shown" in page


def test_the_dashboard_heads_with_the_held_book_and_shows_the_others_beside_it(viewer_client):
    """A held deal worth 10,000 and a signed one worth 2,500 (not closed): the headline is the held
    book's 10,000; the committed 2,500 is beside it, never summed; *Book* = committed shows it."""
    _deal()
    signed = f.PositionFactory(deal__status="definitive", deal__closed_on=None, acquired_on=None)
    f.ValuationFactory(position=signed, as_of=AS_OF, value_local=Decimal("2500"), value_usd=Decimal("2500"))
    page = viewer_client.get(reverse("dashboard"), {"as_of": str(AS_OF)}).content.decode()
    assert "Held book" in page
    assert "Beside the held book, never summed into it" in page
    assert "Committed (signed, not closed)" in page
    assert "US$10,000" in page
    assert "US$12,500" not in page
    page = viewer_client.get(reverse("dashboard"), {"as_of": str(AS_OF), "basis": "committed"}).content.decode()
    assert "Committed (signed, not closed) book" in page
    assert "US$2,500" in page


@pytest.mark.parametrize("as_of", ["0001-01-01", "1989-12-31", "2999-01-01"])
@pytest.mark.parametrize("url_name", ["dashboard", "report"])
def test_an_implausible_date_is_refused_with_a_message_not_a_server_error(viewer_client, url_name, as_of):
    """Year 1 used to fail the dashboard (a year before it is no date); 1990 to today is the range."""
    _deal()
    response = viewer_client.get(reverse(url_name), {"as_of": as_of})
    assert response.status_code == HTTPStatus.OK
    assert "Choose a date from 1990-01-01 to today" in response.content.decode()
