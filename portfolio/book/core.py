"""The book as of a date: every position with its basis, ledger and value, and the figures of a book.

``book_on(as_of)`` loads what the figures need in a fixed number of queries: plain rows of
positions and deals, every cash flow up to the date, the FX rates, the valuations stored for the
date and, for positions that should have a value and have none stored, values computed on request
with the refresh's own code. ``Book.figures`` sums a book (held by default) by a dimension.

A value that cannot be had is never taken as zero: a group with a position that should be valued
and is not has no value, unrealised gain, MOIC, XIRR or exposure ("n/a"), and says why.
"""

from __future__ import annotations

import gc
import threading
from collections import defaultdict
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import numpy as np
from django.db.models import F, OuterRef, Subquery, Sum
from django.db.models.functions import Greatest

from portfolio.models import (
    CommodityPrice,
    Guarantee,
    KeptValue,
    Loan,
    Position,
    PriceFloor,
    Valuation,
)
from portfolio.pricing.returns import DayFlows, chained_return, moic, xirr

from .allocation import DIMENSIONS, ONE, PROJECT_DIMENSIONS, DealRow, ProjectShare, key_weights, split
from .basis import BOOK_FLOWS, BOOKS, VALUED_BASES, Basis, DealTerms, book_q, deal_basis
from .basis import position_basis as basis_of_position
from .dated import DatedAmounts, Share
from .exposure import (
    FigureRow,
    FloorTrail,
    floor_trail,
    guarantee_in_force,
    loan_events_by_loan,
    loan_position,
    production_by_commodity,
    reported_payments,
)
from .fx import FxRates
from .grouping import deal_projects, deal_rows
from .kept import kept_series
from .ledger import NO_FLOWS, DayArrays, KeptSteps, PositionLedger, kept_steps, ledger_on
from .shares import Ownership, ShareCountRow, ShareTerms, ownership, share_counts_on
from .values import computed_values, stored_values
from .valuing import ComputedValuation

#: The instrument dimension's groups that are not positions but the legs of exposure beside them.
EXPOSURE_LEGS = ("loan", "price_floor", "guarantee")
ZERO = Decimal("0")
CENT = Decimal("0.01")


def check_dimension(dimension: str) -> None:
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; choose one of {', '.join(DIMENSIONS)}")


def check_book(book: str) -> None:
    if book not in BOOKS:
        raise ValueError(f"unknown basis {book!r}; choose one of {', '.join(BOOKS)}")


class PositionRow(NamedTuple):
    pk: int
    deal_id: int
    kind: str
    label: str
    acquired_on: date | None
    currency_id: str
    evidence: str


@dataclass
class Holding:
    """One position in the book on the date."""

    row: PositionRow
    basis: Basis
    ledger: PositionLedger
    value: Decimal | None = None  # USD, to the cent; None when not valued
    value_note: str = ""  # why there is no value, or "computed on request"
    simulated: bool = False
    computed: ComputedValuation | None = None  # the valuation computed on request, with its trail

    @property
    def valued(self) -> bool:
        return self.value is not None


@dataclass
class Figures:
    """The figures of one group of a book. Amounts in USD, to the cent."""

    invested: Decimal = ZERO
    realised: Decimal = ZERO
    known_value: Decimal = ZERO  # the sum of the values that could be had
    cost_of_sold: Decimal = ZERO
    loans_outstanding: Decimal = ZERO  # principal drawn (and interest capitalised), less repaid
    floor_liability: Decimal = ZERO  # the floors' liabilities that can be computed
    floor_liability_unknown: int = 0  # floors whose liability cannot be computed (no price or no volume)
    floor_trails: list[FloorTrail] = field(default_factory=list)
    undrawn: Decimal = ZERO  # contingent: what committed loans may still lend
    guarantees: Decimal = ZERO  # contingent: the most the guarantees may cost in a year
    exposure_gaps: list[str] = field(default_factory=list)  # what exposure leaves out, and why
    positions: int = 0
    positions_valued: int = 0
    computed_on_request: int = 0
    unvalued: list[str] = field(default_factory=list)  # "<position>: <reason>" of each position not valued
    simulated: bool = False
    missing_fx: int = 0
    # By day, each day once, in date order; None where the figures were summed without them (no XIRR).
    flows: DayFlows | None = field(default_factory=DayFlows.empty)
    twr: float | None = None
    ownership: Ownership | None = None  # companies and deals only
    # (date, XIRR on that date), kept when the flows are dropped to cache the figures.
    settled_xirr: tuple[date, float | None] | None = field(default=None, repr=False)

    @property
    def value(self) -> Decimal | None:
        """The value of the group, or None ("n/a") when a position in it could not be valued."""
        return None if self.unvalued else self.known_value

    @property
    def moic(self) -> Decimal | None:
        value = self.value
        return None if value is None else moic(invested=self.invested, realised=self.realised, value=value)

    @property
    def unrealised_gain(self) -> Decimal | None:
        value = self.value
        return None if value is None else value - (self.invested - self.cost_of_sold)

    @property
    def realised_gain(self) -> Decimal:
        return self.realised - self.cost_of_sold

    @property
    def gain(self) -> Decimal | None:
        """Value + what was received - what was paid: the gain to date, realised or not."""
        value = self.value
        return None if value is None else value + self.realised - self.invested

    def weight_in(self, whole: Figures | None) -> Decimal | None:
        """This group's share of ``whole``'s value (a fraction), or None when either has no value."""
        if whole is None or self.value is None or not whole.value:
            return None
        return self.value / whole.value

    @property
    def exposure(self) -> Decimal | None:
        """Equity value + loans outstanding + the floor liabilities that can be computed (what is
        left out is listed in ``exposure_gaps``)."""
        value = self.value
        return None if value is None else value + self.loans_outstanding + self.floor_liability

    @property
    def contingent(self) -> Decimal:
        """Undrawn commitments + a year of the guarantees: beside exposure, never in it."""
        return self.undrawn + self.guarantees

    @property
    def ownership_pct(self) -> Decimal | None:
        return None if self.ownership is None else self.ownership.pct

    def xirr(self, as_of: date) -> float | None:
        if self.settled_xirr is not None and self.settled_xirr[0] == as_of:
            return self.settled_xirr[1]
        if self.flows is None:
            raise ValueError("these figures were summed without their flows: they have no XIRR")
        value = self.value
        if value is None:
            return None
        if not value:
            return xirr(self.flows)
        return xirr(self.flows.joined(DayFlows(np.array([as_of.toordinal()]), np.array([float(value)]))))

    @classmethod
    def combined(cls, parts: list[Figures]) -> Figures:
        """The figures of several groups taken together (a filtered list's totals row): the sums,
        and the value, gain and MOIC that follow from them. Groups kept without their flows give
        no XIRR together (it is None on their date), since it cannot be had from their XIRRs."""
        whole = cls()
        for part in parts:
            for name in ADDITIVE:
                setattr(whole, name, getattr(whole, name) + getattr(part, name))
            whole.unvalued += part.unvalued
            whole.exposure_gaps += part.exposure_gaps
            whole.flows = None if whole.flows is None or part.flows is None else whole.flows.joined(part.flows)
            whole.simulated |= part.simulated
            if part.settled_xirr is not None:
                whole.settled_xirr = (part.settled_xirr[0], None)
        return whole

    def settled(self, as_of: date) -> Figures:
        """A copy without its flows (small enough to cache), its XIRR on ``as_of`` kept (if it was
        summed with its flows)."""
        if self.flows is None:
            return self
        return replace(self, flows=DayFlows.empty(), settled_xirr=(as_of, self.xirr(as_of)))


