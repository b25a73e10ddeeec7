"""Writes of stewards' records, shared by the admin and the API: validated by the model's own rules,
saved with the author and a reason in the audit history, in one transaction.

Every steward's write of a portfolio record (deals and their legs, positions, cash flows, marks,
milestones, the registry) goes through :func:`record_save`, so the admin and the API apply the same
rules: model validation and constraints, the deal lifecycle, milestone windows and revisions, and
the fields that name who entered a row.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from portfolio.models import CashFlow, ManualMark, Milestone

from .milestones import milestone_save


def record_save(instance: models.Model, *, user, reason: str, constraints_by_database: bool = False) -> models.Model:
    """Validate and save one record as entered by ``user``; returns the saved instance.

    Side effects: the row, its audit-history row (user and reason), and for a milestone at most one
    revision and the gates it opens. A :class:`~django.core.exceptions.ValidationError` leaves the
    database unchanged.

    ``constraints_by_database`` (imports, which save many rows whose references they have just
    read): the table's check and unique constraints, and the existence of the records it refers
    to, are left to the database rather than asked of it in a query each before the save; a row
    the database refuses raises the same ValidationError, with the constraint's own message.
    """
    if not constraints_by_database or isinstance(instance, Milestone):
        return _save(instance, user=user, reason=reason, checked_by_database=False)
    try:
        return _save(instance, user=user, reason=reason, checked_by_database=True)
    except IntegrityError as exc:
        raise _refusal(instance, exc) from exc


@transaction.atomic
def _save(instance: models.Model, *, user, reason: str, checked_by_database: bool) -> models.Model:
    # Set on the instance because API requests authenticate after the history middleware has run.
    instance._history_user = user  # type: ignore[attr-defined]  # simple_history's hooks, untyped
    instance._change_reason = reason  # type: ignore[attr-defined]
    if isinstance(instance, Milestone):
        return milestone_save(milestone=instance, user=user, note=reason)
    if isinstance(instance, ManualMark):
        instance.marked_by = user
    if isinstance(instance, CashFlow) and instance.pk is None:
        instance.recorded_by = user
    if checked_by_database:
        instance.full_clean(exclude=_references_in_hand(instance), validate_unique=False, validate_constraints=False)
    else:
        instance.full_clean()
    instance.save()
    return instance


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
    m2m = {name: data.pop(name) for name in list(data) if model._meta.get_field(name).many_to_many}
    instance = record_save(model(**data), user=user, reason=reason)
    for name, values in m2m.items():
        getattr(instance, name).set(values)
    return instance


@transaction.atomic
def record_update(*, instance: models.Model, data: dict, user, reason: str = "Changed through the API"):
    """Change the given fields of ``instance``; the rest stay as they are."""
    m2m = {name: data.pop(name) for name in list(data) if instance._meta.get_field(name).many_to_many}
    for name, value in data.items():
        setattr(instance, name, value)
    instance = record_save(instance, user=user, reason=reason)
    for name, values in m2m.items():
        getattr(instance, name).set(values)
    return instance
