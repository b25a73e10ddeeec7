"""Milestones: the source's date wording becomes a window; every forecast change is a revision."""

from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from portfolio.date_phrases import parse_date_phrase
from portfolio.models import (
    OPEN_DEAL_STATUSES,
    Deal,
    Loan,
    Milestone,
    MilestoneRevision,
    MilestoneStatus,
    MilestoneStatusChange,
    Position,
)

from .steps import StepResult


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
    as a revision naming the user; an achieved milestone opens the gates it holds. Side effects:
    the milestone row (with its audit history), at most one MilestoneRevision, gated rows.
    """
    milestone.__dict__.update(milestone_forecast_fields(milestone.forecast_text))
    if milestone.achieved_on and milestone.status not in (MilestoneStatus.ACHIEVED, MilestoneStatus.CANCELLED):
        milestone.status = MilestoneStatus.ACHIEVED
    is_new = milestone.pk is None
    # The first target that gives a window becomes the baseline (even if earlier text gave none).
    if milestone.baseline_end is None and milestone.forecast_end is not None:
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
    gates_open(milestone=milestone)
    return milestone


# --- Derived statuses, gates and long-stop dates ------------------------------------------------


def milestone_status_on(milestone: Milestone, today, *, at_risk_days: int) -> str:
    """The status a milestone has on ``today``.

    Achieved (it has an achieved date) and cancelled are kept; otherwise late once the whole
    window has passed, at risk when the window ends within ``at_risk_days``, on track when it
    ends later, and planned while the date text gives no window.
    """
    if milestone.status == MilestoneStatus.CANCELLED:
        return MilestoneStatus.CANCELLED
    if milestone.achieved_on:
        return MilestoneStatus.ACHIEVED
    if milestone.forecast_end is None:
        return MilestoneStatus.PLANNED
    if milestone.forecast_end < today:
        return MilestoneStatus.LATE
    if (milestone.forecast_end - today).days <= at_risk_days:
        return MilestoneStatus.AT_RISK
    return MilestoneStatus.ON_TRACK


def gate_met_on(milestone: Milestone):
    """The day what a milestone gates opened: its achievement date, or None while it is not
    achieved or once it is cancelled."""
    return milestone.achieved_on if milestone.status != MilestoneStatus.CANCELLED else None


def gates_open(*, milestone: Milestone) -> int:
    """Set what a milestone gates to match it: achieved, its instruments become exercisable and its
    loans drawable from the achievement date; no longer achieved (a correction), they close again.

    Side effects: ``condition_met_on`` on each gated position and loan whose state changes (with
    audit history). Idempotent. Returns how many changed.
    """
    if milestone.pk is None:
        return 0
    met_on = gate_met_on(milestone)
    changed = 0
    gated_rows: list[Position | Loan] = [*milestone.gated_positions.all(), *milestone.gated_loans.all()]
    for gated in gated_rows:
        if gated.condition_met_on == met_on:
            continue
        gated.condition_met_on = met_on
        gated._change_reason = _gate_reason(milestone.title, met_on, type(gated))  # type: ignore[union-attr]  # simple_history's hook, untyped
        gated.save(update_fields=["condition_met_on", "updated_at"])
        changed += 1
    return changed


def _gate_reason(title: str, met_on, gated: type[Position | Loan]) -> str:
    """Why a gate opened or closed, for the gated row's audit history, whose reason column is
    short (100 characters): a long milestone title is shortened to fit (a 250-character title
    made the save fail on PostgreSQL)."""
    limit = gated.history.model._meta.get_field("history_change_reason").max_length

    def reason(name: str) -> str:
        if met_on:
            return f"Gate opened: milestone {name!r} achieved on {met_on}"
        return f"Gate closed: milestone {name!r} is not achieved"

    if len(reason(title)) <= limit:
        return reason(title)
    shortest, longest = 0, len(title)  # the longest beginning of the title that fits
    while shortest < longest:
        middle = (shortest + longest + 1) // 2
        if len(reason(f"{title[:middle]}\u2026")) <= limit:
            shortest = middle
        else:
            longest = middle - 1
    return reason(f"{title[:shortest]}\u2026")[:limit]


def milestones_refresh(*, as_of, refresh_run_id: int | None = None, user=None):
    """Derive every milestone's status on ``as_of``, open the gates of achieved milestones and
    flag deals whose long-stop date passed before they closed.

    Side effects: milestone statuses (one UPDATE per status that changed) with a
    MilestoneStatusChange row for each change; gated positions and loans; Deal.long_stop_passed.
    Idempotent: a second run on the same day changes nothing.
    """
    result = StepResult("milestones")
    at_risk_days = settings.LODESTONE_MILESTONE_AT_RISK_DAYS
    changes: list[MilestoneStatusChange] = []
    by_status: dict[str, list[int]] = {}
    milestones = list(Milestone.objects.only("pk", "status", "achieved_on", "forecast_end"))
    for milestone in milestones:
        result.total += 1
        status = milestone_status_on(milestone, as_of, at_risk_days=at_risk_days)
        if status != milestone.status:
            changes.append(
                MilestoneStatusChange(
                    milestone_id=milestone.pk,
                    from_status=milestone.status,
                    to_status=status,
                    on=as_of,
                    changed_by=user,
                    refresh_run_id=refresh_run_id,
                )
            )
            by_status.setdefault(status, []).append(milestone.pk)
    with transaction.atomic():
        now = timezone.now()
        derived = {pk: status for status, ids in by_status.items() for pk in ids}
        changed = list(Milestone.objects.filter(pk__in=derived)) if derived else []
        for milestone in changed:
            milestone.status, milestone.updated_at = derived[milestone.pk], now
        _update_with_history(changed, Milestone, ["status", "updated_at"], user, f"Status derived on {as_of}")
        MilestoneStatusChange.objects.bulk_create(changes)
        for milestone in (
            Milestone.objects.filter(achieved_on__isnull=False)
            .filter(
                models.Q(gated_positions__condition_met_on=None, gated_positions__isnull=False)
                | models.Q(gated_loans__condition_met_on=None, gated_loans__isnull=False)
            )
            .distinct()
        ):
            result.written += gates_open(milestone=milestone)
        _flag_long_stops(as_of, result, user)
    result.written += len(changes)
    return result


def _flag_long_stops(as_of, result, user=None) -> None:
    now = timezone.now()
    open_ = Q(status__in=OPEN_DEAL_STATUSES)
    passed = list(Deal.objects.filter(open_, long_stop_on__lt=as_of, long_stop_passed=False))
    for deal in passed:
        result.error(deal.reference, f"long-stop date {deal.long_stop_on} passed before closing", kind="long_stop")
        deal.long_stop_passed, deal.updated_at = True, now
    # A deal that closed, or whose long-stop date was extended, is no longer flagged.
    cleared = list(
        Deal.objects.filter(long_stop_passed=True).filter(~open_ | Q(long_stop_on__gte=as_of) | Q(long_stop_on=None))
    )
    for deal in cleared:
        deal.long_stop_passed, deal.updated_at = False, now
    fields = ["long_stop_passed", "updated_at"]
    _update_with_history(passed, Deal, fields, user, f"Long-stop date passed before closing (on {as_of})")
    _update_with_history(cleared, Deal, fields, user, f"Long-stop flag cleared: closed or extended (on {as_of})")
    result.written += len(passed) + len(cleared)


def _update_with_history(rows: list, model: type[models.Model], fields: list[str], user, reason: str) -> None:
    """Write a derived change to many rows in a few statements, with an audit-history row for each
    (who: the user who asked for the refresh, or nobody for the scheduled one; why: ``reason``)."""
    if rows:
        bulk_update_with_history(
            rows, model, fields, batch_size=500, default_user=user, default_change_reason=reason[:100]
        )


def deal_deadlines_refresh(*, as_of):
    """Flag the open deals whose long-stop date passed before ``as_of`` (and unflag those that
    closed or were extended), as a refresh's first step, so the run that values a date reports the
    deals that lapsed by then. The book reads the dates themselves, so a lapse changes a deal's
    basis whether or not this ran.

    Side effects: Deal.long_stop_passed. Idempotent.
    """
    result = StepResult("deadlines")
    with transaction.atomic():
        result.total = Deal.objects.filter(status__in=OPEN_DEAL_STATUSES, long_stop_on__isnull=False).count()
        _flag_long_stops(as_of, result)
    return result
