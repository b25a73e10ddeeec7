"""Scenario runs through the API, worked out by a real worker through the broker: a historical
stress path and a scenario's figures as hand-worked; the same run twice is refused while it is
queued (409); an unreachable queue fails the run (503); a run whose worker stopped is queued again."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from http import HTTPStatus

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.exceptions import ValidationError
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from portfolio import models as m
from portfolio import tasks
from portfolio.services.scenario_runs import scenario_run_execute, scenario_run_start, scenario_runs_recover
from tests import factories as f
from tests.portfolio.api.test_permission_matrix import _client
from tests.portfolio.book.test_scenarios import _floor_deal
from tracker.celery import app

PATH = {"kind": "stress", "as_of": "2026-07-10", "start": "2024-01-01", "end": "2024-03-31"}


def _path_book():
    """The floor deal and the market of 2024-01-01 to 2024-03-31 of the book's hand-worked path."""
    deal = _floor_deal()
    listing = deal.positions.get().listing
    for day, close in (("2023-12-29", "20"), ("2024-01-31", "15"), ("2024-02-29", "10"), ("2024-03-29", "25")):
        f.SecurityPriceFactory(listing=listing, on=dt.date.fromisoformat(day), close=Decimal(close), source="manual")
    ndpr = m.Commodity.objects.get(code="ndpr-oxide")
    f.CommodityPriceFactory(commodity=ndpr, on=dt.date(2024, 1, 15), price=Decimal("70"))
    f.CommodityPriceFactory(commodity=ndpr, on=dt.date(2024, 2, 20), price=Decimal("50"))


def _wait_for(api, location: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(location).json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{location} still {body['status']} after {timeout} s")


@pytest.fixture
def worker(transactional_db):
    app.control.purge()  # messages other tests queued for runs that no longer exist
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"):
        yield


def test_a_worker_replays_a_historical_path_and_a_scenario(worker):
    """202 with the run's Location; the worker stores what the synchronous reads give: February
    2024 the worst of the path (5,000,000.00 lost, 43,260,000.00 owed); NdPr at US$60/kg owing
    36,050,000.00."""
    _path_book()
    api = _client("Viewer")
    response = api.post("/api/v1/scenario-runs/", PATH, format="json")
    assert response.status_code == HTTPStatus.ACCEPTED, response.json()
    assert response.json()["status"] == "queued"
    run = _wait_for(api, response["Location"])
    assert run["status"] == "succeeded", run["message"]
    assert (run["requested_by"], run["kind"], run["as_of"]) == ("viewer", "stress", "2026-07-10")
    assert [(p["on"], p["change"]["value_usd"], p["loss_usd"]) for p in run["result"]["points"]] == [
        ("2024-01-31", "-2500000.00", "31340000.00"),
        ("2024-02-29", "-5000000.00", "48260000.00"),
        ("2024-03-31", "2500000.00", "-2500000.00"),
    ]
    assert run["result"]["worst"] == "2024-02-29"

    scenario = f.ScenarioFactory(shocks=[{"kind": "commodity", "commodity": "ndpr-oxide", "level": "60"}])
    response = api.post("/api/v1/scenario-runs/", {"kind": "result", "scenario": scenario.pk, "as_of": "2026-07-10"},
                        format="json")  # fmt: skip
    run = _wait_for(api, response["Location"])
    assert run["result"]["change"]["floor_liability_usd"] == "36050000.00"
    synchronous = api.get(f"/api/v1/scenarios/{scenario.pk}/result/", {"as_of": "2026-07-10"}).json()
    assert run["result"] == synchronous


@pytest.mark.django_db
def test_the_same_run_twice_is_refused_while_queued_and_bad_requests_store_nothing(
    django_capture_on_commit_callbacks, monkeypatch
):
    queued: list[int] = []
    monkeypatch.setattr(tasks.scenario_run_task, "delay", queued.append)
    api = _client("Viewer")
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post("/api/v1/scenario-runs/", PATH, format="json")
    assert first.status_code == HTTPStatus.ACCEPTED
    second = api.post("/api/v1/scenario-runs/", PATH, format="json")
    assert second.status_code == HTTPStatus.CONFLICT
    assert second.json()["error"]["code"] == "scenario_run_in_progress"
    assert queued == [first.json()["id"]]
    for bad in (
        {"kind": "stress", "start": "2024-01-01"},
        {**PATH, "end": "2023-01-01"},
        {**PATH, "start": "2010-01-01"},
        {"kind": "result"},
        {"kind": "result", "scenario": 999999},
        {"kind": "sensitivities", "start": "2024-01-01"},
        {"kind": "sensitivities", "as_of": "1890-01-01"},
    ):
        response = api.post("/api/v1/scenario-runs/", bad, format="json")
        assert response.status_code == HTTPStatus.BAD_REQUEST, bad
    assert m.ScenarioRun.objects.count() == 1
    assert APIClient().post("/api/v1/scenario-runs/", PATH, format="json").status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_queue_fails_the_run_with_the_reason(monkeypatch):
    """Outside a test transaction the run is committed and queued during the request, as in production."""

    def refuse(run_id):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    monkeypatch.setattr(tasks.scenario_run_task, "delay", refuse)
    api = _client("Viewer")
    response = api.post("/api/v1/scenario-runs/", {"kind": "sensitivities", "as_of": "2026-07-10"}, format="json")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["error"]["code"] == "broker_unavailable"
    run = m.ScenarioRun.objects.get()
    assert (run.status, run.message) == ("failed", "the task queue could not be reached: OperationalError")


@pytest.mark.django_db
def test_a_run_whose_worker_stopped_is_queued_again_and_done_once(django_capture_on_commit_callbacks, monkeypatch):
    """A running run whose process is gone goes back to the queue; a second delivery while another
    live process holds it leaves it; done, it is not queued again."""
    _floor_deal()
    queued: list[int] = []
    monkeypatch.setattr(tasks.scenario_run_task, "delay", queued.append)
    run = f.ScenarioRunFactory(
        status=m.ScenarioRun.Status.RUNNING, worker="no-such-host:1", as_of=dt.date(2026, 7, 10), result=None
    )
    m.ScenarioRun.objects.filter(pk=run.pk).update(updated_at=timezone.now() - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert scenario_runs_recover() == [run]
    assert queued == [run.pk]
    assert m.ScenarioRun.objects.get(pk=run.pk).status == "queued"
    done = scenario_run_execute(run_id=run.pk)
    assert done is not None
    assert (done.status, done.attempts, done.worker) == ("succeeded", 1, "")
    assert done.result is not None
    assert {item["input"] for item in done.result["inputs"]} >= {"NdPr oxide price"}
    with django_capture_on_commit_callbacks(execute=True):
        assert scenario_runs_recover() == []
    held = f.ScenarioRunFactory(status=m.ScenarioRun.Status.RUNNING, worker="elsewhere:1", result=None)
    assert scenario_run_execute(run_id=held.pk).status == "running"  # another live process holds it


@pytest.mark.django_db
def test_the_service_refuses_a_path_over_ten_years_whoever_asks():
    """The ten-year limit is the run's own rule: the pages and the API check it first, the service
    whatever calls it."""
    with pytest.raises(ValidationError, match="at most ten years"):
        scenario_run_start(
            kind="stress", as_of=dt.date(2026, 7, 10), start=dt.date(2010, 1, 1), end=dt.date(2024, 1, 1),
            user=f.UserFactory(),
        )  # fmt: skip
    assert not m.ScenarioRun.objects.exists()
