"""The held rule: on what basis the government has each deal and position on a date.

This module is the one home of the rule. It is stated twice, once in Python over plain rows
(``deal_basis``, ``position_basis``) and once as database filters over a date column
(``position_basis_q``) for sums the database does; a test checks that the two agree on every
combination of statuses and dates.

A deal on a date D, the first rule that applies:

1. not yet announced (announced after D): no basis, not shown at all;
2. terminated: lapsed;
3. closed on or before D (``closed_on``): held;
4. its long-stop date passed before D without closing: lapsed;
5. signed and definitive (definitive, closed, amended or exited status, signed on or before D):
   committed. A deal marked closed without a closing date stays here until a steward gives it;
6. otherwise (reported talks, letters of intent, agreements in principle, conditional
   commitments): pipeline.

A position takes its deal's basis, except in a held deal: a position whose facts are unverified
is never held (``unverified``); one without an acquisition date is not counted until a steward
gives it (``incomplete``); one acquired after D is committed; one sold in full by D (the ledger's
quantity) is ``exited``: no value, but its flows stay in the held book's record.
"""

from __future__ import annotations

import functools
import operator
from datetime import date
from typing import NamedTuple, overload

from django.db import models
from django.db.models import F, Q

from portfolio.models import Deal, DealStatus, Evidence


class Basis(models.TextChoices):
    HELD = "held", "Held"
    COMMITTED = "committed", "Committed (signed, not closed)"
    PIPELINE = "pipeline", "Pipeline (talks, letters of intent, conditional)"
    LAPSED = "lapsed", "Lapsed or terminated"
    UNVERIFIED = "unverified", "Unverified (not counted)"
    INCOMPLETE = "incomplete", "Acquisition date missing (not counted)"
    EXITED = "exited", "Sold in full"


#: The books a user can choose; "all" is the three together. Lapsed, unverified and incomplete
#: positions are shown where they belong, never summed into a book.
BOOKS = {
    "held": (Basis.HELD,),
    "committed": (Basis.COMMITTED,),
    "pipeline": (Basis.PIPELINE,),
    "all": (Basis.HELD, Basis.COMMITTED, Basis.PIPELINE),
}
DEFAULT_BOOK = "held"
BOOK_LABELS = {
    "held": "Held",
    "committed": "Committed (signed, not closed)",
    "pipeline": "Pipeline (talks, letters of intent, conditional)",
    "all": "Held, committed and pipeline together",
}
#: The bases a page lists, in order (sold-in-full positions are in their book's record only).
SHOWN_BASES = (Basis.HELD, Basis.COMMITTED, Basis.PIPELINE, Basis.LAPSED, Basis.UNVERIFIED, Basis.INCOMPLETE)


def beside(book: str) -> tuple[Basis, ...]:
    """The bases shown beside ``book``, never summed into it."""
    return tuple(basis for basis in SHOWN_BASES if basis not in BOOKS[book])


#: The bases whose flows count in a book's invested and realised figures.
BOOK_FLOWS = {name: (*bases, Basis.EXITED) if Basis.HELD in bases else bases for name, bases in BOOKS.items()}
#: Positions that a refresh values on a date: everything shown with a value.
VALUED_BASES = (Basis.HELD, Basis.COMMITTED, Basis.PIPELINE, Basis.UNVERIFIED, Basis.INCOMPLETE)

#: Statuses that say a definitive agreement was signed.
SIGNED_STATUSES = (DealStatus.DEFINITIVE, DealStatus.CLOSED, DealStatus.AMENDED, DealStatus.EXITED)


class DealTerms(NamedTuple):
    """What the rule reads of a deal."""

    status: str
    announced_on: date | None
    signed_on: date | None
    closed_on: date | None
    long_stop_on: date | None

    @classmethod
    def of(cls, deal: Deal) -> DealTerms:
        """The terms of a Deal instance."""
        return cls(deal.status, deal.announced_on, deal.signed_on, deal.closed_on, deal.long_stop_on)


DEAL_TERM_FIELDS = DealTerms._fields