#: The fields of ``Figures`` that add up across groups.
ADDITIVE = (
    "invested", "realised", "known_value", "cost_of_sold", "loans_outstanding", "floor_liability",
    "floor_liability_unknown", "undrawn", "guarantees", "positions", "positions_valued",
    "computed_on_request", "missing_fx",
)  # fmt: skip


class PositionState(NamedTuple):
    """A position's place in the book on the date, for pages that list positions."""

    deal_id: int
    basis: Basis
    value: Decimal | None
    note: str  # why there is no value, or "computed on request"

    @property
    def counted(self) -> bool:
        """Whether the position counts in one of the books (held, committed, pipeline)."""
        return self.basis in BOOKS["all"]


@dataclass(frozen=True)
class BasisTotal:
    """What the book holds on one basis, for the totals shown beside the headline."""

    basis: Basis
    positions: int
    positions_valued: int
    value: Decimal | None
    known_value: Decimal
    invested: Decimal
    simulated: bool


class _HoldingParts(NamedTuple):
    """What a holding adds to each of its groups, worked out once for every dimension: its ledger's
    amounts to the cent, its value and its flows."""

    deal_id: int
    kind: str
    counted: bool  # in the book (else sold in full: its flows count, it holds nothing)
    invested: Decimal
    realised: Decimal
    cost_of_sold: Decimal
    value: Decimal | None
    simulated: bool
    computed: bool  # valued on request
    unvalued: str  # "<deal>: <position>: <why it has no value>", listed where it has none
    missing_fx: int
    flows: DayArrays  # days' ordinals and amounts; none where the book sums no flows

    @classmethod
    def of(cls, holding: Holding, *, counted: bool, deal_title: str, flows: bool) -> _HoldingParts:
        ledger, row = holding.ledger, holding.row
        return cls(
            deal_id=row.deal_id,
            kind=row.kind,
            counted=counted,
            invested=ledger.invested.quantize(CENT),
            realised=ledger.realised.quantize(CENT),
            cost_of_sold=ledger.cost_of_sold.quantize(CENT),
            value=None if holding.value is None else holding.value.quantize(CENT),
            simulated=holding.simulated,
            computed=bool(holding.value_note),
            unvalued="" if holding.value is not None else f"{deal_title}: {row.label}: {holding.value_note}",
            missing_fx=ledger.missing_fx,
            flows=ledger.flow_days() if flows else NO_FLOWS,
        )


