"""Writes of scenarios: saved and deleted through the records' one door, with the author and a
reason in the audit history."""

from __future__ import annotations

from typing import cast

from portfolio.models import Scenario

from .records import record_delete, record_save


def scenario_save(scenario: Scenario, *, user, reason: str) -> Scenario:
    """Validate (its shocks against the records they name) and save ``scenario``; a new one takes
    ``user`` as its author. A ValidationError leaves the database unchanged."""
    if scenario.pk is None and scenario.created_by_id is None:
        scenario.created_by = user
    return cast(Scenario, record_save(scenario, user=user, reason=reason))


def scenario_delete(scenario: Scenario, *, user, reason: str) -> None:
    record_delete(scenario, user=user, reason=reason)
