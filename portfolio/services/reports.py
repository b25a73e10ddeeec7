"""Publishing the printable report: a briefing report frozen as it stood, to be opened as it was."""

from __future__ import annotations

import logging
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portfolio.book import BOOKS, RULES_VERSION
from portfolio.book.dates import shown_date_error
from portfolio.models import PublishedReport
from portfolio.models.reports import content_hash
from portfolio.report import report_content

logger = logging.getLogger(__name__)

#: The permission that publishing needs (analysts and admins; ``services.roles``).
PUBLISH_PERMISSION = "portfolio.publish_report"


def report_publish(*, as_of: date, book: str, user) -> PublishedReport:
    """Publish the report of ``as_of`` for ``book`` (held, committed, pipeline or all) as ``user``:
    its figures from the book, its body as the report page renders it, the rules' version, who and
    when, and the SHA-256 of that content. The report is never changed afterwards.

    The row is its own record of who published what and when (no history beside it); the log says
    so too. Refuses (``PermissionDenied``) a user without the ``publish_report`` permission, and
    (``ValidationError``) a date figures are not shown for or an unknown book; nothing is stored
    then. Not idempotent: each call publishes a new report with the next number.
    """
    if not user.has_perm(PUBLISH_PERMISSION):
        raise PermissionDenied("Publishing a report needs the publish_report permission (analysts and admins).")
    errors: dict[str, str] = {}
    if book not in BOOKS:
        errors["book"] = f"Choose one of {', '.join(BOOKS)}."
    date_error = shown_date_error(as_of)
    if date_error:
        errors["as_of"] = date_error
    if errors:
        raise ValidationError(errors)
    content = report_content(as_of=as_of, book=book)
    report = PublishedReport(
        as_of=as_of,
        book=book,
        figures=content.figures,
        html=content.html,
        rules_version=RULES_VERSION,
        published_by=user,
        published_by_username=user.get_username(),
        published_at=timezone.now(),
    )
    report.content_hash = content_hash(
        as_of=as_of, book=book, figures=content.figures, html=content.html, rules_version=RULES_VERSION
    )
    report.full_clean()
    with transaction.atomic():
        report.save()
    logger.info(
        "Report #%s published as of %s (%s book) by %s, SHA-256 %s",
        report.pk,
        as_of.isoformat(),
        book,
        report.published_by_username,
        report.content_hash,
    )
    return report
