"""Read locust's CSV statistics, print requests per second and the 50th/95th percentiles per
request and in all, write them as JSON with a description of the machine, and exit 1 if any
request failed."""

from __future__ import annotations

import csv
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path


def main(stats_csv: str, out_json: str) -> int:
    with open(stats_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    measures = [
        {
            "name": row["Name"],
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "requests_per_second": round(float(row["Requests/s"]), 1),
            "p50_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]),
        }
        for row in rows
    ]
    print(f"{'request':<32} {'count':>7} {'fail':>5} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for m in measures:
        print(f"{m['name']:<32} {m['requests']:>7} {m['failures']:>5} {m['requests_per_second']:>7} "
              f"{m['p50_ms']:>7.0f} {m['p95_ms']:>7.0f}")  # fmt: skip
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "settings": {k: os.environ.get(k, "") for k in ("USERS", "SPAWN_RATE", "DURATION", "WEB_CONCURRENCY")},
        "measures": measures,
    }
    Path(out_json).write_text(json.dumps(report, indent=2) + "\n")
    total = next((m for m in measures if m["name"] == "Aggregated"), None)
    if total is None or total["requests"] == 0:
        print("FAILED: no request was made")
        return 1
    failed = total["failures"]
    if failed:
        print(f"FAILED: {failed} requests failed (see the locust failures CSV beside the stats)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
