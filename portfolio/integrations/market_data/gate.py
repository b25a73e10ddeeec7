"""A per-provider rate limit and circuit breaker shared by every worker.

State lives in Django's cache: Redis when REDIS_URL is set (shared by all processes and
machines), the in-process cache otherwise. ``add`` and ``incr`` are atomic in both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.core.cache import cache

from .errors import CircuitOpenError, RateLimitedError, TransientProviderError

T = TypeVar("T")


@dataclass(frozen=True)
class GatePolicy:
    calls_per_second: float = 5.0
    failure_threshold: int = 5  # consecutive transient failures that open the circuit
    open_seconds: int = 300  # how long the circuit stays open
    # Requests one refresh keeps in flight at once (each still takes a slot of the rate above): while
    # one waits on the network, the next is sent.
    concurrent_requests: int = 4


class ProviderGate:
    """Call a provider through its gate: wait for a rate-limit slot, refuse while the circuit is open."""

    def __init__(
        self,
        provider: str,
        policy: GatePolicy,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.policy = policy
        self.clock = clock
        self.sleep = sleep
        self._prefix = f"provider-gate:{provider}"

    # --- circuit breaker --------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return cache.get(f"{self._prefix}:open") is not None

    def record_success(self) -> None:
        cache.delete(f"{self._prefix}:failures")

    def record_failure(self) -> None:
        key = f"{self._prefix}:failures"
        cache.add(key, 0, timeout=self.policy.open_seconds)
        try:
            failures = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=self.policy.open_seconds)
            failures = 1
        if failures is None:
            return  # the cache cannot be reached (its errors are logged, not raised): nothing to count
        if failures >= self.policy.failure_threshold:
            cache.set(f"{self._prefix}:open", self.clock(), timeout=self.policy.open_seconds)
            cache.delete(key)

    # --- rate limit -------------------------------------------------------------------------

    def _take_slot(self) -> None:
        """Fixed one-second windows of ``calls_per_second`` slots; wait for the next window when full."""
        limit = max(int(self.policy.calls_per_second), 1)
        interval = 1.0 if self.policy.calls_per_second >= 1 else 1.0 / self.policy.calls_per_second
        while True:
            now = self.clock()
            window = int(now / interval)
            key = f"{self._prefix}:window:{window}"
            cache.add(key, 0, timeout=max(int(interval) + 1, 2))
            try:
                used = cache.incr(key)
            except ValueError:
                continue
            if used is None or used <= limit:
                # None: the cache could not be reached (its errors are logged, not raised), and
                # a call is let through rather than held up by the limiter's own store.
                return
            self.sleep((window + 1) * interval - now)

    def call(self, fn: Callable[[], T]) -> T:
        if self.is_open:
            raise CircuitOpenError(self.provider, "paused after repeated failures; trying again later")
        self._take_slot()
        try:
            result = fn()
        except RateLimitedError as exc:
            # Back off: no worker calls this provider again until it said we may (or for the pause).
            pause = int(exc.retry_after) if exc.retry_after else self.policy.open_seconds
            cache.set(f"{self._prefix}:open", self.clock(), timeout=max(pause, 1))
            raise
        except TransientProviderError:
            self.record_failure()
            raise
        self.record_success()
        return result
