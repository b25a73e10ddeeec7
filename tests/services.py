"""Tests that need the services CI's second pass runs on (PostgreSQL, a Redis broker)."""

from __future__ import annotations

import os

import pytest


def require_services(*, available: bool, reason: str) -> None:
    """Skip the test where what it needs is missing; fail it where it must run
    (``REQUIRE_SERVICES``, set by CI's pass on PostgreSQL and Redis), so it is never skipped there."""
    if available:
        return
    if os.environ.get("REQUIRE_SERVICES"):
        pytest.fail(reason)
    pytest.skip(reason)
