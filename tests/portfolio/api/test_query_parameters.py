"""Query parameters and request bodies, as the schema states them: a parameter an endpoint does not
take, or a value it cannot take, is answered 400 naming the parameter (they used to be ignored
quietly); the schema lists exactly the parameters each endpoint takes; a body's values are of the
JSON types and forms the schema gives them."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken
from rest_framework.test import APIClient

from portfolio import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    user = f.UserFactory(username="admin-api", is_staff=True, is_superuser=True)
    api = APIClient()
    _, token = AuthToken.objects.create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


@pytest.fixture
def book():
    """A row of each kind, with id 1 or more: enough for every path of the schema to name one."""
    deal = f.DealFactory()
    position = f.PositionFactory(deal=deal)
    f.CashFlowFactory(position=position)
    f.MilestoneFactory(deal=deal, project=None)
    return deal


def _refused(response, name: str) -> str:
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    body = response.json()["error"]
    assert body["code"] == "invalid"
    (message,) = body["fields"][name]
    return message


def _operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            names = sorted(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
            yield pytest.param(path, method, names, id=f"{method.upper()} {path}")


@pytest.mark.parametrize(("path", "method", "names"), list(_operations()))
def test_every_endpoint_refuses_a_parameter_it_does_not_take_and_names_those_the_schema_lists(
    admin, path, method, names
):
    """The parameters are read before anything else (the row of a path, the body, the action)."""
    response = getattr(admin, method)(f"{path.replace('{id}', '1')}?colour=blue", {}, format="json")
    takes = f"it takes {', '.join(names)}" if names else "it takes none"
    assert _refused(response, "colour") == f"Not a query parameter of this endpoint; {takes}."


def test_a_parameter_given_twice_is_refused(admin):
    """A parameter given twice is refused rather than one of its values being picked silently."""
    response = admin.get("/api/v1/deals/?status=closed&status=exited")
    assert _refused(response, "status") == "Give this parameter once."


def test_the_format_parameter_is_not_one_either(admin):
    """DRF's format parameter is refused like any other parameter the schema does not list."""
    for value in ("json", "xml", "api"):
        assert _refused(admin.get("/api/v1/deals/", {"format": value}), "format").startswith("Not a query parameter")


def test_without_credentials_401_comes_first_and_an_unanswered_method_405(admin):
    """An unknown parameter does not change the answer to a request without credentials (401) or with a
    method the endpoint does not answer (405)."""
    assert APIClient().get("/api/v1/deals/", {"colour": "blue"}).status_code == HTTPStatus.UNAUTHORIZED
    refused = admin.put("/api/v1/deals/?colour=blue", {}, format="json")
    assert refused.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert refused["Allow"]


