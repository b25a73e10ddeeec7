"""/healthz, /readyz and the `health` command; and what users get while Redis (the broker and
the cache) is down: pages and API reads still answer, a refresh request is refused with 503 and
recorded as failed."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from portfolio import models as m
from portfolio.services.demo_data import demo_data_load
from tests.factories import RefreshRunFactory
from tracker.celery import app
from tracker.settings.base import redis_cache

#: A Redis address where nothing listens (connections are refused at once).
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings, monkeypatch):
    """The cache and the task broker point at a Redis that is not running, as when it has died.

    The Celery app keeps a connection pool; it is dropped so that the next publish connects anew.
    """
    settings.CACHES = {"default": redis_cache(DEAD_REDIS)}
    monkeypatch.setitem(app.conf, "broker_url", DEAD_REDIS)
    monkeypatch.setenv("CELERY_BROKER_URL", DEAD_REDIS)  # Celery reads this variable before its settings
    monkeypatch.setitem(app.conf, "broker_transport_options", {"visibility_timeout": 3600})
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    yield
    app._pool = None
    app.amqp._producer_pool = None


def _checks(report: dict) -> dict:
    return {check["name"]: check["state"] for check in report["checks"]}


@pytest.mark.django_db
def test_healthz_answers_without_a_login(client):
    """/healthz answers 200 ok to an anonymous probe and is never cached."""
    response = client.get("/healthz")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_readyz_reports_each_dependency_and_the_age_of_the_last_refresh(client):
    """/readyz names the state of the database, broker and cache, and the last valuation refresh:
    'never' at first, then its age in seconds."""
    response = client.get("/readyz")
    assert response.status_code == HTTPStatus.OK
    assert _checks(response.json()) == {"database": "ok", "broker": "ok", "cache": "ok", "last_refresh": "never"}
    RefreshRunFactory(
        kind="pipeline", status="succeeded", finished_at=timezone.now() - dt.timedelta(hours=2), started_at=None
    )
    last = {c["name"]: c for c in client.get("/readyz").json()["checks"]}["last_refresh"]
    assert last["state"] == "ok"
    assert 7190 <= last["seconds"] <= 7260


@pytest.mark.django_db
def test_a_refresh_older_than_the_limit_is_stale_but_the_instance_stays_ready(client, settings):
    """A last pipeline run older than LODESTONE_REFRESH_STALE_HOURS reads as stale (a later milestones
    run does not count), yet /readyz still answers 200."""
    settings.LODESTONE_REFRESH_STALE_HOURS = 36
    RefreshRunFactory(kind="pipeline", status="succeeded", finished_at=timezone.now() - dt.timedelta(hours=40))
    RefreshRunFactory(kind="milestones", status="succeeded", finished_at=timezone.now())  # not a valuation
    response = client.get("/readyz")
    assert response.status_code == HTTPStatus.OK
    assert _checks(response.json())["last_refresh"] == "stale"


@pytest.mark.django_db
def test_the_health_command_prints_the_checks(capsys):
    """The health command prints one line per check: the database, broker and cache ok, no refresh yet."""
    call_command("health")
    out = capsys.readouterr().out
    assert [line.split()[:2] for line in out.splitlines()] == [
        ["database", "ok"],
        ["broker", "ok"],
        ["cache", "ok"],
        ["last_refresh", "never:"],
    ]


@pytest.mark.django_db
def test_with_redis_down_readyz_says_degraded_and_keeps_the_instance_in_service(client, redis_down):
    """Every instance shares the one Redis: taking them all out would serve nothing, while pages
    and API reads still work. So /readyz stays 200 and names what is down."""
    response = client.get("/readyz")
    assert response.status_code == HTTPStatus.OK
    report = response.json()
    assert report["status"] == "degraded"
    assert _checks(report) == {"database": "ok", "broker": "down", "cache": "down", "last_refresh": "never"}
    with pytest.raises(CommandError, match="degraded: broker, cache down") as raised:
        call_command("health", "--json")
    assert raised.value.returncode == 2


@pytest.mark.django_db
def test_with_redis_down_the_provider_gate_lets_calls_through_and_counts_nothing(redis_down):
    """With Redis down the shared provider gate does not block calls nor open on failures, and the
    provider's own error still reaches the retry logic."""
    from portfolio.integrations.market_data import TransientProviderError, provider_gate

    gate = provider_gate("yahoo")
    assert gate.call(lambda: "answer") == "answer"

    def outage():
        raise TransientProviderError("yahoo", "down")

    for _ in range(gate.policy.failure_threshold + 1):
        with pytest.raises(TransientProviderError):  # the provider's own error, for the retry logic
            gate.call(outage)
    assert not gate.is_open


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_pages_and_api_reads_answer_and_a_refresh_is_refused_and_recorded(redis_down, analyst):
    """With Redis down, pages and API reads still answer; a refresh asked through the API is refused
    with 503 and one asked on the page says the queue is unreachable, each recorded as failed, none
    left queued."""
    demo_data_load()
    client = APIClient()
    client.force_login(analyst)
    deal = m.Deal.objects.order_by("pk").first()
    for url in ("/", "/deals/", f"/deals/{deal.reference}/", "/milestones/", "/refresh-runs/"):
        assert client.get(url).status_code == HTTPStatus.OK, url
    for url in ("/api/v1/deals/", "/api/v1/positions/", "/api/v1/analytics/summary/"):
        assert client.get(url).status_code == HTTPStatus.OK, url

    refused = client.post("/api/v1/refresh-runs/", {"kind": "pipeline"}, format="json")
    assert refused.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert refused.json()["error"]["code"] == "broker_unavailable"
    run = m.RefreshRun.objects.get(pk=refused.json()["error"]["run"])
    assert run.status == "failed"
    assert "the task queue could not be reached" in run.message

    page = client.post("/refresh-runs/start/", follow=True)
    assert page.status_code == HTTPStatus.OK
    assert "The task queue is unreachable" in page.content.decode()
    assert m.RefreshRun.objects.filter(status="failed").count() == 2
    assert not m.RefreshRun.objects.filter(status__in=["queued", "running"]).exists()


@pytest.mark.django_db
def test_a_backfill_counts_as_a_valuation_refresh(client):
    """The first start of make run values the last year by a backfill: the instance is then ready
    with a fresh valuation, not 'never'."""
    RefreshRunFactory(kind="backfill", status="succeeded", finished_at=timezone.now(), started_at=None)
    assert _checks(client.get("/readyz").json())["last_refresh"] == "ok"
