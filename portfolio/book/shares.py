"""Ownership on dated share counts.

The count in force on a day is a company's latest share count on or before it. Ownership of a
company (or through one deal) is the shares held or obtainable, as converted and exercised, over
the shares outstanding plus the new shares those instruments would create, no higher than the
lowest ownership cap among the instruments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from portfolio.models import Position, ShareCount, shares_as_converted
from portfolio.ownership import position_new_shares

HUNDRED = Decimal("100")


class ShareCountRow(NamedTuple):
    company_id: int
    as_of: date
    shares: Decimal
    is_derived: bool
    origin: str
    evidence: str
    source_url: str
    notes: str


def share_counts_on(as_of: date, company_ids: Iterable[int] | None = None) -> dict[int, ShareCountRow]:
    """Each company's share count in force on ``as_of`` (one query)."""
    rows = ShareCount.objects.filter(as_of__lte=as_of).order_by("company_id", "as_of")
    if company_ids is not None:
        rows = rows.filter(company_id__in=list(company_ids))
    counts: dict[int, ShareCountRow] = {}
    for row in rows.values_list(*ShareCountRow._fields):
        counts[row[0]] = ShareCountRow._make(row)  # ordered by date: the last one stays
    return counts


@dataclass(frozen=True)
class Ownership:
    """A stake as a percentage of the company, with what it was computed from."""

    pct: Decimal | None
    shares: Decimal  # held or obtainable, as converted and exercised
    new_shares: Decimal  # of which the company would have to issue
    count: ShareCountRow | None
    capped_at: Decimal | None = None  # the cap that bound, if one did
    missing: str = ""

    def describe(self) -> str:
        if self.pct is None:
            return self.missing
        count = self.count
        if count is None:  # a percentage is only ever computed from a count
            return ""
        kind = "derived" if count.is_derived else "reported"
        cap = f", capped at {self.capped_at:f} %" if self.capped_at is not None else ""
        return f"{self.shares:,.0f} shares over {count.shares:,.0f} outstanding on {count.as_of} ({kind}){cap}"


def over_company_shares(position: Position | ShareTerms, *, company_is_public: bool) -> bool:
    """Whether an instrument is over its issuer's own shares: priced on one of the issuer's listings,
    or held in a private issuer. One over another entity's units (LAC's warrant on the Thacker Pass
    JV's units) gives no share of the issuer."""
    return position.listing_id is not None or not company_is_public


class ShareTerms(NamedTuple):
    """An instrument's terms that ownership reads, without the rest of its position: a company's
    ownership reads thousands of them."""

    kind: str
    quantity: Decimal | None
    shares_per_warrant: Decimal
    stated_value: Decimal | None
    conversion_price: Decimal | None
    ownership_cap_pct: Decimal | None
    listing_id: int | None

    @property
    def as_converted_shares(self) -> Decimal | None:
        return shares_as_converted(
            self.kind, self.quantity, self.shares_per_warrant, self.stated_value, self.conversion_price
        )


def ownership(
    positions: Sequence[Position | ShareTerms], count: ShareCountRow | None, as_of: date, *, company_is_public: bool
) -> Ownership:
    """Ownership through ``positions`` (of one company, public or not) on ``as_of``, on share count
    ``count``; only the instruments over the company's own shares count (``over_company_shares``)."""
    positions = [p for p in positions if over_company_shares(p, company_is_public=company_is_public)]
    shares = [p.as_converted_shares for p in positions if p.as_converted_shares is not None]
    held = sum(shares, Decimal("0"))
    new = sum((position_new_shares(p) for p in positions), Decimal("0"))
    if not shares:
        return Ownership(
            None, held, new, count, missing="no instrument over the company's shares with a share equivalent"
        )
    if count is None:
        return Ownership(None, held, new, None, missing=f"no share count on or before {as_of}")
    pct = held / (count.shares + new) * HUNDRED
    caps = [p.ownership_cap_pct for p in positions if p.ownership_cap_pct is not None]
    binding = min(caps) if caps else None
    if binding is not None and binding < pct:
        return Ownership(binding, held, new, count, capped_at=binding)
    return Ownership(pct, held, new, count)


def position_ownership(position: Position, count: ShareCountRow | None, as_of: date) -> Ownership:
    """Ownership through one position alone."""
    public = position.deal.company.is_public
    if not over_company_shares(position, company_is_public=public):
        zero = Decimal("0")
        return Ownership(None, zero, zero, count, missing="over another entity's units, not the company's shares")
    return ownership([position], count, as_of, company_is_public=public)
