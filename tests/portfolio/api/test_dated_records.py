"""The API's dated records of the portfolio: loan drawings and repayments, guarantees, price-floor
payments, share counts and production figures. Read by every role, written by analysts through the
records service, refused whole with the model's own message, filtered strictly.

(Every role on every resource, and the query count of every list, are in test_permission_matrix.py
and test_api.py, which walk all the resources, these included.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from portfolio import models as m
from tests import factories as f
from tests.portfolio.api.test_api import _as

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_an_analyst_records_a_drawing_and_corrects_it_and_the_history_names_them(api, analyst):
    """A drawing posted by an analyst is created (201, its address in Location) with the amount exact;
    a correction of its amount is saved; the history names the analyst with the API's reasons."""
    loan = f.LoanFactory(principal=Decimal("500000000"))
    client = _as(api, analyst)
    created = client.post("/api/v1/loan-events/", {
        "loan": loan.pk, "kind": "draw", "occurred_on": "2026-03-31", "amount": "250000000.00",
        "memo": "First advance", "evidence": "company", "source_url": "https://example.com/release",
    }, format="json")  # fmt: skip
    assert created.status_code == HTTPStatus.CREATED, created.json()
    event = m.LoanEvent.objects.get(pk=created.json()["id"])
    assert created["Location"].endswith(f"/api/v1/loan-events/{event.pk}/")
    assert (event.kind, event.amount, event.evidence) == ("draw", Decimal("250000000.00"), "company")

    changed = client.patch(f"/api/v1/loan-events/{event.pk}/", {"amount": "240000000.50"}, format="json")

    assert changed.status_code == HTTPStatus.OK, changed.json()
    assert changed.json()["amount"] == "240000000.50"
    event.refresh_from_db()
    assert event.amount == Decimal("240000000.50")
    latest, first = event.history.all()[:2]
    assert (latest.history_user, latest.history_change_reason) == (analyst, "Changed through the API")
    assert (first.history_user, first.history_change_reason) == (analyst, "Created through the API")


def test_a_share_counts_origin_is_set_by_the_application_not_the_request(api, analyst):
    """A share count created through the API is a steward's (origin manual) whatever origin the request
    claims, and a change cannot claim it came from the SEC either."""
    company = f.CompanyFactory(share_count=None)
    client = _as(api, analyst)
    created = client.post("/api/v1/share-counts/", {
        "company": company.pk, "as_of": "2026-06-30", "shares": "123456789", "origin": "sec_company_facts",
        "accession_number": "0001193125-26-000001", "evidence": "filing", "source_url": "https://www.sec.gov/x.htm",
    }, format="json")  # fmt: skip
    assert created.status_code == HTTPStatus.CREATED, created.json()
    assert created.json()["origin"] == "manual"
    count = m.ShareCount.objects.get(company=company)
    assert (count.origin, count.shares, count.history.get().history_user) == ("manual", Decimal("123456789"), analyst)

    changed = client.patch(f"/api/v1/share-counts/{count.pk}/", {"origin": "sec_company_facts"}, format="json")

    assert changed.status_code == HTTPStatus.OK
    count.refresh_from_db()
    assert count.origin == "manual"


def _loan_event(deal):
    loan = f.LoanFactory(deal=deal)
    f.LoanEventFactory(loan=loan, occurred_on=dt.date(2025, 9, 30))
    return {"loan": loan.pk, "kind": "draw", "occurred_on": "2025-09-30", "amount": "1.00"}


def _floor_payment(deal):
    floor = f.PriceFloorFactory(deal=deal)
    return {"floor": floor.pk, "period_start": "2026-01-01", "period_end": "2025-12-31", "currency": "USD",
            "amount": "10.00"}  # fmt: skip


def _guarantee(deal):
    return {"deal": deal.pk, "label": "Minimum EBITDA", "currency": "USD", "amount_per_year": "0"}


def _share_count(deal):
    return {"company": deal.company_id, "as_of": "2026-01-01", "shares": "0"}


def _production(deal):
    project = f.ProjectFactory(company=deal.company)
    return {"project": project.pk, "commodity": f.CommodityFactory().pk, "period_start": "2026-01-01",
            "period_end": "2026-03-31"}  # fmt: skip


