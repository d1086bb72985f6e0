"""A token bucket per client address for order creation.

In-process: each web worker process limits on its own, so N processes allow N x the rate. That is
the usual trade-off (no shared store on the hot path); put a shared limiter at the edge (proxy)
when exact global limits matter.
"""

from __future__ import annotations

import threading
import time

from api.errors import RateLimited

MAX_CLIENTS = 100_000


class TokenBuckets:
    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> None:
        """Spend one token of ``client``; RateLimited when there is none."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                raise RateLimited(retry_after_s=round((1.0 - tokens) / self.rate, 3))
            if len(self._buckets) >= MAX_CLIENTS and client not in self._buckets:
                self._buckets.clear()  # crude bound on memory; buckets refill quickly anyway
            self._buckets[client] = (tokens - 1.0, now)
