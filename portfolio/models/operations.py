"""Refresh runs (what a job was asked, did and failed) and SEC filing events to review."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from .base import (
    MONEY,
    DecimalField,
    TimeStampedModel,
    URLField,
    accession_validator,
    check,
    non_negative,
    not_before,
)
from .registry import Company


class RefreshRun(TimeStampedModel):
    """One execution of a refresh job."""

    class Kind(models.TextChoices):
        PIPELINE = "pipeline", "Full pipeline"
        FX = "fx", "FX rates"
        PRICES = "prices", "Prices"
        VALUATIONS = "valuations", "Valuations"
        SNAPSHOT = "snapshot", "Portfolio snapshot"
        MILESTONES = "milestones", "Milestone statuses"
        FILINGS = "filings", "SEC filings"
        BACKFILL = "backfill", "Backfill"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Succeeded with errors"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused (another run in progress)"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        WEB = "web", "Web page"
        API = "api", "API"
        COMMAND = "command", "Command line"
        STARTUP = "startup", "Start-up"
        IMPORT = "import", "Spreadsheet import"
        RECOVERY = "recovery", "Recovery of a run whose worker stopped"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    lock_key = models.CharField(
        max_length=20,
        default="",
        blank=True,
        help_text="Runs sharing a key never run at once: the database allows one queued or running run per key.",
    )
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    as_of = models.DateField(null=True, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker started this run.")
    worker = models.CharField(
        max_length=120,
        blank=True,
        default="",
        help_text="The process running it (host:pid); its sign of life is updated_at.",
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lock_key"],
                condition=Q(status__in=["queued", "running"]),
                name="refreshrun_one_active_per_lock",
                violation_error_message="A refresh of this kind is already queued or running.",
            ),
            not_before("finished_at", "started_at", "A run cannot finish before it started.", "refreshrun"),
            check(
                "refreshrun_progress_within_total",
                Q(progress_done__lte=F("progress_total")),
                "Progress cannot exceed the total.",
            ),
        ]
        indexes = [models.Index(fields=["kind", "status"], name="refreshrun_kind_status")]
        permissions = [("run_refresh", "Can start a refresh")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"


ACTIVE_RUN_STATUSES = (RefreshRun.Status.QUEUED, RefreshRun.Status.RUNNING)


class PortfolioSnapshot(TimeStampedModel):
    """The portfolio's totals on a date, written at the end of each valuation refresh."""

    as_of = models.DateField(unique=True)
    value_usd = DecimalField(**MONEY)
    positions_valued = models.PositiveIntegerField(default=0)
    positions_missing = models.PositiveIntegerField(default=0, help_text="Positions that could not be valued.")
    is_simulated = models.BooleanField(default=False)
    breakdown = models.JSONField(default=dict, blank=True, help_text="USD value by agency, commodity, ...")
    refresh_run = models.ForeignKey(RefreshRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-as_of"]
        constraints = [non_negative("value_usd", "The value", "portfoliosnapshot")]

    def __str__(self) -> str:
        return f"{self.as_of}: {self.value_usd} USD"


class FilingEvent(TimeStampedModel):
    """A new SEC filing of a portfolio company, queued for review by staff."""

    class Review(models.TextChoices):
        NEW = "new", "To review"
        REVIEWED = "reviewed", "Reviewed"
        MILESTONE = "milestone", "Reviewed, milestone recorded"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="filings")
    accession_number = models.CharField(max_length=20, unique=True, validators=[accession_validator])
    form = models.CharField(max_length=20)
    items = models.CharField(max_length=120, blank=True, help_text="8-K items, e.g. 1.01,3.02.")
    filed_on = models.DateField()
    report_date = models.DateField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    primary_document = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=300, blank=True)
    url = URLField(max_length=500)
    review_status = models.CharField(max_length=12, choices=Review.choices, default=Review.NEW)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    milestone = models.ForeignKey(
        "portfolio.Milestone",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="filings",
        help_text="The milestone created or updated from this filing.",
    )

    class Meta:
        ordering = ["-filed_on", "-accession_number"]
        constraints = [
            check(
                "filingevent_accession_format",
                Q(accession_number__regex=r"^\d{10}-\d{2}-\d{6}$"),
                "An SEC accession number looks like 0001193125-25-278738.",
            ),
        ]
        indexes = [models.Index(fields=["review_status", "-filed_on"], name="filingevent_review_queue")]

    def __str__(self) -> str:
        return f"{self.form} {self.accession_number}"


class DigestSubscription(TimeStampedModel):
    """A staff member who receives the daily digest by e-mail."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_subscription")
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return str(self.user)
