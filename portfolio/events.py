"""The feed of events between two dates: what happened to the portfolio, newest first.

A read: it gathers the events from the records and their audit history, and writes nothing. Each
kind is read in one query (the deal history serves deal status changes and the stewards' edits of
deals; the filings serve the filings recorded and reviewed), and each portfolio model with history
in one more for the stewards' edits of its records: the number of queries does not grow with the
events.

The kinds (``KINDS``):

- a deal's status changed: two consecutive rows of the deal's history with different statuses;
- a long-stop date passed without closing: a deal's long-stop date in the period, before today,
  after which the book counts the deal as lapsed (``portfolio.book.basis.deal_basis``);
- a milestone's forecast revised: a revision dated in the period (by its source's publication
  date, or failing one the day it was recorded, as ``portfolio.selectors`` dates revisions) whose
  window differs from the one before it (the previous revision, or for the first the baseline),
  with the days it slipped by the slip measure of ``portfolio.selectors``;
- a milestone achieved (its achievement date in the period) or gone late (a derived status change
  to late in the period);
- a filing recorded (filed in the period, or recorded in it) or reviewed (in the period);
- a refresh run finished in the period, with the change in the held book's value it recorded:
  the value of the snapshot it wrote less that of the snapshot before it;
- a steward's edit: a row of a portfolio model's history written by a user, with the fields it
  changed (against the row before it) and the reason, except a deal's status change (its own
  kind) and changes the application derives (bookkeeping times, the long-stop flag, gates opened
  by milestones, the statuses a refresh derives).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import DateField, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.text import capfirst

from portfolio.book import today
from portfolio.book.basis import Basis, DealTerms, deal_basis
from portfolio.models import (
    Agency,
    AgencyAlias,
    CashFlow,
    Commodity,
    CommodityPrice,
    Company,
    Deal,
    DealDocument,
    DealProjectWeight,
    DealStatus,
    FilingEvent,
    FxRate,
    Grant,
    Guarantee,
    Listing,
    Loan,
    LoanEvent,
    ManualMark,
    Milestone,
    MilestoneRevision,
    MilestoneStatus,
    MilestoneStatusChange,
    Offtake,
    PortfolioSnapshot,
    Position,
    PriceFloor,
    PriceFloorPayment,
    ProductionFigure,
    Project,
    ProjectCommodityWeight,
    RefreshRun,
    SecurityPrice,
    ShareCount,
)
from portfolio.selectors import milestone_overdue_days, milestone_slip_days

#: The kinds of event, in the order a day's events are listed, with their labels.
KINDS: dict[str, str] = {
    "deal_status": "Deal status changed",
    "long_stop_passed": "Long-stop date passed",
    "milestone_revised": "Milestone forecast revised",
    "milestone_achieved": "Milestone achieved",
    "milestone_late": "Milestone gone late",
    "filing_recorded": "Filing recorded",
    "filing_reviewed": "Filing reviewed",
    "refresh": "Refresh finished",
    "steward_edit": "Record edited",
}


@dataclass(frozen=True)
class Event:
    """One thing that happened: on a day (and at a time, where the record has one), of a kind, with
    the deal, company, agency and project it concerns (for links and filters), who did it and why,
    the old and new values where there are some, and an amount in US dollars where one moved."""

    on: date
    kind: str
    title: str
    at: datetime | None = None
    summary: str = ""
    deal: str | None = None  # the deal's reference
    deal_title: str | None = None
    company_id: int | None = None
    company_name: str | None = None
    agency: str | None = None  # the agency's short name
    project_id: int | None = None
    project_name: str | None = None
    actor: str = ""  # a username
    reason: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    amount_usd: Decimal | None = None
    #: Which record gave the event (its kind's table and key): orders a day's events for good.
    source: tuple[str, int] = ("", 0)

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


@dataclass(frozen=True)
class Scope:
    """The events asked for: of an agency (short name), a company (pk) or a deal (reference)."""

    agency: str | None = None
    company: int | None = None
    deal: str | None = None

    def admits(self, event: Event) -> bool:
        return (
            (self.agency is None or event.agency == self.agency)
            and (self.company is None or event.company_id == self.company)
            and (self.deal is None or event.deal == self.deal)
        )

    def q(self, *, deal: str | None, company: Iterable[str] = (), agency: str | None) -> Q | None:
        """The scope as a filter, given the lookups of a row's deal reference, company id(s) and
        agency short name (None: rows of this table have none); None when no row can be in it."""
        condition = Q()
        if self.deal is not None:
            if deal is None:
                return None
            condition &= Q(**{deal: self.deal})
        if self.agency is not None:
            if agency is None:
                return None
            condition &= Q(**{agency: self.agency})
        if self.company is not None:
            paths = list(company)
            if not paths:
                return None
            either = Q()
            for path in paths:
                either |= Q(**{path: self.company})
            condition &= either
        return condition


def events_between(
    start: date,
    end: date,
    *,
    agency: str | None = None,
    company: int | None = None,
    deal: str | None = None,
    kinds: Iterable[str] | None = None,
) -> list[Event]:
    """The events from ``start`` to ``end`` (both included), newest first; of an agency (short
    name), a company (pk), a deal (reference) and of the ``kinds`` given (all by default). An
    unknown kind or a start after the end raises ValueError."""
    if start > end:
        raise ValueError(f"The start ({start}) is after the end ({end}).")
    wanted = set(KINDS) if kinds is None else set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"Unknown kinds of event: {', '.join(sorted(unknown))}.")
    period = _Period(start, end)
    scope = Scope(agency=agency, company=company, deal=deal)
    events: list[Event] = []
    if wanted & {"deal_status", "steward_edit"}:
        events += _deal_history(period, scope, wanted)
    if "long_stop_passed" in wanted:
        events += _long_stops(period, scope)
    if "milestone_revised" in wanted:
        events += _revisions(period, scope)
    if "milestone_achieved" in wanted:
        events += _achieved(period, scope)
    if "milestone_late" in wanted:
        events += _gone_late(period, scope)
    if wanted & {"filing_recorded", "filing_reviewed"}:
        events += _filings(period, scope)
    if "refresh" in wanted:
        events += _refreshes(period, scope)
    if "steward_edit" in wanted:
        for model in EDITED_MODELS:
            events += _edits(model, period, scope)
    order = {kind: index for index, kind in enumerate(KINDS)}
    chosen = [event for event in events if event.kind in wanted and scope.admits(event)]
    # Newest first: by day, then the latest time (events without one last), then by kind in the
    # order of KINDS, then by record.
    chosen.sort(
        key=lambda e: (e.on, e.at is not None, e.at.timestamp() if e.at else 0.0, -order[e.kind], e.source),
        reverse=True,
    )
    return chosen


@dataclass(frozen=True)
class _Period:
    start: date
    end: date

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def until(self) -> datetime:
        """The first moment after the period."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.since <= moment < self.until

    def holds_day(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def _day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _username(user) -> str:
    return user.get_username() if user is not None else ""


def _json(value: Any) -> Any:
    """A value as the API writes it: dates and times ISO, decimals as text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _cents(value: Decimal | None) -> Decimal | None:
    """An amount in US dollars to the cent (SQLite reads a subquery's decimal without its places)."""
    return None if value is None else Decimal(value).quantize(CENT)


CENT = Decimal("0.01")


# --- The history of portfolio records: deal status changes and stewards' edits ------------------

#: The portfolio models whose history holds stewards' edits (a user's digest subscription is not a
#: portfolio record).
EDITED_MODELS: tuple[type[models.Model], ...] = (
    Agency, AgencyAlias, Commodity, Company, ShareCount, Listing, Project, ProductionFigure,
    ProjectCommodityWeight, DealProjectWeight, DealDocument, Position, CashFlow, Loan, LoanEvent, Guarantee,
    PriceFloor, PriceFloorPayment, Offtake, Grant, ManualMark, Milestone, SecurityPrice, FxRate, CommodityPrice,
)  # fmt: skip
#: How a record of each model reaches its deal, its company and its project ("" is the record itself).
DEAL_PATHS: dict[type[models.Model], str] = {
    Deal: "", DealProjectWeight: "deal", DealDocument: "deal", Position: "deal", CashFlow: "position__deal",
    Loan: "deal", LoanEvent: "loan__deal", Guarantee: "deal", PriceFloor: "deal", PriceFloorPayment: "floor__deal",
    Offtake: "deal", Grant: "deal", ManualMark: "position__deal", Milestone: "deal",
}  # fmt: skip
COMPANY_PATHS: dict[type[models.Model], str] = {
    Company: "", ShareCount: "company", Listing: "company", Project: "company", ProductionFigure: "project__company",
    ProjectCommodityWeight: "project__company", SecurityPrice: "listing__company", Milestone: "project__company",
}  # fmt: skip
PROJECT_PATHS: dict[type[models.Model], str] = {
    Project: "", Milestone: "project", ProductionFigure: "project", ProjectCommodityWeight: "project",
    DealProjectWeight: "project",
}  # fmt: skip
AGENCY_PATHS: dict[type[models.Model], str] = {Agency: "", AgencyAlias: "agency"}
#: Fields whose change is no steward's edit: bookkeeping, and what the application derives.
BOOKKEEPING = {"created_at", "updated_at"}
DERIVED: dict[type[models.Model], set[str]] = {
    Deal: {"long_stop_passed"},
    Position: {"condition_met_on"},
    Loan: {"condition_met_on"},
}
#: The statuses a refresh derives for a milestone; achieved and cancelled are a steward's.
DERIVED_MILESTONE_STATUSES = {MilestoneStatus.PLANNED, MilestoneStatus.ON_TRACK, MilestoneStatus.AT_RISK,
                              MilestoneStatus.LATE}  # fmt: skip
#: The fields that name a record in its history, the first it has.
LABEL_FIELDS = ("title", "name", "label", "short_name", "alias", "program", "product", "ticker")
LABEL_DATES = ("occurred_on", "on", "as_of", "period_start")


def _path(path: str, name: str) -> str:
    return f"{path}__{name}" if path else name


def _ref_expressions(model: type[models.Model]) -> dict[str, Any]:
    """The annotations that give a history row the deal, company, agency and project it concerns."""
    refs: dict[str, Any] = {}
    deal = DEAL_PATHS.get(model)
    if deal is not None:
        refs["ev_deal"] = F(_path(deal, "reference"))
        refs["ev_deal_title"] = F(_path(deal, "title"))
        refs["ev_agency"] = F(_path(deal, "agency__short_name"))
        refs["ev_company"] = F(_path(deal, "company"))
        refs["ev_company_name"] = F(_path(deal, "company__name"))
    company = COMPANY_PATHS.get(model)
    if company is not None:
        own_id: Any = F(_path(company, "id"))
        own_name: Any = F(_path(company, "name"))
        if "ev_company" in refs:  # a milestone: its deal's company, or its project's
            own_id, own_name = Coalesce(refs["ev_company"], own_id), Coalesce(refs["ev_company_name"], own_name)
        refs["ev_company"], refs["ev_company_name"] = own_id, own_name
    project = PROJECT_PATHS.get(model)
    if project is not None:
        refs["ev_project"] = F(_path(project, "id"))
        refs["ev_project_name"] = F(_path(project, "name"))
    agency = AGENCY_PATHS.get(model)
    if agency is not None:
        refs["ev_agency"] = F(_path(agency, "short_name"))
    return refs


def _history_scope(refs: Mapping[str, Any], scope: Scope) -> Q | None:
    return scope.q(
        deal="ev_deal" if "ev_deal" in refs else None,
        company=["ev_company"] if "ev_company" in refs else [],
        agency="ev_agency" if "ev_agency" in refs else None,
    )


def _history_with_previous(
    model: type[models.Model], period: _Period, scope: Scope, *, by_users: bool
) -> list[tuple[Any, Any]]:
    """The history rows of ``model`` dated in the period (written by a user, if ``by_users``) in the
    scope, each with the row of the same record before it (None for the first): one query."""
    historical = model.history.model  # type: ignore[attr-defined]  # simple_history's manager
    refs = _ref_expressions(model)
    condition = _history_scope(refs, scope)
    if condition is None:
        return []
    chosen = historical.objects.alias(**refs).filter(
        condition, history_date__gte=period.since, history_date__lt=period.until
    )
    if by_users:
        chosen = chosen.filter(history_user__isnull=False)
    before = (
        historical.objects.filter(id=OuterRef("id"))
        .filter(
            Q(history_date__lt=OuterRef("history_date"))
            | Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id"))
        )
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    rows = (
        historical.objects.filter(
            Q(history_id__in=chosen.values("history_id"))
            | Q(history_id__in=chosen.annotate(previous=Subquery(before)).values("previous"))
        )
        .select_related("history_user")
        .annotate(**refs)
        .order_by("id", "history_date", "history_id")
    )
    found: list[tuple[Any, Any]] = []
    last: dict[int, Any] = {}
    for row in rows:
        previous = last.get(row.id)
        last[row.id] = row
        if period.holds(row.history_date) and (row.history_user_id is not None or not by_users):
            found.append((row, previous))
    return found


def _changes(model: type[models.Model], row: Any, previous: Any) -> dict[str, dict[str, Any]]:
    """The fields a history row changed against the row before it, with their old and new values,
    bookkeeping left out."""
    if previous is None:
        return {}
    changed = {}
    for tracked in row.tracked_fields:
        name = tracked.attname
        if name in BOOKKEEPING:
            continue
        old, new = getattr(previous, name), getattr(row, name)
        if old != new:
            changed[name] = {"old": _json(old), "new": _json(new)}
    return changed


def _field_labels(model: type[models.Model], names: Iterable[str]) -> str:
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return ", ".join(capfirst(str(by_attname[name].verbose_name)) if name in by_attname else name for name in names)


def _record_label(model: type[models.Model], row: Any) -> str:
    names = {f.name for f in row.tracked_fields}
    for name in LABEL_FIELDS:
        if name in names and getattr(row, name):
            return str(getattr(row, name))
    parts = []
    if "kind" in names:
        parts.append(str(row.get_kind_display()))
    parts += [getattr(row, name).isoformat() for name in LABEL_DATES if name in names and getattr(row, name)][:1]
    return ", ".join(parts) or f"#{row.id}"


def _refs(row: Any) -> dict[str, Any]:
    return {
        "deal": getattr(row, "ev_deal", None),
        "deal_title": getattr(row, "ev_deal_title", None),
        "company_id": getattr(row, "ev_company", None),
        "company_name": getattr(row, "ev_company_name", None),
        "agency": getattr(row, "ev_agency", None),
        "project_id": getattr(row, "ev_project", None),
        "project_name": getattr(row, "ev_project_name", None),
    }


ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def _edit(model: type[models.Model], row: Any, previous: Any, changes: dict[str, dict[str, Any]]) -> Event:
    action = ACTIONS.get(row.history_type, "changed")
    name = str(model._meta.verbose_name)
    summary = f"Changed {_field_labels(model, changes)}." if action == "changed" else f"{capfirst(action)}."
    return Event(
        on=_day(row.history_date),
        at=row.history_date,
        kind="steward_edit",
        title=f"{capfirst(name)} \u201c{_record_label(model, row)}\u201d {action}",
        summary=summary,
        actor=_username(row.history_user),
        reason=row.history_change_reason or "",
        detail={"record": name, "id": row.id, "action": action, "changes": changes},
        source=(model._meta.model_name or "", row.history_id),
        **_refs(row),
    )


def _is_an_edit(model: type[models.Model], row: Any, changes: dict[str, dict[str, Any]]) -> bool:
    """Whether a user's history row is a steward's edit, not a change the application derived."""
    if row.history_type != "~":
        return True
    meaningful = set(changes) - DERIVED.get(model, set())
    if model is Milestone and meaningful == {"status"}:
        statuses = {changes["status"]["old"], changes["status"]["new"]}
        return not statuses <= DERIVED_MILESTONE_STATUSES
    return bool(meaningful)


def _edits(model: type[models.Model], period: _Period, scope: Scope) -> list[Event]:
    events = []
    for row, previous in _history_with_previous(model, period, scope, by_users=True):
        changes = _changes(model, row, previous)
        if _is_an_edit(model, row, changes):
            events.append(_edit(model, row, previous, changes))
    return events


def _deal_history(period: _Period, scope: Scope, wanted: set[str]) -> list[Event]:
    """Deal status changes (whoever wrote them) and the stewards' other edits of deals."""
    events = []
    for row, previous in _history_with_previous(Deal, period, scope, by_users=False):
        changes = _changes(Deal, row, previous)
        if "status" in changes and row.history_type == "~":
            if "deal_status" in wanted:
                events.append(_status_change(row, changes))
        elif "steward_edit" in wanted and row.history_user_id is not None and _is_an_edit(Deal, row, changes):
            events.append(_edit(Deal, row, previous, changes))
    return events


def _status_label(code: str) -> str:
    return str(DealStatus(code).label) if code in DealStatus.values else code


def _status_change(row: Any, changes: dict[str, dict[str, Any]]) -> Event:
    old, new = changes["status"]["old"], changes["status"]["new"]
    others = [name for name in changes if name not in {"status", *DERIVED[Deal]}]
    return Event(
        on=_day(row.history_date),
        at=row.history_date,
        kind="deal_status",
        title=f"Status: {_status_label(old)} to {_status_label(new)}",
        summary=f"Also changed {_field_labels(Deal, others)}." if others else "",
        actor=_username(row.history_user),
        reason=row.history_change_reason or "",
        detail={"status": {"old": old, "new": new}, "changes": changes},
        source=("deal", row.history_id),
        **_refs(row),
    )


# --- Long-stop dates ------------------------------------------------------------------------------


def _long_stops(period: _Period, scope: Scope) -> list[Event]:
    """Deals whose long-stop date is in the period and has passed (before today) without the deal
    closing: the book counts each as lapsed from the day after."""
    condition = scope.q(deal="reference", company=["company_id"], agency="agency__short_name")
    if condition is None:
        return []
    deals = Deal.objects.filter(
        condition, long_stop_on__gte=period.start, long_stop_on__lte=period.end, long_stop_on__lt=today()
    ).select_related("agency", "company")
    events = []
    for deal in deals:
        stop = deal.long_stop_on
        if stop is None or deal_basis(DealTerms.of(deal), stop + timedelta(days=1)) != Basis.LAPSED:
            continue
        events.append(
            Event(
                on=stop,
                kind="long_stop_passed",
                title=f"Long-stop date {stop.isoformat()} passed without closing",
                summary=f"Status {_status_label(deal.status)}; counted as lapsed from "
                f"{(stop + timedelta(days=1)).isoformat()}.",
                detail={"long_stop_on": stop.isoformat(), "status": deal.status},
                source=("deal", deal.pk),
                **_deal_refs(deal),
            )
        )
    return events


def _deal_refs(deal: Deal | None) -> dict[str, Any]:
    if deal is None:
        return {}
    return {
        "deal": deal.reference,
        "deal_title": deal.title,
        "company_id": deal.company_id,
        "company_name": deal.company.name,
        "agency": deal.agency.short_name,
    }


# --- Milestones -----------------------------------------------------------------------------------

MILESTONE_RELATED = ("project__company", "deal__company", "deal__agency")


def _milestone_scope(scope: Scope, prefix: str = "") -> Q | None:
    return scope.q(
        deal=f"{prefix}deal__reference",
        company=[f"{prefix}deal__company_id", f"{prefix}project__company_id"],
        agency=f"{prefix}deal__agency__short_name",
    )


def _milestone_refs(milestone: Milestone) -> dict[str, Any]:
    refs = _deal_refs(milestone.deal)
    project = milestone.project
    if project is not None:
        refs.update(project_id=project.pk, project_name=project.name)
        refs.setdefault("company_id", project.company_id)
        refs.setdefault("company_name", project.company.name)
    return refs


def _window(text: str, start: date | None, end: date | None) -> dict[str, Any]:
    return {"text": text, "start": _json(start), "end": _json(end)}


def _window_words(window: Mapping[str, Any]) -> str:
    """A window as the source worded it, with the day it ends: "H1 2027 (ends 2027-06-30)"."""
    text, end = window["text"], window["end"]
    if end is None:
        return f"\u201c{text}\u201d (no date read)" if text else "no date"
    return f"{text} (ends {end})" if text and text != end else end


def _slip(milestone: Milestone, forecast_end: date | None) -> int | None:
    """The slip measure of the milestone with this forecast end (not yet achieved)."""
    return milestone_slip_days(Milestone(baseline_end=milestone.baseline_end, forecast_end=forecast_end))


def _revisions(period: _Period, scope: Scope) -> list[Event]:
    """Forecast revisions dated in the period whose window differs from the one before."""
    condition = _milestone_scope(scope, "milestone__")
    if condition is None:
        return []
    earlier = MilestoneRevision.objects.filter(milestone=OuterRef("milestone")).filter(
        Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), id__lt=OuterRef("id"))
    )
    earlier = earlier.order_by("-created_at", "-id")
    revisions = (
        MilestoneRevision.objects.annotate(
            revised_on=Coalesce("source_published_on", TruncDate("created_at"), output_field=DateField()),
            previous_text=Subquery(earlier.values("forecast_text")[:1]),
            previous_start=Subquery(earlier.values("forecast_start")[:1]),
            previous_end=Subquery(earlier.values("forecast_end")[:1]),
            previous_id=Subquery(earlier.values("id")[:1]),
        )
        .filter(condition, revised_on__gte=period.start, revised_on__lte=period.end)
        .select_related("recorded_by", *(f"milestone__{name}" for name in MILESTONE_RELATED))
    )
    events = []
    for revision in revisions:
        milestone = revision.milestone
        if revision.previous_id is not None:
            old = _window(revision.previous_text, revision.previous_start, revision.previous_end)
        else:
            old = _window(milestone.baseline_text, milestone.baseline_start, milestone.baseline_end)
        new = _window(revision.forecast_text, revision.forecast_start, revision.forecast_end)
        if (old["start"], old["end"]) == (new["start"], new["end"]):
            continue
        slip_before = _slip(milestone, revision.previous_end if revision.previous_id else milestone.baseline_end)
        slip_after = _slip(milestone, revision.forecast_end)
        moved = slip_after - slip_before if slip_before is not None and slip_after is not None else None
        if moved:
            how = f"moved {abs(moved)} day{'s' if abs(moved) != 1 else ''} {'later' if moved > 0 else 'earlier'}"
        else:
            how = "revised"
        since_baseline = f"; {slip_after} days after the baseline" if slip_after else ""
        events.append(
            Event(
                on=revision.revised_on,
                at=revision.created_at,
                kind="milestone_revised",
                title=f"{milestone.title}: forecast {how}",
                summary=f"From {_window_words(old)} to {_window_words(new)}{since_baseline}.",
                actor=_username(revision.recorded_by),
                reason=revision.note,
                detail={
                    "milestone": milestone.pk,
                    "old": old,
                    "new": new,
                    "slip_days": slip_after,
                    "moved_days": moved,
                },
                source=("milestonerevision", revision.pk),
                **_milestone_refs(milestone),
            )
        )
    return events


def _achieved(period: _Period, scope: Scope) -> list[Event]:
    condition = _milestone_scope(scope)
    if condition is None:
        return []
    milestones = Milestone.objects.filter(
        condition, achieved_on__gte=period.start, achieved_on__lte=period.end
    ).select_related(*MILESTONE_RELATED)
    events = []
    for milestone in milestones:
        achieved_on = milestone.achieved_on
        if achieved_on is None:
            continue
        slip = milestone_slip_days(milestone)
        if slip:
            summary = f"{abs(slip)} days {'after' if slip > 0 else 'before'} its baseline ({milestone.baseline_end})."
        else:
            summary = "On its baseline." if slip == 0 else ""
        events.append(
            Event(
                on=achieved_on,
                kind="milestone_achieved",
                title=f"{milestone.title} achieved",
                summary=summary,
                detail={
                    "milestone": milestone.pk,
                    "achieved_on": achieved_on.isoformat(),
                    "baseline_end": _json(milestone.baseline_end),
                    "slip_days": slip,
                },
                source=("milestone", milestone.pk),
                **_milestone_refs(milestone),
            )
        )
    return events


def _gone_late(period: _Period, scope: Scope) -> list[Event]:
    condition = _milestone_scope(scope, "milestone__")
    if condition is None:
        return []
    changes = MilestoneStatusChange.objects.filter(
        condition, to_status=MilestoneStatus.LATE, on__gte=period.start, on__lte=period.end
    ).select_related("changed_by", *(f"milestone__{name}" for name in MILESTONE_RELATED))
    events = []
    for change in changes:
        milestone = change.milestone
        overdue = milestone_overdue_days(milestone, change.on)
        window = f"Its forecast window ended on {milestone.forecast_end}." if milestone.forecast_end else ""
        events.append(
            Event(
                on=change.on,
                at=change.created_at,
                kind="milestone_late",
                title=f"{milestone.title} gone late",
                summary=window,
                actor=_username(change.changed_by),
                detail={
                    "milestone": milestone.pk,
                    "status": {"old": change.from_status, "new": change.to_status},
                    "forecast_end": _json(milestone.forecast_end),
                    "overdue_days": overdue,
                },
                source=("milestonestatuschange", change.pk),
                **_milestone_refs(milestone),
            )
        )
    return events


# --- Filings and refresh runs ---------------------------------------------------------------------


def _filings(period: _Period, scope: Scope) -> list[Event]:
    """Filings filed (or recorded) in the period, and those reviewed in it: one query."""
    condition = scope.q(deal=None, company=["company_id"], agency=None)
    if condition is None:
        return []
    filings = FilingEvent.objects.filter(
        condition,
        Q(filed_on__gte=period.start, filed_on__lte=period.end)
        | Q(created_at__gte=period.since, created_at__lt=period.until)
        | Q(reviewed_at__gte=period.since, reviewed_at__lt=period.until),
    ).select_related("company", "reviewed_by")
    events = []
    for filing in filings:
        refs: dict[str, Any] = {"company_id": filing.company_id, "company_name": filing.company.name}
        detail = {
            "filing": filing.pk,
            "accession_number": filing.accession_number,
            "form": filing.form,
            "filed_on": filing.filed_on.isoformat(),
            "url": filing.url,
        }
        recorded_on = _day(filing.created_at)
        if period.holds_day(filing.filed_on) or period.holds_day(recorded_on):
            on = filing.filed_on if period.holds_day(filing.filed_on) else recorded_on
            events.append(
                Event(
                    on=on,
                    at=filing.accepted_at if on == filing.filed_on else filing.created_at,
                    kind="filing_recorded",
                    title=f"{filing.form} filed on {filing.filed_on.isoformat()}",
                    summary=filing.description or (f"Items {filing.items}." if filing.items else ""),
                    detail=detail,
                    source=("filingevent", filing.pk),
                    **refs,
                )
            )
        if filing.reviewed_at is not None and period.holds(filing.reviewed_at):
            events.append(
                Event(
                    on=_day(filing.reviewed_at),
                    at=filing.reviewed_at,
                    kind="filing_reviewed",
                    title=f"{filing.form} of {filing.filed_on.isoformat()} reviewed",
                    summary=f"{filing.get_review_status_display()}.",
                    actor=_username(filing.reviewed_by),
                    detail={**detail, "review_status": filing.review_status},
                    source=("filingevent", filing.pk),
                    **refs,
                )
            )
    return events


#: The outcomes of a run that did something (a refused run never started).
FINISHED = (RefreshRun.Status.SUCCEEDED, RefreshRun.Status.PARTIAL, RefreshRun.Status.FAILED)


def _refreshes(period: _Period, scope: Scope) -> list[Event]:
    """Runs finished in the period, with the change of the snapshot value each wrote from the
    snapshot before it (dated earlier): one query. A run concerns the whole portfolio, so none is
    of an agency, a company or a deal."""
    if scope != Scope():
        return []
    snapshot = PortfolioSnapshot.objects.filter(refresh_run=OuterRef("pk")).order_by("-as_of")
    before = PortfolioSnapshot.objects.filter(as_of__lt=OuterRef("snapshot_as_of")).order_by("-as_of")
    runs = (
        RefreshRun.objects.filter(status__in=FINISHED, finished_at__gte=period.since, finished_at__lt=period.until)
        .annotate(
            snapshot_as_of=Subquery(snapshot.values("as_of")[:1]),
            snapshot_value=Subquery(snapshot.values("value_usd")[:1]),
        )
        .annotate(
            previous_as_of=Subquery(before.values("as_of")[:1]),
            previous_value=Subquery(before.values("value_usd")[:1]),
        )
        .select_related("requested_by")
    )
    events = []
    for run in runs:
        finished = run.finished_at
        if finished is None:
            continue
        value, previous = _cents(run.snapshot_value), _cents(run.previous_value)
        change = value - previous if value is not None and previous is not None else None
        errors = len(run.errors) if isinstance(run.errors, list) else 0
        parts = [f"As of {run.as_of}." if run.as_of else ""]
        if change is not None:
            parts.append(f"Held value from {run.previous_as_of} to {run.snapshot_as_of}.")
        if errors:
            parts.append(f"{errors} error{'s' if errors != 1 else ''}.")
        events.append(
            Event(
                on=_day(finished),
                at=finished,
                kind="refresh",
                title=f"{run.get_kind_display()} refresh {str(run.get_status_display()).lower()}",
                summary=" ".join(part for part in parts if part),
                actor=_username(run.requested_by),
                detail={
                    "run": run.pk,
                    "kind": run.kind,
                    "status": run.status,
                    "as_of": _json(run.as_of),
                    "errors": errors,
                    "value_usd": _json(value),
                    "previous_value_usd": _json(previous),
                    "previous_as_of": _json(run.previous_as_of),
                },
                amount_usd=change,
                source=("refreshrun", run.pk),
            )
        )
    return events
