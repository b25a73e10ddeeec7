"""Scenarios' figures as plain data (amounts as decimal strings to the cent): a scenario run on a
base date, the sensitivities of the book, a historical stress path. What the API answers and what
a scenario run done by the worker stores, worked out here once for both.

A read: it writes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from portfolio.book import Figures, book_on, one_source
from portfolio.book.scenarios import (
    SCENARIO_DIMENSIONS,
    SENSITIVITY_MOVE,
    Amounts,
    floor_curve,
    held_floors,
    historical_stress,
    scenario_figures,
    sensitivities,
)
from portfolio.models import Scenario
from portfolio.plain import amount, floor_trail, quantity, ratio


def amounts(figures: Amounts) -> dict[str, str | None]:
    return {
        "value_usd": amount(figures.value),
        "exposure_usd": amount(figures.exposure),
        "floor_liability_usd": amount(figures.floor_liability),
        "contingent_usd": amount(figures.contingent),
    }


def _group(figures: Figures) -> dict[str, Any]:
    return {
        "invested_usd": amount(figures.invested),
        "value_usd": amount(figures.value),
        "gain_usd": amount(figures.gain),
        "unrealised_gain_usd": amount(figures.unrealised_gain),
        "moic": ratio(figures.moic),
        "loans_outstanding_usd": amount(figures.loans_outstanding),
        "floor_liability_usd": amount(figures.floor_liability),
        "exposure_usd": amount(figures.exposure),
        "contingent_usd": amount(figures.contingent),
        "price_floors": [floor_trail(trail) for trail in figures.floor_trails],
        "not_valued": list(figures.unvalued),
    }


def scenario_data(scenario: Scenario, as_of: date) -> dict[str, Any]:
    """``scenario`` run on ``as_of``: its change (value, exposure, the floors' liability, what is
    contingent), each group's figures in the base and in the scenario, and each kind of shock's
    contribution in total and by deal."""
    with one_source():
        result = scenario_figures(book_on(as_of), scenario.shock_list())
    return {
        "scenario": scenario.pk,
        "as_of": result.as_of,
        "shocks": scenario.shocks,
        "change": amounts(result.change()),
        "groups": {
            dimension: [
                {"key": key, "base": _group(base), "scenario": _group(shocked)}
                for key, base, shocked in result.pairs(dimension)
            ]
            for dimension in SCENARIO_DIMENSIONS
        },
        "steps": [
            {
                "kind": step.kind,
                "label": step.label,
                "change": amounts(step.total),
                "deals": {reference: amounts(figures) for reference, figures in step.by_deal.items()},
            }
            for step in result.steps
        ],
        "positions_revalued": result.revalued,
        "notes": list(result.notes),
    }


def sensitivities_data(as_of: date) -> dict[str, Any]:
    """The held book's value and exposure for a move of each input of 10 % down and up, the
    largest first; and each floor commodity's liability over its price."""
    with one_source():
        book = book_on(as_of)
        found = sensitivities(book)
        codes = sorted({floor.commodity.code for floor in held_floors(book)})
        curves = {code: floor_curve(book, code) for code in codes}
    return {
        "as_of": as_of,
        "move_pct": str(SENSITIVITY_MOVE),
        "inputs": [
            {
                "input": s.label,
                "shock": {name: value for name, value in s.shock.as_json().items() if name != "change_pct"},
                "down": amounts(s.down),
                "up": amounts(s.up),
            }
            for s in found
        ],
        "floor_curves": {
            code: [{"price_usd": quantity(price), "liability_usd": amount(owed)} for price, owed in curve]
            for code, curve in curves.items()
        },
    }


def stress_data(as_of: date, start: date, end: date) -> dict[str, Any]:
    """The held book of ``as_of`` replayed on the market's path from ``start`` to ``end``: each
    point's change and loss, and the worst point."""
    with one_source():
        path = historical_stress(book_on(as_of), start, end)
    worst = path.worst
    return {
        "as_of": as_of,
        "start": path.start,
        "end": path.end,
        "points": [
            {
                "on": point.on,
                "change": amounts(point.change),
                "loss_usd": amount(point.loss),
                "inputs_moved": point.shocks,
            }
            for point in path.points
        ],
        "worst": None if worst is None else worst.on,
        "notes": list(path.notes),
    }
