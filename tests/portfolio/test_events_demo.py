"""The feed of events on the demo data (the public deals): the Trilogy Metals letter of intent, whose
long-stop date was extended from 2026-03-31 to 2026-05-31 (8-K filed 2026-04-02) and passed without
closing, and the milestones that went late."""

from __future__ import annotations

import datetime as dt

import pytest

from portfolio.book import default_as_of
from portfolio.events import events_between
from portfolio.services.demo_data import demo_data_load
from portfolio.services.refresh import refresh_request, refresh_run_execute
from portfolio.web.params import PeriodForm, period_from

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 27)
TRILOGY = "tmq-dow-2025"


def test_the_trilogy_long_stop_and_its_slip_in_the_sixty_days_to_its_lapse():
    """In the sixty days from 2026-04-02 to 2026-06-01 (the day the book first counts the letter of
    intent as lapsed): the long-stop date of 2026-05-31 passed without closing, and on 2026-04-02 (the
    8-K's date) the forecast of the milestone "LOI expires if conditions are unmet" moved from its
    baseline of 2026-03-31 to 2026-05-31, 61 days later (April 30 + May 31)."""
    demo_data_load()
    feed = events_between(dt.date(2026, 4, 2), dt.date(2026, 6, 1), deal=TRILOGY)
    long_stop, revision = feed
    assert (long_stop.kind, long_stop.on) == ("long_stop_passed", dt.date(2026, 5, 31))
    assert long_stop.title == "Long-stop date 2026-05-31 passed without closing"
    assert long_stop.company_name == "Trilogy Metals Inc."
    assert (revision.kind, revision.on) == ("milestone_revised", dt.date(2026, 4, 2))
    assert revision.title == "LOI expires if conditions are unmet: forecast moved 61 days later"
    assert revision.summary == "From 2026-03-31 to 2026-05-31; 61 days after the baseline."
    assert (revision.detail["slip_days"], revision.detail["moved_days"]) == (61, 61)


def test_the_sixty_days_to_the_latest_valuation_list_the_milestones_gone_late():
    """Valued as of 2026-11-27 and with that day's milestone statuses, the Changes page's period is the
    sixty days from 2026-09-28 to 2026-11-27. In it, six milestones whose forecast window had ended went
    late on 2026-11-27, Trilogy's "LOI expires if conditions are unmet" (ended 2026-05-31) among them.
    Trilogy's long-stop date (2026-05-31) and its revision (2026-04-02) are earlier than the period, so
    they are not in it."""
    demo_data_load()
    for kind in ("pipeline", "milestones"):
        run = refresh_request(kind=kind, trigger="command", as_of=AS_OF)
        assert refresh_run_execute(run_id=run.pk).status == "succeeded"
    start, end = period_from(PeriodForm({}), default_as_of())
    assert (start, end) == (dt.date(2026, 9, 28), AS_OF)
    feed = events_between(start, end)
    late = {(e.title, e.summary) for e in feed if e.kind == "milestone_late"}
    assert late == {
        ("Gradual ramp of magnet production (~1,000 t/yr) begins gone late",
         "Its forecast window ended on 2025-12-31."),
        ("Confirmatory and geotechnical drilling gone late", "Its forecast window ended on 2026-06-30."),
        ("High-voltage power line live gone late", "Its forecast window ended on 2026-06-30."),
        ("LOI expires if conditions are unmet gone late", "Its forecast window ended on 2026-05-31."),
        ("Heavy rare-earth (Dy/Tb) separation circuit online gone late",
         "Its forecast window ended on 2026-08-31."),
        ("Demonstration plant run of at least 2,000 hours at Wheat Ridge, Colorado gone late",
         "Its forecast window ended on 2026-10-31."),
    }  # fmt: skip
    assert {e.on for e in feed if e.kind == "milestone_late"} == {AS_OF}
    assert not [e for e in feed if e.kind in ("long_stop_passed", "milestone_revised") and e.deal == TRILOGY]
