"""Writes of stewards' records, shared by the admin and the API: validated by the model's own rules,
saved with the author and a reason in the audit history, in one transaction.

Every steward's write of a portfolio record (deals and their legs, positions, cash flows, marks,
milestones, the registry, manual market data) goes through :func:`record_save`, and every delete
through :func:`record_delete`, so the admin, the API, imports and the demo loader apply the same
rules: model validation and constraints, the deal lifecycle, milestone windows and revisions, the
gates a milestone holds, a listing's price status, and the fields that name who entered a row.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, router, transaction
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils import timezone

from portfolio.models import (
    LOAN_EVENT_SIGN,
    CashFlow,
    Deal,
    DealStatus,
    Loan,
    LoanEvent,
    LoanEventKind,
    ManualMark,
    Milestone,
    Position,
    SecurityPrice,
    ShareCount,
    ShareCountOrigin,
)
from portfolio.models.deals import DEAL_STATUS_TRANSITIONS

from .market_data import listing_price_status_refresh
from .milestones import gate_met_on, milestone_save


def record_save(
    instance: models.Model,
    *,
    user,
    reason: str,
    constraints_by_database: bool = False,
    status_correction: bool = False,
    listing_status: bool = True,
) -> models.Model:
    """Validate and save one record as entered by ``user``; returns the saved instance.

    Side effects: the row, its audit-history row (user and reason); for a milestone at most one
    revision and the gates it opens; for a gated instrument or loan, whether its gate is open (from
    its milestone); for a price, its listing's price status. A
    :class:`~django.core.exceptions.ValidationError` leaves the database unchanged.

    ``status_correction``: a deal's status may leave the usual lifecycle (undoing a status entered
    by mistake); the history's reason then ends "(status corrected)". ``listing_status=False``: the
    caller derives the price status of the listings once for many prices (imports), rather than
    once per price.

    ``constraints_by_database`` (imports, which save many rows whose references they have just
    read): the table's check and unique constraints, and the existence of the records it refers
    to, are left to the database rather than asked of it in a query each before the save; a row
    the database refuses raises the same ValidationError, with the constraint's own message.
    """
    options = {"status_correction": status_correction, "listing_status": listing_status}
    if not constraints_by_database or isinstance(instance, Milestone):
        return _save(instance, user=user, reason=reason, checked_by_database=False, **options)
    try:
        return _save(instance, user=user, reason=reason, checked_by_database=True, **options)
    except IntegrityError as exc:
        raise _refusal(instance, exc) from exc


@transaction.atomic
def _save(
    instance: models.Model,
    *,
    user,
    reason: str,
    checked_by_database: bool,
    status_correction: bool,
    listing_status: bool,
) -> models.Model:
    if isinstance(instance, Deal) and status_correction:
        reason = f"{reason} (status corrected)"
    _name_in_history(instance, user=user, reason=reason)
    if isinstance(instance, Milestone):
        return milestone_save(milestone=instance, user=user, note=reason)
    if isinstance(instance, Deal):
        deal_status_check(instance, instance.status, correction=status_correction)
    if isinstance(instance, ManualMark):
        instance.marked_by = user
    if isinstance(instance, CashFlow) and instance.pk is None:
        instance.recorded_by = user
    if isinstance(instance, Position | Loan) and (gate := instance.gate_milestone) is not None:
        instance.condition_met_on = gate_met_on(gate)
    if isinstance(instance, ShareCount) and user is not None:
        # A steward's count, or a steward's correction of a provider's, is the steward's: the
        # provider never writes over it.
        instance.origin = ShareCountOrigin.MANUAL
    if checked_by_database:
        instance.full_clean(exclude=_references_in_hand(instance), validate_unique=False, validate_constraints=False)
    else:
        instance.full_clean()
    # Rules across a loan's events, on valid rows only (the kinds, dates and amounts are checked).
    if isinstance(instance, LoanEvent):
        loan_events_check(instance.loan, [*_other_events(instance), instance])
    if isinstance(instance, Loan) and instance.pk:
        loan_events_check(instance, list(LoanEvent.objects.filter(loan=instance)))
    instance.save()
    if isinstance(instance, SecurityPrice) and listing_status:
        listing_price_status_refresh(listing_ids=[instance.listing_id], as_of=timezone.localdate())
    return instance


def _name_in_history(row: models.Model, *, user, reason: str) -> None:
    """Who made a change and why, for the audit-history row simple_history writes when ``row`` is
    saved or deleted. Set on the row itself: API requests authenticate after the history
    middleware has run, and a cascade's rows are not the ones the caller holds."""
    row._history_user = user  # type: ignore[attr-defined]  # simple_history's hooks, untyped
    row._change_reason = reason  # type: ignore[attr-defined]


