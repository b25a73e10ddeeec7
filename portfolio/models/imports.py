"""Spreadsheet imports: what a steward uploaded, what checking it found and what it changed."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .base import TimeStampedModel


class ImportRun(TimeStampedModel):
    """One file checked (a dry run) or imported, with who, when, the file's name and hash, the counts
    per kind and every row error. A preview keeps the file's bytes, so that confirming imports
    exactly the file that was checked."""

    class Status(models.TextChoices):
        CHECKING = "checking", "Being checked"
        PREVIEWED = "previewed", "Checked, waiting for confirmation"
        IMPORTING = "importing", "Being imported"
        CHECKED = "checked", "Checked (dry run only)"
        REFUSED = "refused", "Refused: nothing written"
        APPLIED = "applied", "Imported"

    class Trigger(models.TextChoices):
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command line"

    status = models.CharField(max_length=12, choices=Status.choices)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField("file SHA-256", max_length=64, db_index=True)
    file_size = models.PositiveIntegerField(help_text="Bytes.")
    file_format = models.CharField(max_length=4, help_text="csv or xlsx.")
    content = models.BinaryField(
        null=True, blank=True, editable=False, help_text="The file, kept from the check until it is imported."
    )
    kinds = models.JSONField(default=list, blank=True, help_text="The kinds of record in the file, in import order.")
    rows = models.PositiveIntegerField(default=0, help_text="Data rows read.")
    progress_done = models.PositiveIntegerField(default=0, help_text="Rows gone through so far, while in progress.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker started checking or importing it.")
    worker = models.CharField(
        max_length=120,
        blank=True,
        default="",
        help_text="The process working on it (host:pid); its sign of life is updated_at.",
    )
    counts = models.JSONField(
        default=dict, blank=True, help_text="Per kind: rows created, updated and unchanged (or that would be)."
    )
    errors = models.JSONField(default=list, blank=True, help_text="Row errors: sheet, row, column and reason.")
    changes = models.JSONField(default=list, blank=True, help_text="The rows created or updated, with their key.")
    message = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    revaluation = models.ForeignKey(
        "portfolio.RefreshRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The valuation refresh requested because the import changed terms, flows or prices.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("import_spreadsheet", "Can import spreadsheets")]

    def __str__(self) -> str:
        return f"Import #{self.pk}: {self.file_name} ({self.get_status_display().lower()})"

    @property
    def in_progress(self) -> bool:
        """Being checked or imported by the worker (large files from the admin)."""
        return self.status in (self.Status.CHECKING, self.Status.IMPORTING)

    @property
    def error_count(self) -> int:
        return len(self.errors)

    def total(self, action: str) -> int:
        return sum(kind_counts.get(action, 0) for kind_counts in self.counts.values())
