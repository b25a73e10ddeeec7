"""The change shown on the tiles: the period asked for (``change``), where it starts, and the
change of a group's value, gain and MOIC from the book of that day to the book of the page's date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.http import HttpRequest

from portfolio import figures_cache
from portfolio.book import Change, ChangePeriod, Figures, period_start

from .params import ChangeForm, change_from


@dataclass(frozen=True)
class TileChange:
    """What the tiles show of a change, and what their "Change over" control needs."""

    period: str  # the period's code
    label: str  # "1 week"
    over: str  # "over 1 week", "over the year to date"
    start: date
    change: Change
    form: ChangeForm  # unbound, showing the period in force
    errors: list[str]  # why the period asked for was not taken
    keep: list[tuple[str, str]]  # the page's other query parameters, kept by the control


def tile_change(
    request: HttpRequest,
    *,
    as_of: date,
    after: Figures | None,
    dimension: str,
    key: str,
    book: str,
) -> TileChange:
    """The change of the group ``key`` of ``dimension`` (``after``, its figures on ``as_of``) over
    the period the request asks for, from the same book's groups on the period's start (without
    their time-weighted return, which the change does not read). A period not known is not
    taken: the default is shown, with a message."""
    asked = ChangeForm(request.GET or None)
    period = change_from(asked)
    errors = [str(error) for error in asked.errors.get("change", [])] if asked.is_bound else []
    start = period_start(as_of, period)
    before = figures_cache.group_figures(as_of=start, dimension=dimension, book=book).get(key)
    label = ChangePeriod(period).label
    return TileChange(
        period=period,
        label=label,
        over="over the year to date" if period == ChangePeriod.YEAR_TO_DATE else f"over {label}",
        start=start,
        change=Change.between(before, after),
        form=ChangeForm(initial={"change": period}),
        errors=errors,
        keep=[(name, value) for name, values in request.GET.lists() if name != "change" for value in values],
    )
