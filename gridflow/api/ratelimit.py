"""Per-token request rate limits: one token bucket per token, in this process.

Hand-written because it is ten lines over a dict; the rate-limit libraries for Starlette
key by client address or need a store, and a replica only has to bound its own share.
"""

from __future__ import annotations

import time


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = burst
        #: token name -> (tokens left, last refill)
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, name: str, rate: float | None = None) -> float:
        """0.0 when the request may go, else the seconds to wait before the next one."""
        rate = rate or self.rate
        now = time.monotonic()
        left, last = self._buckets.get(name, (float(self.burst), now))
        left = min(float(self.burst), left + (now - last) * rate)
        if left >= 1.0:
            self._buckets[name] = (left - 1.0, now)
            return 0.0
        self._buckets[name] = (left, now)
        return (1.0 - left) / rate
