"""The Reports page and a published report's page: every role reads them, those who may publish
get the form; a bad date changes nothing; a report is shown as it was published, whatever the data
have become; constant query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from portfolio import models as m
from portfolio.services.reports import report_publish
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 27)


def _held_position():
    """One held position worth 10,000 on AS_OF (a stored valuation), 8,000 paid for it."""
    position = f.PositionFactory(deal__reference="alpha", quantity=Decimal("1000"))
    f.ValuationFactory(position=position, as_of=AS_OF, value_local=Decimal("10000"), value_usd=Decimal("10000"))
    f.CashFlowFactory(position=position, amount=Decimal("8000"))
    return position


def test_a_viewer_reads_the_list_but_is_offered_no_form_and_cannot_publish(viewer_client):
    """A viewer sees the published reports (number, date, book by its label, who, when, the hash's
    first 12 digits) and no publishing form; posting one anyway is refused (403), nothing stored."""
    report = f.PublishedReportFactory(published_by__username="ana", book="committed")
    page = viewer_client.get(reverse("reports")).content.decode()
    assert f'href="{reverse("published-report", args=[report.pk])}">#{report.pk}</a>' in page
    assert "Committed (signed, not closed)" in page
    assert "ana" in page
    assert f"{report.content_hash[:12]}…" in page
    assert "Publish the report as of" not in page
    response = viewer_client.post(reverse("reports"), {"as_of": "2026-11-27", "basis": "held"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert m.PublishedReport.objects.count() == 1


def test_an_analyst_publishes_from_the_page_and_is_sent_to_the_report(analyst_client, analyst):
    """The form offers the default date (here the latest stored valuation's, AS_OF) and the held
    book; publishing stores the report and leads to its page, which says it was published and shows
    the held value of 10,000."""
    _held_position()
    page = analyst_client.get(reverse("reports")).content.decode()
    assert "Publish the report as of" in page
    assert 'value="2026-11-27"' in page
    assert "csrfmiddlewaretoken" in page
    response = analyst_client.post(reverse("reports"), {"as_of": "2026-11-27", "basis": "held"})
    report = m.PublishedReport.objects.get()
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("published-report", args=[report.pk])
    assert (report.as_of, report.book, report.published_by) == (AS_OF, "held", analyst)
    shown = analyst_client.get(response["Location"]).content.decode()
    assert f"Report #{report.pk} published." in shown
    assert "US$10,000" in shown


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"as_of": "2999-01-01", "basis": "held"}, "Choose a date from 1990-01-01 to today"),
        ({"as_of": "yesterday", "basis": "held"}, "Enter a valid date."),
        ({"as_of": "", "basis": "held"}, "This field is required."),
        ({"as_of": "2026-11-27", "basis": "lapsed"}, "Select a valid choice"),
    ],
)
def test_a_bad_date_or_book_is_answered_on_the_page_and_nothing_is_published(analyst_client, data, message):
    """A date figures are not shown for, an unreadable or missing one, or an unknown book: the page
    again (200) with the message and "Nothing was published.", and no report stored."""
    response = analyst_client.post(reverse("reports"), data)
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert message in page
    assert "Nothing was published." in page
    assert not m.PublishedReport.objects.exists()


def test_publishing_needs_the_csrf_token(analyst):
    """The form posts with its CSRF token; a post without it is refused and nothing is stored."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    assert client.post(reverse("reports"), {"as_of": "2026-11-27", "basis": "held"}).status_code == HTTPStatus.FORBIDDEN
    assert not m.PublishedReport.objects.exists()


def test_a_report_is_shown_as_it_was_published_whatever_the_data_become(viewer_client, analyst):
    """Published at 10,000, the position is then revalued at 12,000 for the same date: the report's
    page still shows its stored body (10,000) with its publisher, rules' version and full hash, said
    to match its content; the report page of the date shows 12,000 now, and the comparison since
    the report restates the 2,000 as a correction."""
    position = _held_position()
    report = report_publish(as_of=AS_OF, book="held", user=analyst)
    m.Valuation.objects.filter(position=position, as_of=AS_OF).update(
        value_local=Decimal("12000"), value_usd=Decimal("12000")
    )
    page = viewer_client.get(reverse("published-report", args=[report.pk])).content.decode()
    assert report.html in page
    assert "US$10,000" in page
    assert "US$12,000" not in report.html
    assert '<span class="signed">+US$2,000</span>' in page  # since the report: the correction
    assert f"Published report #{report.pk}" in page
    assert "published by analyst" in page
    assert f"rules of version {report.rules_version}" in page
    assert report.content_hash in page
    assert "the content shown matches it" in page
    assert f'href="{reverse("report")}?as_of=2026-11-27&amp;basis=held"' in page
    today = viewer_client.get(reverse("report"), {"as_of": "2026-11-27"}).content.decode()
    assert "US$12,000" in today


def test_pages_answer_roles_and_refuse_others(client, viewer_client):
    """Both pages answer a viewer; an anonymous visitor is sent to the login; a user without a role
    is refused (403); an unknown report is 404. The menu links to the Reports page."""
    report = f.PublishedReportFactory()
    urls = [reverse("reports"), reverse("published-report", args=[report.pk])]
    for url in urls:
        assert viewer_client.get(url).status_code == HTTPStatus.OK
    assert 'href="/reports/" aria-current="page">Reports</a>' in viewer_client.get(urls[0]).content.decode()
    assert viewer_client.get(reverse("published-report", args=[999999])).status_code == HTTPStatus.NOT_FOUND
    viewer_client.logout()
    for url in urls:
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("login"))
    client.force_login(f.UserFactory(username="nobody"))
    for url in urls:
        assert client.get(url).status_code == HTTPStatus.FORBIDDEN


#: The session, the user, and the permissions the user holds directly and through its role.
LOGIN = 4
#: The default date offered by the form: the latest completed valuation run's date, then (none
#: here) the latest valuation's.
DEFAULT_DATE = 2
#: The bridge since a report: the book loaded on both dates (what is not dated read once), the
#: valuations and edits behind it.
SINCE_BRIDGE = 21


@pytest.mark.parametrize(
    ("role", "url_name", "queries"),
    [
        ("viewer", "reports", LOGIN + 2),  # the count and the page of reports (without their bodies)
        ("analyst", "reports", LOGIN + DEFAULT_DATE + 2),  # and the form's default date
        # the report, and since it: the default date and the bridge (the book on both dates)
        ("viewer", "published-report", LOGIN + 1 + DEFAULT_DATE + SINCE_BRIDGE),
    ],
)
def test_query_counts_are_the_same_with_1_and_30_reports(
    request, client, role, url_name, queries, django_assert_num_queries
):
    """Each page costs exactly the queries counted, with 1 report and with 30."""
    client.force_login(request.getfixturevalue(role))
    first = f.PublishedReportFactory()
    url = reverse(url_name, args=[first.pk] if url_name == "published-report" else [])
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == HTTPStatus.OK
    f.PublishedReportFactory.create_batch(29)
    cache.clear()  # the bridge since the report, kept from the first request
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    if url_name == "reports":
        assert response.content.decode().count('<td><a href="/reports/') == 25  # a page of 25
