"""Dated steps of projects and deals, with baseline, forecast, achievement and every revision."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from portfolio.date_phrases import DatePrecision

from .base import (
    SourcedModel,
    TimeStampedModel,
    URLField,
    check,
    date_in_range,
    not_before,
    plausible_event_date,
    sourced,
)
from .deals import Deal
from .registry import Project


class MilestoneKind(models.TextChoices):
    STUDY_PEA = "study_pea", "PEA / initial assessment"
    STUDY_PFS = "study_pfs", "Pre-feasibility study"
    STUDY_FS = "study_fs", "Feasibility study"
    NEPA_NOI = "nepa_noi", "NEPA notice of intent"
    NEPA_DEIS = "nepa_deis", "Draft EIS"
    NEPA_FEIS = "nepa_feis", "Final EIS"
    NEPA_ROD = "nepa_rod", "Record of decision"
    PERMIT = "permit", "Permit"
    SITE_SELECTION = "site_selection", "Site selection"
    FINANCING_LOI = "financing_loi", "Financing LOI"
    FINANCING_CONDITIONAL = "financing_conditional", "Conditional financing commitment"
    FINANCING_CLOSE = "financing_close", "Financing closed"
    FID = "fid", "Final investment decision"
    CONSTRUCTION_START = "construction_start", "Construction start"
    CONSTRUCTION_COMPLETE = "construction_complete", "Construction complete"
    PILOT = "pilot", "Pilot / demonstration run"
    MECHANICAL_COMPLETION = "mechanical_completion", "Mechanical completion"
    COMMISSIONING = "commissioning", "Commissioning"
    FIRST_PRODUCTION = "first_production", "First production"
    COMMERCIAL_PRODUCTION = "commercial_production", "Commercial production"
    NAMEPLATE = "nameplate", "Nameplate capacity"
    DEAL_CLOSING = "deal_closing", "Deal closing"
    LONG_STOP = "long_stop", "Long-stop date"
    OTHER = "other", "Other"


class MilestoneStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    LATE = "late", "Late"
    ACHIEVED = "achieved", "Achieved"
    CANCELLED = "cancelled", "Cancelled"


class Milestone(SourcedModel):
    """A dated step of a project (or of a deal, such as a long-stop date).

    ``forecast_*`` is the current expectation as the source worded it (``forecast_text``) and
    as a window with a precision; ``baseline_*`` is the first committed target, kept so that
    slippage can be measured. Text that could not be read is kept with precision "unparsed"
    and flagged for a steward.
    """

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="milestones")
    deal = models.ForeignKey(Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="milestones")
    kind = models.CharField(max_length=24, choices=MilestoneKind.choices)
    title = models.CharField(max_length=250)
    sequence = models.PositiveSmallIntegerField(default=0, help_text="Order within the project's plan.")
    baseline_text = models.CharField(max_length=120, blank=True)
    baseline_start = models.DateField(null=True, blank=True)
    baseline_end = models.DateField(null=True, blank=True)
    forecast_text = models.CharField(max_length=120, blank=True, help_text='As the source wrote it, e.g. "late 2027".')
    forecast_start = models.DateField(null=True, blank=True)
    forecast_end = models.DateField(null=True, blank=True)
    forecast_precision = models.CharField(max_length=12, choices=DatePrecision.choices, blank=True)
    achieved_on = models.DateField(null=True, blank=True, validators=[plausible_event_date])
    status = models.CharField(max_length=12, choices=MilestoneStatus.choices, default=MilestoneStatus.PLANNED)
    needs_review = models.BooleanField(default=False, help_text="The date text could not be read.")
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["project", "deal", "sequence", "forecast_end", "title"]
        constraints = [
            sourced("milestone"),
            date_in_range("achieved_on", "milestone"),
            models.UniqueConstraint(
                fields=["project", "title"],
                condition=Q(project__isnull=False),
                name="milestone_unique_title_per_project",
                violation_error_message="This project already has a milestone with that title.",
            ),
            models.UniqueConstraint(
                fields=["deal", "title"],
                condition=Q(project__isnull=True),
                name="milestone_unique_title_per_deal",
                violation_error_message="This deal already has a milestone with that title.",
            ),
            check(
                "milestone_has_subject",
                Q(project__isnull=False) | Q(deal__isnull=False),
                "A milestone belongs to a project or a deal.",
            ),
            not_before(
                "forecast_end", "forecast_start", "The forecast window cannot end before it starts.", "milestone"
            ),
            not_before(
                "baseline_end", "baseline_start", "The baseline window cannot end before it starts.", "milestone"
            ),
            check(
                "milestone_achieved_has_date",
                ~Q(status=MilestoneStatus.ACHIEVED) | Q(achieved_on__isnull=False),
                "An achieved milestone needs the date it was achieved.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "forecast_end"], name="milestone_status_due"),
            # The open milestones by the end of their window (due soon, late), as the dashboard lists
            # and counts them: a few thousand of twenty thousand at the scale data.
            models.Index(
                fields=["forecast_end", "status"],
                name="milestone_open_by_due",
                condition=models.Q(achieved_on__isnull=True) & ~models.Q(status=MilestoneStatus.CANCELLED),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        project, deal = (self.project, self.deal) if self.project_id and self.deal_id else (None, None)
        if project is not None and deal is not None and project.company_id != deal.company_id:
            raise ValidationError({"deal": "The deal and the project belong to different companies."})


class MilestoneRevision(TimeStampedModel):
    """One change of a milestone's forecast: what it was changed to, by whom, on what source."""

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="revisions")
    forecast_text = models.CharField(max_length=120, blank=True)
    forecast_start = models.DateField(null=True, blank=True)
    forecast_end = models.DateField(null=True, blank=True)
    forecast_precision = models.CharField(max_length=12, choices=DatePrecision.choices, blank=True)
    source_url = URLField(max_length=500, blank=True)
    source_published_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["milestone", "created_at", "id"]
        constraints = [
            not_before(
                "forecast_end",
                "forecast_start",
                "The forecast window cannot end before it starts.",
                "milestonerevision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.milestone_id}: {self.forecast_text or self.forecast_end}"


class MilestoneStatusChange(TimeStampedModel):
    """A change of a milestone's derived status (on track, at risk, late, ...), for the digest and audit."""

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=MilestoneStatus.choices)
    to_status = models.CharField(max_length=12, choices=MilestoneStatus.choices)
    on = models.DateField(help_text="The day the status was derived for.")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    refresh_run = models.ForeignKey(
        "portfolio.RefreshRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            check(
                "milestonestatuschange_is_a_change",
                ~Q(from_status=F("to_status")),
                "A status change changes the status.",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="milestonestatuschange_recent")]

    def __str__(self) -> str:
        return f"{self.milestone_id}: {self.from_status} -> {self.to_status}"
