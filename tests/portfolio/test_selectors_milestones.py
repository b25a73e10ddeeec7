"""Milestone slippage as two measures (slip and overdue) and the stale-forecast flag, hand-worked on
a fixed day (2026-11-29), in Python and as the query filter the milestones page uses."""

from __future__ import annotations

import datetime as dt

import pytest

from portfolio import models as m
from portfolio.selectors import (
    milestone_forecast_is_stale,
    milestone_measured,
    milestone_overdue_days,
    milestone_slip_days,
    milestones_with_revision_dates,
    project_progress,
    stale_forecasts_q,
)
from tests import factories as f

pytestmark = pytest.mark.django_db
D = dt.date
TODAY = D(2026, 11, 29)


def _milestone(*, baseline, forecast, revised=(), **kwargs) -> m.Milestone:
    """A milestone with baseline and forecast windows ((start, end) or None) and its revisions, each
    given as (source published on, recorded on)."""
    milestone = f.MilestoneFactory.create(
        baseline_start=baseline[0] if baseline else None,
        baseline_end=baseline[1] if baseline else None,
        forecast_text="a window" if forecast else "",
        forecast_start=forecast[0] if forecast else None,
        forecast_end=forecast[1] if forecast else None,
        **kwargs,
    )
    for published, recorded in revised:
        revision = f.MilestoneRevisionFactory.create(
            milestone=milestone,
            forecast_start=milestone.forecast_start,
            forecast_end=milestone.forecast_end,
            source_published_on=published,
        )
        recorded_at = dt.datetime.combine(recorded, dt.time(12), tzinfo=dt.UTC)
        m.MilestoneRevision.objects.filter(pk=revision.pk).update(created_at=recorded_at)
    return milestones_with_revision_dates(m.Milestone.objects.filter(pk=milestone.pk)).get()


def test_a_re_forecast_slips_before_the_window_ends():
    """Baseline "2027" (ends 2027-12-31) re-forecast to "H1 2028" (ends 2028-06-30) in 2026: slipped
    31 + 29 + 31 + 30 + 31 + 30 = 182 days (2028 is a leap year) although neither window has ended;
    not overdue (0 days) and not stale."""
    milestone = _milestone(
        baseline=(D(2027, 1, 1), D(2027, 12, 31)),
        forecast=(D(2028, 1, 1), D(2028, 6, 30)),
        revised=[(D(2026, 3, 1), D(2026, 3, 2))],
    )
    row = milestone_measured(milestone, TODAY)
    assert (row.slip_days, row.overdue_days, row.stale) == (182, 0, False)


def test_an_achievement_after_the_baseline_is_a_slip_and_never_overdue():
    """Baseline Q1 2026 (ends 2026-03-31), achieved on 2026-06-15: slipped 30 + 31 + 15 = 76 days; an
    achieved milestone is not overdue nor stale, whatever its forecast window."""
    milestone = _milestone(
        baseline=(D(2026, 1, 1), D(2026, 3, 31)),
        forecast=(D(2026, 4, 1), D(2026, 6, 30)),
        achieved_on=D(2026, 6, 15),
        status=m.MilestoneStatus.ACHIEVED,
    )
    row = milestone_measured(milestone, TODAY)
    assert (row.slip_days, row.overdue_days, row.stale) == (76, None, False)
    early = _milestone(baseline=(D(2025, 1, 1), D(2025, 12, 31)), forecast=None, achieved_on=D(2025, 6, 30))
    assert milestone_slip_days(early) == -184  # achieved half a year ahead of the baseline


def test_a_window_passed_without_a_revision_is_overdue_and_stale_but_has_not_slipped():
    """Baseline and forecast Q2 2026 (ends 2026-06-30), not achieved, last stated by a source of
    2025-05-01: on 2026-11-29 it is 31 + 31 + 30 + 31 + 29 = 152 days overdue, its forecast stale,
    and its slip 0 (nobody moved the forecast; the old measure said 152 for both)."""
    q2 = (D(2026, 4, 1), D(2026, 6, 30))
    milestone = _milestone(baseline=q2, forecast=q2, revised=[(D(2025, 5, 1), D(2025, 5, 2))], status="late")
    row = milestone_measured(milestone, TODAY)
    assert (row.slip_days, row.overdue_days, row.stale) == (0, 152, True)
    assert row.last_revised_on == D(2025, 5, 1)