class _Sums(NamedTuple):
    """The figures of some holdings (of one group, or of one deal) summed, ready to be split."""

    amounts: tuple[Decimal, Decimal, Decimal, Decimal]  # invested, realised, cost of sold, value
    missing_fx: int
    counted: int
    valued: int
    unvalued: list[str]
    simulated: bool
    computed: int

    @classmethod
    def of(cls, held: list[_HoldingParts]) -> _Sums:
        """Each holding counts once; one sold in full adds its amounts and holds nothing."""
        counted = [part for part in held if part.counted]
        valued = [part for part in counted if part.value is not None]
        return cls(
            amounts=(
                sum((part.invested for part in held), ZERO),
                sum((part.realised for part in held), ZERO),
                sum((part.cost_of_sold for part in held), ZERO),
                sum((part.value for part in valued if part.value is not None), ZERO),
            ),
            missing_fx=sum(part.missing_fx for part in held),
            counted=len(counted),
            valued=len(valued),
            unvalued=[part.unvalued for part in counted if part.value is None],
            simulated=any(part.simulated for part in valued),
            computed=sum(part.computed for part in valued),
        )

    @classmethod
    def combined(cls, items: list[_Sums], unvalued: list[str]) -> _Sums:
        """The sums of several deals together (their positions without a value: ``unvalued``, listed
        in the holdings' order by the caller)."""
        return cls(
            amounts=(
                sum((item.amounts[0] for item in items), ZERO),
                sum((item.amounts[1] for item in items), ZERO),
                sum((item.amounts[2] for item in items), ZERO),
                sum((item.amounts[3] for item in items), ZERO),
            ),
            missing_fx=sum(item.missing_fx for item in items),
            counted=sum(item.counted for item in items),
            valued=sum(item.valued for item in items),
            unvalued=unvalued,
            simulated=any(item.simulated for item in items),
            computed=sum(item.computed for item in items),
        )


def _add_sums(groups: dict[str, Figures], weights: list[tuple[str, Decimal]], sums: _Sums) -> None:
    """Some holdings' sums split across the groups of ``weights`` in cents (``split``): each
    holding counts once in each group."""
    parts = [split(amount, weights) for amount in sums.amounts]
    for (key, invested_part), (_, realised_part), (_, sold_part), (_, value_part) in zip(*parts, strict=True):
        g = groups[key]
        g.invested += invested_part
        g.realised += realised_part
        g.cost_of_sold += sold_part
        g.missing_fx += sums.missing_fx
        g.positions += sums.counted
        g.unvalued += sums.unvalued
        if sums.valued:
            g.known_value += value_part
            g.positions_valued += sums.valued
        g.simulated |= sums.simulated
        g.computed_on_request += sums.computed


