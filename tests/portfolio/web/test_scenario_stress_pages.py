"""The historical stress page and a scenario run's page: every role asks for a stress path (a run
only reads) and reads runs, a user without a role is refused and an anonymous visitor sent to the
login; bad dates are refused on the form with nothing started; a path asked for queues one run
and leads to its page, the same path again is refused naming it, and a queue that is down is said;
the run's page follows it while it is queued or running and, once the worker has done it, shows the
hand-worked path to the cent with its worst day marked; constant query counts."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from portfolio import models as m
from portfolio import tasks
from portfolio.services.scenario_runs import scenario_run_execute, scenario_run_start
from tests import factories as f
from tests.portfolio.tasks.test_scenario_tasks import _path_book

pytestmark = pytest.mark.django_db
D = Decimal
AS_OF = dt.date(2026, 7, 10)
#: The hand-worked path (tests/portfolio/book/test_scenarios.py): 2024-01-01 to 2024-03-31 on the
#: floor deal of 2026-07-10.
PATH = {"start": "2024-01-01", "end": "2024-03-31", "as_of": "2026-07-10"}
STRESS = m.ScenarioRun.Kind.STRESS


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The runs whose task was queued (the task's ``delay`` recorded rather than sent)."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.scenario_run_task, "delay", sent.append)
    return sent


def _start(client, data: dict, capture) -> object:
    """POST the form, running what waits for the commit (the task's queueing) as a request would."""
    with capture(execute=True):
        return client.post(reverse("scenario-stress"), data)


def _stress_run(points: int = 3, **kwargs) -> m.ScenarioRun:
    """A succeeded stress run with a stored result of ``points`` month ends from 2021-01-31, the
    value falling 1,000,000.00 a month and the floors owing 500,000.00 more a month: the last the worst."""
    days = [dt.date(2021 + i // 12, i % 12 + 1, 1) - dt.timedelta(days=1) for i in range(1, points + 1)]
    result = {
        "as_of": "2026-07-10",
        "start": "2021-01-01",
        "end": days[-1].isoformat(),
        "points": [
            {
                "on": day.isoformat(),
                "change": {
                    "value_usd": f"{-1000000 * (i + 1)}.00",
                    "exposure_usd": f"{-500000 * (i + 1)}.00",
                    "floor_liability_usd": f"{500000 * (i + 1)}.00",
                    "contingent_usd": "0.00",
                },
                "loss_usd": f"{1500000 * (i + 1)}.00",
                "inputs_moved": 2,
            }
            for i, day in enumerate(days)
        ],
        "worst": days[-1].isoformat(),
        "notes": ["Lithium carbonate: no price stored from 2021-01-01; its floors stay as they are."],
    }
    defaults = {
        "kind": STRESS, "as_of": AS_OF, "start": dt.date(2021, 1, 1), "end": days[-1], "result": result,
        "finished_at": timezone.now(),
    }  # fmt: skip
    return f.ScenarioRunFactory.create(**{**defaults, **kwargs})


# --- Roles ----------------------------------------------------------------------------------------


def test_the_pages_need_a_login_and_a_role(client):
    """Anonymous visitors are sent to the login page (a POST too, with nothing started); a user
    without a role is refused (403) the page, the form and a run's page."""
    run = _stress_run()
    urls = [reverse("scenario-stress"), reverse("scenario-run", args=[run.pk])]
    for url in urls:
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, url
        assert response["Location"].startswith(reverse("login")), url
    assert client.post(reverse("scenario-stress"), PATH)["Location"].startswith(reverse("login"))
    client.force_login(f.UserFactory(username="nobody"))
    for url in urls:
        assert client.get(url).status_code == HTTPStatus.FORBIDDEN, url
    assert client.post(reverse("scenario-stress"), PATH).status_code == HTTPStatus.FORBIDDEN
    assert m.ScenarioRun.objects.count() == 1


@pytest.mark.parametrize("role", ["Viewer", "Analyst", "Admin"])
def test_every_role_reads_the_pages(client, role):
    user = f.UserFactory(username=role.lower())
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    run = _stress_run()
    assert client.get(reverse("scenario-stress")).status_code == HTTPStatus.OK
    assert client.get(reverse("scenario-run", args=[run.pk])).status_code == HTTPStatus.OK


# --- Asking for a path ----------------------------------------------------------------------------


def test_a_viewer_asks_for_a_path_and_is_led_to_its_page(
    viewer_client, viewer, queued, django_capture_on_commit_callbacks
):
    """The form posted queues exactly one stress run (asked by the viewer, on the base date and path
    given) and leads to its page, which says it is queued and polls its progress."""
    page = viewer_client.get(reverse("scenario-stress")).content.decode()
    for text in ('name="start"', 'name="end"', 'name="as_of"', "Replay the path", "No stress run yet.",
                 "e.g. 2022-01-01", "2022-01-01 to 2024-12-31 replays NdPr oxide and the listed shares"):  # fmt: skip
        assert text in page, text
    response = _start(viewer_client, PATH, django_capture_on_commit_callbacks)
    run = m.ScenarioRun.objects.get()
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("scenario-run", args=[run.pk])
    assert queued == [run.pk]
    assert (run.kind, run.as_of, run.start, run.end) == (STRESS, AS_OF, dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    assert (run.requested_by, run.status, run.scenario) == (viewer, "queued", None)
    page = viewer_client.get(response["Location"]).content.decode()
    assert f"Historical stress #{run.pk} queued." in page
    assert 'data-run-status="queued"' in page
    assert f'hx-get="{reverse("scenario-run", args=[run.pk])}"' in page
    assert "The held book of 2026-07-10 replayed on the market from 2024-01-01 to 2024-03-31." in page


def test_a_blank_base_date_is_the_latest_valuation_date(viewer_client, queued, django_capture_on_commit_callbacks):
    f.ValuationFactory(as_of=dt.date(2026, 6, 30))
    page = viewer_client.get(reverse("scenario-stress")).content.decode()
    assert "blank for the latest valuation date (2026-06-30)" in page
    _start(viewer_client, {**PATH, "as_of": ""}, django_capture_on_commit_callbacks)
    assert m.ScenarioRun.objects.get().as_of == dt.date(2026, 6, 30)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"start": "2024-03-31", "end": "2024-01-01"}, "end", "The path ends on or before its start"),
        ({"start": "2024-01-01", "end": "2024-01-01"}, "end", "The path ends on or before its start"),
        ({"start": "2010-01-01", "end": "2024-03-31"}, "end", "A path is at most ten years long"),
        ({"start": "1989-12-31"}, "start", "Choose a date from 1990-01-01 to today"),
        ({"end": "2031-01-01"}, "end", "Choose a date from 1990-01-01 to today"),
        ({"as_of": "2031-01-01"}, "as_of", "Choose a date from 1990-01-01 to today"),
        ({"start": ""}, "start", "Give the path&#x27;s first day."),
        ({"end": ""}, "end", "Give the path&#x27;s last day."),
        ({"start": "2024-02-30"}, "start", "Enter a valid date."),
        ({"as_of": "yesterday"}, "as_of", "Enter a valid date."),
    ],
)
def test_bad_dates_are_refused_on_the_form_and_nothing_is_started(
    viewer_client, queued, django_capture_on_commit_callbacks, data, field, message
):
    response = _start(viewer_client, {**PATH, **data}, django_capture_on_commit_callbacks)
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "No run was started: see the fields marked below." in page
    error = re.search(rf'<div class="error" id="id_{field}_error">([^<]*)</div>', page)
    assert error is not None, page
    assert message in error.group(1)
    assert f'value="{data[field]}"' in page or not data[field]  # what was typed is kept
    assert not m.ScenarioRun.objects.exists()
    assert queued == []