@pytest.mark.parametrize(
    ("url", "params", "name", "message"),
    [
        # ids: a whole number from 1
        ("/api/v1/deals/", {"company": "abc"}, "company", "Give an id: a whole number from 1 to 9223372036854775807."),
        ("/api/v1/deals/", {"company": "0"}, "company", "Give an id"),
        ("/api/v1/deals/", {"company": "1.0"}, "company", "Give an id"),
        ("/api/v1/deals/", {"company": "+1"}, "company", "Give an id"),
        ("/api/v1/deals/", {"company": ""}, "company", "Give an id"),
        ("/api/v1/deals/", {"company": str(2**63)}, "company", "Give an id"),
        ("/api/v1/cash-flows/", {"position__deal": "-1"}, "position__deal", "Give an id"),
        # true or false, as the schema's booleans are written
        ("/api/v1/companies/", {"is_public": "maybe"}, "is_public", "Give true or false."),
        ("/api/v1/companies/", {"is_public": "1"}, "is_public", "Give true or false."),
        ("/api/v1/companies/", {"is_public": "True"}, "is_public", "Give true or false."),
        ("/api/v1/deals/", {"long_stop_passed": ""}, "long_stop_passed", "Give true or false."),
        # choices, empty included
        ("/api/v1/deals/", {"status": "bogus"}, "status", "Choose one of: reported_talks, "),
        ("/api/v1/deals/", {"status": ""}, "status", "Choose one of: reported_talks, "),
        ("/api/v1/deals/", {"issuer_region": "europe"}, "issuer_region", "Choose one of: north_america, elsewhere"),
        ("/api/v1/refresh-runs/", {"kind": "PIPELINE"}, "kind", "Choose one of: "),
        # dates written YYYY-MM-DD, and that exist
        ("/api/v1/prices/", {"on": "2021-1-5"}, "on", "Give a date written YYYY-MM-DD."),
        ("/api/v1/prices/", {"on__gte": "20210105"}, "on__gte", "Give a date written YYYY-MM-DD."),
        ("/api/v1/fx-rates/", {"on__lte": "2021-02-30"}, "on__lte", "Give a date written YYYY-MM-DD."),
        ("/api/v1/filing-events/", {"filed_on__gte": ""}, "filed_on__gte", "Give a date written YYYY-MM-DD."),
        # codes of the field's form
        ("/api/v1/positions/", {"currency": "usd"}, "currency", "Give an ISO 4217 currency code, e.g. USD or CAD."),
        ("/api/v1/companies/", {"country": "USA"}, "country", "Use the two-letter ISO 3166 country code"),
        ("/api/v1/companies/", {"country": " US"}, "country", "Use the two-letter ISO 3166 country code"),
        ("/api/v1/companies/", {"cik": "1801368"}, "cik", "A CIK is the SEC's 10-digit number"),
        # text no longer than the field, a search of 200 characters at most
        ("/api/v1/prices/", {"source": "x" * 41}, "source", "Ensure this value has at most 40 characters"),
        ("/api/v1/deals/", {"search": "x" * 201}, "search", "Search for 200 characters at most."),
        # ordering: the list's fields, each once
        ("/api/v1/deals/", {"ordering": ""}, "ordering", "Cannot order by nothing; choose from: "),
        ("/api/v1/deals/", {"ordering": "title,title"}, "ordering", "Name each field once."),
        ("/api/v1/deals/", {"ordering": "title, -reference"}, "ordering", "Cannot order by  -reference; "),
        # pages
        ("/api/v1/deals/", {"limit": "1_0"}, "limit", "Give a whole number from 1 to 500."),
        ("/api/v1/deals/", {"limit": " 5"}, "limit", "Give a whole number from 1 to 500."),
        ("/api/v1/deals/", {"offset": "+5"}, "offset", "Give a whole number of 0 or more."),
        # analytics
        ("/api/v1/analytics/summary/", {"basis": "bogus"}, "basis", '"bogus" is not a valid choice.'),
        ("/api/v1/analytics/summary/", {"group_by": ""}, "group_by", '"" is not a valid choice.'),
        ("/api/v1/analytics/summary/", {"as_of": ""}, "as_of", "Date has wrong format. Use one of these formats"),
        ("/api/v1/analytics/summary/", {"as_of": "2026-1-5"}, "as_of", "Date has wrong format."),
        ("/api/v1/analytics/value-series/", {"interval": ""}, "interval", '"" is not a valid choice.'),
        ("/api/v1/analytics/value-series/", {"start": "20260105"}, "start", "Date has wrong format."),
    ],
)
def test_a_value_a_parameter_cannot_take_gets_400_naming_it(admin, url, params, name, message):
    """Ids, booleans, choices, dates, codes, lengths, orderings and pages outside what the schema allows
    are refused 400 naming the parameter and what it takes."""
    assert _refused(admin.get(url, params), name).startswith(message)


def test_valid_values_filter_and_an_id_that_names_no_row_matches_nothing(admin, book):
    """Valid values filter as asked; an id or code that names no row matches nothing rather than being
    refused, and an empty search filters nothing out."""
    listed = admin.get("/api/v1/deals/", {"company": book.company_id, "ordering": "-title,reference", "limit": 5})
    assert listed.status_code == HTTPStatus.OK
    assert [row["id"] for row in listed.json()["results"]] == [book.pk]
    nothing = admin.get("/api/v1/deals/", {"company": 2**63 - 1})
    assert nothing.status_code == HTTPStatus.OK
    assert nothing.json()["count"] == 0
    position = book.positions.get()
    assert admin.get("/api/v1/positions/", {"currency": position.currency_id}).json()["count"] == 1
    assert admin.get("/api/v1/positions/", {"currency": "XAU"}).json()["count"] == 0
    assert admin.get("/api/v1/companies/", {"is_public": "true", "country": book.company.country}).status_code == 200
    assert admin.get("/api/v1/deals/", {"search": ""}).json()["count"] == 1  # free text: empty searches nothing out