@dataclass
class Book:
    as_of: date
    holdings: list[Holding]
    deals: dict[int, DealRow]
    deal_bases: dict[int, Basis | None]
    terms: dict[int, DealTerms]
    projects: dict[int, list[ProjectShare]]
    loans: list[Loan]
    loan_events: dict[int, list[tuple[str, date, Decimal]]]
    guarantees: list[Guarantee]
    floors: list[PriceFloor]
    floor_projects: dict[int, set[int]]  # each floor's deal's projects
    production: dict[int, list[FigureRow]]
    payments: dict[tuple[int, date], tuple[Decimal, str]]
    commodity_prices: dict[int, CommodityPrice]
    share_counts: dict[int, ShareCountRow]
    fx: FxRates
    _entries: tuple[date | None, dict[int, tuple[date, Decimal]]] | None = field(default=None, init=False, repr=False)
    _weight_memo: dict[tuple[str, int, str], list[tuple[str, Decimal]]] = field(
        default_factory=dict, init=False, repr=False
    )
    _loan_amounts: dict[Loan, tuple[Decimal | None, Decimal | None]] | None = field(
        default=None, init=False, repr=False
    )

    # --- Figures ------------------------------------------------------------------------------

    def figures(self, dimension: str = "total", book: str = "held") -> dict[str, Figures]:
        return self.figures_by([dimension], book)[dimension]

    def figures_by(
        self,
        dimensions: list[str],
        book: str = "held",
        *,
        twr: bool | Collection[str] = True,
        flows: bool | Collection[str] = True,
        ownership: bool = True,
    ) -> dict[str, dict[str, Figures]]:
        """Each dimension's groups of ``book`` (held, committed, pipeline or all); without ``twr``,
        no time-weighted return (it reads the value history: two queries), or only for the
        dimensions ``twr`` names; without ``flows``, no cash flows summed by day and so no XIRR (an
        allocation's value and exposure, a change's value, gain and MOIC need none), or only for the
        dimensions ``flows`` names; without ``ownership``, no ownership of companies and deals (it reads
        every position's terms: one query)."""
        check_book(book)
        for dimension in dimensions:
            check_dimension(dimension)
        counted, flowing = BOOKS[book], BOOK_FLOWS[book]
        members = [h for h in self.holdings if h.basis in flowing]
        deal_bases_in = {deal_id for deal_id, basis in self.deal_bases.items() if basis in counted}
        titles = {pk: deal.title for pk, deal in self.deals.items()}
        with_flows = set(dimensions if flows is True else flows or ())
        chained = set(dimensions if twr is True else twr or ()) if book == "held" else set()
        dated_wanted = bool(with_flows or chained)
        parts = [
            _HoldingParts.of(h, counted=h.basis in counted, deal_title=titles[h.row.deal_id], flows=dated_wanted)
            for h in members
        ]
        dated = DatedAmounts.of([part.flows for part in parts]) if dated_wanted else None
        money_in = self._money_in(members, dated) if chained and dated is not None else None
        results: dict[str, dict[str, Figures]] = {}
        # Each deal's holdings summed, once for every dimension but the instrument kind.
        deal_sums: dict[int, _Sums] | None = None
        for dimension in dimensions:
            groups: dict[str, Figures] = defaultdict(Figures)
            if dimension == "instrument":  # a position's own kind
                self._add_holdings(groups, dimension, parts)
            else:
                if deal_sums is None:
                    by_deal: dict[int, list[_HoldingParts]] = defaultdict(list)
                    for part in parts:
                        by_deal[part.deal_id].append(part)
                    deal_sums = {deal_id: _Sums.of(held) for deal_id, held in by_deal.items()}
                if dimension in PROJECT_DIMENSIONS:
                    self._add_deals(groups, dimension, deal_sums)
                else:
                    self._add_by_deal(groups, dimension, deal_sums, parts)
            keys: dict[str, int] = {}  # each group's index in the shares
            shares: list[Share] = []  # each holding's share of each of its groups, in the holdings' order
            if dimension in with_flows or (money_in is not None and dimension in chained):
                for index, part in enumerate(parts):
                    for key, weight in self._weights(dimension, part.deal_id, part.kind):
                        shares.append((index, keys.setdefault(key, len(keys)), float(weight)))
            if dated is not None and dimension in with_flows:
                for key, days in zip(keys, dated.by_group(shares, len(keys)), strict=True):
                    groups[key].flows = days
            self._add_exposure_legs(groups, dimension, deal_bases_in)
            if dimension not in with_flows:
                for g in groups.values():
                    g.flows = None
            if ownership and dimension in ("company", "deal"):
                self._attach_ownership(groups, dimension, [h for h in members if h.basis in counted])
            if money_in is not None and dimension in chained:
                paid_in = dict(zip(keys, money_in.by_group(shares, len(keys)), strict=True))
                self._attach_twr(groups, dimension, paid_in)
            results[dimension] = dict(sorted(groups.items()))
        if "total" in results and not results["total"]:
            results["total"] = {"total": Figures()}  # an empty book still has (zero) totals
        return results

    def _weights(self, dimension: str, deal_id: int, kind: str) -> list[tuple[str, Decimal]]:
        """The keys of ``dimension`` a position of ``deal_id`` of ``kind`` counts under (worked out
        once a book: a deal's positions and its legs share them)."""
        memo = (dimension, deal_id, kind if dimension == "instrument" else "")
        weights = self._weight_memo.get(memo)
        if weights is None:
            weights = key_weights(dimension, self.deals[deal_id], kind, self.projects.get(deal_id, []))
            self._weight_memo[memo] = weights
        return weights

    def _add_holdings(self, groups: dict[str, Figures], dimension: str, parts: list[_HoldingParts]) -> None:
        """Each group's holdings of ``dimension`` where a holding is in one group by itself (its
        instrument kind): their figures summed as they are."""
        by_key: dict[str, list[_HoldingParts]] = defaultdict(list)
        for part in parts:
            ((key, _),) = self._weights(dimension, part.deal_id, part.kind)
            by_key[key].append(part)
        for key, held in by_key.items():
            _add_sums(groups, [(key, ONE)], _Sums.of(held))

    def _add_by_deal(
        self, groups: dict[str, Figures], dimension: str, by_deal: dict[int, _Sums], parts: list[_HoldingParts]
    ) -> None:
        """Each group of a dimension whose key is its deals' (the total, a deal, an agency, a company,
        a country): its deals' sums added up, and its positions without a value in the holdings'
        order."""
        by_key: dict[str, list[_Sums]] = defaultdict(list)
        for deal_id, sums in by_deal.items():
            ((key, _),) = self._weights(dimension, deal_id, "")
            by_key[key].append(sums)
        unvalued: dict[str, list[str]] = defaultdict(list)
        for part in parts:
            if part.counted and part.value is None:
                ((key, _),) = self._weights(dimension, part.deal_id, "")
                unvalued[key].append(part.unvalued)
        for key, items in by_key.items():
            _add_sums(groups, [(key, ONE)], _Sums.combined(items, unvalued.get(key, [])))

    def _add_deals(self, groups: dict[str, Figures], dimension: str, by_deal: dict[int, _Sums]) -> None:
        """Each deal's figures split across its projects' groups of ``dimension`` (commodity or
        stage): the sums of its holdings, each in cents by the largest remainder (``split``), as the
        kept value rows split a deal's value."""
        for deal_id, sums in by_deal.items():
            _add_sums(groups, self._weights(dimension, deal_id, ""), sums)

    def _add_exposure_legs(self, groups: dict[str, Figures], dimension: str, deals_in: set[int]) -> None:
        """The loans, price floors and guarantees of the deals in the book, split like their deals."""
        as_of = self.as_of
        for loan, (outstanding, undrawn) in self._loans_usd().items():
            if loan.deal_id not in deals_in:
                continue
            weights = self._weights(dimension, loan.deal_id, "loan")
            if outstanding is None or undrawn is None:
                gap = f"{self.deals[loan.deal_id].reference}: {loan.label}: no FX rate for {loan.currency_id}"
                for key, _ in weights:
                    groups[key].missing_fx += 1
                    groups[key].exposure_gaps.append(gap)
                continue
            if len(weights) == 1:  # the whole loan in one group (its amounts are to the cent already)
                g = groups[weights[0][0]]
                g.loans_outstanding += outstanding
                g.undrawn += undrawn
                continue
            for key, amount in split(outstanding, weights):
                groups[key].loans_outstanding += amount
            for key, amount in split(undrawn, weights):
                groups[key].undrawn += amount
        for guarantee in self.guarantees:
            if guarantee.deal_id not in deals_in or not guarantee_in_force(guarantee, as_of):
                continue
            weights = self._weights(dimension, guarantee.deal_id, "guarantee")
            amount_usd = self.fx.to_usd(guarantee.amount_per_year, guarantee.currency_id, as_of)
            if amount_usd is None:
                for key, _ in weights:
                    groups[key].missing_fx += 1
                continue
            for key, amount in split(amount_usd, weights):
                groups[key].guarantees += amount
        for floor in self.floors:
            if floor.deal_id not in deals_in:
                continue
            if (floor.starts_on and floor.starts_on > as_of) or (floor.ends_on and floor.ends_on < as_of):
                continue
            trail = self.floor_trail(floor)
            weights = self._weights(dimension, floor.deal_id, "price_floor")
            for key, _ in weights:
                groups[key].floor_trails.append(trail)
            if trail.liability_usd is None:
                for key, _ in weights:
                    groups[key].floor_liability_unknown += 1
                    groups[key].exposure_gaps.append(trail.describe())
                continue
            for key, amount in split(trail.liability_usd, weights):
                groups[key].floor_liability += amount
                groups[key].simulated |= trail.simulated

    def _loans_usd(self) -> dict[Loan, tuple[Decimal | None, Decimal | None]]:
        """Each loan with something outstanding or undrawn on the date, both in US dollars to the
        cent (None: no FX rate): worked out once a book, for every dimension."""
        if self._loan_amounts is None:
            as_of, amounts = self.as_of, {}
            for loan in self.loans:
                state = loan_position(loan, self.loan_events.get(loan.pk, []), as_of)
                if state.outstanding or state.undrawn:
                    outstanding = self.fx.to_usd(state.outstanding, loan.currency_id, as_of)
                    undrawn = self.fx.to_usd(state.undrawn, loan.currency_id, as_of)
                    amounts[loan] = (
                        None if outstanding is None else outstanding.quantize(CENT),
                        None if undrawn is None else undrawn.quantize(CENT),
                    )
            self._loan_amounts = amounts
        return self._loan_amounts

    def floor_trail(self, floor: PriceFloor) -> FloorTrail:
        """The floor's liability on the book's date, with what it was computed from."""
        return floor_trail(
            floor,
            deal_reference=self.deals[floor.deal_id].reference,
            deal_title=self.deals[floor.deal_id].title,
            project_ids=self.floor_projects.get(floor.pk, set()),
            figures=self.production.get(floor.commodity_id, []),
            price=self.commodity_prices.get(floor.commodity_id),
            payments=self.payments,
            fx=self.fx,
            as_of=self.as_of,
        )

    def ownership_by(self, dimension: str, book: str = "held") -> dict[str, Ownership]:
        """Ownership of each company (``dimension`` "company") or through each deal ("deal") from
        the instruments ``book`` counts on the date, on the company's share count in force then."""
        check_book(book)
        if dimension not in ("company", "deal"):
            raise ValueError(f"ownership is by company or deal, not {dimension!r}")
        return self._ownership(dimension, [h for h in self.holdings if h.basis in BOOKS[book]])

    def _attach_ownership(self, groups: dict[str, Figures], dimension: str, counted: list[Holding]) -> None:
        for key, stake in self._ownership(dimension, counted).items():
            if key in groups:
                groups[key].ownership = stake

    def _ownership(self, dimension: str, counted: list[Holding]) -> dict[str, Ownership]:
        by_key: dict[str, list[ShareTerms]] = defaultdict(list)
        companies: dict[str, tuple[int, bool]] = {}
        wanted = {h.row.pk for h in counted}
        # Every position read and those counted kept here: a book counts most of them, and a list of
        # thousands of ids to match took the database three times as long as reading them all.
        rows = Position.objects.order_by("pk").values_list(
            "pk", "deal_id", "deal__company_id", "deal__company__is_public", *ShareTerms._fields
        )
        for pk, deal_id, company_id, is_public, *terms in rows:
            if pk not in wanted:
                continue
            deal = self.deals[deal_id]
            key = deal.company if dimension == "company" else deal.reference
            by_key[key].append(ShareTerms._make(terms))
            companies[key] = (company_id, is_public)
        counts = self.share_counts
        return {
            key: ownership(items, counts.get(companies[key][0]), self.as_of, company_is_public=companies[key][1])
            for key, items in by_key.items()
        }

    def _money_in(self, members: list[Holding], flows: DatedAmounts) -> DatedAmounts:
        """Each held (or since sold) holding's money into the held book's value chain, by date: what
        joined the book, at its first stored value once held (a deal closing, an instrument acquired
        or received), then the opposite of the investor's flows after that (``flows``: each
        holding's, in the order of ``members``). Worked out once for every dimension."""
        if self._entries is None:  # the same for every dimension and book: read once
            self._entries = self._entry_values()
        first, entries = self._entries
        after = np.empty(len(members), dtype=np.int64)  # each holding's flows count after this day
        arrivals: list[tuple[int, int, float]] = []  # (holding, day, value) of what joined within the chain
        for index, holding in enumerate(members):
            joined_on = self._joined_on(holding)
            entry = None
            if first is not None and joined_on > first:  # it joined within the chain: its arrival is money in
                entry = entries.get(holding.row.pk)
                if entry is None and holding.value is not None and holding.basis == Basis.HELD:
                    entry = (self.as_of, holding.value)  # held from a date no refresh stored: valued on request
                joined_on = entry[0] if entry else joined_on
            after[index] = joined_on.toordinal()
            if entry:
                arrivals.append((index, entry[0].toordinal(), float(entry[1])))
        holder = np.repeat(np.arange(len(members)), flows.counts)
        kept = flows.flat_days > after[holder]
        arrived = np.array(arrivals, dtype=[("holder", np.int64), ("day", np.int64), ("amount", float)])
        # Each holding's run: its flows after it joined (in their order), then its arrival.
        holders = np.concatenate([holder[kept], arrived["holder"]])
        order = np.argsort(holders, kind="stable")
        return DatedAmounts(
            np.bincount(holders, minlength=len(members)),
            np.concatenate([flows.flat_days[kept], arrived["day"]])[order],
            np.concatenate([-flows.amounts[kept], arrived["amount"]])[order],
        )

    def _attach_twr(self, groups: dict[str, Figures], dimension: str, money_in: dict[str, DayFlows]) -> None:
        """Chain each group's return over its valuation dates (the held book only: the other books
        hold nothing yet, so their return means nothing), with the money into it (``_money_in``,
        netted by day) in each period. The date's own values close the chain where they were
        computed on request rather than stored."""
        series = value_series(dimension, self.as_of, book="held", deals=self.deals, projects=self.projects)
        for key, g in groups.items():
            values = dict(series.get(key, {}))
            if g.value is not None and g.positions:
                values[self.as_of] = g.value
            days = sorted(values)
            g.twr = chained_return(days, [float(values[day]) for day in days], money_in.get(key, DayFlows.empty()))

    def _joined_on(self, holding: Holding) -> date:
        """The day a held (or since sold) position joined the held book: its deal's closing or its
        acquisition, whichever is later."""
        closed_on, acquired_on = self.terms[holding.row.deal_id].closed_on, holding.row.acquired_on
        if closed_on is None or acquired_on is None:  # a held position's deal has closed, and it was acquired
            raise ValueError(f"position {holding.row.pk} was never held: no closing or acquisition date")
        return max(closed_on, acquired_on)

    def _entry_values(self) -> tuple[date | None, dict[int, tuple[date, Decimal]]]:
        """The first date with a stored valuation, and each position that joined the held book after
        it with its first stored valuation on or after the day it joined (one query of index
        descents). Positions that joined before that date arrived before any period of the chain."""
        first = Valuation.objects.order_by("as_of").values_list("as_of", flat=True).first()
        if first is None:
            return None, {}
        joining = [
            h.row.pk for h in self.holdings if h.basis in (Basis.HELD, Basis.EXITED) and self._joined_on(h) > first
        ]
        if not joining:
            return first, {}
        joined = Greatest(F("deal__closed_on"), F("acquired_on"))
        entry = Valuation.objects.filter(
            position=OuterRef("pk"), as_of__gte=OuterRef("joined_on"), as_of__lte=self.as_of
        ).order_by("as_of")
        rows = (
            Position.objects.filter(pk__in=joining)
            .annotate(joined_on=joined)
            .annotate(entry_on=Subquery(entry.values("as_of")[:1]), entry_value=Subquery(entry.values("value_usd")[:1]))
            .order_by()
            .values_list("pk", "entry_on", "entry_value")
        )
        # Those without a valuation since they joined are left out here: a filter in SQL runs the
        # subquery once more for every position.
        entries = {pk: (on, value) for pk, on, value in rows if on is not None}
        return first, entries

    # --- Bases --------------------------------------------------------------------------------

    def basis_totals(self) -> dict[Basis, BasisTotal]:
        """Positions, value and invested on each basis (sold-in-full positions are not listed)."""
        totals: dict[Basis, BasisTotal] = {}
        for basis in Basis:
            if basis == Basis.EXITED:
                continue
            items = [h for h in self.holdings if h.basis == basis]
            known = sum((h.value for h in items if h.value is not None), ZERO)
            valued = sum(1 for h in items if h.value is not None)
            totals[basis] = BasisTotal(
                basis=basis,
                positions=len(items),
                positions_valued=valued,
                value=known if valued == len(items) else None,
                known_value=known,
                invested=sum((h.ledger.invested for h in items), ZERO).quantize(CENT),
                simulated=any(h.simulated for h in items),
            )
        return totals

    def states(self) -> dict[int, PositionState]:
        """Every position known on the date, with its basis and value."""
        return {h.row.pk: PositionState(h.row.deal_id, h.basis, h.value, h.value_note) for h in self.holdings}


