"""A published report compared with today: the bridge "since report #N", on the hand-worked
portfolio of the bridge's tests."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from portfolio import models as m
from portfolio.services.reports import report_publish
from tests import factories as f
from tests.portfolio.book.test_bridge import D2, D3, M, portfolio  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _since(client, report):
    response = client.get(reverse("published-report", args=[report.pk]))
    assert response.status_code == HTTPStatus.OK
    return response, response.context["since"].total


def test_since_a_report_the_corrections_show_what_was_restated(viewer_client, analyst, portfolio):  # noqa: F811
    """Report #N of D2 gave the held book 3,500,000 (F at the 300,000 stored then). D2's value of F
    is then stored again at 320,000, as a refresh of D2 after the correction of its payment would.
    Since the report, to D3 (3,899,000): corrections +20,000 (F's restatement), then D2 to D3 as
    in the bridge's tests: money in +240,000, out -124,000, FX -21,000, share price +134,000, model
    +150,000. 3,500,000 + 20,000 + 379,000 = 3,899,000."""
    report = report_publish(as_of=D2, book="held", user=analyst)
    assert report.figures["total"]["value_usd"] == "3500000.00"
    m.Valuation.objects.filter(position__deal__reference="f", as_of=D2).update(
        value_local=M("320000"), value_usd=M("320000")
    )
    response, since = _since(viewer_client, report)
    assert (since.opening, since.closing) == (M("3500000.00"), M("3899000.00"))
    assert {kind: step.amount for kind, step in since.steps.items() if step.amount} == {
        "correction": M("20000.00"), "money_in": M("240000.00"), "money_out": M("-124000.00"),
        "fx": M("-21000.00"), "price": M("134000.00"), "model": M("150000.00"),
    }  # fmt: skip
    assert since.steps["correction"].by_deal == {"f": M("20000.00")}
    page = response.content.decode()
    assert f"Since report #{report.pk}" in page
    assert "US$3,500,000.00 to US$3,899,000.00" in page


def test_a_position_no_longer_held_on_the_reports_date_is_restated_to_nothing(viewer_client, analyst, portfolio):  # noqa: F811
    """C closed on 2026-02-10 and was in report #N of D2 at 500,000. Its closing date is then
    corrected to 2026-03-05: on D2 it is now committed, not held. Since the report: corrections
    -500,000 for C (and +20,000 for F, whose payment was corrected after D2's value was stored),
    then C becomes held again on 2026-03-05 at its value that day (500,000, stored)."""
    report = report_publish(as_of=D2, book="held", user=analyst)
    deal = m.Deal.objects.get(reference="c")
    m.Deal.objects.filter(pk=deal.pk).update(closed_on="2026-03-05")
    m.Position.objects.filter(deal=deal).update(acquired_on="2026-03-05")
    f.ValuationFactory(position=m.Position.objects.get(deal=deal), as_of="2026-03-05", value_local=M("500000"),
                       value_usd=M("500000"), method=m.ValuationMethod.COST)  # fmt: skip
    _, since = _since(viewer_client, report)
    assert since.opening == M("3500000.00")
    assert since.steps["correction"].by_deal == {"c": M("-500000.00"), "f": M("20000.00")}
    assert since.steps["became_held"].by_deal == {"c": M("500000.00")}
    assert since.opening + sum(step.amount for step in since.steps.values()) == since.closing
