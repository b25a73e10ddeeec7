"""The SEC filings watcher: new filings of the watched forms are recorded once and queued for review."""

from __future__ import annotations

import fnmatch
from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portfolio.integrations import edgar
from portfolio.integrations.market_data import ProviderError, provider_gate
from portfolio.models import Company, FilingEvent, Milestone

from .records import record_save
from .steps import StepResult

RESCAN_DAYS = 3  # filings dated this many days before the previous check are looked at again


def form_is_watched(form: str) -> bool:
    return any(fnmatch.fnmatchcase(form.upper(), pattern.upper()) for pattern in settings.LODESTONE_WATCHED_FORMS)


def filings_refresh(*, as_of: date, refresh_run_id: int | None = None) -> StepResult:
    """Read EDGAR's submissions of every company with a CIK and record the new watched filings.

    Each check looks at the filings of the last few days before the previous check (on a
    company's first check, of the last LODESTONE_FILINGS_FIRST_LOOKBACK_DAYS days): accession
    numbers carry their filer agent's prefix, so "newer than the last accession seen" cannot be
    told from the number. The accession number is unique, so a filing is recorded exactly once
    however often this runs and whatever order EDGAR lists it in. Side effects: FilingEvent rows and
    each company's last accession seen. Network calls go through the 10-a-second EDGAR gate.
    """
    result = StepResult("filings")
    gate = provider_gate(edgar.NAME)
    for company in Company.objects.exclude(cik=None).exclude(cik="").order_by("pk"):
        if not company.cik:  # left out by the query
            continue
        result.total += 1
        subject = f"{company.name} (CIK {company.cik})"
        try:
            filings = gate.call(partial(edgar.recent_filings, company.cik))
        except ProviderError as exc:
            result.failed += 1
            result.error(subject, exc.detail, provider=edgar.NAME, kind="transient" if exc.retryable else "permanent")
            if exc.retryable:
                result.transient_failures += 1
            continue
        if company.edgar_checked_at:
            cutoff = company.edgar_checked_at.date() - timedelta(days=RESCAN_DAYS)
        else:
            cutoff = as_of - timedelta(days=settings.LODESTONE_FILINGS_FIRST_LOOKBACK_DAYS)
        candidates = [f for f in filings if f.filed_on >= cutoff and form_is_watched(f.form)]
        known = set(
            FilingEvent.objects.filter(accession_number__in=[f.accession_number for f in candidates]).values_list(
                "accession_number", flat=True
            )
        )
        new = [f for f in candidates if f.accession_number not in known]
        with transaction.atomic():
            FilingEvent.objects.bulk_create(
                [
                    FilingEvent(
                        company=company,
                        accession_number=f.accession_number,
                        form=f.form,
                        items=f.items,
                        filed_on=f.filed_on,
                        report_date=f.report_date,
                        accepted_at=f.accepted_at,
                        primary_document=f.primary_document[:200],
                        description=f.description,
                        url=f.url,
                    )
                    for f in new
                ],
                ignore_conflicts=True,
            )
            if filings:
                company.edgar_last_accession = filings[0].accession_number
            company.edgar_checked_at = timezone.now()
            company.save(update_fields=["edgar_last_accession", "edgar_checked_at", "updated_at"])
        result.written += len(new)
    return result


@transaction.atomic
def filing_mark_reviewed(*, filing: FilingEvent, user) -> FilingEvent:
    """Take a filing off the review queue, recording who reviewed it and when."""
    filing.review_status = FilingEvent.Review.REVIEWED
    filing.reviewed_by = user
    filing.reviewed_at = timezone.now()
    filing.save(update_fields=["review_status", "reviewed_by", "reviewed_at", "updated_at"])
    return filing


@transaction.atomic
def filing_record_milestone(*, filing: FilingEvent, milestone: Milestone, user) -> Milestone:
    """Record that ``milestone`` was created or updated from ``filing``: the filing becomes its
    source, and the filing leaves the review queue."""
    milestone.source_url = filing.url
    milestone.source_published_on = filing.filed_on
    milestone.evidence = "filing"
    record_save(milestone, user=user, reason=f"From {filing.form} {filing.accession_number}")
    filing.milestone = milestone
    filing.review_status = FilingEvent.Review.MILESTONE
    filing.reviewed_by = user
    filing.reviewed_at = timezone.now()
    filing.save(update_fields=["milestone", "review_status", "reviewed_by", "reviewed_at", "updated_at"])
    return milestone
