"""The check of the kept figures: every kept row against a full recomputation from the rows it sums."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .allocation import DIMENSIONS
from .core import recomputed_series
from .kept import kept_series


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
class Verification:
    compared: int  # groups and dates compared
    differences: list[Difference]


def verify_kept(*, as_of: date | None = None) -> Verification:
    """Compare the held value series' kept rows with the valuations summed again (every date, or
    ``as_of`` only), dimension by dimension: one query each way per dimension."""
    end = as_of or date.max
    compared, differences = 0, []
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
    return Verification(compared=compared, differences=differences)