def deal_status_check(deal: Deal, status: str, *, correction: bool = False) -> None:
    """Refuse a change of ``deal``'s stored status to ``status`` that leaves the usual lifecycle
    (``DEAL_STATUS_TRANSITIONS``), unless it is a ``correction`` of a status entered by mistake.

    A new deal may start at any status. Raises ValidationError on the ``status`` field.
    """
    stored = Deal.objects.filter(pk=deal.pk).values_list("status", flat=True).first() if deal.pk else None
    if not stored or status == stored or status in DEAL_STATUS_TRANSITIONS[stored] or correction:
        return
    allowed = ", ".join(
        str(DealStatus(s).label) for s in DealStatus if s in DEAL_STATUS_TRANSITIONS[stored] and s != stored
    )
    raise ValidationError(
        {
            "status": (
                f"A deal cannot go from {DealStatus(stored).label} to {DealStatus(status).label}; "
                f"from {DealStatus(stored).label} it can go to: {allowed or 'nothing (final)'}. To undo "
                "a status entered by mistake, mark the change a correction (the admin's \"Correct a mistaken "
                "status\", the API's and imports' status_correction)."
            )
        }
    )


def _other_events(event: LoanEvent) -> list[LoanEvent]:
    return list(LoanEvent.objects.filter(loan_id=event.loan_id).exclude(pk=event.pk))


def loan_events_check(loan: Loan, events: list[LoanEvent]) -> None:
    """Refuse loan events that would repay more than is outstanding on some day (a repayment
    counts after that day's drawings), or draw and capitalise more than the loan's principal.
    Raises ValidationError naming the day and the amounts."""
    order = {LoanEventKind.DRAW: 0, LoanEventKind.CAPITALISED_INTEREST: 1, LoanEventKind.REPAYMENT: 2}
    outstanding = drawn = Decimal("0")
    for event in sorted(events, key=lambda e: (e.occurred_on, order[LoanEventKind(e.kind)])):
        outstanding += event.amount * LOAN_EVENT_SIGN[LoanEventKind(event.kind)]
        if event.kind != LoanEventKind.REPAYMENT:
            drawn += event.amount
        if outstanding < 0:
            raise ValidationError(
                f"On {event.occurred_on} the repayments would exceed what is outstanding by {-outstanding:,.2f} "
                f"{loan.currency_id}: record the drawings first, or check the amount and date."
            )
    if drawn > loan.principal:
        raise ValidationError(
            f"Drawings and capitalised interest ({drawn:,.2f} {loan.currency_id}) would exceed the loan's principal "
            f"({loan.principal:,.2f}): give the committed maximum, capitalised interest included, as the principal."
        )


