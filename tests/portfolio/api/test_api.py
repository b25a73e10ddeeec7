"""The REST API: authentication, roles, one error format, refresh jobs, constant query counts, schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.utils import timezone
from freezegun import freeze_time
from knox.models import AuthToken
from rest_framework.test import APIClient

from portfolio import models as m
from portfolio.api.resources import RESOURCES
from portfolio.tasks import refresh_run_task
from tests import factories as f

pytestmark = pytest.mark.django_db
LISTS = [*RESOURCES, "refresh-runs", "reports"]


@pytest.fixture
def api():
    return APIClient()


def _as(api, user):
    _, token = AuthToken.objects.create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def _book():
    """One of everything the list endpoints return."""
    deal = f.DealFactory()
    project = f.ProjectFactory(company=deal.company)
    project.commodities.add(f.CommodityFactory())
    deal.projects.add(project)
    position = f.PositionFactory(deal=deal)
    f.CashFlowFactory(position=position)
    f.LoanEventFactory(loan=f.LoanFactory(deal=deal))
    f.PriceFloorPaymentFactory(floor=f.PriceFloorFactory(deal=deal))
    f.OfftakeFactory(deal=deal)
    f.GrantFactory(deal=deal)
    f.GuaranteeFactory(deal=deal)
    f.ProductionFigureFactory(project=project)
    f.SecurityPriceFactory(listing=position.listing)
    f.FxRateFactory()
    f.ValuationFactory(position=position)
    milestone = f.MilestoneFactory(project=project)
    f.MilestoneRevisionFactory(milestone=milestone)
    f.FilingEventFactory(company=deal.company)
    f.RefreshRunFactory()
    f.PublishedReportFactory()
    f.AgencyAliasFactory(agency=deal.agency)
    f.ManualMarkFactory(
        position=f.PositionFactory(deal=deal, kind="private_equity", listing=None, underlying="Shares", quantity=None)
    )
    return deal


@pytest.mark.parametrize("resource", LISTS)
def test_unauthenticated_requests_get_401_with_the_token_scheme(api, resource):
    """Every list answers an anonymous request 401 in the error format, naming the Token scheme in
    WWW-Authenticate."""
    response = api.get(f"/api/v1/{resource}/")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("resource", LISTS)
def test_a_viewer_reads_every_resource_and_a_user_without_a_role_none(api, viewer, resource):
    """A viewer reads every list; a logged-in user with no role is refused every one (403), so an
    account alone gives no access."""
    _book()
    response = _as(api, viewer).get(f"/api/v1/{resource}/")
    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] >= 1
    nobody = f.UserFactory(username="nobody")
    refused = _as(APIClient(), nobody).get(f"/api/v1/{resource}/")
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert refused.json()["error"]["code"] == "permission_denied"


#: Every list read with a token costs 6 queries: the token with its user, the user's other tokens
#: (knox deletes any that have expired, here none), the permissions the user holds directly and
#: through its role, the count of the rows, and the page of rows.
LIST_QUERIES = dict.fromkeys(LISTS, 6)
LIST_QUERIES["deals"] = 7  # and the deals' projects, fetched in one query
LIST_QUERIES["projects"] = 7  # and the projects' commodities, fetched in one query


@pytest.mark.parametrize("resource", LISTS)
def test_list_query_counts_are_the_same_with_1_and_30_rows(api, viewer, resource, django_assert_num_queries):
    """Each list costs exactly the queries counted in LIST_QUERIES, with one of everything and
    with 30: an N+1 query in a serializer, or one more query added, fails here."""
    _book()
    client = _as(api, viewer)
    with django_assert_num_queries(LIST_QUERIES[resource]):
        assert client.get(f"/api/v1/{resource}/", {"limit": 100}).status_code == HTTPStatus.OK
    for _ in range(29):
        _book()
    with django_assert_num_queries(LIST_QUERIES[resource]):
        assert client.get(f"/api/v1/{resource}/", {"limit": 100}).status_code == HTTPStatus.OK


def test_decimals_are_strings_and_dates_iso(api, viewer):
    """Decimals are answered as strings (no float rounding) and dates in ISO form; valuations carry
    their formula and inputs."""
    deal = _book()
    position = _as(api, viewer).get(f"/api/v1/positions/?deal={deal.pk}").json()["results"][0]
    assert position["quantity"] == "1000000.000000"
    assert position["acquired_on"] == "2025-07-11"
    valuation = api.get("/api/v1/valuations/").json()["results"][0]
    assert isinstance(valuation["value_usd"], str)
    assert "formula" in valuation
    assert "inputs" in valuation


def test_a_token_from_the_user_name_and_password_works_until_it_expires(api):
    """A token issued for a user name and password is stored hashed, authenticates the user, and stops
    working after it expires."""
    f.UserFactory(username="robot", password="a long password for the robot")
    response = api.post(
        "/api/v1/auth/token/", {"username": "robot", "password": "a long password for the robot"}, format="json"
    )
    assert response.status_code == HTTPStatus.OK
    token = response.json()["token"]
    assert not AuthToken.objects.filter(digest=token).exists()  # stored hashed, not as issued
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/deals/").status_code == HTTPStatus.FORBIDDEN  # authenticated, but no role
    with freeze_time(timezone.now() + dt.timedelta(hours=11)):
        assert api.get("/api/v1/deals/").status_code == HTTPStatus.UNAUTHORIZED


def test_a_wrong_password_gets_401_in_the_error_format(api):
    """A wrong password gets 401 in the error format, with a message that does not say whether the user
    exists."""
    f.UserFactory(username="robot", password="a long password for the robot")
    response = api.post("/api/v1/auth/token/", {"username": "robot", "password": "nope"}, format="json")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {
        "error": {"code": "authentication_failed", "message": "Unknown user name or wrong password."}
    }


def test_logout_ends_the_token(api, viewer):
    """Logging out through the API ends the token: the next call with it is 401."""
    client = _as(api, viewer)
    assert client.post("/api/v1/auth/logout/").status_code == HTTPStatus.NO_CONTENT
    assert client.get("/api/v1/deals/").status_code == HTTPStatus.UNAUTHORIZED


def test_refresh_job_lifecycle(api, analyst, monkeypatch, django_capture_on_commit_callbacks):
    """202 with the run's location; GET gives status and progress; 409 while it runs."""
    monkeypatch.setattr(refresh_run_task, "delay", lambda run_id: None)
    client = _as(api, analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/refresh-runs/", {"kind": "pipeline"}, format="json")
    assert response.status_code == HTTPStatus.ACCEPTED
    run_id = response.json()["id"]
    assert response["Location"].endswith(f"/api/v1/refresh-runs/{run_id}/")
    detail = client.get(f"/api/v1/refresh-runs/{run_id}/").json()
    assert (detail["status"], detail["progress_done"], detail["kind"]) == ("queued", 0, "pipeline")
    second = client.post("/api/v1/refresh-runs/", {"kind": "prices"}, format="json")
    assert second.status_code == HTTPStatus.CONFLICT
    assert second.json()["error"]["code"] == "refresh_in_progress"
    assert second.json()["error"]["active_run"] == run_id


def test_a_viewer_cannot_start_a_refresh(api, viewer):
    """A viewer asking for a refresh is refused 403 and no run is recorded."""
    response = _as(api, viewer).post("/api/v1/refresh-runs/", {}, format="json")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not m.RefreshRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_queue_gives_503_and_the_attempt_is_recorded(api, analyst, monkeypatch):
    """Outside a test transaction the run is committed and queued during the request, as in production."""
    from kombu.exceptions import OperationalError

    def refuse(run_id):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(refresh_run_task, "delay", refuse)
    response = _as(api, analyst).post("/api/v1/refresh-runs/", {}, format="json")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["error"]["code"] == "broker_unavailable"
    assert m.RefreshRun.objects.get().status == "failed"


def test_validation_errors_name_their_fields(api, analyst):
    """An unknown refresh kind and an unreadable date are answered 400 with both fields named, and no
    run is recorded."""
    response = _as(api, analyst).post("/api/v1/refresh-runs/", {"kind": "everything", "as_of": "soon"}, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"kind", "as_of"}
    assert not m.RefreshRun.objects.exists()


def test_resources_that_are_only_read_refuse_writes_even_to_an_admin(api):
    """Reference data cannot be edited and deals cannot be deleted through the API, even by a superuser:
    405."""
    deal = _book()
    admin = f.UserFactory(username="root", is_superuser=True, is_staff=True)
    response = _as(api, admin).patch(f"/api/v1/agencies/{deal.agency.pk}/", {"name": "X"}, format="json")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert _as(APIClient(), admin).delete(f"/api/v1/deals/{deal.pk}/").status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_an_analyst_records_a_cash_flow_and_the_history_names_them(api, analyst, django_user_model):
    """An analyst's cash flow is created with the amount exact; the id, creation time and author sent
    are ignored, and the history names the analyst and the API."""
    someone_else = django_user_model.objects.create_user("someone-else")
    deal = _book()
    position = deal.positions.filter(kind="common").first()
    payload = {
        "position": position.pk, "kind": "dividend", "occurred_on": "2026-06-30", "amount": "125000.50",
        "currency": "USD", "memo": "Interim dividend", "evidence": "unverified",
        "id": 999999, "created_at": "2000-01-01T00:00:00Z", "not_a_field": "ignored",
        "recorded_by": someone_else.pk,
    }  # fmt: skip
    response = _as(api, analyst).post("/api/v1/cash-flows/", payload, format="json")
    assert response.status_code == HTTPStatus.CREATED, response.json()
    flow = m.CashFlow.objects.get(memo="Interim dividend")
    assert flow.pk != 999999
    assert flow.created_at.year == timezone.now().year
    assert flow.amount == Decimal("125000.50")
    assert flow.recorded_by == analyst
    assert flow.history.get().history_user == analyst
    assert flow.history.get().history_change_reason == "Created through the API"
    assert response.json()["amount"] == "125000.50"


def test_the_model_rules_answer_in_the_error_format_and_nothing_is_written(api, analyst):
    """The model's own rules (no negative amount, a known currency, no going back in a deal's status)
    answer 400 in the error format, and nothing is written."""
    deal = _book()
    position = deal.positions.filter(kind="common").first()
    client = _as(api, analyst)
    negative = client.post(
        "/api/v1/cash-flows/",
        {"position": position.pk, "kind": "fee", "occurred_on": "2026-01-01", "amount": "-5", "currency": "USD"},
        format="json",
    )
    assert negative.status_code == HTTPStatus.BAD_REQUEST
    assert "The amount cannot be negative." in str(negative.json()["error"]["fields"])
    unknown_currency = client.post(
        "/api/v1/cash-flows/",
        {"position": position.pk, "kind": "fee", "occurred_on": "2026-01-01", "amount": "5", "currency": "XYZ"},
        format="json",
    )
    assert unknown_currency.status_code == HTTPStatus.BAD_REQUEST
    assert "currency" in unknown_currency.json()["error"]["fields"]
    backwards = client.patch(f"/api/v1/deals/{deal.pk}/", {"status": "reported_talks"}, format="json")
    assert backwards.status_code == HTTPStatus.BAD_REQUEST
    assert "A deal cannot go from Closed" in str(backwards.json()["error"]["fields"]["status"])
    deal.refresh_from_db()
    assert deal.status == "closed"
    assert not m.CashFlow.objects.filter(kind="fee").exists()


def test_a_status_entered_by_mistake_is_corrected_through_the_api(api, analyst):
    """A deal's status goes back off the lifecycle only when the request marks it a correction; the
    refusal changes nothing, the correction is saved with the analyst and the reason in the history,
    and ``status_correction`` is never read back (it describes the request, not the deal)."""
    deal = _book()
    client = _as(api, analyst)
    refused = client.patch(f"/api/v1/deals/{deal.pk}/", {"status": "definitive"}, format="json")
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert "status_correction" in str(refused.json()["error"]["fields"]["status"])
    deal.refresh_from_db()
    assert deal.status == "closed"
    corrected = client.patch(
        f"/api/v1/deals/{deal.pk}/", {"status": "definitive", "status_correction": True}, format="json"
    )
    assert corrected.status_code == HTTPStatus.OK, corrected.content
    assert corrected.json()["status"] == "definitive"
    assert "status_correction" not in corrected.json()
    deal.refresh_from_db()
    assert deal.status == "definitive"
    latest = deal.history.first()
    assert latest.history_user == analyst
    assert latest.history_change_reason == "Changed through the API (status corrected)"
    # A new deal may start at any status: the flag is accepted, and read by nothing, on a create.
    created = client.post("/api/v1/deals/", {
        "reference": "new-deal", "title": "New deal", "agency": deal.agency_id, "company": deal.company_id,
        "status": "reported_talks", "evidence": "news", "source_url": "https://example.gov/a",
        "source_published_on": "2026-01-05", "status_correction": False,
    }, format="json")  # fmt: skip
    assert created.status_code == HTTPStatus.CREATED, created.content


def test_a_milestone_written_through_the_api_gets_its_window_and_a_revision(api, analyst):
    """A milestone created through the API gets its window computed by the server from its text (the
    window sent is ignored) and a first revision naming the analyst."""
    project = f.ProjectFactory()
    response = _as(api, analyst).post("/api/v1/milestones/", {
        "project": project.pk, "kind": "fid", "title": "FID", "forecast_text": "H2 2027",
        "forecast_start": "1999-01-01", "source_url": "https://www.sec.gov/x.htm", "evidence": "filing",
    }, format="json")  # fmt: skip
    assert response.status_code == HTTPStatus.CREATED, response.json()
    body = response.json()
    assert (body["forecast_start"], body["forecast_end"]) == ("2027-07-01", "2027-12-31")  # server-computed
    milestone = m.Milestone.objects.get(pk=body["id"])
    assert milestone.revisions.get().recorded_by == analyst


def test_a_viewer_cannot_write(api, viewer):
    """A viewer's edit of a deal is refused 403 and the deal is unchanged."""
    deal = _book()
    response = _as(api, viewer).patch(f"/api/v1/deals/{deal.pk}/", {"title": "X"}, format="json")
    assert response.status_code == HTTPStatus.FORBIDDEN
    deal.refresh_from_db()
    assert deal.title != "X"


def test_nul_bytes_in_a_filter_get_a_4xx_not_a_500(api, viewer):
    """A NUL byte in a search is refused 400 rather than reaching the database and failing there."""
    response = _as(api, viewer).get("/api/v1/deals/", {"search": "a\x00b"})
    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_the_schema_is_valid_and_the_docs_load_nothing_from_outside(api, viewer, tmp_path):
    """The OpenAPI schema validates without warnings; the docs page (Swagger UI) loads its scripts from
    the site itself, with no inline script allowed, and needs a login; Redoc is not served."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/v1/refresh-runs/" in (tmp_path / "schema.yml").read_text()
    client = _as(api, viewer)
    client.force_authenticate(viewer)
    docs = client.get("/api/docs/")
    assert docs.status_code == HTTPStatus.OK
    assert b"https://" not in docs.content
    assert b"/static/drf_spectacular_sidecar/" in docs.content
    assert "'unsafe-inline'" not in docs["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert APIClient().get("/api/docs/").status_code == HTTPStatus.UNAUTHORIZED
    # Redoc is not served: its bundle asks for its vendor's logo from the vendor's site.
    assert client.get("/api/docs/redoc/").status_code == HTTPStatus.NOT_FOUND


def test_the_token_endpoint_and_the_refresh_trigger_are_throttled(api, analyst, monkeypatch):
    """Past their rates the token endpoint and the refresh trigger answer 429 in the error format, with
    a Retry-After."""
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": "2/minute", "refresh": "1/hour"})
    for _ in range(2):
        assert api.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json").status_code == 401
    limited = api.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json")
    assert limited.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert limited.json()["error"]["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    client = _as(APIClient(), analyst)
    monkeypatch.setattr(refresh_run_task, "delay", lambda run_id: None)
    client.post("/api/v1/refresh-runs/", {"kind": "filings"}, format="json")
    assert client.post("/api/v1/refresh-runs/", {"kind": "fx"}, format="json").status_code == 429


def test_malformed_oversized_and_nul_input_get_4xx(api, analyst, settings):
    """Malformed JSON, an oversized body, and NUL in a path, a filter or a body are all answered 4xx,
    never 500."""
    client = _as(api, analyst)
    malformed = client.post("/api/v1/cash-flows/", data="{not json", content_type="application/json")
    assert malformed.status_code == HTTPStatus.BAD_REQUEST
    assert malformed.json()["error"]["code"] == "parse_error"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    oversized = client.post(
        "/api/v1/cash-flows/", data='{"memo": "' + "x" * 20_000 + '"}', content_type="application/json"
    )
    assert 400 <= oversized.status_code < 500
    assert client.get("/api/v1/deals/a%00b/").status_code == HTTPStatus.BAD_REQUEST
    nul_filter = client.get("/api/v1/prices/", {"source": "a\x00b"})
    assert nul_filter.status_code == HTTPStatus.BAD_REQUEST
    assert nul_filter.json()["error"]["code"] == "invalid"
    body_nul = client.post("/api/v1/cash-flows/", {"memo": "a\x00b"}, format="json")
    assert body_nul.status_code == HTTPStatus.BAD_REQUEST


def test_a_session_needs_its_csrf_token_to_write(analyst):
    """A write with a session cookie but no CSRF token is refused 403, so another site cannot make a
    logged-in browser write."""
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(analyst)
    response = api.post("/api/v1/refresh-runs/", {}, format="json")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "CSRF" in response.json()["error"]["message"]


@pytest.mark.parametrize("day", ["0026-01-01", "1900-06-30"])
def test_a_cash_flow_dated_centuries_ago_is_refused_and_every_page_still_answers(api, analyst, client, day):
    """A flow in year 26 (for 2026) used to be accepted, and then the XIRR of every page that shows
    it failed: it is refused with the range, nothing is written, and the pages answer."""
    deal = _book()
    position = deal.positions.filter(kind="common").first()
    response = _as(api, analyst).post(
        "/api/v1/cash-flows/",
        {"position": position.pk, "kind": "investment", "occurred_on": day, "amount": "5", "currency": "USD"},
        format="json",
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "looks like a typing error" in str(response.json()["error"]["fields"]["occurred_on"])
    assert not m.CashFlow.objects.filter(occurred_on__lt=dt.date(1990, 1, 1)).exists()
    client.force_login(analyst)
    for url in ("/", "/deals/", f"/deals/{deal.reference}/", "/report/", "/api/v1/analytics/summary/"):
        assert client.get(url).status_code == HTTPStatus.OK, url


@pytest.mark.parametrize("as_of", ["2999-01-29", "0001-01-01"])
def test_a_refresh_for_an_implausible_date_is_refused_and_nothing_is_queued(api, analyst, as_of):
    """A refresh for 2999 used to write FX rates dated then, and one for year 1 failed in the run:
    both are answered 400 naming the range, and no run is recorded."""
    response = _as(api, analyst).post("/api/v1/refresh-runs/", {"kind": "pipeline", "as_of": as_of}, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Choose a date from 1990-01-01 to today" in str(response.json()["error"]["fields"]["as_of"])
    assert not m.RefreshRun.objects.exists()


def test_a_nul_character_in_any_string_is_refused_in_the_error_format(api):
    """PostgreSQL cannot store or compare NUL: a string holding one (here the user name sent to the
    token endpoint, which looks it up) is refused before anything reaches the database."""
    response = api.post("/api/v1/auth/token/", {"username": "admin\u0000", "password": "x"}, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"]["message"] == "Text may not contain NUL characters (\\u0000)."


@pytest.mark.parametrize("depth", [17, 50_000])
def test_deeply_nested_json_is_refused_even_before_logging_in(api, depth):
    """A body nested 50,000 levels deep made the token endpoint fail with RecursionError: any body
    deeper than 16 levels is a 400 in the error format."""
    body = "[" * depth + "]" * depth
    response = api.post("/api/v1/auth/token/", data=body, content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"]["message"] == "The JSON body is nested more than 16 levels deep."


def test_an_oversized_body_is_answered_in_the_error_format(api, analyst, settings):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is answered 413 in the error format, stating the limit."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = _as(api, analyst).post(
        "/api/v1/cash-flows/", data='{"memo": "' + "x" * 20_000 + '"}', content_type="application/json"
    )
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json()["error"] == {"code": "too_large", "message": "The request body is larger than 10,000 bytes."}


def test_the_schema_and_the_docs_are_for_users_with_a_role(django_user_model):
    """A logged-in user without a role could read the API's schema and docs: 403 now, as for the API."""
    nobody = django_user_model.objects.create_user("no-role")
    client = APIClient()
    client.force_authenticate(nobody)
    for url in ("/api/schema/", "/api/docs/"):
        assert client.get(url).status_code == HTTPStatus.FORBIDDEN, url


def test_a_user_holds_at_most_twenty_live_tokens(api, viewer, settings):
    """The token view issued tokens without limit (25 live ones seen): the 21st is refused, and
    ending one makes room."""
    from knox.models import AuthToken

    viewer.set_password("correct horse battery staple")
    viewer.save()
    for _ in range(20):
        AuthToken.objects.create(user=viewer)
    credentials = {"username": viewer.username, "password": "correct horse battery staple"}
    refused = api.post("/api/v1/auth/token/", credentials, format="json")
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert refused.json()["error"]["code"] == "token_limit"
    assert AuthToken.objects.filter(user=viewer).count() == 20
    AuthToken.objects.filter(user=viewer).first().delete()
    assert api.post("/api/v1/auth/token/", credentials, format="json").status_code == HTTPStatus.OK


def test_a_blank_forecast_precision_is_in_the_schema_as_it_is_in_the_answers(api, viewer):
    """A milestone whose text gives no window answers ``forecast_precision: ""``; the schema used to
    leave the blank value out of that field's enum."""
    from drf_spectacular.generators import SchemaGenerator

    f.MilestoneFactory(forecast_text="", forecast_precision="", forecast_start=None, forecast_end=None)
    (row,) = _as(api, viewer).get("/api/v1/milestones/").json()["results"]
    assert row["forecast_precision"] == ""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    field = schema["components"]["schemas"]["Milestone"]["properties"]["forecast_precision"]
    enums = [schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]["enum"] for ref in field["oneOf"]]
    assert [""] in enums


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"limit": "abc"}, "limit", "Give a whole number from 1 to 500."),
        ({"limit": "0"}, "limit", "Give a whole number from 1 to 500."),
        ({"limit": "501"}, "limit", "Give a whole number from 1 to 500."),
        ({"offset": "-1"}, "offset", "Give a whole number of 0 or more."),
        ({"ordering": "password"}, "ordering", "Cannot order by password; choose from: "),
    ],
)
def test_an_invalid_query_parameter_gets_a_400_naming_it(api, viewer, params, field, message):
    """These used to be ignored quietly (the default page, the default order)."""
    response = _as(api, viewer).get("/api/v1/deals/", params)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"]["fields"][field][0].startswith(message)
