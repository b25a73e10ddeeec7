"""External I/O only (market data, filings): typed results, classified errors, no ORM."""
