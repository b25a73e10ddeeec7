"""The check of the kept figures: every kept row against a full recomputation from the rows it sums."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .allocation import DIMENSIONS
from .core import recomputed_series
from .kept import kept_series
from .ledger import KeptSteps, kept_steps, ledger_on, steps_from_flows


@dataclass(frozen=True)
class Difference:
    as_of: date
    dimension: str
    key: str
    kept: Decimal | None  # None: no kept row
    recomputed: Decimal | None  # None: the valuations sum to no such group

    def __str__(self) -> str:
        return f"{self.as_of} {self.dimension} {self.key!r}: kept {self.kept}, recomputed {self.recomputed}"


@dataclass(frozen=True)
class LedgerDifference:
    position_id: int
    kept: str  # the kept ledger (its steps, or its figures on the date), or "none"
    recomputed: str

    def __str__(self) -> str:
        return f"ledger of position {self.position_id}: kept {self.kept}, recomputed {self.recomputed}"


@dataclass(frozen=True)
class Verification:
    compared: int  # groups and dates, or ledgers, compared
    differences: list[Difference | LedgerDifference]


def verify_kept(*, as_of: date | None = None) -> Verification:
    """Compare the held value series' kept rows with the valuations summed again (every date, or
    ``as_of`` only), dimension by dimension: one query each way per dimension."""
    end = as_of or date.max
    compared, differences = 0, list[Difference]()
    for dimension in DIMENSIONS:
        kept = kept_series(dimension, end, start=as_of)
        summed = recomputed_series(dimension, end, book="held", start=as_of)
        for key in kept.keys() | summed.keys():
            ours, theirs = kept.get(key, {}), summed.get(key, {})
            for day in ours.keys() | theirs.keys():
                compared += 1
                if ours.get(day) != theirs.get(day):
                    differences.append(Difference(day, dimension, key, ours.get(day), theirs.get(day)))
    differences.sort(key=lambda d: (d.as_of, d.dimension, d.key))
    return Verification(compared=compared, differences=list(differences))


def verify_ledgers(*, as_of: date | None = None) -> Verification:
    """Compare every position's kept ledger with its flows at their rates again: each step (or,
    with ``as_of``, the ledger on that date, its flows included)."""
    _, recomputed = steps_from_flows()
    kept = kept_steps()
    differences = list[Difference | LedgerDifference]()
    for pk in sorted(kept.keys() | recomputed.keys()):
        ours = kept.get(pk)
        theirs = KeptSteps.of(recomputed[pk]) if pk in recomputed else None
        if as_of is not None:
            mine = None if ours is None else ledger_on(ours, as_of)
            other = None if theirs is None else ledger_on(theirs, as_of)
            for ledger in (mine, other):
                if ledger is not None:
                    _ = ledger.flows  # compared with the totals: read from the steps only when asked for
            if mine != other:
                differences.append(LedgerDifference(pk, str(mine or "none"), str(other or "none")))
            continue
        if ours != theirs:
            differences.append(LedgerDifference(pk, str(ours or "none"), str(theirs or "none")))
    return Verification(compared=len(kept.keys() | recomputed.keys()), differences=differences)
