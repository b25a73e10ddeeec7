"""Ownership arithmetic on an as-converted, as-exercised basis, from instrument terms."""

from __future__ import annotations

from decimal import Decimal

from portfolio.models import InstrumentKind, Position


def position_new_shares(position: Position) -> Decimal:
    """Shares the issuer would have to issue if the position were converted or exercised.

    Common shares already exist; a call over another holder's shares creates none either.
    """
    shares = position.as_converted_shares
    if shares is None or position.kind in (InstrumentKind.COMMON, InstrumentKind.CALL_OPTION):
        return Decimal("0")
    return shares


def position_ownership_pct(position: Position) -> Decimal | None:
    """Percent of the issuer held through this position alone, as converted and fully diluted.

    ``as_converted_shares / (shares_outstanding + new shares this position would create) x 100``,
    no higher than the instrument's ownership cap.
    None when the position has no share equivalent or the issuer's share count is unknown.
    Reads ``position.deal.company``: select it with the position to avoid a query per row.
    """
    shares = position.as_converted_shares
    outstanding = position.deal.company.shares_outstanding
    if shares is None or not outstanding:
        return None
    pct = shares / (outstanding + position_new_shares(position)) * Decimal("100")
    if position.ownership_cap_pct is not None:
        # Conversion or exercise stops at the cap (e.g. MP's 19.9 %).
        pct = min(pct, position.ownership_cap_pct)
    return pct
