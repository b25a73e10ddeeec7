"""A loan's events add up: no repayment beyond what is outstanding, no drawing beyond the principal,
whichever way in (the records service, the admin, the API), and a deletion that would break that is
refused too. A steward's correction of a provider's share count becomes the steward's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from portfolio import models as m
from portfolio.services.records import record_delete, record_save
from tests import factories as f
from tests.portfolio.api.test_api import _as

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def loan():
    """A loan of 1,000 with 400 drawn on 2025-08-10."""
    loan = f.LoanFactory(principal=D("1000"))
    m.LoanEvent.objects.create(loan=loan, kind="draw", occurred_on=dt.date(2025, 8, 10), amount=D("400"))
    return loan


def _event(loan, kind, on, amount):
    return m.LoanEvent(loan=loan, kind=kind, occurred_on=on, amount=D(amount))


def test_a_repayment_beyond_what_is_outstanding_is_refused(loan, steward):
    """Repaying 500 when 400 is outstanding is refused, naming the day and the excess; nothing is
    written. Repaying 400 is accepted; so is a drawing and a repayment on the same day."""
    with pytest.raises(
        ValidationError, match=r"On 2025-09-01 the repayments would exceed what is outstanding by 100\.00 USD"
    ):
        record_save(_event(loan, "repayment", dt.date(2025, 9, 1), "500"), user=steward, reason="test")
    assert loan.events.count() == 1
    record_save(_event(loan, "repayment", dt.date(2025, 9, 1), "400"), user=steward, reason="test")
    record_save(_event(loan, "draw", dt.date(2025, 10, 1), "100"), user=steward, reason="test")
    record_save(_event(loan, "repayment", dt.date(2025, 10, 1), "100"), user=steward, reason="test")
    assert loan.events.count() == 4


def test_a_repayment_dated_before_the_drawing_is_refused(loan, steward):
    """A repayment of 100 dated before the only drawing would leave -100 outstanding until then."""
    with pytest.raises(ValidationError, match="On 2025-08-01 the repayments would exceed"):
        record_save(_event(loan, "repayment", dt.date(2025, 8, 1), "100"), user=steward, reason="test")


def test_drawings_beyond_the_principal_are_refused_and_so_is_a_principal_below_them(loan, steward):
    """Drawing 700 more (1,100 of 1,000) is refused; so is lowering the principal to 300 below
    the 400 drawn. Capitalised interest counts against the principal like a drawing."""
    with pytest.raises(ValidationError, match=r"\(1,100\.00 USD\) would exceed the loan's principal \(1,000\.00\)"):
        record_save(_event(loan, "draw", dt.date(2025, 9, 1), "700"), user=steward, reason="test")
    with pytest.raises(ValidationError, match="would exceed the loan's principal"):
        record_save(_event(loan, "capitalised_interest", dt.date(2025, 9, 1), "601"), user=steward, reason="test")
    loan.principal = D("300")
    with pytest.raises(ValidationError, match=r"\(400\.00 USD\) would exceed the loan's principal \(300\.00\)"):
        record_save(loan, user=steward, reason="test")
    loan.refresh_from_db()
    assert loan.principal == D("1000")


def test_deleting_the_drawing_a_repayment_needs_is_refused(loan, steward, steward_client):
    """With 400 drawn and 300 repaid, deleting the drawing is refused by the service and on the
    admin's confirmation page (as a protected record is); the repayment can be deleted."""
    repayment = m.LoanEvent.objects.create(
        loan=loan, kind="repayment", occurred_on=dt.date(2025, 9, 1), amount=D("300")
    )
    drawing = loan.events.get(kind="draw")
    with pytest.raises(ValidationError, match="repayments would exceed"):
        record_delete(drawing, user=steward, reason="test")
    page = steward_client.get(reverse("admin:portfolio_loanevent_delete", args=[drawing.pk])).content.decode()
    assert "repayments would exceed what is outstanding" in page
    steward_client.post(reverse("admin:portfolio_loanevent_delete", args=[drawing.pk]), {"post": "yes"})
    assert m.LoanEvent.objects.filter(pk=drawing.pk).exists()
    record_delete(repayment, user=steward, reason="test")
    record_delete(drawing, user=steward, reason="test")
    assert not loan.events.exists()


def test_the_admin_form_says_why_a_repayment_is_refused(loan, steward_client):
    """The admin's add form for a loan event answers a repayment beyond what is outstanding with the
    rule's message on the form, and writes nothing."""
    response = steward_client.post(reverse("admin:portfolio_loanevent_add"), {
        "loan": loan.pk, "kind": "repayment", "occurred_on": "2025-09-01", "amount": "900", "memo": "",
        "evidence": "unverified", "source_url": "", "source_published_on": "",
    })  # fmt: skip
    assert response.status_code == HTTPStatus.OK
    assert "the repayments would exceed what is outstanding by 500.00" in response.content.decode()
    assert loan.events.count() == 1


def test_the_api_refuses_a_repayment_beyond_what_is_outstanding(loan, analyst):
    """The API answers 400 with the rule's message and writes nothing."""
    client = _as(APIClient(), analyst)
    response = client.post("/api/v1/loan-events/", {
        "loan": loan.pk, "kind": "repayment", "occurred_on": "2025-09-01", "amount": "900.00",
    }, format="json")  # fmt: skip
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "repayments would exceed what is outstanding by 500.00" in str(response.json())
    assert loan.events.count() == 1


def test_a_stewards_correction_of_a_provider_count_becomes_the_stewards(steward):
    """A count the SEC provider stored, corrected by a steward, is the steward's from then on (origin
    manual), so the provider's next run leaves it alone."""
    company = f.CompanyFactory(share_count=None)
    count = record_save(
        m.ShareCount(company=company, as_of=dt.date(2026, 6, 30), shares=D("100"), origin="sec_company_facts"),
        user=None,
        reason="SEC XBRL company facts",
    )
    assert count.origin == "sec_company_facts"
    count.shares = D("120")
    record_save(count, user=steward, reason="Corrected")
    count.refresh_from_db()
    assert (count.shares, count.origin) == (D("120"), "manual")