# --- Loading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookSource:
    """What a book reads that does not depend on its date: the deals with their terms and projects,
    the positions, the legs of exposure, the reported floor payments and the kept ledgers' steps.
    Books of two dates on one page (the tiles' change, the bridge) read it once (``one_source``)."""

    deals: dict[int, DealRow]
    terms: dict[int, DealTerms]
    projects: dict[int, list[ProjectShare]]
    positions: list[PositionRow]
    loans: list[Loan]
    guarantees: list[Guarantee]
    floors: list[PriceFloor]
    payments: dict[tuple[int, date], tuple[Decimal, str]]
    steps: dict[int, KeptSteps]
    # The ledgers made from the steps by the books of this source (``ledger_on``): books of two
    # dates share most.
    decoded: dict[tuple[int, int], PositionLedger] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls) -> BookSource:
        deals, terms = deal_rows()
        return cls(
            deals=deals,
            terms=terms,
            projects=deal_projects(),
            positions=list(map(PositionRow._make, Position.objects.order_by("pk").values_list(*PositionRow._fields))),
            loans=list(Loan.objects.order_by("pk")),
            guarantees=list(Guarantee.objects.order_by("pk")),
            floors=list(PriceFloor.objects.select_related("commodity").order_by("pk")),
            payments=reported_payments(),
            steps=kept_steps(),
        )


