"""The milestone engine: statuses on a frozen clock, slippage, stage progress, gates, long-stop dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from freezegun import freeze_time

from portfolio import models as m
from portfolio.selectors import milestone_slip_days, project_progress
from portfolio.services.milestones import milestone_save, milestones_refresh
from portfolio.services.valuations import valuations_compute
from tests import factories as f

pytestmark = pytest.mark.django_db
D = dt.date


def _milestone(text, **kwargs):
    milestone = f.MilestoneFactory.build(
        project=kwargs.pop("project", None) or f.ProjectFactory(),
        forecast_text=text,
        baseline_text="",
        baseline_start=None,
        baseline_end=None,
        **kwargs,
    )
    return milestone_save(milestone=milestone)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2027, 6, 1), "on_track"),  # window Sep-Dec 2027 ends in 213 days
        (D(2027, 12, 1), "at_risk"),  # ends within 30 days
        (D(2027, 12, 31), "at_risk"),  # the last day of the window
        (D(2028, 1, 1), "late"),  # the whole window has passed
    ],
)
def test_status_follows_the_window_and_the_clock(today, expected):
    """Run by the refresh command on a frozen day, a 'late 2027' milestone is on track months ahead, at
    risk within 30 days of its window's end and on its last day, and late once the window has passed."""
    milestone = _milestone("late 2027")
    with freeze_time(today):
        call_command("refresh", "--only", "milestones")
    milestone.refresh_from_db()
    assert milestone.status == expected


def test_every_status_change_is_recorded_once():
    """Each status change is recorded once with its day, from planned to on track, at risk and late;
    running again on the same day records nothing new."""
    milestone = _milestone("Q1 2027")
    milestones_refresh(as_of=D(2026, 6, 1))
    milestones_refresh(as_of=D(2026, 6, 1))  # the same day again: nothing new
    milestones_refresh(as_of=D(2027, 3, 15))
    milestones_refresh(as_of=D(2027, 4, 1))
    changes = list(milestone.status_changes.order_by("on").values_list("from_status", "to_status", "on"))
    assert changes == [
        ("planned", "on_track", D(2026, 6, 1)),
        ("on_track", "at_risk", D(2027, 3, 15)),
        ("at_risk", "late", D(2027, 4, 1)),
    ]


def test_achieved_cancelled_and_undated_milestones():
    """Achieved and cancelled milestones keep their status whatever the date; one whose text gives no
    date stays planned and is flagged for review."""
    achieved = _milestone("March 2025", achieved_on=D(2025, 3, 31))
    cancelled = _milestone("2026", status="cancelled")
    undated = _milestone("when the permits come")
    milestones_refresh(as_of=D(2027, 1, 1))
    for milestone in (achieved, cancelled, undated):
        milestone.refresh_from_db()
    assert (achieved.status, cancelled.status, undated.status) == ("achieved", "cancelled", "planned")
    assert undated.needs_review


def test_slippage_in_days():
    """Baseline "2028" (ends 2028-12-31), now "2029-30" (ends 2030-12-31): 730 days late.
    Achieved on 2025-06-30 against a baseline "2025" ending 2025-12-31: 184 days early."""
    milestone = _milestone("2028")
    milestone.forecast_text = "2029-30"
    milestone = milestone_save(milestone=milestone)
    assert milestone_slip_days(milestone) == 730
    assert list(milestone.revisions.values_list("forecast_text", flat=True)) == ["2028", "2029-30"]
    early = _milestone("2025", achieved_on=D(2025, 6, 30))
    assert milestone_slip_days(early) == -184


def test_project_progress():
    """Construction started and the FID achieved; two milestones ahead; the final one slipped a year."""
    project = f.ProjectFactory(stage="financing")
    _milestone("March 2025", project=project, kind="fid", sequence=10, achieved_on=D(2025, 3, 31))
    _milestone("March 2023", project=project, kind="construction_start", sequence=5, achieved_on=D(2023, 3, 31))
    commissioning = _milestone("Q4 2026", project=project, kind="commissioning", sequence=20)
    final = _milestone("late 2027", project=project, kind="mechanical_completion", sequence=30)
    final.forecast_text = "late 2028"
    milestone_save(milestone=final)
    milestones = list(project.milestones.all())
    progress = project_progress(project, milestones, D(2026, 11, 28))
    assert progress.stage == "construction"  # the furthest stage reached by an achieved milestone
    assert (progress.achieved, progress.planned) == (2, 4)
    assert progress.share_achieved == 0.5
    assert progress.next_milestone == commissioning
    assert progress.days_to_next == 33  # to 2026-12-31
    assert progress.final_slip_days == 366  # late 2027 -> late 2028 (2028 is a leap year)
    assert progress.worst_slip_days == 366


