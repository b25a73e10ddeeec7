"""Published reports over the API: list, read (with the body on request), publish with the
permission; bad input 400 with nothing stored; no change or delete (405); constant query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from rest_framework.test import APIClient

from portfolio import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 27)


def _client(role):
    api = APIClient()
    if role:
        user = f.UserFactory(username=role.lower())
        user.groups.add(Group.objects.get(name=role))
        _, token = AuthToken.objects.create(user=user)
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def _held_position():
    """One held position worth 10,000 on AS_OF (a stored valuation), 8,000 paid for it."""
    position = f.PositionFactory(deal__reference="alpha", quantity=Decimal("1000"))
    f.ValuationFactory(position=position, as_of=AS_OF, value_local=Decimal("10000"), value_usd=Decimal("10000"))
    f.CashFlowFactory(position=position, amount=Decimal("8000"))
    return position


def _stored(number: int) -> tuple:
    return tuple(m.PublishedReport.objects.values_list("as_of", "book", "html", "content_hash").get(pk=number))


def test_an_analyst_publishes_a_report_and_reads_it_back():
    """POST publishes the held book of AS_OF: 201 with the report and its Location. Its figures are
    the book's: value 10,000, invested 8,000, MOIC 10,000 / 8,000 = 1.25; deal alpha 10,000 and its
    one position 10,000. Read back, it is the same; with ``?include=html`` it carries its body as
    stored, without it none."""
    position = _held_position()
    api = _client("Analyst")
    response = api.post("/api/v1/reports/", {"as_of": "2026-11-27", "book": "held"}, format="json")
    assert response.status_code == HTTPStatus.CREATED, response.json()
    body = response.json()
    report = m.PublishedReport.objects.get()
    assert response["Location"].endswith(f"/api/v1/reports/{report.pk}/")
    assert (body["number"], body["as_of"], body["book"], body["published_by"]) == (
        report.pk,
        "2026-11-27",
        "held",
        "analyst",
    )
    assert body["content_hash"] == report.content_hash
    total = body["figures"]["total"]
    assert (total["value_usd"], total["invested_usd"], total["moic"]) == ("10000.00", "8000.00", "1.250000")
    assert body["figures"]["by_deal"] == {"alpha": "10000.00"}
    assert body["figures"]["by_position"] == {str(position.pk): "10000.00"}
    assert "html" not in body
    read = api.get(f"/api/v1/reports/{report.pk}/").json()
    assert read == body
    with_body = api.get(f"/api/v1/reports/{report.pk}/", {"include": "html"}).json()
    assert with_body["html"] == report.html
    listed = api.get("/api/v1/reports/").json()
    assert [r["number"] for r in listed["results"]] == [report.pk]
    assert "html" not in listed["results"][0]


def test_the_book_defaults_to_held():
    """A body with the date alone publishes the held book."""
    _held_position()
    response = _client("Analyst").post("/api/v1/reports/", {"as_of": "2026-11-27"}, format="json")
    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["book"] == "held"


@pytest.mark.parametrize("role", [None, "Viewer"], ids=lambda r: r or "anonymous")
def test_publishing_needs_the_permission(role):
    """Anonymous: 401; a viewer: 403; nothing is stored either way."""
    response = _client(role).post("/api/v1/reports/", {"as_of": "2026-11-27"}, format="json")
    assert response.status_code == (HTTPStatus.UNAUTHORIZED if role is None else HTTPStatus.FORBIDDEN)
    assert not m.PublishedReport.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "as_of"),
        ({"as_of": "soon"}, "as_of"),
        ({"as_of": "1989-12-31"}, "as_of"),
        ({"as_of": "2999-01-01"}, "as_of"),
        ({"as_of": "2026-11-27", "book": "lapsed"}, "book"),
        ({"as_of": 20261127}, "as_of"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_nothing_is_stored(payload, field):
    """A missing or unreadable date, one figures are not shown for (before 1990, after today), an
    unknown book or a date given as a number: 400 in the error format, naming the field."""
    response = _client("Analyst").post("/api/v1/reports/", payload, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == ("invalid", [field])
    assert not m.PublishedReport.objects.exists()


@pytest.mark.parametrize("role", ["Viewer", "Analyst", "Admin"])
def test_a_published_report_cannot_be_changed_or_deleted_over_the_api(role):
    """PUT, PATCH and DELETE of a report, and a POST to one, are answered 405 to every role (the
    admin's included); the report is as it was."""
    report = f.PublishedReportFactory()
    before = _stored(report.pk)
    api = _client(role)
    url = f"/api/v1/reports/{report.pk}/"
    change = {"as_of": "2026-01-01", "book": "all", "html": "<h1>Restated</h1>", "figures": {}}
    for response in (
        api.put(url, change, format="json"),
        api.patch(url, change, format="json"),
        api.delete(url),
        api.post(url, change, format="json") if role != "Viewer" else None,
    ):
        if response is not None:
            assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED, (role, response.request["REQUEST_METHOD"])
            assert response.json()["error"]["code"] == "method_not_allowed"
    assert _stored(report.pk) == before


def test_an_unknown_report_is_404_and_unknown_parameters_400():
    """A number no report has is 404; a query parameter the endpoint does not take, or an include
    other than html, is 400 naming it."""
    api = _client("Viewer")
    assert api.get("/api/v1/reports/999999/").status_code == HTTPStatus.NOT_FOUND
    assert api.get("/api/v1/reports/abc/").status_code == HTTPStatus.NOT_FOUND
    for params, name in (({"colour": "red"}, "colour"), ({"include": "figures"}, "include")):
        response = api.get("/api/v1/reports/", params)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert list(response.json()["error"]["fields"]) == [name]


#: A list read with a token: the token with its user, the user's other tokens (knox deletes expired
#: ones), the permissions the user holds directly and through its role, the count, the page.
LIST_QUERIES = 6


@pytest.mark.parametrize("params", [{}, {"include": "html"}], ids=["plain", "with-html"])
def test_the_list_costs_the_same_queries_with_1_and_30_reports(params, django_assert_num_queries):
    """The list's queries do not grow with its rows, bodies included or not."""
    f.PublishedReportFactory()
    api = _client("Viewer")
    with django_assert_num_queries(LIST_QUERIES):
        assert api.get("/api/v1/reports/", params).status_code == HTTPStatus.OK
    f.PublishedReportFactory.create_batch(29)
    with django_assert_num_queries(LIST_QUERIES):
        response = api.get("/api/v1/reports/", params)
    assert response.json()["count"] == 30
    assert len(response.json()["results"]) == 30


def test_the_schema_offers_list_read_and_publish_and_no_change():
    """The OpenAPI schema lists GET and POST on /api/v1/reports/ and GET alone on a report."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert set(paths["/api/v1/reports/"]) == {"get", "post"}
    assert set(paths["/api/v1/reports/{number}/"]) == {"get"}
    parameters = {p["name"] for p in paths["/api/v1/reports/{number}/"]["get"]["parameters"]}
    assert parameters == {"number", "include"}
