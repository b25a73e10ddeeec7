"""Idempotent writes by natural key: create, update only what changed, or leave alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import models

from .records import record_save

M = TypeVar("M", bound=models.Model)

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


def _attname_and_value(model: type[models.Model], name: str, value: Any) -> tuple[str, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is the reverse side of a relation, not a column")
    if field.is_relation and field.many_to_one:
        return field.attname, value.pk if isinstance(value, models.Model) else value
    return field.attname, value


def upsert(
    model: type[M], *, lookup: dict[str, Any], values: dict[str, Any], tally: Counter | None = None, reason: str
) -> tuple[M, str]:
    """Find the row by ``lookup``; create it, or save only the fields whose value differs.

    Every write goes through the records service (``record_save``), so the model's rules, the deal
    lifecycle, milestone windows, revisions and gates apply as they do to a steward's entry. An
    unchanged row is not saved at all: its ``updated_at`` and its audit history stay as they are.
    ``reason`` is stored as the history's change reason.
    """
    instance = model._default_manager.filter(**lookup).first()
    if instance is None:
        instance = model(**lookup, **values)
        action = CREATED
        changed: list[str] | None = None
    else:
        changed = []
        for name, value in values.items():
            attname, raw = _attname_and_value(model, name, value)
            current = getattr(instance, attname)
            if current != raw or (current is None) != (raw is None):
                setattr(instance, attname, raw)
                changed.append(attname)
        action = UPDATED if changed else UNCHANGED
    if action != UNCHANGED:
        record_save(instance, user=None, reason=reason)
    if tally is not None:
        tally[f"{model._meta.model_name} {action}"] += 1
    return instance, action


def set_m2m(instance: models.Model, name: str, targets: Sequence[models.Model]) -> bool:
    """Make a many-to-many relation hold exactly ``targets``; return whether anything changed."""
    manager = getattr(instance, name)
    wanted = {target.pk for target in targets}
    current = set(manager.values_list("pk", flat=True))
    if wanted == current:
        return False
    manager.set(targets)
    return True
