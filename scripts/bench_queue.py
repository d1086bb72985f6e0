"""The waiting room under an on-sale peak: ``scripts/bench_orders.py --only queue``.

10,000 fans reach a room in the real Redis at once, through the bridge's own
:class:`api.waiting_room.WaitingRoom` and :class:`api.shared.SharedState` (one asyncio client,
its pool of 100 connections), 100 callers taking the next fan as soon as their last one was
answered: the peak as fast as this process can present it. (An open-loop arrival of 10,000
coroutines within one second was tried first: on 2 shared cores the load generator itself fell
seconds behind, so every figure measured the generator.) It measures the room's cost plus
Redis's, not HTTP's (the order benchmark covers the bridge's HTTP path).

* ``queue_admit_p99_ms`` / ``queue_admit_per_s``: a fan's join, from its call to its place and
  signed token (the Lua join: admissions advanced on Redis's clock, place taken, client bound);
* ``queue_claim_p99_ms`` / ``queue_claim_per_s``: once all are admitted, each fan's admission
  check as the order path makes it (token verified, place checked and spent atomically);
* ``redis_roundtrip_p99_ms`` / ``redis_roundtrip_per_s``: the baseline, 10,000 plain ``PING``
  round trips through the same client and callers, in the same run.

The 10,000 fall within one second when ``queue_admit_per_s`` is at least 10,000.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from api.shared import SharedState
from api.waiting_room import WaitingRoom

REDIS_URL = "redis://127.0.0.1:6379/0"
EVENT = 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


async def burst(
    n: int, concurrency: int, call: Callable[[int], Awaitable[Any]]
) -> tuple[list[float], float]:
    """``n`` calls as fast as ``concurrency`` callers can make them (each caller takes the next
    fan as soon as its last call answered): each call's latency (ms) and the calls per second.
    A 10,000-fan arrival within one second needs at least 10,000 calls/s; below that, the
    figures are those of a peak the machine cannot take in one second."""
    loop = asyncio.get_running_loop()
    latencies = [0.0] * n
    next_fan = 0

    async def caller() -> None:
        nonlocal next_fan
        while next_fan < n:
            i = next_fan
            next_fan += 1
            began = loop.time()
            await call(i)
            latencies[i] = (loop.time() - began) * 1000

    started = loop.time()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return latencies, n / (loop.time() - started)


def summary(name: str, latencies: list[float]) -> dict[str, float]:
    return {
        f"{name}_p50_ms": round(statistics.median(latencies), 3),
        f"{name}_p99_ms": round(percentile(latencies, 99), 3),
        f"{name}_max_ms": round(max(latencies), 3),
    }


async def measure(fans: int = 10_000, concurrency: int = 100) -> dict[str, Any]:
    shared = SharedState(REDIS_URL, f"bench-queue-{uuid.uuid4().hex[:8]}:", timeout_s=60.0)
    client = shared.async_client()
    assert client is not None
    room = WaitingRoom(shared, b"bench-secret" * 3)
    try:
        await client.ping()
        # warm-up (connections, script cache)
        await room.open(EVENT + 1, opens_at=time.time() - 1, rate_per_s=1e6)
        await asyncio.gather(*(room.join(EVENT + 1, f"w{i}") for i in range(1000)))
        await asyncio.gather(*(client.ping() for _ in range(1000)))

        baseline, ping_rate = await burst(fans, concurrency, lambda i: client.ping())
        await room.open(EVENT, opens_at=time.time() + 3600, rate_per_s=10_000)
        bindings = [room.binding(f"fan-{i}", "bench") for i in range(fans)]
        tokens: list[str] = [""] * fans

        async def join(i: int) -> None:
            tokens[i] = (await room.join(EVENT, bindings[i])).token

        joins, join_rate = await burst(fans, concurrency, join)
        # everyone admitted (the sale opened long ago on Redis's clock), then each one orders
        await room.open(EVENT, opens_at=time.time() - 3600, rate_per_s=1e6)
        claims, claim_rate = await burst(
            fans, concurrency, lambda i: room.claim(tokens[i], EVENT, bindings[i])
        )
        return {
            "queue_fans": fans,
            "queue_concurrency": concurrency,
            "queue_admit_per_s": round(join_rate),
            "queue_claim_per_s": round(claim_rate),
            "redis_roundtrip_per_s": round(ping_rate),
            **summary("queue_admit", joins),
            **summary("queue_claim", claims),
            **summary("redis_roundtrip", baseline),
            "queue_note": (
                "in-process: WaitingRoom over one asyncio Redis client (pool of 100), Redis 7 "
                "on 127.0.0.1, the fans as fast as the callers go; baseline: PING through the "
                "same client and callers, same run"
            ),
        }
    finally:
        keys = [k async for k in client.scan_iter(match=shared.prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def run_queue_bench(fans: int = 10_000) -> dict[str, Any]:
    return asyncio.run(measure(fans))