@dataclass
class _Shared:
    source: BookSource | None = None
    books: dict[date, Book] = field(default_factory=dict)


#: Within ``one_source``: the source the books loaded there share, and each date's book.
_shared: ContextVar[_Shared | None] = ContextVar("book_source", default=None)


@contextmanager
def one_source() -> Iterator[None]:
    """Within it, ``BookSource`` is read once, by the first book loaded, and each date's book is
    loaded once: for a read that shows figures of several dates or books (nothing within may write).
    Within one already, it adds nothing. The cyclic garbage collector pauses meanwhile
    (``collection_paused``)."""
    if _shared.get() is not None:
        yield
        return
    token = _shared.set(_Shared())
    try:
        with collection_paused():
            yield
    finally:
        _shared.reset(token)


_pause_lock = threading.Lock()
_pausing = 0  # how many ``collection_paused`` blocks are running, in any thread
_resume = False  # whether the collector was on when the first of them began


@contextmanager
def collection_paused() -> Iterator[None]:
    """The cyclic garbage collector off while books are loaded and summed. A book is a few hundred
    thousand objects (a million at four times the scale data), which live until the response and
    form no cycles: each full collection walking them found nothing to free, and together they took
    a fifth of a first request's time at four times the scale data. Reference counting still frees them as usual; the
    collector resumes when the last block in the process ends."""
    global _pausing, _resume
    with _pause_lock:
        if not _pausing:
            _resume = gc.isenabled()
            gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pausing -= 1
            if not _pausing and _resume:
                gc.enable()


