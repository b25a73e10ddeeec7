"""Shares outstanding from SEC's XBRL company facts, stored as the companies' dated share counts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from portfolio.integrations import edgar
from portfolio.integrations.market_data import ProviderError, provider_gate
from portfolio.models import Company, Evidence, ShareCount, ShareCountOrigin

from .records import record_save
from .steps import StepResult

#: Counts dated up to this many years before the run's date are stored; older ones bear on no stake.
HISTORY_YEARS = 5


def share_counts_due(as_of: date) -> QuerySet[Company]:
    """The companies whose company facts are read on ``as_of``: those with a CIK that EDGAR's
    filings watcher has not yet checked that day.

    The step runs just before the filings step of the same run, which records each company's check
    (``Company.edgar_checked_at``): the hourly run reads a company's facts in its first run of the
    day, and again in the next run only if EDGAR could not be reached for the company. Cover-page
    counts change with the quarterly reports; once a day finds each the day it is filed.
    """
    return (
        Company.objects.exclude(cik=None)
        .exclude(cik="")
        .filter(Q(edgar_checked_at=None) | Q(edgar_checked_at__date__lt=as_of))
        .order_by("pk")
    )


def share_counts_refresh(*, as_of: date, refresh_run_id: int | None = None) -> StepResult:
    """Store the cover-page counts of shares outstanding of every company due (``share_counts_due``)
    from its SEC XBRL company facts (``dei:EntityCommonStockSharesOutstanding``).

    One share count per date of the last HISTORY_YEARS years, with the filing that states it as
    its source. Idempotent: a count stored as SEC states it is left alone; one SEC later states
    differently is updated and reported as revised; a count a steward entered on that date is never
    overwritten. Every write goes through ``record_save`` (history with no user, the filing as the
    reason). A company whose facts cannot be read (no facts, no count in them, an HTTP error, a
    body that is not company facts) or whose count the model refuses is a failure recorded in the
    run's errors, and the others go on; a transient failure does not make the run retry (the
    company is due again the next day). Entries that are not counts are left out and noted
    ("rejected"), as the price providers' are. Network calls go through the 10-a-second EDGAR gate.
    """
    result = StepResult("shares")
    gate = provider_gate(edgar.NAME)
    since = as_of - timedelta(days=365 * HISTORY_YEARS + HISTORY_YEARS // 4)
    for company in share_counts_due(as_of):
        if not company.cik:  # left out by the query
            continue
        result.total += 1
        subject = f"{company.name} (CIK {company.cik})"
        try:
            facts = gate.call(partial(edgar.shares_outstanding, company.cik))
        except ProviderError as exc:
            result.failed += 1
            # Not counted as a transient failure: an outage of the facts alone must not hold up the
            # filings step after it by retrying the run. The count is read again the next day.
            result.error(subject, exc.detail, provider=edgar.NAME, kind="transient" if exc.retryable else "permanent")
            continue
        for note in facts.rejected:
            result.error(subject, f"rejected {note}", provider=edgar.NAME, kind="rejected")
        counts = [count for count in facts.counts if since <= count.as_of <= as_of]
        stored = ShareCount.objects.filter(company=company, as_of__in=[count.as_of for count in counts])
        by_date = {row.as_of: row for row in stored}
        refused = []
        for count in counts:
            try:
                _store(company, count, by_date.get(count.as_of), result, subject)
            except ValidationError as exc:
                refused.append(f"the count of {count.as_of} was refused: {' '.join(exc.messages)}")
        if refused:
            result.failed += 1
            result.error(subject, "; ".join(refused)[:1000], provider=edgar.NAME, kind="permanent")
    return result


def _store(
    company: Company, count: edgar.ShareCountFact, row: ShareCount | None, result: StepResult, subject: str
) -> None:
    """Create or update the share count of ``count``'s date; leave a steward's count and an
    unchanged one alone."""
    if row is not None and row.origin != ShareCountOrigin.SEC_FACTS:
        return
    values = {
        "shares": Decimal(count.shares),
        "is_derived": False,
        "origin": ShareCountOrigin.SEC_FACTS,
        "accession_number": count.accession_number,
        "notes": f"Cover page of the {count.form or 'filing'} (dei:EntityCommonStockSharesOutstanding).",
        "source_url": count.url,
        "source_published_on": count.filed_on,
        "evidence": Evidence.FILING,
    }
    reason = f"SEC XBRL company facts: {count.form or 'filing'} {count.accession_number}"
    if row is None:
        record_save(ShareCount(company=company, as_of=count.as_of, **values), user=None, reason=reason)
        result.written += 1
        return
    if all(getattr(row, name) == value for name, value in values.items()):
        return
    before = row.shares
    for name, value in values.items():
        setattr(row, name, value)
    record_save(row, user=None, reason=reason)
    result.revised += 1
    if before != row.shares:
        result.error(subject, f"{count.as_of}: shares revised from {before:,.0f} to {count.shares:,}", kind="revised")
