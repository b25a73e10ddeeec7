"""The digest for subscribed staff: how the held book's value moved over the week and why, what
changed in the schedule, and what needs review.

A read: it composes the digest from the records and e-mails it (plain text and HTML, with links to
the pages); it writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from portfolio.book import default_as_of
from portfolio.book.bridge import Bridge, book_bridge
from portfolio.models import (
    OPEN_DEAL_STATUSES,
    Deal,
    DigestSubscription,
    FilingEvent,
    MilestoneStatus,
    MilestoneStatusChange,
)

#: The period of the bridge the digest leads with: the week to the latest valuation date.
BRIDGE_DAYS = 7


@dataclass
class Digest:
    as_of: date
    bridge: Bridge  # the held book's week, to the latest valuation date on or before ``as_of``
    status_changes: list[MilestoneStatusChange]
    newly_late: list[MilestoneStatusChange]
    long_stops: list[Deal]
    unreviewed_filings: list[FilingEvent]

    @property
    def is_empty(self) -> bool:
        return not (self.bridge.change or self.status_changes or self.long_stops or self.unreviewed_filings)

    @property
    def moved_steps(self):
        return [step for step in self.bridge.ordered_steps if step.amount]

    @property
    def subject(self) -> str:
        return (
            f"Lodestone digest {self.as_of}: held value {_signed(self.bridge.change)} over the week, "
            f"{len(self.status_changes)} status changes, "
            f"{len(self.newly_late)} newly late, {len(self.long_stops)} long-stop dates, "
            f"{len(self.unreviewed_filings)} filings to review"
        )


def _signed(amount) -> str:
    return f"{'+' if amount > 0 else '-' if amount < 0 else ''}US${abs(amount):,.0f}"


def digest_compose(*, as_of: date) -> Digest:
    """Status changes derived today (each is reported once), long-stop dates of open deals in the
    next LODESTONE_LONG_STOP_WARNING_DAYS days (and those passed unmet), and unreviewed filings."""
    changes = list(
        MilestoneStatusChange.objects.filter(on=as_of)
        .select_related("milestone__project", "milestone__deal")
        .order_by("milestone__title", "created_at")
    )
    horizon = as_of + timedelta(days=settings.LODESTONE_LONG_STOP_WARNING_DAYS)
    long_stops = list(
        Deal.objects.filter(status__in=OPEN_DEAL_STATUSES, long_stop_on__lte=horizon)
        .select_related("agency", "company")
        .order_by("long_stop_on")
    )
    filings = list(
        FilingEvent.objects.filter(review_status=FilingEvent.Review.NEW).select_related("company").order_by("-filed_on")
    )
    end = min(default_as_of(), as_of)
    return Digest(
        as_of=as_of,
        bridge=book_bridge(end - timedelta(days=BRIDGE_DAYS), end).total,
        status_changes=changes,
        newly_late=[c for c in changes if c.to_status == MilestoneStatus.LATE],
        long_stops=long_stops,
        unreviewed_filings=filings,
    )


def digest_send(*, as_of: date) -> int:
    """E-mail the digest to every active subscriber with an address; return how many were sent to.

    Nothing is sent when there is nothing to report. Side effect: one e-mail (through the
    configured backend, the console by default).
    """
    digest = digest_compose(as_of=as_of)
    recipients = list(
        DigestSubscription.objects.filter(is_active=True, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if digest.is_empty or not recipients:
        return 0
    context = {"digest": digest, "site": settings.LODESTONE_SITE_URL}
    body = render_to_string("portfolio/email/digest.txt", context)
    html = render_to_string("portfolio/email/digest.html", context)
    send_mail(digest.subject, body, settings.DEFAULT_FROM_EMAIL, recipients, html_message=html)
    return len(recipients)