@transaction.atomic
def record_delete(instance: models.Model, *, user, reason: str) -> None:
    """Delete one record as asked by ``user``, with the rows that go with it.

    Side effects: the row and the rows its deletion cascades to are deleted, each with an audit
    history row naming ``user`` and ``reason``; for a price, its listing's price status is derived
    again; for a gating milestone, the instruments and loans it gated lose their gate (with history).
    Cached figures are retired as for any change. A record other rows still need (a company with
    deals, a currency in use) is refused with a ValidationError that names them, and nothing changes.
    """
    gated = [*instance.gated_positions.all(), *instance.gated_loans.all()] if isinstance(instance, Milestone) else []
    if isinstance(instance, LoanEvent):  # what remains must still add up
        loan_events_check(instance.loan, _other_events(instance))
    collector = Collector(using=router.db_for_write(type(instance)), origin=instance)
    try:
        collector.collect([instance])
    except (ProtectedError, RestrictedError) as exc:
        needed = sorted({f"{type(row)._meta.verbose_name}: {row}" for row in exc.args[1]})[:5]
        raise ValidationError(
            f"{str(type(instance)._meta.verbose_name).capitalize()} \u201c{instance}\u201d cannot be deleted while "
            f"other records refer to it ({'; '.join(needed)}). Delete or change those first."
        ) from exc
    for rows in collector.data.values():
        for row in rows:
            _name_in_history(row, user=user, reason=reason)
    collector.delete()
    for row in gated:
        # The milestone's delete cleared the gate in one UPDATE; the history says so row by row.
        row.refresh_from_db(fields=["gate_milestone", "condition_met_on", "updated_at"])
        _name_in_history(row, user=user, reason=f"Gate removed: its milestone was deleted ({reason})"[:100])
        row.save(update_fields=["updated_at"])
    if isinstance(instance, SecurityPrice):
        listing_price_status_refresh(listing_ids=[instance.listing_id], as_of=timezone.localdate())


def _references_in_hand(instance: models.Model) -> list[str]:
    """The foreign keys whose record is already on the instance, read from the database: checking
    that they exist would ask the database again."""
    in_hand = []
    for field in instance._meta.concrete_fields:
        if isinstance(field, models.ForeignKey) and field.is_cached(instance):
            target = field.get_cached_value(instance)
            if target is not None and target.pk is not None and target.pk == getattr(instance, field.attname):
                in_hand.append(field.name)
    return in_hand


def _refusal(instance: models.Model, exc: IntegrityError) -> Exception:
    """The ValidationError model validation would have raised for the constraint the database
    names in ``exc`` (PostgreSQL names it in the error's diagnostics, SQLite in its message), or
    ``exc`` itself when it names none of the model's constraints."""
    cause = exc.__cause__
    named = getattr(getattr(cause, "diag", None), "constraint_name", None) or ""
    text = str(exc)
    for constraint in instance._meta.constraints:
        if constraint.name != named and not re.search(rf"\b{re.escape(constraint.name)}\b", text):
            continue
        if (
            isinstance(constraint, models.UniqueConstraint)
            and constraint.fields
            and not constraint.violation_error_message
        ):
            return ValidationError(instance.unique_error_message(type(instance), constraint.fields))
        return ValidationError(constraint.get_violation_error_message())
    return exc


@transaction.atomic
def record_create(*, model: type[models.Model], data: dict, user, reason: str = "Created through the API"):
    """Create a row of ``model`` from validated field values; model validation and constraints apply."""
    data.pop("status_correction", None)  # a new deal may start at any status
    m2m = {name: data.pop(name) for name in list(data) if model._meta.get_field(name).many_to_many}
    instance = record_save(model(**data), user=user, reason=reason)
    for name, values in m2m.items():
        getattr(instance, name).set(values)
    return instance


@transaction.atomic
def record_update(*, instance: models.Model, data: dict, user, reason: str = "Changed through the API"):
    """Change the given fields of ``instance``; the rest stay as they are. ``status_correction`` in
    ``data`` (deals) marks a status change off the lifecycle as the correction of a mistake."""
    correction = bool(data.pop("status_correction", False))
    m2m = {name: data.pop(name) for name in list(data) if instance._meta.get_field(name).many_to_many}
    for name, value in data.items():
        setattr(instance, name, value)
    instance = record_save(instance, user=user, reason=reason, status_correction=correction)
    for name, values in m2m.items():
        getattr(instance, name).set(values)
    return instance