def test_deals_filter_by_where_their_company_is_incorporated(admin, book):
    """``issuer_region=north_america`` keeps the deals of US, Canadian and Mexican companies;
    ``elsewhere`` keeps the rest (a Korean issuer's)."""
    korea = f.DealFactory(company__name="Korea Zinc", company__country="KR")
    canada = f.DealFactory(company__country="CA")
    north = admin.get("/api/v1/deals/", {"issuer_region": "north_america"}).json()
    assert sorted(row["id"] for row in north["results"]) == sorted([book.pk, canada.pk])
    elsewhere = admin.get("/api/v1/deals/", {"issuer_region": "elsewhere"}).json()
    assert [row["id"] for row in elsewhere["results"]] == [korea.pk]


def test_the_schema_lists_search_and_ordering_only_where_a_list_has_them():
    """The schema lists search and ordering only on lists that take them, with the ordering fields, the
    limit's range and the country's pattern, and no query parameter on a detail."""
    schema = SchemaGenerator().get_schema(request=None, public=True)

    def query(path):
        return {p["name"]: p for p in schema["paths"][path]["get"]["parameters"] if p["in"] == "query"}

    assert "search" not in query("/api/v1/fx-rates/")
    assert "search" not in query("/api/v1/refresh-runs/")
    assert query("/api/v1/deals/")["search"]["schema"]["maxLength"] == 200
    ordering = query("/api/v1/deals/")["ordering"]
    assert ordering["style"] == "form"
    assert ordering["explode"] is False
    assert ordering["schema"]["items"]["enum"] == ["announced_on", "-announced_on", "reference", "-reference",
                                                   "title", "-title"]  # fmt: skip
    assert query("/api/v1/deals/")["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}
    assert query("/api/v1/companies/")["country"]["schema"]["pattern"] == "^[A-Z]{2}$"
    assert query("/api/v1/deals/{id}/") == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("memo", 5, "Give text, not a whole number."),
        ("amount", 5.5, "Give text, not a number."),
        ("amount", "5e3", "A valid number is required."),
        ("amount", "", "A valid number is required."),
        ("occurred_on", "2025-1-5", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."),
        ("occurred_on", "20250105", "Date has wrong format."),
        ("position", "1", "Incorrect type. Expected pk value, received str."),
        ("position", True, "Incorrect type. Expected pk value, received bool."),
        ("currency", 840, "Incorrect type. Expected pk value, received int."),
        ("kind", 1, '"1" is not a valid choice.'),
    ],
)
def test_a_body_value_of_another_type_or_form_gets_400_naming_it(admin, book, field, value, message):
    """DRF turned 5 into "5", "5e3" into 5000, "2025-1-5" into a date and "1" into an id."""
    position = book.positions.get()
    body = {"position": position.pk, "kind": "investment", "occurred_on": "2025-06-30", "amount": "5.00",
            "currency": "USD", field: value}  # fmt: skip
    response = admin.post("/api/v1/cash-flows/", body, format="json")
    assert _refused(response, field).startswith(message)
    assert not m.CashFlow.objects.filter(occurred_on=dt.date(2025, 6, 30)).exists()


def test_a_created_row_is_answered_with_its_address(admin, book):
    """A created cash flow is answered with a Location header that reads back the row created."""
    position = book.positions.get()
    body = {"position": position.pk, "kind": "investment", "occurred_on": "2025-06-30", "amount": "5.00",
            "currency": "USD", "evidence": "unverified"}  # fmt: skip
    response = admin.post("/api/v1/cash-flows/", body, format="json")
    assert response.status_code == HTTPStatus.CREATED, response.content
    assert response["Location"] == f"http://testserver/api/v1/cash-flows/{response.json()['id']}/"
    assert admin.get(response["Location"]).json()["amount"] == "5.00"
