"""What grouping reads of deals: their names for the dimensions, their terms for the held rule, and
their projects' weights, stages and commodities (plain rows, a fixed number of queries)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from portfolio.models import Deal, DealProjectWeight, Project, ProjectCommodityWeight

from .allocation import DealRow, ProjectShare, normalised
from .basis import DEAL_TERM_FIELDS, DealTerms


class _DealLoad(NamedTuple):
    pk: int
    reference: str
    agency: str
    company: str
    country: str
    title: str
    status: str
    announced_on: date | None
    signed_on: date | None
    closed_on: date | None
    long_stop_on: date | None


def deal_rows(deal_ids: Collection[int] | None = None) -> tuple[dict[int, DealRow], dict[int, DealTerms]]:
    """Each deal (of ``deal_ids`` only, if given) with what grouping and the held rule read of it."""
    fields = ("pk", "reference", "agency__short_name", "company__name", "company__country", "title", *DEAL_TERM_FIELDS)
    rows, terms = {}, {}
    deals = Deal.objects.order_by() if deal_ids is None else Deal.objects.filter(pk__in=deal_ids).order_by()
    for row in map(_DealLoad._make, deals.values_list(*fields)):
        rows[row.pk] = DealRow(*row[:6])
        terms[row.pk] = DealTerms(*row[6:])
    return rows, terms


def deal_projects(deal_ids: Collection[int] | None = None) -> dict[int, list[ProjectShare]]:
    """Each deal's projects with their weights, stage and commodity shares (four queries, plain rows);
    of ``deal_ids`` only, if given."""
    links = Deal.projects.through.objects.order_by("project_id")
    commodity_weights = ProjectCommodityWeight.objects.order_by()
    commodity_links = Project.commodities.through.objects.order_by("commodity__code")
    project_weights_rows = DealProjectWeight.objects.order_by()
    if deal_ids is not None:
        links = links.filter(deal_id__in=deal_ids)
        projects_of_deals = links.values("project_id")
        commodity_weights = commodity_weights.filter(project_id__in=projects_of_deals)
        commodity_links = commodity_links.filter(project_id__in=projects_of_deals)
        project_weights_rows = project_weights_rows.filter(deal_id__in=deal_ids)
    commodity_weights_of = {
        (p, c): w for p, c, w in commodity_weights.values_list("project_id", "commodity_id", "weight")
    }
    codes: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    for project_id, commodity_id, code in commodity_links.values_list("project_id", "commodity_id", "commodity__code"):
        codes[project_id].append((code, commodity_weights_of.get((project_id, commodity_id), Decimal("1"))))
    project_weights = {(d, p): w for d, p, w in project_weights_rows.values_list("deal_id", "project_id", "weight")}
    linked: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for deal_id, project_id, stage in links.values_list("deal_id", "project_id", "project__stage"):
        linked[deal_id].append((project_id, stage))
    shares_of: dict[int, tuple[tuple[str, Decimal], ...]] = {}  # each project's commodity shares, once

    def commodity_shares(project_id: int) -> tuple[tuple[str, Decimal], ...]:
        if project_id not in shares_of:
            weighted = codes.get(project_id, [])
            shares = normalised([w for _, w in weighted])
            shares_of[project_id] = tuple((code, share) for (code, _), share in zip(weighted, shares, strict=True))
        return shares_of[project_id]

    projects: dict[int, list[ProjectShare]] = {}
    for deal_id, items in linked.items():
        weights = normalised([project_weights.get((deal_id, project_id), Decimal("1")) for project_id, _ in items])
        projects[deal_id] = []
        for (project_id, stage), weight in zip(items, weights, strict=True):
            commodities = commodity_shares(project_id)
            projects[deal_id].append(
                ProjectShare(project_id=project_id, weight=weight, stage=stage, commodities=commodities)
            )
    return projects


class DealGrouping:
    """Every deal's rows and projects as the kept rows group them (``deal_rows``, ``deal_projects``)
    and each deal's keys of each dimension, read once for the days of a backfill and read again
    whenever the generation of the writes that change them (``GroupingGeneration``) has moved."""

    def __init__(self) -> None:
        self.generation: int | None = None
        self.rows: dict[int, DealRow] = {}
        self.projects: dict[int, list[ProjectShare]] = {}
        self.weights: dict[tuple[str, int], list[tuple[str, Decimal]]] = {}  # (dimension, deal): its keys

    def at(self, generation: int) -> DealGrouping:
        """The grouping as of ``generation``: read again if it was read at another."""
        if generation != self.generation:
            self.rows, _ = deal_rows()
            self.projects = deal_projects()
            self.weights = {}
            self.generation = generation
        return self
