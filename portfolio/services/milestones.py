"""Milestones: the source's date wording becomes a window; every forecast change is a revision."""

from __future__ import annotations

from django.db import transaction

from portfolio.date_phrases import parse_date_phrase
from portfolio.models import Milestone, MilestoneRevision, MilestoneStatus


def milestone_forecast_fields(text: str) -> dict:
    """The window, precision and review flag that a forecast phrase gives."""
    window = parse_date_phrase(text or "")
    has_text = bool((text or "").strip())
    return {
        "forecast_start": window.start,
        "forecast_end": window.end,
        "forecast_precision": window.precision if has_text else "",
        "needs_review": has_text and not window.is_parsed,
    }


def milestone_revision_record(*, milestone: Milestone, user=None, note: str = "") -> MilestoneRevision:
    """Keep the milestone's current forecast as a revision (who, when, on what source)."""
    return MilestoneRevision.objects.create(
        milestone=milestone,
        forecast_text=milestone.forecast_text,
        forecast_start=milestone.forecast_start,
        forecast_end=milestone.forecast_end,
        forecast_precision=milestone.forecast_precision,
        source_url=milestone.source_url,
        source_published_on=milestone.source_published_on,
        recorded_by=user if getattr(user, "is_authenticated", False) else None,
        note=note,
    )


@transaction.atomic
def milestone_save(*, milestone: Milestone, user=None, note: str = "") -> Milestone:
    """Validate and save a milestone entered or edited by a steward.

    The forecast window is read from ``forecast_text`` (unreadable text is kept and flagged for
    review); a new milestone's first forecast becomes its baseline; a changed forecast is kept
    as a revision naming the user. Side effects: the milestone row (with its audit history) and
    at most one MilestoneRevision.
    """
    milestone.__dict__.update(milestone_forecast_fields(milestone.forecast_text))
    if milestone.achieved_on and milestone.status not in (MilestoneStatus.ACHIEVED, MilestoneStatus.CANCELLED):
        milestone.status = MilestoneStatus.ACHIEVED
    is_new = milestone.pk is None
    if is_new and not milestone.baseline_text and milestone.baseline_end is None:
        milestone.baseline_text = milestone.forecast_text
        milestone.baseline_start, milestone.baseline_end = milestone.forecast_start, milestone.forecast_end
    stored = (
        None
        if is_new
        else Milestone.objects.filter(pk=milestone.pk)
        .values_list("forecast_text", "forecast_start", "forecast_end")
        .first()
    )
    milestone.full_clean()
    milestone.save()
    current = (milestone.forecast_text, milestone.forecast_start, milestone.forecast_end)
    if (is_new or stored != current) and milestone.forecast_text:
        milestone_revision_record(milestone=milestone, user=user, note=note)
    return milestone
