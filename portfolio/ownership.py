"""Share arithmetic of instruments on an as-converted, as-exercised basis, from their terms."""

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
