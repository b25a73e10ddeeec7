"""The refresh and backfill commands: foreground runs with a summary, non-zero exits that say why."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import responses
from django.core.management import CommandError, call_command

from portfolio import models as m
from portfolio.services.demo_data import demo_data_load
from portfolio.services.refresh import refresh_request
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_refresh_runs_the_pipeline_and_prints_a_summary(capsys):
    """The refresh command runs the pipeline in the foreground on the demo data, prints its summary (16
    valuations written, the lapsed letter of intent's four left out) and records the run as the
    command's."""
    demo_data_load()
    call_command("refresh", "--date", "2026-11-27")
    out = capsys.readouterr().out
    assert re.search(r"Full pipeline #\d+ succeeded \(SIMULATED prices\)\.", out)
    assert "valuations: 16 written, 0 of 16 failed" in out  # the lapsed Trilogy LOI's four are not valued
    run = m.RefreshRun.objects.get(kind="pipeline")
    assert (run.trigger, run.status, run.as_of) == ("command", "succeeded", dt.date(2026, 11, 27))


def test_refresh_only_fx(capsys):
    """--only fx runs only the FX step: the day's CAD rate is stored and nothing is valued."""
    f.PositionFactory(currency_id="CAD")
    call_command("refresh", "--only", "fx", "--date", "2026-11-27")
    assert m.RefreshRun.objects.get().kind == "fx"
    assert m.FxRate.objects.filter(quote_id="CAD", on=dt.date(2026, 11, 27)).exists()
    assert not m.Valuation.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "27/11/2026"], "is not a date"),
        (["--date", "2999-01-01"], "is in the future"),
        (["--date", "0001-01-01"], "Choose a date from 1990-01-01 to today"),
    ],
)
def test_refresh_refuses_bad_input(args, message):
    """An unreadable, future or implausibly old date is refused with a message saying why, and no run is
    recorded."""
    with pytest.raises(CommandError, match=message):
        call_command("refresh", *args)
    assert not m.RefreshRun.objects.exists()


def test_refresh_refuses_while_another_runs():
    """The command refuses to start while another refresh is active, naming that run."""
    active = refresh_request(kind="pipeline", trigger="web")
    with pytest.raises(CommandError, match=f"refresh #{active.pk}"):
        call_command("refresh")


@responses.activate
def test_refresh_exits_non_zero_and_says_why_when_items_fail(settings):
    """A price refresh where one ticker is unknown to the provider exits 2 saying it succeeded with
    errors, and the listing is marked as an unknown symbol."""
    settings.LODESTONE_PRICE_PROVIDERS = ["yahoo"]
    position = f.PositionFactory()
    f.SecurityPriceFactory(listing=position.listing, on=dt.date(2026, 11, 26), source="yahoo")
    second = f.PositionFactory()
    responses.get(
        re.compile(r"https://query1\.finance\.yahoo\.com/.*" + second.listing.ticker + ".*"),
        status=404,
        json={"chart": {"result": None, "error": {"code": "Not Found", "description": "No data found"}}},
    )
    responses.get(
        re.compile(r"https://query1\.finance\.yahoo\.com/.*"),
        json={
            "chart": {
                "result": [
                    {"meta": {"gmtoffset": 0}, "timestamp": [1795737600], "indicators": {"quote": [{"close": [12.5]}]}}
                ],
                "error": None,
            }
        },
    )
    with pytest.raises(CommandError) as excinfo:
        call_command("refresh", "--only", "prices", "--date", "2026-11-27")
    assert excinfo.value.returncode == 2
    assert "succeeded with errors" in str(excinfo.value)
    second.listing.refresh_from_db()
    assert second.listing.price_status == "unknown_symbol"


def test_backfill_values_each_weekday_of_the_range_and_its_last_day(capsys):
    """Monday 2026-11-16 to Sunday 2026-11-22: the five weekdays, and the Sunday as the run's own date
    (the pages' default date), so that it has stored valuations."""
    demo_data_load()
    call_command("backfill", "--from", "2026-11-16", "--to", "2026-11-22")
    run = m.RefreshRun.objects.get(kind="backfill")
    assert run.status == "succeeded"
    assert run.parameters == {"from": "2026-11-16", "to": "2026-11-22"}
    days = sorted(set(m.Valuation.objects.values_list("as_of", flat=True)))
    assert days == [dt.date(2026, 11, d) for d in (16, 17, 18, 19, 20, 22)]
    assert m.PortfolioSnapshot.objects.count() == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-20", "--to", "2026-11-10"], "is before --from"),
        (["--from", "2000-01-01", "--to", "2026-11-10"], "longer than"),
        (["--from", "0001-01-01", "--to", "0001-12-31"], "Choose a date from 1990-01-01 to today"),
        (["--from", "2026-13-01", "--to", "2026-11-10"], "is not a date"),
    ],
)
def test_backfill_refuses_bad_ranges(args, message):
    """A backfill whose end is before its start, that is too long, implausibly old or not a date is
    refused with the reason, and no run is recorded."""
    with pytest.raises(CommandError, match=message):
        call_command("backfill", *args)
    assert not m.RefreshRun.objects.exists()


def test_the_first_start_queues_a_year_of_history_and_later_starts_a_refresh(
    capsys, django_capture_on_commit_callbacks
):
    """``make run``'s start-up call: with no completed valuation run, a backfill of the last year
    (ending on the date) is queued; once one has completed, the plain pipeline is."""
    with django_capture_on_commit_callbacks(execute=False) as queued:
        call_command("refresh", "--background", "--trigger", "startup", "--history", "365", "--date", "2026-11-27")
    run = m.RefreshRun.objects.get()
    assert (run.kind, run.as_of, run.parameters) == (
        "backfill",
        dt.date(2026, 11, 27),
        {"from": "2025-11-27", "to": "2026-11-27"},
    )
    assert len(queued) == 1  # its task is sent once the run is committed
    assert "Backfill #" in capsys.readouterr().out
    m.RefreshRun.objects.filter(pk=run.pk).update(status="succeeded")
    with django_capture_on_commit_callbacks(execute=False):
        call_command("refresh", "--background", "--trigger", "startup", "--history", "365", "--date", "2026-11-28")
    assert m.RefreshRun.objects.latest("pk").kind == "pipeline"