def deal_basis(deal: DealTerms, on: date) -> Basis | None:
    """The deal's basis on ``on``; None before it was announced."""
    if deal.announced_on is not None and deal.announced_on > on:
        return None
    if deal.status == DealStatus.TERMINATED:
        return Basis.LAPSED
    if deal.closed_on is not None and deal.closed_on <= on:
        return Basis.HELD
    if deal.long_stop_on is not None and deal.long_stop_on < on:
        return Basis.LAPSED
    if deal.status in SIGNED_STATUSES and (deal.signed_on is None or deal.signed_on <= on):
        return Basis.COMMITTED
    return Basis.PIPELINE


@overload
def position_basis(
    deal: Basis, *, evidence: str, acquired_on: date | None, on: date, sold_out: bool = False
) -> Basis: ...
@overload
def position_basis(
    deal: Basis | None, *, evidence: str, acquired_on: date | None, on: date, sold_out: bool = False
) -> Basis | None: ...
def position_basis(
    deal: Basis | None, *, evidence: str, acquired_on: date | None, on: date, sold_out: bool = False
) -> Basis | None:
    """A position's basis on ``on``, given its deal's. ``sold_out``: the ledger holds none by then."""
    if deal != Basis.HELD:
        return deal
    if evidence == Evidence.UNVERIFIED:
        return Basis.UNVERIFIED
    if acquired_on is None:
        return Basis.INCOMPLETE
    if acquired_on > on:
        return Basis.COMMITTED
    if sold_out:
        return Basis.EXITED
    return Basis.HELD


# --- The same rule as database filters ----------------------------------------------------------


def _deal_q(prefix: str, day: F | date) -> dict[str, Q]:
    """The deal-level conditions, for a deal reached through ``prefix`` (e.g. "position__deal__")."""
    p = prefix
    known = Q(**{f"{p}announced_on__isnull": True}) | Q(**{f"{p}announced_on__lte": day})
    live = ~Q(**{f"{p}status": DealStatus.TERMINATED})
    closed = Q(**{f"{p}closed_on__lte": day})
    lapsed_stop = Q(**{f"{p}long_stop_on__lt": day})
    signed = Q(**{f"{p}status__in": SIGNED_STATUSES}) & (
        Q(**{f"{p}signed_on__isnull": True}) | Q(**{f"{p}signed_on__lte": day})
    )
    open_deal = known & live & ~closed & ~lapsed_stop
    return {
        # A deal cannot close before it was announced (a database constraint): closed implies known.
        "held": live & closed,
        "committed": open_deal & signed,
        "pipeline": open_deal & ~signed,
        "lapsed": known & (~live | (~closed & lapsed_stop)),
    }


def position_basis_q(basis: Basis, *, day: F | date, prefix: str = "") -> Q:
    """Positions (reached through ``prefix``, e.g. "position__" from a valuation) whose basis on
    ``day`` (a date, or a date column such as ``F("as_of")``) is ``basis``. Sold-out positions are
    not told apart from held ones here: a refresh stores no valuation for them."""
    deal = _deal_q(f"{prefix}deal__", day)
    verified = ~Q(**{f"{prefix}evidence": Evidence.UNVERIFIED})
    acquired = Q(**{f"{prefix}acquired_on__isnull": False})
    acquired_by = Q(**{f"{prefix}acquired_on__lte": day})
    if basis in (Basis.HELD, Basis.EXITED):
        return deal["held"] & verified & acquired_by
    if basis == Basis.COMMITTED:
        return deal["committed"] | (deal["held"] & verified & acquired & ~acquired_by)
    if basis == Basis.PIPELINE:
        return deal["pipeline"]
    if basis == Basis.LAPSED:
        return deal["lapsed"]
    if basis == Basis.UNVERIFIED:
        return deal["held"] & ~verified
    return deal["held"] & verified & ~acquired  # incomplete


def book_q(book: str, *, day: F | date, prefix: str = "") -> Q:
    """Positions in ``book`` (held, committed, pipeline or all) on ``day``."""
    return functools.reduce(operator.or_, (position_basis_q(b, day=day, prefix=prefix) for b in BOOKS[book]))
