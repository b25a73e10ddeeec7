"""A price provider on a local HTTP server, for the benchmark: it answers the Yahoo chart API's
requests (the format portfolio/integrations/market_data/yahoo.py reads) for any symbol, with
closes from a deterministic walk, after a fixed delay standing for the network and the provider's
own work, answering requests in parallel as a real provider does. It counts the requests and the
time it spent waiting; ``waiting_on`` measures, on the client's side, the time a refresh spent
blocked waiting for its answers (overlapping requests counted once), which the benchmark subtracts
from the refresh's time."""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
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


class Waited:
    """Wall time during which at least one request to the provider was waiting for its answer."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.requests = 0
        self._lock = threading.Lock()
        self._in_flight = 0
        self._since = 0.0

    def started(self) -> None:
        with self._lock:
            if not self._in_flight:
                self._since = time.perf_counter()
            self._in_flight += 1
            self.requests += 1

    def ended(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if not self._in_flight:
                self.seconds += time.perf_counter() - self._since


@contextmanager
def waiting_on(port: int) -> Iterator[Waited]:
    """Time spent in ``getresponse`` on connections to ``port``, from a request sent to its
    answer's headers read, counted once where requests overlap: the provider's latency as the
    client lives it, with the machine's own cost of waking a blocked thread, which a sleeping
    server does not count."""
    waited = Waited()
    original = http.client.HTTPConnection.getresponse

    def timed(self, *args, **kwargs):
        if self.port != port:
            return original(self, *args, **kwargs)
        waited.started()
        try:
            return original(self, *args, **kwargs)
        finally:
            waited.ended()

    http.client.HTTPConnection.getresponse = timed
    try:
        yield waited
    finally:
        http.client.HTTPConnection.getresponse = original


def serve(latency: float) -> tuple[ThreadingHTTPServer, Stats]:
    """Start the server on a free loopback port in a thread; ``latency`` seconds per request."""
    stats = Stats()

    class Handler(BaseHTTPRequestHandler):
        # As a real provider: connections kept alive, and no Nagle delay between the headers and
        # the body (with it, the client's delayed ACK adds milliseconds per request that are not
        # the client's own cost).
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

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