def test_ten_years_to_the_day_are_taken(viewer_client, queued, django_capture_on_commit_callbacks):
    response = _start(
        viewer_client, {"start": "2014-03-31", "end": "2024-03-31", "as_of": ""}, django_capture_on_commit_callbacks
    )
    assert response.status_code == HTTPStatus.FOUND
    assert len(queued) == 1


def test_the_same_path_twice_is_refused_naming_the_run(viewer_client, queued, django_capture_on_commit_callbacks):
    """While the first is queued (and then running), the same path and base date again is refused
    (409) with the message and a link to it, the dates kept; nothing more is queued. Another base
    date is another run."""
    _start(viewer_client, PATH, django_capture_on_commit_callbacks)
    first = m.ScenarioRun.objects.get()
    for status in ("queued", "running"):
        m.ScenarioRun.objects.filter(pk=first.pk).update(status=status)
        response = _start(viewer_client, PATH, django_capture_on_commit_callbacks)
        assert response.status_code == HTTPStatus.CONFLICT
        page = response.content.decode()
        assert f"The same run (#{first.pk}) is already {status}." in page
        assert f'<a href="{reverse("scenario-run", args=[first.pk])}">Open run #{first.pk}</a>' in page
        assert 'value="2024-01-01"' in page
    assert m.ScenarioRun.objects.count() == 1
    assert queued == [first.pk]
    response = _start(viewer_client, {**PATH, "as_of": "2026-07-09"}, django_capture_on_commit_callbacks)
    assert response.status_code == HTTPStatus.FOUND
    assert len(queued) == 2