@pytest.mark.parametrize(
    ("resource", "model", "payload", "message"),
    [
        ("loan-events", m.LoanEvent, _loan_event, "This loan already has an event of that kind on that day."),
        ("price-floor-payments", m.PriceFloorPayment, _floor_payment, "A period cannot end before it starts."),
        ("guarantees", m.Guarantee, _guarantee, "The amount a year must be greater than zero."),
        ("share-counts", m.ShareCount, _share_count, "The share count must be greater than zero."),
        ("production-figures", m.ProductionFigure, _production, "Give the volume produced, sold, or both."),
    ],
)
def test_a_record_breaking_a_rule_is_refused_with_its_message_and_nothing_is_written(
    api, analyst, resource, model, payload, message
):
    """A second drawing of a loan on the same day, a payment period ending before it starts, a
    guarantee of nothing, a count of no shares and a production figure without a volume are each
    answered 400 in the error format with the model's own message; no row and no history is written."""
    body = payload(f.DealFactory())
    rows, history = model.objects.count(), model.history.count()

    response = _as(api, analyst).post(f"/api/v1/{resource}/", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.json()
    assert response.json()["error"]["code"] == "invalid"
    assert message in str(response.json()["error"]["fields"])
    assert (model.objects.count(), model.history.count()) == (rows, history)


def test_a_viewer_cannot_record_a_repayment(api, viewer):
    """A viewer reads loan events but may not write one: 403, and nothing is written."""
    loan = f.LoanFactory()
    client = _as(api, viewer)
    assert client.get("/api/v1/loan-events/").status_code == HTTPStatus.OK
    response = client.post(
        "/api/v1/loan-events/",
        {"loan": loan.pk, "kind": "repayment", "occurred_on": "2026-01-31", "amount": "5.00"},
        format="json",
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not m.LoanEvent.objects.exists()


def test_the_dated_lists_filter_by_their_records_and_dates(api, viewer):
    """Loan events by loan, deal, kind and date range; share counts by company and date; production
    figures by project and commodity; guarantees by deal; payments by floor: each answers exactly the
    rows asked for."""
    loan = f.LoanFactory()
    draw = f.LoanEventFactory(loan=loan, occurred_on=dt.date(2025, 9, 30))
    repayment = f.LoanEventFactory(loan=loan, kind="repayment", occurred_on=dt.date(2026, 3, 31), amount=Decimal("5"))
    f.LoanEventFactory()  # another deal's loan
    company = f.CompanyFactory()  # counted 2020-01-01 by the factory
    later = f.ShareCountFactory(company=company, as_of=dt.date(2026, 6, 30))
    figure = f.ProductionFigureFactory()
    f.ProductionFigureFactory(project=figure.project)  # another commodity of the same project
    guarantee = f.GuaranteeFactory()
    f.GuaranteeFactory()
    payment = f.PriceFloorPaymentFactory()
    f.PriceFloorPaymentFactory()
    client = _as(api, viewer)

    def ids(resource: str, **params) -> list[int]:
        response = client.get(f"/api/v1/{resource}/", params)
        assert response.status_code == HTTPStatus.OK, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids("loan-events", loan=loan.pk, ordering="occurred_on") == [draw.pk, repayment.pk]
    assert ids("loan-events", loan__deal=loan.deal_id, kind="repayment") == [repayment.pk]
    assert ids("loan-events", loan=loan.pk, occurred_on__gte="2025-10-01", occurred_on__lte="2026-12-31") == [
        repayment.pk
    ]
    assert ids("share-counts", company=company.pk, as_of__gte="2021-01-01") == [later.pk]
    assert ids("production-figures", project=figure.project_id, commodity=figure.commodity_id) == [figure.pk]
    assert ids("guarantees", deal=guarantee.deal_id) == [guarantee.pk]
    assert ids("price-floor-payments", floor=payment.floor_id) == [payment.pk]


@pytest.mark.parametrize(
    ("resource", "params", "field", "message"),
    [
        ("loan-events", {"kind": "drawing"}, "kind", "Choose one of: draw, repayment, capitalised_interest."),
        ("loan-events", {"occurred_on__gte": "30/09/2025"}, "occurred_on__gte", "Give a date written YYYY-MM-DD."),
        ("share-counts", {"company": "Acme"}, "company", "Give an id: a whole number from 1"),
        ("share-counts", {"shares": "100"}, "shares", "Not a query parameter of this endpoint"),
        ("production-figures", {"commodity": "0"}, "commodity", "Give an id: a whole number from 1"),
        ("price-floor-payments", {"ordering": "currency"}, "ordering", "Cannot order by currency"),
        ("price-floors", {"covers": "shipped"}, "covers", "Choose one of: produced, sold."),
    ],
)
def test_a_filter_value_the_list_cannot_take_is_refused_naming_it(api, viewer, resource, params, field, message):
    """A kind that is not one, a date in another form, an id that is not a number, a field that is not
    a filter and an order by a field that is not offered are answered 400 naming the parameter."""
    response = _as(api, viewer).get(f"/api/v1/{resource}/", params)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"]["fields"][field][0].startswith(message)


def test_floors_say_what_they_cover_and_the_removed_fields_are_gone(api, analyst):
    """A price floor is read and written with the volume it pays on (produced or sold); companies,
    loans and floors no longer answer with a single share count, drawn amount or covered volume."""
    floor = f.PriceFloorFactory()
    client = _as(api, analyst)
    changed = client.patch(f"/api/v1/price-floors/{floor.pk}/", {"covers": "sold"}, format="json")
    assert changed.status_code == HTTPStatus.OK, changed.json()
    assert changed.json()["covers"] == "sold"
    floor.refresh_from_db()
    assert floor.covers == m.CoveredMeasure.SOLD
    assert "covered_volume" not in changed.json()
    loan = f.LoanFactory(deal=floor.deal)
    assert "drawn" not in client.get(f"/api/v1/loans/{loan.pk}/").json()
    company = client.get(f"/api/v1/companies/{floor.deal.company_id}/").json()
    assert not {"shares_outstanding", "shares_outstanding_as_of"} & company.keys()
