"""The change on the tiles: value, gain and MOIC over 1 day, 1 week, 1 month and the year to date on
the dashboard, agency, company and deal pages, and the "Change over" control."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse

from portfolio import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 27)
D = Decimal


@pytest.fixture
def deals():
    """Deal A (agency A, company A): 1,000 shares bought for 10,000 on 2025-07-11, a dividend of 500
    received on 2026-11-25, valued 12,000 on 2025-12-31, 8,000 on 2026-10-27, 9,000 on 2026-11-20
    and 10,000 on 2026-11-27; no valuation and no close on 2026-11-26.
    Deal B (agency B, company B): bought for 5,000, valued 5,000 on 2026-11-20 and 2026-11-27.
    No refresh has run: the pages show the last valuation's date, 2026-11-27."""
    a = f.PositionFactory(deal__agency=f.AgencyFactory(short_name="AGA"), quantity=D("1000"))
    f.CashFlowFactory(position=a, amount=D("10000"))
    f.CashFlowFactory(position=a, kind="dividend", occurred_on=dt.date(2026, 11, 25), amount=D("500"))
    values = {
        dt.date(2025, 12, 31): "12000",
        dt.date(2026, 10, 27): "8000",
        dt.date(2026, 11, 20): "9000",
        AS_OF: "10000",
    }
    for on, value in values.items():
        f.ValuationFactory(position=a, as_of=on, value_local=D(value), value_usd=D(value))
    b = f.PositionFactory(deal__agency=f.AgencyFactory(short_name="AGB"), quantity=D("500"))
    f.CashFlowFactory(position=b, amount=D("5000"))
    for on in (dt.date(2026, 11, 20), AS_OF):
        f.ValuationFactory(position=b, as_of=on, value_local=D("5000"), value_usd=D("5000"))
    return a.deal, b.deal


def _pages_of(deal) -> dict[str, str]:
    return {
        "deal": reverse("deal", args=[deal.reference]),
        "company": reverse("company", args=[deal.company.pk]),
        "agency": reverse("agency", args=[deal.agency.short_name]),
    }


def _changes(page: str) -> list[str]:
    """The text of each change line on a page, tags dropped (the screen reader's words kept)."""
    lines = re.findall(r'<small class="change [a-z]+">(.*?)</small>', page, flags=re.DOTALL)
    return [re.sub(r"<[^>]+>", "", line) for line in lines]


def test_deal_company_and_agency_pages_show_the_change_over_a_week(viewer_client, deals):
    """Deal A alone on its deal, company and agency pages, over a week (from 2026-11-20):
    value 9,000 -> 10,000: +1,000, +11.1 % (1,000 / 9,000 = 0.1111);
    gain (value + received - paid) 9,000 + 0 - 10,000 = -1,000 -> 10,000 + 500 - 10,000 = 500: +1,500;
    MOIC (received + value) / paid 9,000 / 10,000 = 0.90 -> 10,500 / 10,000 = 1.05: +0.15x."""
    a, _ = deals
    for name, url in _pages_of(a).items():
        page = viewer_client.get(url).content.decode()
        assert _changes(page) == [
            "▲ +US$1,000 (+11.1\u00a0%) over 1 week: up",
            "▲ +US$1,500 over 1 week: up",
            "▲ +0.15x over 1 week: up",
        ], name
        assert "since 2026-11-20" in page, name


def test_the_dashboard_shows_the_change_of_the_held_book(viewer_client, deals):
    """Deals A and B together over a week (from 2026-11-20):
    value 9,000 + 5,000 = 14,000 -> 10,000 + 5,000 = 15,000: +1,000, +7.1 % (1,000 / 14,000 = 0.0714);
    gain 14,000 - 15,000 = -1,000 -> 15,000 + 500 - 15,000 = 500: +1,500;
    MOIC 14,000 / 15,000 = 0.9333 -> 15,500 / 15,000 = 1.0333: +0.10x."""
    page = viewer_client.get(reverse("dashboard")).content.decode()
    assert _changes(page) == [
        "▲ +US$1,000 (+7.1\u00a0%) over 1 week: up",
        "▲ +US$1,500 over 1 week: up",
        "▲ +0.10x over 1 week: up",
    ]
    assert "since 2026-11-20" in page


