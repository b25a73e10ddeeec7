"""Dated amounts of many holdings, summed by group and day: each group's cash flows (for its XIRR)
and its money in (for its time-weighted return) in every dimension, from arrays built once a book
rather than a Python loop over every flow for every dimension.

A holding's amounts go to each of its groups times its share there (1 for the total or an agency;
a project's weight for a commodity or a stage), as the book splits its figures. Each group's sum of
a day adds its amounts in the order the holdings and their amounts are given, as a loop would.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from portfolio.pricing.returns import DayFlows

#: A holding's part in a group: (the holding's index, the group's index, its share).
Share = tuple[int, int, float]


class DatedAmounts:
    """The dated amounts of some holdings (each an array of days' ordinals and one of amounts), as
    flat arrays (each holding's run in order)."""

    def __init__(self, counts: np.ndarray, days: np.ndarray, amounts: np.ndarray) -> None:
        """From flat arrays: each holding's number of amounts (``counts``), then every holding's days
        (ordinals) and amounts, one run after another."""
        self.counts = counts
        self.starts = np.cumsum(counts) - counts
        self.days, self.day_index = np.unique(days, return_inverse=True)  # days as ordinals, ascending
        self.flat_days = days
        self.amounts = amounts

    @classmethod
    def of(cls, per_holding: Sequence[tuple[np.ndarray, np.ndarray]]) -> DatedAmounts:
        """From each holding's days (ordinals) and amounts."""
        counts = np.fromiter((len(days) for days, _ in per_holding), dtype=np.int64, count=len(per_holding))
        if not per_holding:
            return cls(counts, np.empty(0, dtype=np.int64), np.empty(0, dtype=float))
        days = np.concatenate([days for days, _ in per_holding]).astype(np.int64, copy=False)
        amounts = np.concatenate([amounts for _, amounts in per_holding]).astype(float, copy=False)
        return cls(counts, days, amounts)

    def by_group(self, shares: Sequence[Share], groups: int) -> list[DayFlows]:
        """Each group's sums by day, in date order (groups numbered 0 to ``groups`` - 1): every share
        adds its holding's amounts, times the share, to its group."""
        out = [DayFlows.empty()] * groups
        if not shares or not len(self.amounts):
            return out
        holding, group, weight = (np.array(column) for column in zip(*shares, strict=True))
        holding, group, weight = holding.astype(np.int64), group.astype(np.int64), weight.astype(float)
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
        owner, day = np.divmod(keys, width)
        edges = np.searchsorted(owner, np.arange(groups + 1))
        days = self.days[day]
        for index in np.flatnonzero(edges[1:] > edges[:-1]).tolist():
            start, end = edges[index], edges[index + 1]
            out[index] = DayFlows(days[start:end], sums[start:end])
        return out
