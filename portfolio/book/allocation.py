"""How a deal's figures are split across the keys of a dimension, so that the parts add up.

A deal's amounts go to its projects by weight, and a project's to its commodities by weight;
each project has one stage. Weights are equal unless a steward set them (``DealProjectWeight``,
``ProjectCommodityWeight``, edited on the deal's and the project's admin pages). Every amount is
split in cents by the largest remainder, so the parts of every dimension add up to the total to
the cent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import NamedTuple

CENT = Decimal("0.01")
ONE = Decimal("1")
UNASSIGNED = "unassigned"

#: What figures are grouped by.
DIMENSIONS = ("total", "deal", "agency", "company", "country", "commodity", "stage", "instrument")
#: Dimensions whose keys come from the deal's projects.
PROJECT_DIMENSIONS = ("commodity", "stage")


class DealRow(NamedTuple):
    """What grouping needs of a deal."""

    pk: int
    reference: str
    agency: str
    company: str
    country: str
    title: str = ""


@dataclass(frozen=True)
class ProjectShare:
    """A project's share of a deal, with its stage and its commodities' shares of it."""

    project_id: int
    weight: Decimal  # of the deal, the project's weights normalised to add up to 1
    stage: str
    commodities: tuple[tuple[str, Decimal], ...]  # (code, share of the project), adding up to 1


def normalised(weights: list[Decimal]) -> list[Decimal]:
    """Weights scaled to add up to 1 (equal when they add up to nothing)."""
    total = sum(weights, Decimal("0"))
    if total <= 0:
        return [ONE / len(weights)] * len(weights) if weights else []
    return [w / total for w in weights]


def key_weights(dimension: str, deal: DealRow, kind: str, projects: list[ProjectShare]) -> list[tuple[str, Decimal]]:
    """The keys of ``dimension`` a deal's position counts under, each with its share (adding up to 1)."""
    if dimension == "total":
        return [("total", ONE)]
    if dimension == "deal":
        return [(deal.reference, ONE)]
    if dimension == "agency":
        return [(deal.agency, ONE)]
    if dimension == "company":
        return [(deal.company, ONE)]
    if dimension == "country":
        return [(deal.country, ONE)]
    if dimension == "instrument":
        return [(kind, ONE)]
    if not projects:
        return [(UNASSIGNED, ONE)]
    shares: dict[str, Decimal] = defaultdict(Decimal)
    for project in projects:
        if dimension == "stage":
            shares[project.stage] += project.weight
        elif project.commodities:
            for code, share in project.commodities:
                shares[code] += project.weight * share
        else:
            shares[UNASSIGNED] += project.weight
    return sorted(shares.items())


#: Nothing, to the cent (what ``split`` gives each part of nothing).
NO_CENTS = Decimal("0.00")


def split(amount: Decimal, weights: list[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    """``amount`` (rounded to the cent) in cents by ``weights``, adding up exactly (largest remainder)."""
    total = amount.quantize(CENT)
    if len(weights) == 1:
        return [(weights[0][0], total)]
    if not total:  # nothing to share out (no sale yet, nothing received): every part is nothing
        return [(key, NO_CENTS) for key, _ in weights]
    sign = -1 if total < 0 else 1
    cents = abs(total) / CENT
    raw = [(key, cents * weight) for key, weight in weights]
    floors = [(key, value.to_integral_value(rounding=ROUND_DOWN)) for key, value in raw]
    left = int(cents - sum(value for _, value in floors))
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i][1] - floors[i][1]), i))
    extra = set(order[:left])
    return [(key, sign * (value + (1 if i in extra else 0)) * CENT) for i, (key, value) in enumerate(floors)]