@pytest.mark.parametrize(
    ("period", "since", "lines"),
    [
        # a month, from 2026-10-27: value 8,000 -> 10,000: +2,000, +25.0 % (2,000 / 8,000);
        # gain 8,000 - 10,000 = -2,000 -> 500: +2,500; MOIC 0.80 -> 1.05: +0.25x
        (
            "1m",
            "2026-10-27",
            [
                "▲ +US$2,000 (+25.0\u00a0%) over 1 month: up",
                "▲ +US$2,500 over 1 month: up",
                "▲ +0.25x over 1 month: up",
            ],
        ),
        # the year to date, from 2025-12-31: value 12,000 -> 10,000: -2,000, -16.7 % (-2,000 /
        # 12,000 = -0.1667); gain 12,000 - 10,000 = 2,000 -> 500: -1,500; MOIC 1.20 -> 1.05: -0.15x
        (
            "ytd",
            "2025-12-31",
            [
                "▼ -US$2,000 (-16.7\u00a0%) over the year to date: down",
                "▼ -US$1,500 over the year to date: down",
                "▼ -0.15x over the year to date: down",
            ],
        ),
        # a day, from 2026-11-26: no valuation stored and no close to value the shares with
        (
            "1d",
            "2026-11-26",
            ["n/a over 1 day: no value at the start"] * 3,
        ),
        # a week, asked for by name
        (
            "1w",
            "2026-11-20",
            ["▲ +US$1,000 (+11.1\u00a0%) over 1 week: up", "▲ +US$1,500 over 1 week: up", "▲ +0.15x over 1 week: up"],
        ),
    ],
)
def test_each_period_of_the_control(viewer_client, deals, period, since, lines):
    """Deal A's change over each period on its deal page, worked by hand beside each case; the
    control shows the period picked and the date it starts from."""
    a, _ = deals
    page = viewer_client.get(reverse("deal", args=[a.reference]), {"change": period}).content.decode()
    assert _changes(page) == lines
    assert f"since {since}" in page
    assert re.search(rf'<option value="{period}"[^>]*selected>', page)


def test_a_bad_period_is_answered_with_a_message_and_the_week(viewer_client, deals):
    """An unknown period is refused with a message on each page, which shows the change over a week
    instead (Deal A's, as in the week's case above), never an error page."""
    a, _ = deals
    for name, url in {**_pages_of(a), "dashboard": reverse("dashboard")}.items():
        response = viewer_client.get(url, {"change": "2w"})
        assert response.status_code == HTTPStatus.OK, name
        page = response.content.decode()
        assert "Select a valid choice. 2w is not one of the available choices." in page, name
        assert "Showing the change over 1 week." in page, name
        assert "since 2026-11-20" in page, name
        assert re.search(r'<option value="1w"[^>]*selected>', page), name


def test_a_bad_period_leaves_the_pages_date_as_asked(viewer_client, deals):
    """A bad period does not undo a good date: as of 2026-11-20 the deal page shows Deal A worth
    9,000 and its week from 2026-11-13 (no valuation then, no close): n/a."""
    a, _ = deals
    page = viewer_client.get(reverse("deal", args=[a.reference]), {"as_of": "2026-11-20", "change": "nope"}).content
    page = page.decode()
    assert "Select a valid choice." in page
    assert "since 2026-11-13" in page
    assert _changes(page) == ["n/a over 1 week: no value at the start"] * 3


def test_the_control_keeps_the_pages_other_parameters(viewer_client, deals):
    """The "Change over" form carries the page's date and book along, and the page's own form
    carries the period picked, so that neither undoes the other."""
    page = viewer_client.get(reverse("dashboard"), {"as_of": "2026-11-27", "basis": "held", "change": "1m"}).content
    page = page.decode()
    control = re.search(r'<form method="get" class="inline change-control".*?</form>', page, flags=re.DOTALL)
    assert control is not None
    assert '<input type="hidden" name="as_of" value="2026-11-27">' in control.group()
    assert '<input type="hidden" name="basis" value="held">' in control.group()
    assert 'name="change"' not in control.group().replace('<select name="change"', "")
    assert '<input type="hidden" name="change" value="1m">' in page


def test_a_deal_not_in_the_book_at_the_start_says_so(viewer_client, deals):
    """Deal A closed on 2026-11-25 (held from then): over a week, from 2026-11-20, it was only
    committed, so its held figures have no change, and the tiles say why."""
    a, _ = deals
    m.Deal.objects.filter(pk=a.pk).update(closed_on=dt.date(2026, 11, 25))
    m.Position.objects.filter(deal=a).update(acquired_on=dt.date(2026, 11, 25))
    page = viewer_client.get(reverse("deal", args=[a.reference])).content.decode()
    assert _changes(page) == ["n/a over 1 week: not in the book at the start"] * 3


def test_the_change_keeps_the_pages_roles(client, deals):
    """Asking for a period changes nothing of who may see a page: a user without a role is refused,
    an anonymous visitor sent to the login."""
    a, _ = deals
    urls = [*_pages_of(a).values(), reverse("dashboard")]
    for url in urls:
        assert client.get(url, {"change": "ytd"}).status_code == HTTPStatus.FOUND, url
    client.force_login(f.UserFactory(username="nobody"))
    for url in urls:
        assert client.get(url, {"change": "ytd"}).status_code == HTTPStatus.FORBIDDEN, url
