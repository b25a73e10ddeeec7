"""Chart data for the pages: plain JSON that static/portfolio/charts.js draws (no inline script)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal


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


def milestone_timeline(milestones) -> dict:
    """Baseline and forecast windows (and the achievement date) per milestone, in epoch milliseconds."""
    rows = []
    for m in milestones:
        rows.append(
            {
                "label": m.title,
                "baseline": [_ms(m.baseline_start), _ms(m.baseline_end)]
                if m.baseline_start and m.baseline_end
                else None,
                "forecast": [_ms(m.forecast_start), _ms(m.forecast_end)]
                if m.forecast_start and m.forecast_end
                else None,
                "achieved": _ms(m.achieved_on) if m.achieved_on else None,
            }
        )
    return {"type": "timeline", "rows": rows}
