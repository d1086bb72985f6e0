"""A token bucket per client address for order creation.

:class:`OrderLimiter` keeps one budget per client across every replica and web process, in Redis
(one Lua script: read, refill, spend, in one atomic round trip, timed by Redis's own clock so
replicas' clocks do not matter). Without Redis, or while it is down (:mod:`api.shared`), it
falls back to :class:`TokenBuckets`, in-process: each process limits on its own, so N processes
allow N x the rate until Redis is back.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis

from api.errors import RateLimited
from api.shared import SharedState

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


# KEYS[1]: the client's bucket; ARGV: rate per second, burst. Returns {1, ""} when a token was
# spent, {0, seconds until the next token} otherwise. Tokens and time are kept as strings (Lua
# numbers would be truncated to integers on the way out).
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(v[1]) or burst
local at = tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local spent = 0
if tokens >= 1 then
    tokens = tokens - 1
    spent = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
    'at', string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
if spent == 1 then
    return {1, ''}
end
return {0, string.format('%.3f', (1 - tokens) / rate)}
"""


class OrderLimiter:
    """One order budget per client for all replicas (Redis), per process without it."""

    def __init__(self, shared: SharedState, rate_per_s: float, burst: int) -> None:
        self.shared = shared
        self.rate = rate_per_s
        self.burst = burst
        self.local = TokenBuckets(rate_per_s, burst)
        self._scripts: dict[int, Any] = {}  # per asyncio client: its registered script

    async def take(self, client: str) -> None:
        """Spend one order of ``client``'s budget; RateLimited when it is spent."""
        redis_client = self.shared.async_client()
        if redis_client is None:
            self.local.take(client)
            return
        script = self._scripts.get(id(redis_client))
        if script is None:
            script = self._scripts[id(redis_client)] = redis_client.register_script(_TAKE)
        try:
            spent, retry = await script(
                keys=[self.shared.key("rate", "orders", client)], args=[self.rate, self.burst]
            )
        except redis.RedisError as exc:
            self.shared.failed(exc)
            self.local.take(client)
            return
        if not int(spent):
            raise RateLimited(retry_after_s=float(retry))
