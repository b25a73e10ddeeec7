"""Dated amounts of many holdings, summed by group and day: each group's cash flows (for its XIRR)
and its money in (for its time-weighted return) in every dimension, from arrays built once a book
rather than a Python loop over every flow for every dimension.

A holding's amounts go to each of its groups times its share there (1 for the total or an agency;
a project's weight for a commodity or a stage), as the book splits its figures. Each group's sum of
a day adds its amounts in the order the holdings and their amounts are given, as a loop would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

#: A holding's part in a group: (the holding's index, the group's index, its share).
Share = tuple[int, int, float]


class DatedAmounts:
    """The dated amounts of some holdings, as flat arrays (each holding's run in order)."""

    def __init__(self, per_holding: Sequence[Sequence[tuple[date, float]]]) -> None:
        self.days = sorted({on for amounts in per_holding for on, _ in amounts})
        index = {day: i for i, day in enumerate(self.days)}
        self.counts = np.fromiter((len(amounts) for amounts in per_holding), dtype=np.int64, count=len(per_holding))
        self.starts = np.cumsum(self.counts) - self.counts
        total = int(self.counts.sum())
        self.day_index = np.fromiter(
            (index[on] for amounts in per_holding for on, _ in amounts), dtype=np.int64, count=total
        )
        self.amounts = np.fromiter((x for amounts in per_holding for _, x in amounts), dtype=float, count=total)

    def by_group(self, shares: Sequence[Share], groups: int) -> list[list[tuple[date, float]]]:
        """Each group's (day, sum) pairs in date order (groups numbered 0 to ``groups`` - 1): every
        share adds its holding's amounts, times the share, to its group."""
        out: list[list[tuple[date, float]]] = [[] for _ in range(groups)]
        if not shares or not len(self.amounts):
            return out
        holding = np.fromiter((share[0] for share in shares), dtype=np.int64, count=len(shares))
        group = np.fromiter((share[1] for share in shares), dtype=np.int64, count=len(shares))
        weight = np.fromiter((share[2] for share in shares), dtype=float, count=len(shares))
        counts = self.counts[holding]
        total = int(counts.sum())
        if not total:
            return out
        # Each share's run of the flat arrays: its holding's start, then one step per amount.
        flat = (
            np.repeat(self.starts[holding], counts) + np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        width = len(self.days)
        bins = np.repeat(group, counts) * width + self.day_index[flat]
        values = self.amounts[flat] * np.repeat(weight, counts)
        keys, inverse = np.unique(bins, return_inverse=True)
        sums = np.bincount(inverse, weights=values)  # adds each bin's values in their order
        days = self.days
        for key, amount in zip(keys.tolist(), sums.tolist(), strict=True):
            group_index, day_index = divmod(key, width)
            out[group_index].append((days[day_index], amount))
        return out
