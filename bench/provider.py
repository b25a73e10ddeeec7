"""A price provider on a local HTTP server, for the benchmark: it answers the Yahoo chart API's
requests (the format portfolio/integrations/market_data/yahoo.py reads) for any symbol, with
closes from a deterministic walk, after a fixed delay standing for the network and the provider's
own work. It counts the requests and the time it spent waiting, so the benchmark can subtract the
provider's latency from a refresh's time."""

from __future__ import annotations

import json
import math
import threading
import time
import zlib
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.delay_seconds = 0.0

    def add(self, delay: float) -> None:
        with self.lock:
            self.requests += 1
            self.delay_seconds += delay


def _close(symbol: str, day: date) -> float:
    """A positive price that wanders with the date, the same for the same symbol and day."""
    seed = zlib.crc32(symbol.encode())
    base = 5 + seed % 60
    t = day.toordinal()
    return round(base * (1 + 0.25 * math.sin(t / 37 + seed % 11) + 0.05 * math.sin(t / 3 + seed % 7)), 4)


def chart(symbol: str, start: date, end: date) -> dict:
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    days = [d for d in days if d.weekday() < 5]
    stamps = [int(datetime(d.year, d.month, d.day, 14, 30, tzinfo=UTC).timestamp()) for d in days]
    return {
        "chart": {
            "result": [
                {
                    "meta": {"symbol": symbol, "currency": "USD", "gmtoffset": -18000},
                    "timestamp": stamps,
                    "indicators": {"quote": [{"close": [_close(symbol, d) for d in days]}]},
                }
            ],
            "error": None,
        }
    }


def serve(latency: float) -> tuple[ThreadingHTTPServer, Stats]:
    """Start the server on a free loopback port in a thread; ``latency`` seconds per request."""
    stats = Stats()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(latency)
            stats.add(latency)
            parts = urlsplit(self.path)
            symbol = parts.path.rsplit("/", 1)[-1]
            query = parse_qs(parts.query)
            start = datetime.fromtimestamp(int(query["period1"][0]), tz=UTC).date()
            end = datetime.fromtimestamp(int(query["period2"][0]), tz=UTC).date() - timedelta(days=1)
            body = json.dumps(chart(symbol, start, end)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, stats
