"""Share arithmetic of instruments on an as-converted, as-exercised basis, from their terms."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from portfolio.models import InstrumentKind


class Instrument(Protocol):
    """What the share arithmetic reads of an instrument: a ``Position``, or its terms alone."""

    @property
    def kind(self) -> str: ...

    @property
    def as_converted_shares(self) -> Decimal | None: ...


def position_new_shares(position: Instrument) -> Decimal:
    """Shares the issuer would have to issue if the position were converted or exercised.

    Common shares already exist; a call over another holder's shares creates none either.
    """
    shares = position.as_converted_shares
    if shares is None or position.kind in (InstrumentKind.COMMON, InstrumentKind.CALL_OPTION):
        return Decimal("0")
    return shares