@pytest.mark.parametrize(
    ("revised", "stale"),
    [
        ([], True),  # never revised
        ([(D(2025, 5, 1), D(2025, 5, 2))], True),  # stated before the window ended
        ([(D(2026, 6, 30), D(2026, 6, 30))], True),  # on its last day: not after it ended
        ([(D(2025, 5, 1), D(2025, 5, 2)), (D(2026, 7, 15), D(2026, 7, 16))], False),  # revised after it ended
        ([(None, D(2026, 8, 1))], False),  # no source date: the day it was recorded, after the end
        ([(D(2026, 5, 1), D(2026, 8, 1))], True),  # recorded late, but the source predates the end
    ],
)
def test_a_forecast_is_stale_until_a_revision_dated_after_its_window(revised, stale):
    """A forecast window that ended on 2026-06-30 is stale unless a revision is dated after that day
    (by its source's publication date, or failing one by the day it was recorded); the query filter
    of the milestones page agrees with the rule in Python."""
    q2 = (D(2026, 4, 1), D(2026, 6, 30))
    milestone = _milestone(baseline=q2, forecast=q2, revised=revised)
    assert milestone_measured(milestone, TODAY).stale is stale
    query = milestones_with_revision_dates(m.Milestone.objects.all()).filter(stale_forecasts_q(TODAY))
    assert query.filter(pk=milestone.pk).exists() is stale


def test_cancelled_unforecast_and_future_milestones_are_neither_overdue_nor_stale():
    """A cancelled milestone past its window, one whose text gave no window, and one whose window ends
    today are not stale, in Python as in the query; only the last is counted as 0 days overdue."""
    q2 = (D(2026, 4, 1), D(2026, 6, 30))
    cancelled = _milestone(baseline=q2, forecast=q2, status=m.MilestoneStatus.CANCELLED)
    unforecast = _milestone(baseline=q2, forecast=None, needs_review=True)
    ends_today = _milestone(baseline=q2, forecast=(D(2026, 11, 1), TODAY))
    assert [milestone_overdue_days(x, TODAY) for x in (cancelled, unforecast, ends_today)] == [None, None, 0]
    assert [milestone_forecast_is_stale(x, TODAY, None) for x in (cancelled, unforecast, ends_today)] == [False] * 3
    assert milestone_slip_days(unforecast) is None  # nothing to measure against the baseline
    assert milestone_slip_days(ends_today) == 152
    query = milestones_with_revision_dates(m.Milestone.objects.all()).filter(stale_forecasts_q(TODAY))
    assert not query.exists()


def test_the_measures_need_the_revision_dates():
    """Measuring a milestone read without its revision dates is refused rather than guessed (or
    queried once per milestone)."""
    milestone = f.MilestoneFactory()
    with pytest.raises(ValueError, match="milestones_with_revision_dates"):
        milestone_measured(m.Milestone.objects.get(pk=milestone.pk), TODAY)


def test_project_progress_gives_the_worst_slip_and_the_most_overdue():
    """A project with one milestone re-forecast 182 days later (not yet due) and one 152 days past its
    window: the worst slip is 182, the most overdue 152; the stage is named, not coded."""
    project = f.ProjectFactory(stage="commercial_production")
    q2 = (D(2026, 4, 1), D(2026, 6, 30))
    _milestone(project=project, baseline=(D(2027, 1, 1), D(2027, 12, 31)), forecast=(D(2028, 1, 1), D(2028, 6, 30)))
    _milestone(project=project, baseline=q2, forecast=q2)
    progress = project_progress(project, list(project.milestones.all()), TODAY)
    assert (progress.worst_slip_days, progress.worst_overdue_days) == (182, 152)
    assert progress.stage_label == "Commercial production"
