"""Throttles that count per client address as the login lockout does (behind trusted proxies,
the client's own address, not the proxy's)."""

from __future__ import annotations

from rest_framework.throttling import ScopedRateThrottle

from portfolio.security import client_ip


class ClientScopedRateThrottle(ScopedRateThrottle):
    def get_ident(self, request) -> str:
        return client_ip(request)
