"""The Events section of the Changes page: the feed of the page's period, linked to the deals, companies,
projects and runs it concerns, filtered and paged; the page's roles; a number of queries that does
not grow with the events."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse
from freezegun import freeze_time

from portfolio import models as m
from portfolio.services.records import record_save
from tests import factories as f
from tests.portfolio.test_events import QUERIES

pytestmark = pytest.mark.django_db
URL = reverse("changes")
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


def _at(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)


def _status_change(steward, day: int = 10) -> m.Deal:
    """A binding LOI recorded on 2026-02-01, moved to a definitive agreement by the steward on March ``day``."""
    with freeze_time("2026-02-01 09:00:00"):
        deal = f.DealFactory.create(status=m.DealStatus.BINDING_LOI, closed_on=None)
    with freeze_time(f"2026-03-{day:02d} 12:00:00"):
        deal.status = m.DealStatus.DEFINITIVE
        record_save(deal, user=steward, reason="8-K of the day before")
    return deal


def _run(day: int, value: str) -> m.RefreshRun:
    """A run finished on March ``day`` that wrote a snapshot of ``value`` for the day."""
    on = dt.date(2026, 3, day)
    run = f.RefreshRunFactory.create(as_of=on, started_at=_at(f"{on} 18:00"), finished_at=_at(f"{on} 18:05"))
    m.PortfolioSnapshot.objects.create(as_of=on, value_usd=Decimal(value), refresh_run=run)
    return run


def _rows(html: str) -> list[str]:
    """The rows of the events table, as text."""
    table = html.split('id="events-table"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("</tr>")[:-1]]


def test_the_events_link_to_what_they_concern(viewer_client, steward):
    """A status change on 2026-03-10 and two runs (2026-03-11 at 1,000,000.00, then 2026-03-12 at
    3,500,000.00: US$2.5M more, shown compact with the exact figure beside it): the section lists them
    newest first; the change links to its deal by its title (never its reference) and its company;
    each run to its page."""
    deal = _status_change(steward)
    _run(11, "1000000.00")
    run = _run(12, "3500000.00")
    response = viewer_client.get(URL, MARCH)
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert '<h2 id="events-heading">Events</h2>' in html
    rows = _rows(html)
    assert len(rows) == 3
    assert rows[0].startswith("2026-03-12 Refresh finished Full pipeline refresh succeeded")
    assert "US$2.5M" in rows[0]
    assert "US$2,500,000" in rows[0]
    assert rows[2].startswith(
        "2026-03-10 Deal status changed Status: Binding LOI (conditional) to Definitive agreement"
    )
    assert "steward 8-K of the day before" in rows[2]
    assert f'<a href="{reverse("deal", args=[deal.reference])}">{deal.title}</a>' in html
    assert f'<a href="{reverse("company", args=[deal.company_id])}">{deal.company.name}</a>' in html
    assert f'href="{reverse("refresh-run", args=[run.pk])}"' in html
    assert deal.reference not in re.sub(r'(href|value)="[^"]*"', "", html)  # in addresses only
    assert "3 events in all." in html


def test_a_milestone_event_links_to_its_project(viewer_client):
    """A milestone achieved on 2026-03-20 links to its project's page."""
    milestone = f.MilestoneFactory.create(
        title="First concentrate", achieved_on=dt.date(2026, 3, 20), status="achieved"
    )
    html = viewer_client.get(URL, MARCH).content.decode()
    link = f'<a href="{reverse("project", args=[milestone.project_id])}">First concentrate achieved</a>'
    assert link in html


def test_the_filters_and_a_bad_value(viewer_client, steward):
    """Of two status changes and a run: a kind shows that kind alone; a deal shows its own change; a
    kind that is not one is answered with a message and filters nothing; the filter form carries the
    page's period along."""
    first = _status_change(steward, 10)
    _status_change(steward, 11)
    _run(12, "1000.00")
    assert len(_rows(viewer_client.get(URL, {**MARCH, "kind": "refresh"}).content.decode())) == 1
    (row,) = _rows(viewer_client.get(URL, {**MARCH, "deal": first.reference}).content.decode())
    assert row.startswith("2026-03-10 Deal status changed")
    html = viewer_client.get(URL, {**MARCH, "kind": "gossip"}).content.decode()
    assert "Select a valid choice. gossip is not one of the available choices. Showing all." in html
    assert len(_rows(html)) == 3
    assert '<input type="hidden" name="start" value="2026-03-01">' in html
    assert '<input type="hidden" name="end" value="2026-03-31">' in html


def test_fifty_events_a_page(viewer_client):
    """51 runs in March and April: the first page shows the 50 latest and links to the second (with the
    period kept), which shows the first."""
    start = dt.date(2026, 3, 1)
    for i in range(51):
        on = start + dt.timedelta(days=i)
        f.RefreshRunFactory.create(as_of=on, started_at=_at(f"{on} 18:00"), finished_at=_at(f"{on} 18:05"))
    period = {"start": "2026-03-01", "end": "2026-04-30"}
    html = viewer_client.get(URL, period).content.decode()
    rows = _rows(html)
    assert (len(rows), rows[0][:10], rows[-1][:10]) == (50, "2026-04-20", "2026-03-02")
    assert "Page 1 of 2 (51 events in all)" in html
    assert 'href="/changes/?start=2026-03-01&amp;end=2026-04-30&amp;events_page=2#events"' in html
    (row,) = _rows(viewer_client.get(URL, {**period, "events_page": "2"}).content.decode())
    assert row.startswith("2026-03-01")


def test_who_may_see_it(client):
    """An anonymous visitor is sent to the login; a user without a role is refused (403)."""
    response = client.get(URL)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("login"))
    client.force_login(f.UserFactory(username="nobody"))
    assert client.get(URL).status_code == HTTPStatus.FORBIDDEN


#: The Events section's queries: the filter form's agencies, companies and deals, and the feed's.
FEED_QUERIES = 3 + QUERIES
#: The page around the section: the session, its user and the user's permissions, the default date
#: and the value bridge of the period (computed: nothing is cached at the start of a test; the book
#: of both dates, what is not dated read once).
PAGE_QUERIES = 26


@pytest.mark.parametrize("n", [1, 30])
def test_the_number_of_queries_does_not_grow_with_the_events(viewer_client, steward, django_assert_num_queries, n):
    """With 1 and with 30 status changes and runs, the page costs its own queries and the section's."""
    for i in range(n):
        _status_change(steward)
        _run(1 + i, "1000.00")
    with django_assert_num_queries(PAGE_QUERIES + FEED_QUERIES):
        response = viewer_client.get(URL, MARCH)
    assert len(_rows(response.content.decode())) == min(2 * n, 50)  # 50 to a page
