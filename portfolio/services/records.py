"""Writes of stewards' records, shared by the admin and the API: validated by the model's own rules,
saved with the author and a reason in the audit history, in one transaction.

Every steward's write of a portfolio record (deals and their legs, positions, cash flows, marks,
milestones, the registry) goes through :func:`record_save`, so the admin and the API apply the same
rules: model validation and constraints, the deal lifecycle, milestone windows and revisions, and
the fields that name who entered a row.
"""

from __future__ import annotations

from django.db import models, transaction

from portfolio.models import CashFlow, ManualMark, Milestone

from .milestones import milestone_save


@transaction.atomic
def record_save(instance: models.Model, *, user, reason: str) -> models.Model:
    """Validate and save one record as entered by ``user``; returns the saved instance.

    Side effects: the row, its audit-history row (user and reason), and for a milestone at most one
    revision and the gates it opens. A :class:`~django.core.exceptions.ValidationError` leaves the
    database unchanged.
    """
    # Set on the instance because API requests authenticate after the history middleware has run.
    instance._history_user = user
    instance._change_reason = reason
    if isinstance(instance, Milestone):
        return milestone_save(milestone=instance, user=user, note=reason)
    if isinstance(instance, ManualMark):
        instance.marked_by = user
    if isinstance(instance, CashFlow) and instance.pk is None:
        instance.recorded_by = user
    instance.full_clean()
    instance.save()
    return instance


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