def book_on(as_of: date) -> Book:
    """The book on ``as_of``: every position known by then with its basis, ledger and value."""
    shared = _shared.get()
    if shared is None:
        return _book_on(as_of, BookSource.load())
    if shared.source is None:
        shared.source = BookSource.load()
    if as_of not in shared.books:
        shared.books[as_of] = _book_on(as_of, shared.source)
    return shared.books[as_of]


def _book_on(as_of: date, source: BookSource) -> Book:
    deals, terms, projects = source.deals, source.terms, source.projects
    deal_bases = {pk: deal_basis(t, as_of) for pk, t in terms.items()}
    positions = [row for row in source.positions if deal_bases.get(row.deal_id) is not None]
    loans, guarantees, floors = source.loans, source.guarantees, source.floors
    currencies = {p.currency_id for p in positions}
    currencies |= {loan.currency_id for loan in loans} | {floor.currency_id for floor in floors}
    currencies |= {guarantee.currency_id for guarantee in guarantees}
    commodity_prices: dict[int, CommodityPrice] = {}
    for price in CommodityPrice.objects.filter(on__lte=as_of).order_by("commodity_id", "on"):
        commodity_prices[price.commodity_id] = price
    currencies |= {price.currency_id for price in commodity_prices.values()}
    fx = FxRates(currencies, start=as_of, end=as_of)  # the date's rates: the ledgers are kept at their flows' own
    stored = stored_values(as_of)
    holdings = []
    for row in positions:
        steps = source.steps.get(row.pk)
        ledger = PositionLedger() if steps is None else ledger_on(steps, as_of, decoded=source.decoded)
        deal_basis_on = deal_bases[row.deal_id]
        if deal_basis_on is None:  # not announced by then: left out of ``positions`` above
            continue
        basis = basis_of_position(
            deal_basis_on,
            evidence=row.evidence,
            acquired_on=row.acquired_on,
            on=as_of,
            sold_out=ledger.sold_out,
        )
        ledger.invested, ledger.realised = ledger.invested.quantize(CENT), ledger.realised.quantize(CENT)
        holding = Holding(row=row, basis=basis, ledger=ledger)
        if row.pk in stored and basis in VALUED_BASES:  # a lapsed deal's old valuations are not its value
            holding.value, holding.simulated = stored[row.pk]
        holdings.append(holding)
    missing = [h for h in holdings if h.basis in VALUED_BASES and h.value is None]
    if missing:
        computed, reasons = computed_values([h.row.pk for h in missing], as_of)
        for holding in missing:
            valuation = computed.get(holding.row.pk)
            if valuation is None:
                holding.value_note = reasons.get(holding.row.pk, "not valued")
            else:
                holding.value, holding.simulated = valuation.value_usd, valuation.is_simulated
                holding.value_note = "computed on request"
                holding.computed = valuation
    return Book(
        as_of=as_of,
        holdings=holdings,
        deals=deals,
        deal_bases=deal_bases,
        terms=terms,
        projects=projects,
        loans=loans,
        loan_events=loan_events_by_loan(as_of),
        guarantees=guarantees,
        floors=floors,
        floor_projects={floor.pk: {p.project_id for p in projects.get(floor.deal_id, [])} for floor in floors},
        production=production_by_commodity(as_of),
        payments=source.payments,
        commodity_prices=commodity_prices,
        share_counts=share_counts_on(as_of),
        fx=fx,
    )


