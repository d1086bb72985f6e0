"""A token bucket per client address for order creation.

:class:`OrderLimiter` keeps one budget per client across every replica and web process, in Redis
(one Lua script: read, refill, spend, in one atomic round trip, timed by Redis's own clock so
replicas' clocks do not matter). Without Redis, or while it is down (:mod:`api.shared`), it
falls back to :class:`TokenBuckets`, in-process: each process limits on its own, so N processes
allow N x the rate until Redis is back.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
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


# KEYS: the buckets of one batch of orders (a client may appear more than once: its orders are
# taken in turn); ARGV: rate per second, burst. Returns, per key, {1, ""} when a token was spent,
# {0, seconds until the next token} otherwise, flattened. Tokens and time are kept as strings
# (Lua numbers would be truncated to integers on the way out). The keys of one batch must be in
# one Redis (a Redis Cluster would need them in one hash slot).
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl = math.ceil(burst / rate * 1000) + 1000
local out = {}
for _, key in ipairs(KEYS) do
    local v = redis.call('HMGET', key, 'tokens', 'at')
    local tokens = tonumber(v[1]) or burst
    local at = tonumber(v[2]) or now
    tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
    local spent = 0
    if tokens >= 1 then
        tokens = tokens - 1
        spent = 1
    end
    redis.call('HSET', key, 'tokens', string.format('%.6f', tokens),
        'at', string.format('%.6f', now))
    redis.call('PEXPIRE', key, ttl)
    out[#out + 1] = spent
    if spent == 1 then
        out[#out + 1] = ''
    else
        out[#out + 1] = string.format('%.3f', (1 - tokens) / rate)
    end
end
return out
"""

_Waiting = list[tuple[str, "asyncio.Future[tuple[int, Any]]"]]


class OrderLimiter:
    """One order budget per client for all replicas (Redis), per process without it.

    The orders of a process that arrive while its previous question is in Redis wait, and go
    together in the next one: one script call for the batch (each order still its own token,
    taken in arrival order), instead of one round trip per order. Under load that is most of
    the limiter's cost (redis-py spends about as much CPU on a call as the route on the rest of
    the order); alone, an order goes at once, as before."""

    MAX_BATCH = 256

    def __init__(self, shared: SharedState, rate_per_s: float, burst: int) -> None:
        self.shared = shared
        self.rate = rate_per_s
        self.burst = burst
        self.local = TokenBuckets(rate_per_s, burst)
        self._scripts: dict[int, Any] = {}  # per asyncio client: its registered script
        # per event loop: the orders waiting for the next batch (present while one is in Redis)
        self._waiting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Waiting] = (
            weakref.WeakKeyDictionary()
        )
        self._tasks: set[asyncio.Task[None]] = set()  # the running batches (strong references)

    async def take(self, client: str) -> None:
        """Spend one order of ``client``'s budget; RateLimited when it is spent."""
        redis_client = self.shared.async_client()
        if redis_client is None:
            self.local.take(client)
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, Any]] = loop.create_future()
        queue = self._waiting.get(loop)
        if queue is not None:  # a batch is in Redis: join the next one
            queue.append((client, future))
        else:
            self._waiting[loop] = [(client, future)]
            task = loop.create_task(self._drain(loop, redis_client))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            spent, retry = await future
        except redis.RedisError:  # Redis marked down by the batch: this process's own limit
            self.local.take(client)
            return
        if not spent:
            raise RateLimited(retry_after_s=float(retry))

    async def _drain(self, loop: asyncio.AbstractEventLoop, redis_client: Any) -> None:
        queue = self._waiting[loop]
        script = self._scripts.get(id(redis_client))
        if script is None:
            script = self._scripts[id(redis_client)] = redis_client.register_script(_TAKE)
        batch: _Waiting = []
        try:
            while queue:
                batch, queue[:] = queue[: self.MAX_BATCH], queue[self.MAX_BATCH :]
                keys = [self.shared.key("rate", "orders", client) for client, _ in batch]
                try:
                    flat = await script(keys=keys, args=[self.rate, self.burst])
                except Exception as exc:
                    if isinstance(exc, redis.RedisError):
                        self.shared.failed(exc)
                    for _, future in batch + queue:  # the rest would only fail in turn
                        if not future.done():
                            future.set_exception(exc)
                    queue.clear()
                    return
                for i, (_, future) in enumerate(batch):
                    if not future.done():  # not cancelled meanwhile
                        future.set_result((int(flat[2 * i]), flat[2 * i + 1]))
        finally:
            del self._waiting[loop]
            for _, future in batch + queue:  # left undone only when this task was cancelled
                if not future.done():
                    future.cancel()
