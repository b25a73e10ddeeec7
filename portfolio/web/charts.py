"""Chart data for the pages: plain JSON that static/portfolio/charts.js draws (no inline script)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

from portfolio.book.bridge import Bridge
from portfolio.book.scenarios import Sensitivity
from portfolio.models import Deal, Project
from portfolio.selectors import MeasuredMilestone


def _ms(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=UTC).timestamp() * 1000)


def stacked_series(
    days: list[date], series: dict[str, list[Decimal]], *, stacked: bool = True, labels: dict[str, str] | None = None
) -> dict:
    labels = labels or {}
    return {
        "type": "value",
        "stacked": stacked,
        "labels": [d.isoformat() for d in days],
        "datasets": [
            {"label": labels.get(key, key), "data": [float(v) for v in values]} for key, values in series.items()
        ],
    }


def allocation(rows: list[dict]) -> dict:
    """The slices of an allocation (rows with a label, figures and a link), largest first; a slice
    leads to its deals."""
    items = sorted((row for row in rows if row["figures"].value), key=lambda row: -row["figures"].value)
    return {
        "type": "allocation",
        "labels": [row["label"] for row in items],
        "data": [float(row["figures"].value) for row in items],
        "links": [row["link"] for row in items],
    }


def price_series(prices) -> dict:
    """Daily closes (already one per day, by source preference) for the price chart."""
    return {
        "type": "price",
        "labels": [p.on.isoformat() for p in prices],
        "data": [float(p.close) for p in prices],
        "simulated": any(p.is_simulated for p in prices),
    }


def _window(start: date | None, end: date | None) -> list[int] | None:
    return [_ms(start), _ms(end)] if start and end else None


def _milestone_row(row: MeasuredMilestone) -> dict:
    m = row.milestone
    return {
        "label": m.title,
        "baseline": _window(m.baseline_start, m.baseline_end),
        "forecast": _window(m.forecast_start, m.forecast_end),
        "achieved": _ms(m.achieved_on) if m.achieved_on else None,
        "stale": row.stale,
    }


def milestone_timeline(rows: list[MeasuredMilestone], today: date) -> dict:
    """Baseline and forecast windows (and the achievement date) per milestone, in epoch milliseconds,
    with today's date for the line drawn across the chart."""
    return {"type": "timeline", "today": _ms(today), "rows": [_milestone_row(row) for row in rows]}


@dataclass
class TimelineGroup:
    """The milestones of one project, or those of a deal that belong to no project."""

    project: Project | None
    deal: Deal | None
    rows: list[MeasuredMilestone] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.project is not None:
            return f"{self.project.name} ({self.project.company.name})"
        return f"Deal: {self.deal.title}" if self.deal is not None else "No project or deal"


def timeline_groups(rows: list[MeasuredMilestone]) -> list[TimelineGroup]:
    """Consecutive milestones of one project (or of one deal without a project) as one group."""
    groups: list[TimelineGroup] = []
    for row in rows:
        m = row.milestone
        project, deal = (m.project, None) if m.project_id else (None, m.deal)
        last = groups[-1] if groups else None
        if last is None or (last.project, last.deal) != (project, deal):
            last = TimelineGroup(project=project, deal=deal)
            groups.append(last)
        last.rows.append(row)
    return groups


def portfolio_timeline(groups: list[TimelineGroup], today: date) -> dict:
    """The milestones of many projects on one chart: a heading row per group, then its milestones."""
    rows: list[dict] = []
    for group in groups:
        rows.append({"label": group.label, "heading": True, "baseline": None, "forecast": None, "achieved": None})
        rows.extend(_milestone_row(row) for row in group.rows)
    return {"type": "portfolio-timeline", "today": _ms(today), "rows": rows}


def waterfall(bridge: Bridge, start: date, end: date) -> dict:
    """The bridge as floating bars: the opening value, each step from the running total to the
    next (the steps that moved nothing left out), and the closing value."""
    labels, bars, kinds = [f"Opening {start.isoformat()}"], [[0.0, float(bridge.opening)]], ["total"]
    running = bridge.opening
    for step in bridge.ordered_steps:
        if not step.amount:
            continue
        labels.append(step.label)
        bars.append([float(running), float(running + step.amount)])
        kinds.append("up" if step.amount > 0 else "down")
        running += step.amount
    labels.append(f"Closing {end.isoformat()}")
    bars.append([0.0, float(bridge.closing)])
    kinds.append("total")
    return {"type": "waterfall", "labels": labels, "bars": bars, "kinds": kinds}


def _amount(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def tornado(found: list[Sensitivity], move: Decimal) -> dict:
    """The change of the held book's exposure when each input moves ``move`` % down and up, one row
    an input in the order given (the largest first); None where the exposure is n/a."""
    shown = f"{move.normalize():f}"
    return {
        "type": "tornado",
        "labels": [s.label for s in found],
        "down": [_amount(s.down.exposure) for s in found],
        "up": [_amount(s.up.exposure) for s in found],
        "legend": [f"Input {shown} % lower", f"Input {shown} % higher"],
    }


def floor_curve(name: str, unit: str, points: list[tuple[Decimal, Decimal]], market: Decimal | None) -> dict:
    """A commodity's price-floor liability (US$) at each price (US$ per ``unit``), with the day's
    market price (in US$, None when it is not known in dollars) marked across the chart."""
    return {
        "type": "floor-curve",
        "label": f"{name} price-floor liability",
        "unit": unit,
        "points": [[float(price), float(owed)] for price, owed in points],
        "market": _amount(market),
    }


def stress_path(days: list[date], series: dict[str, list[Decimal | None]], worst: date | None) -> dict:
    """A historical stress path: the change of each figure from the base on each day of the path
    (None where it is n/a), the worst day marked across the chart."""
    labels = [day.isoformat() for day in days]
    return {
        "type": "stress",
        "labels": labels,
        "datasets": [
            {"label": label, "data": [_amount(value) for value in values]} for label, values in series.items()
        ],
        "worst": None if worst is None else labels.index(worst.isoformat()),
        "worst_label": None if worst is None else f"Worst {worst.isoformat()}",
    }
