"""Writes of stewards' records from the API: validated by the model's own rules, saved with the
author in the audit history, in one transaction."""

from __future__ import annotations

from django.db import models, transaction

from portfolio.models import ManualMark, Milestone

from .milestones import milestone_save


def _save(instance: models.Model, *, user, reason: str) -> models.Model:
    instance._history_user = user  # the API authenticates after the history middleware has run
    instance._change_reason = reason
    if isinstance(instance, Milestone):
        return milestone_save(milestone=instance, user=user, note=reason)
    if isinstance(instance, ManualMark):
        instance.marked_by = user
    instance.full_clean()
    instance.save()
    return instance


@transaction.atomic
def record_create(*, model: type[models.Model], data: dict, user, reason: str = "Created through the API"):
    """Create a row of ``model`` from validated field values; model validation and constraints apply."""
    m2m = {name: data.pop(name) for name in list(data) if model._meta.get_field(name).many_to_many}
    instance = _save(model(**data), user=user, reason=reason)
    for name, values in m2m.items():
        getattr(instance, name).set(values)
    return instance


@transaction.atomic
def record_update(*, instance: models.Model, data: dict, user, reason: str = "Changed through the API"):
    """Change the given fields of ``instance``; the rest stay as they are."""
    m2m = {name: data.pop(name) for name in list(data) if instance._meta.get_field(name).many_to_many}
    for name, value in data.items():
        setattr(instance, name, value)
    instance = _save(instance, user=user, reason=reason)
    for name, values in m2m.items():
        getattr(instance, name).set(values)
    return instance