@pytest.mark.django_db
def test_a_gate_opening_changes_the_valuation_of_the_gated_warrant(settings):
    """A penny warrant exercisable after the road is built: contingent and weighted at 25 % until the
    road milestone is achieved, then plain (and worth four times as much)."""
    settings.LODESTONE_DEFAULT_VOLATILITY = 0.5
    road = _milestone("2027", kind="construction_complete", title="Access road complete")
    warrant = f.PositionFactory(
        warrant=True,
        deal__company=road.project.company,
        quantity=Decimal("1000000"),
        strike=Decimal("0.01"),
        expires_on=D(2035, 10, 6),
        exercisability_condition="after the access road is built",
        exercise_probability_pct=Decimal("25"),
        gate_milestone=road,
    )
    f.SecurityPriceFactory(listing=warrant.listing, on=D(2026, 11, 27), close=Decimal("2.50"))
    valuations_compute(as_of=D(2026, 11, 27))
    before = m.Valuation.objects.get(position=warrant)
    assert before.is_contingent
    # when the road is reported complete
    road.achieved_on = D(2026, 11, 20)
    milestone_save(milestone=road)
    warrant.refresh_from_db()
    assert warrant.condition_met_on == D(2026, 11, 20)
    assert warrant.history.first().history_change_reason.startswith("Gate opened")
    valuations_compute(as_of=D(2026, 11, 27))
    after = m.Valuation.objects.get(position=warrant)
    assert not after.is_contingent
    assert after.value_usd == pytest.approx(before.value_usd * 4, abs=Decimal("0.05"))


def test_gates_of_milestones_achieved_elsewhere_are_opened_by_the_daily_job():
    """A milestone marked achieved by a bulk path (an import) still opens its gates the next morning."""
    fid = _milestone("2026", kind="fid")
    loan = f.LoanFactory(deal__company=fid.project.company, gate_milestone=fid)
    m.Milestone.objects.filter(pk=fid.pk).update(achieved_on=D(2026, 5, 1), status="achieved")
    result = milestones_refresh(as_of=D(2026, 5, 2))
    loan.refresh_from_db()
    assert loan.condition_met_on == D(2026, 5, 1)
    assert result.written >= 1
    milestones_refresh(as_of=D(2026, 5, 3))
    assert loan.history.count() == 2  # created, then opened once


def test_a_long_stop_date_passed_unmet_flags_the_deal():
    """A letter of intent whose long-stop date has passed unclosed is flagged and reported; a closed
    deal with the same date is not, and neither counts as a failure."""
    open_deal = f.DealFactory(status="binding_loi", closed_on=None, signed_on=None, long_stop_on=D(2026, 3, 31))
    closed_deal = f.DealFactory(status="closed", long_stop_on=D(2026, 3, 31))
    result = milestones_refresh(as_of=D(2026, 4, 1))
    open_deal.refresh_from_db()
    closed_deal.refresh_from_db()
    assert open_deal.long_stop_passed
    assert not closed_deal.long_stop_passed
    assert [e["subject"] for e in result.errors if e["kind"] == "long_stop"] == [open_deal.reference]
    assert result.failed == 0


@pytest.mark.parametrize("title", ["R" * 250, "'\x01" * 60, "Access road complete"])
def test_a_gate_opened_by_a_milestone_with_a_long_title_says_so_within_its_history(title):
    """The history's reason column holds 100 characters: a milestone titled with 250 characters
    made opening its gate fail on PostgreSQL. A long title is shortened to fit; a short one is
    given whole."""
    road = _milestone("2027", kind="construction_complete", title=title)
    warrant = f.PositionFactory(warrant=True, deal__company=road.project.company, gate_milestone=road)
    road.achieved_on = D(2026, 11, 20)
    milestone_save(milestone=road)
    warrant.refresh_from_db()
    assert warrant.condition_met_on == D(2026, 11, 20)
    reason = warrant.history.first().history_change_reason
    assert reason.startswith("Gate opened: milestone '") or reason.startswith('Gate opened: milestone "')
    assert len(reason) <= 100
    assert reason.endswith("achieved on 2026-11-20") or len(reason) == 100
    if len(title) < 40:
        assert reason == f"Gate opened: milestone {title!r} achieved on 2026-11-20"