@pytest.mark.django_db(transaction=True)
def test_a_queue_that_is_down_is_said_and_the_run_recorded_failed(client, monkeypatch):
    """Outside a test transaction the run is committed and queued during the request, as in
    production: with the queue unreachable the page says so (503) and links to the run, recorded
    as failed with the reason, which its page shows with a button that asks for the path again:
    with the queue back, that queues a new run."""

    def refuse(run_id):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    monkeypatch.setattr(tasks.scenario_run_task, "delay", refuse)
    user = f.UserFactory(username="viewer")
    user.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(user)
    response = client.post(reverse("scenario-stress"), PATH)
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    run = m.ScenarioRun.objects.get()
    assert (run.status, run.message) == ("failed", "the task queue could not be reached: OperationalError")
    page = response.content.decode()
    assert "The task queue is unreachable; the run was recorded as failed." in page
    assert f'href="{reverse("scenario-run", args=[run.pk])}"' in page
    page = client.get(reverse("scenario-run", args=[run.pk])).content.decode()
    assert 'data-run-status="failed"' in page
    assert "The run failed: the task queue could not be reached: OperationalError" in page
    assert "hx-get" not in page
    fields = dict(re.findall(r'<input type="hidden" name="(start|end|as_of)" value="([^"]*)">', page))
    assert fields == PATH
    assert "Ask for the path again</button>" in page
    sent: list[int] = []
    monkeypatch.setattr(tasks.scenario_run_task, "delay", sent.append)
    response = client.post(reverse("scenario-stress"), fields)
    again = m.ScenarioRun.objects.latest("pk")
    assert response["Location"] == reverse("scenario-run", args=[again.pk])
    assert (sent, again.status) == ([again.pk], "queued")


# --- A run's page ---------------------------------------------------------------------------------


