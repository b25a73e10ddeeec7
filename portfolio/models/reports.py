"""Published briefing reports: the printable report of a date, frozen as it was published."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from portfolio.exceptions import ReportFrozenError

from .base import check, plausible_date


def content_hash(*, as_of: date, book: str, figures: dict[str, Any], html: str, rules_version: str) -> str:
    """The SHA-256 (hex) of a report's content as canonical JSON: keys sorted, no spaces, UTF-8.

    What a reader checks a report against: the date, the book, the figures, the body as published
    and the version of the rules its figures were worked out by."""
    canonical = json.dumps(
        {"as_of": as_of.isoformat(), "book": book, "figures": figures, "html": html, "rules_version": rules_version},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class PublishedReport(models.Model):
    """A briefing report as published: the printable report of a date with its figures, the rules'
    version, who published it and when, and a hash of its content.

    Never changed or deleted once stored: ``save`` and ``delete`` refuse, and the database refuses
    an UPDATE or DELETE of a row (triggers, migration 0018), whatever the code that tries. Its
    number (#N) is its id."""

    as_of = models.DateField(validators=[plausible_date])
    book = models.CharField(max_length=12, help_text="The book the report sums: held, committed, pipeline or all.")
    figures = models.JSONField(help_text="The report's figures as published: amounts as decimal strings.")
    html = models.TextField(help_text="The report's body as published.")
    rules_version = models.CharField(max_length=20, help_text="The version of the book's rules the figures follow.")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_by_username = models.CharField(max_length=150, help_text="The publisher's user name at the time.")
    published_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the content (hex).")

    class Meta:
        ordering = ["-id"]
        constraints = [
            check(
                "publishedreport_hash_is_sha256_hex",
                Q(content_hash__regex=r"^[0-9a-f]{64}$"),
                "A content hash is 64 lowercase hexadecimal digits (SHA-256).",
            ),
        ]
        permissions = [("publish_report", "Can publish a briefing report")]

    def __str__(self) -> str:
        return f"Report #{self.pk} as of {self.as_of}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert a new report; an existing one is never saved again."""
        if not self._state.adding:
            raise ReportFrozenError(f"Report #{self.pk} is published: it cannot be changed.")
        kwargs["force_insert"] = True  # never an UPDATE, even of a report named by its number
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ReportFrozenError(f"Report #{self.pk} is published: it cannot be deleted.")

    @property
    def number(self) -> int | None:
        """The report's number as people cite it (#N)."""
        return self.pk

    def computed_hash(self) -> str:
        """The hash of the content as it is stored now."""
        return content_hash(
            as_of=self.as_of, book=self.book, figures=self.figures, html=self.html, rules_version=self.rules_version
        )

    @property
    def is_intact(self) -> bool:
        """Whether the stored content still has the hash it was published with."""
        return self.computed_hash() == self.content_hash