# --- The value series ---------------------------------------------------------------------------

#: The column each dimension's valuations are summed by, in SQL. Commodity and stage spread a
#: deal's sum across its projects' keys, so they are summed per deal.
VALUE_GROUP = {
    "total": None,
    "deal": "position__deal_id",
    "agency": "position__deal__agency__short_name",
    "company": "position__deal__company__name",
    "country": "position__deal__company__country",
    "instrument": "position__kind",
    "commodity": "position__deal_id",
    "stage": "position__deal_id",
}


def value_series(
    dimension: str,
    end: date,
    *,
    book: str = "held",
    start: date | None = None,
    deals: dict[int, DealRow] | None = None,
    projects: dict[int, list[ProjectShare]] | None = None,
) -> dict[str, dict[date, Decimal]]:
    """Each group's value in ``book`` on every date with stored valuations in [start, end]: the held
    book's from its kept rows (``kept.py``), the other books' summed from the valuations."""
    check_dimension(dimension)
    check_book(book)
    if book == "held":
        return kept_series(dimension, end, start=start)
    return recomputed_series(dimension, end, book=book, start=start, deals=deals, projects=projects)


def recomputed_series(
    dimension: str,
    end: date,
    *,
    book: str = "held",
    start: date | None = None,
    deals: dict[int, DealRow] | None = None,
    projects: dict[int, list[ProjectShare]] | None = None,
) -> dict[str, dict[date, Decimal]]:
    """Each group's value in ``book`` on every date with stored valuations in [start, end], summed
    by the database from the valuations (a year of daily valuations of thousands of positions is
    millions of rows): the other books' series, and the check of the held book's kept rows."""
    check_dimension(dimension)
    check_book(book)
    column = VALUE_GROUP[dimension]
    rows = Valuation.objects.filter(book_q(book, day=F("as_of"), prefix="position__"), as_of__lte=end).order_by()
    if start is not None:
        rows = rows.filter(as_of__gte=start)
    series: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    if column is None:
        for day, total in rows.values("as_of").annotate(total=Sum("value_usd")).values_list("as_of", "total"):
            series["total"][day] += total
        return {key: dict(days) for key, days in series.items()}
    summed = rows.values("as_of", column).annotate(total=Sum("value_usd")).values_list("as_of", column, "total")
    rows_of: dict[int, DealRow] = {}
    deal_shares: dict[int, list[ProjectShare]] = {}
    if dimension in ("deal", *PROJECT_DIMENSIONS):
        rows_of = deals if deals is not None else deal_rows()[0]
        deal_shares = projects if projects is not None else deal_projects()
    keys_of: dict[object, list[tuple[str, Decimal]]] = {}
    for day, group, total in summed:
        if group not in keys_of:
            if dimension in ("deal", *PROJECT_DIMENSIONS):
                keys_of[group] = key_weights(dimension, rows_of[group], "", deal_shares.get(group, []))
            else:
                keys_of[group] = [(group, Decimal("1"))]
        for key, amount in split(total, keys_of[group]):
            series[key][day] += amount
    return {key: dict(days) for key, days in series.items()}


def value_over_time(
    *, start: date, end: date, dimension: str = "agency", book: str = "held"
) -> tuple[list[date], dict[str, list[Decimal]]]:
    """The USD value of ``book`` on each date with stored valuations in [start, end], by ``dimension``."""
    series = value_series(dimension, end, book=book, start=start)
    ordered = sorted({day for values in series.values() for day in values})
    return ordered, {key: [values.get(day, ZERO) for day in ordered] for key, values in sorted(series.items())}


@dataclass(frozen=True)
class HeldTotals:
    """The held book's stored value on a date, summed by the database (for the daily snapshot)."""

    value: Decimal
    positions_held: int
    positions_valued: int
    simulated: bool
    breakdown: dict[str, dict[str, Decimal]]


def held_totals(as_of: date) -> HeldTotals:
    """The held book's value on ``as_of`` from the valuations stored for that date, by agency,
    company, instrument and fair-value level (a fixed number of queries): the first three from the
    date's kept rows (``kept.py``), the level summed from the valuations."""
    held = book_q("held", day=as_of, prefix="position__")
    stored = Valuation.objects.filter(held, as_of=as_of).order_by()
    kept = KeptValue.objects.filter(as_of=as_of, dimension__in=("total", "agency", "company", "instrument"))
    breakdown: dict[str, dict[str, Decimal]] = {"agency": {}, "company": {}, "instrument": {}}
    valued = 0
    for dimension, key, value, count in sorted(kept.values_list("dimension", "key", "value_usd", "positions")):
        if dimension == "total":
            valued = count
        else:
            breakdown[dimension][key] = value
    levels = stored.values("fair_value_level").annotate(total=Sum("value_usd")).values_list("fair_value_level", "total")
    breakdown["fair_value_level"] = {str(key): total for key, total in sorted(levels, key=lambda row: str(row[0]))}
    return HeldTotals(
        value=sum(breakdown["agency"].values(), ZERO),
        positions_held=Position.objects.filter(book_q("held", day=as_of)).count(),
        positions_valued=valued,
        simulated=stored.filter(is_simulated=True).exists(),
        breakdown=breakdown,
    )