def test_the_run_page_follows_the_run_then_shows_the_hand_worked_path(
    viewer_client, viewer, queued, django_capture_on_commit_callbacks
):
    """Queued, then running, the page and its htmx partial (the progress alone) poll; done by the
    worker, the partial asks for the page again, which shows the hand-worked path: value -2,500,000.00,
    -5,000,000.00, +2,500,000.00; the floors 28,840,000.00, 43,260,000.00, 0.00 more; losses
    31,340,000.00, 48,260,000.00, -2,500,000.00; February the worst, in words and marked in the table
    (a "Worst day" badge, not a colour alone); the chart's JSON; no notes."""
    _path_book()
    _start(viewer_client, PATH, django_capture_on_commit_callbacks)
    run = m.ScenarioRun.objects.get()
    url = reverse("scenario-run", args=[run.pk])
    partial = viewer_client.get(url, HTTP_HX_REQUEST="true")
    assert "HX-Refresh" not in partial
    fragment = partial.content.decode()
    assert fragment.startswith('<section id="run-progress" hx-get=')
    assert "<html" not in fragment
    assert 'data-run-status="queued"' in fragment
    m.ScenarioRun.objects.filter(pk=run.pk).update(status="running", started_at=timezone.now())
    fragment = viewer_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-run-status="running"' in fragment
    assert "hx-get" in fragment

    scenario_run_execute(run_id=run.pk)
    partial = viewer_client.get(url, HTTP_HX_REQUEST="true")
    assert partial["HX-Refresh"] == "true"
    assert 'data-run-status="succeeded"' in partial.content.decode()
    assert "hx-get" not in partial.content.decode()

    response = viewer_client.get(url)
    stress = response.context["stress"]
    assert [
        (p.on, p.change.value, p.change.exposure, p.change.floor_liability, p.loss, p.worst) for p in stress.points
    ] == [
        (dt.date(2024, 1, 31), D("-2500000.00"), D("26340000.00"), D("28840000.00"), D("31340000.00"), False),
        (dt.date(2024, 2, 29), D("-5000000.00"), D("38260000.00"), D("43260000.00"), D("48260000.00"), True),
        (dt.date(2024, 3, 31), D("2500000.00"), D("2500000.00"), D("0.00"), D("-2500000.00"), False),
    ]
    assert stress.notes == []
    page = response.content.decode()
    assert "hx-get" not in page
    worst = re.search(r'<p id="stress-worst">(.*?)</p>', page, re.S)
    assert worst is not None
    assert " ".join(worst.group(1).split()) == (
        "The worst day of the path was <strong>2024-02-29</strong>: against the held book of 2026-07-10, the held "
        "value US$5,000,000.00 lower and the price floors' liability US$43,260,000.00 higher: a loss of "
        "<strong>US$48,260,000.00</strong>."
    )
    rows = re.findall(r"<tr( class=\"worst\")?>\s*<td data-label=\"Day\">([^<]*)(.*?)</tr>", page, re.S)
    assert [(marked, day.strip()) for marked, day, _ in rows] == [
        ("", "2024-01-31"), (' class="worst"', "2024-02-29"), ("", "2024-03-31"),
    ]  # fmt: skip
    assert page.count("Worst day</strong>") == 1
    assert '<strong class="badge warning">Worst day</strong>' in rows[1][2]
    table = re.search(r'<table class="data" id="stress-points">.*?</table>', page, re.S)
    assert table is not None
    assert _read(table.group(0)) == [
        ["2024-01-31", "-US$2,500,000", "+US$26,340,000", "+US$28,840,000", "US$31,340,000", "2"],
        ["2024-02-29 Worst day", "-US$5,000,000", "+US$38,260,000", "+US$43,260,000", "US$48,260,000", "2"],
        ["2024-03-31", "+US$2,500,000", "+US$2,500,000", "US$0", "-US$2,500,000", "1"],
    ]
    assert "Every input had a price at the start and on each day." in page
    assert _chart(page, "chart-stress") == {
        "type": "stress",
        "labels": ["2024-01-31", "2024-02-29", "2024-03-31"],
        "datasets": [
            {"label": "Held value", "data": [-2500000.0, -5000000.0, 2500000.0]},
            {"label": "Exposure", "data": [26340000.0, 38260000.0, 2500000.0]},
            {"label": "Price-floor liability", "data": [28840000.0, 43260000.0, 0.0]},
        ],
        "worst": 1,
        "worst_label": "Worst 2024-02-29",
    }
    assert 'data-chart="stress"' in page
    assert "<script>" not in page  # nothing inline: the CSP is strict
    assert "style=" not in page
    stress_page = viewer_client.get(reverse("scenario-stress")).content.decode()
    row = re.search(rf'<a href="{url}">#{run.pk}</a>(.*?)</tr>', stress_page, re.S)
    assert row is not None
    cells = [
        " ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    ]
    assert cells[1:] == ["2024-01-01 to 2024-03-31", "2026-07-10", "Succeeded", "2024-02-29", "viewer"]
    assert '<span class="status run-succeeded">Succeeded</span>' in row.group(1)


def _read(table: str) -> list[list[str]]:
    """A table's body as a screen reader reads it: each row's cells, amounts to the unit."""
    shown = re.sub(r'<span aria-hidden="true">[^<]*</span>', "", table)
    body = shown[shown.index("<tbody>") :]
    return [
        [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def _chart(page: str, element_id: str):
    """The JSON a chart of the page reads (``json_script``)."""
    start = page.index(f'<script id="{element_id}" type="application/json">')
    return json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])


def test_a_path_with_notes_and_days_without_a_value(viewer_client):
    """The notes are listed; a day whose value is n/a says so, and so does a path without a day
    whose loss is known."""
    run = _stress_run(points=2)
    run.result["points"][0]["change"]["value_usd"] = None
    run.result["points"][0]["loss_usd"] = None
    run.save()
    page = viewer_client.get(reverse("scenario-run", args=[run.pk])).content.decode()
    assert "Lithium carbonate: no price stored from 2021-01-01; its floors stay as they are." in page
    assert "n/a" in page
    run.result["points"][1]["change"]["value_usd"] = None
    run.result["points"][1]["loss_usd"] = None
    run.result["worst"] = None
    run.save()
    page = viewer_client.get(reverse("scenario-run", args=[run.pk])).content.decode()
    assert "No day of the path has a loss: the held value is n/a on each." in page
    assert "Worst day</strong>" not in page
    assert _chart(page, "chart-stress")["worst"] is None


def _worst_words(page: str) -> str:
    found = re.search(r'<p id="stress-worst">(.*?)</p>', page, re.S)
    assert found is not None
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def test_the_worst_day_of_a_path_that_gains_or_moves_nothing_in_words(viewer_client):
    """A path that only gains says its worst day's gain, the smallest; one that moves nothing says
    the figures are unchanged."""
    run = _stress_run(points=1)
    point = run.result["points"][0]
    point["change"].update(value_usd="1000000.00", floor_liability_usd="-200000.00")
    point["loss_usd"] = "-1200000.00"
    run.save()
    assert _worst_words(viewer_client.get(reverse("scenario-run", args=[run.pk])).content.decode()) == (
        "The worst day of the path was 2021-01-31: against the held book of 2026-07-10, the held value "
        "US$1,000,000.00 higher and the price floors' liability US$200,000.00 lower: a gain of US$1,200,000.00, "
        "the smallest of the path."
    )
    point["change"].update(value_usd="0.00", floor_liability_usd="0.00")
    point["loss_usd"] = "0.00"
    run.save()
    assert _worst_words(viewer_client.get(reverse("scenario-run", args=[run.pk])).content.decode()) == (
        "The worst day of the path was 2021-01-31: against the held book of 2026-07-10, the held value unchanged "
        "and the price floors' liability unchanged: a loss of US$0.00."
    )


def test_a_result_that_cannot_be_read_is_said(viewer_client):
    run = _stress_run()
    run.result = {"points": "not a list"}
    run.save()
    response = viewer_client.get(reverse("scenario-run", args=[run.pk]))
    assert response.status_code == HTTPStatus.OK
    assert "The stored result cannot be read" in response.content.decode()


def test_a_scenario_and_a_sensitivities_run_are_summed_up_with_links(viewer_client, viewer):
    """A scenario's run (NdPr oxide at US$60/kg on the floor deal: 36,050,000.00 more owed) and a
    sensitivities run, done by the worker, each say what they found in short and lead to their
    pages on the run's date."""
    _path_book()
    ndpr_at_60 = [{"kind": "commodity", "commodity": "ndpr-oxide", "level": "60"}]
    scenario = f.ScenarioFactory(name="NdPr at 60", shocks=ndpr_at_60)
    result = scenario_run_start(kind="result", scenario=scenario, as_of=AS_OF, user=viewer)
    scenario_run_execute(run_id=result.pk)
    page = viewer_client.get(reverse("scenario-run", args=[result.pk])).content.decode()
    assert f"Scenario “NdPr at 60” #{result.pk}" in page
    amount = '<span class="signed">+<span class="amount" title="US$36,050,000">'
    assert f"the held value changes by US$0, the exposure by {amount}" in page
    assert f"and the price floors' liability by {amount}" in page
    assert f'href="{reverse("scenario", args=[scenario.pk])}?as_of=2026-07-10"' in page
    sensitivities = scenario_run_start(kind="sensitivities", as_of=AS_OF, user=viewer)
    scenario_run_execute(run_id=sensitivities.pk)
    response = viewer_client.get(reverse("scenario-run", args=[sensitivities.pk]))
    found = response.context["sensitivities"]
    assert found.count >= 1
    page = response.content.decode()
    assert f"Sensitivities #{sensitivities.pk}" in page
    assert "moved 10 % down and up" in page
    assert "NdPr oxide price" in page
    assert f'href="{reverse("scenario-sensitivities")}?as_of=2026-07-10"' in page


def test_the_scenario_pages_lead_to_the_stress_page(viewer_client):
    """The list and the sensitivities link to it; the menu marks Scenarios on it and on a run's page."""
    url = reverse("scenario-stress")
    assert f'href="{url}"' in viewer_client.get(reverse("scenarios")).content.decode()
    assert f'href="{url}"' in viewer_client.get(reverse("scenario-sensitivities")).content.decode()
    current = f'<a href="{reverse("scenarios")}" aria-current="page">Scenarios</a>'
    assert current in viewer_client.get(url).content.decode()
    assert current in viewer_client.get(reverse("scenario-run", args=[_stress_run().pk])).content.decode()


def test_the_stress_page_lists_the_stress_runs_the_latest_first(viewer_client):
    first = _stress_run(points=2)
    second = _stress_run(points=3, status="running", result=None, finished_at=None)
    f.ScenarioRunFactory()  # a sensitivities run: not listed
    page = viewer_client.get(reverse("scenario-stress")).content.decode()
    links = re.findall(r'<a href="/scenarios/runs/(\d+)/">', page)
    assert links == [str(second.pk), str(first.pk)]
    assert "2021-02-28" in page  # the first's worst day
    assert "Running" in page
    assert "2 in all." in page


# --- Queries ---------------------------------------------------------------------------------------

#: A run's page: the session, the user and their permissions (4); the run with who asked for it and
#: its scenario (1). Its result is in its row, whatever the number of its days.
RUN_QUERIES = 5
#: The stress page: the session, the user and their permissions (4); the default date (the latest
#: run, then the latest valuation: 2); the count and the page of the stress runs, with who asked
#: for each and its worst day read from its result in the database (2).
STRESS_QUERIES = 8


@pytest.mark.parametrize(("points", "runs"), [(3, 1), (36, 30)])
def test_the_queries_do_not_grow_with_the_days_or_the_runs(viewer_client, django_assert_num_queries, points, runs):
    for index in range(runs):
        run = _stress_run(points=points, requested_by=f.UserFactory(username=f"user-{index}"))
    with django_assert_num_queries(RUN_QUERIES):
        assert viewer_client.get(reverse("scenario-run", args=[run.pk])).status_code == HTTPStatus.OK
    with django_assert_num_queries(RUN_QUERIES):
        viewer_client.get(reverse("scenario-run", args=[run.pk]), HTTP_HX_REQUEST="true")
    with django_assert_num_queries(STRESS_QUERIES):
        assert viewer_client.get(reverse("scenario-stress")).status_code == HTTPStatus.OK
