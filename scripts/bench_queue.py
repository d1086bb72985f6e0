"""The waiting room under an on-sale peak, through the bridge over HTTP:
``scripts/bench_orders.py --only queue``.

The arrival is the one tests/api/test_waiting_room_http.py checks (scripts/fan_crowd.py): 10,000
fans, each its own client (User-Agent, forwarded address; the bridge gives each its cookie), send
``POST /queue/{event}/join`` spread evenly over 0.8 s (all leave within one second), on 200
pipelined keep-alive connections, to ``python -m api`` (uvicorn, one web process by default;
Redis on 127.0.0.1), open loop: a fan's request leaves at its time whether or not the earlier ones
were answered. The room is open with the sale an hour away (every join takes a place and a
token).

* ``queue_admit_p50_ms`` / ``_p99_ms`` / ``_max_ms``: a fan's join, from its request leaving to
  its place and signed token read back; under an arrival faster than the bridge answers, mostly
  the wait behind the fans who came first (the queue in front of the bridge, not the room's);
* ``queue_admit_per_s``: joins answered per second, first request sent to last answer read;
  ``queue_arrival_s``: the time over which the 10,000 requests left (at most 1 s by design);
* ``queue_admit_cpu_ms``: the bridge's CPU time per join (all its processes), steadier than the
  rates on a shared machine;
* the baseline, in the same run, same connections, same arrival: 10,000 ``GET /health/live``
  (no Redis, no database): ``trivial_*`` with the same keys. The difference is the room's cost;
* ``redis_roundtrip_p99_ms`` and ``queue_join_inprocess_p99_ms``: the Redis floor, 10,000 plain
  ``PING`` and 10,000 joins through :class:`api.waiting_room.WaitingRoom` in this process (one
  asyncio client, 100 callers, closed loop), as the previous version of this benchmark measured
  (19.8 ms beside PING 11.5 ms): what the room costs at Redis, without HTTP.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from api.shared import SharedState
from api.waiting_room import WaitingRoom
from scripts.fan_crowd import Crowd, Reply, percentile, request

REDIS_URL = "redis://127.0.0.1:6379/0"
EVENT = 1
# the requests are spread over 0.8 s: with the ticks a loaded machine makes late, they all leave
# within one second (at 1.0 s they took 1.14 s at load 7; queue_admit_arrival_s reports it)
ARRIVAL_S = 0.8
ROOT = Path(__file__).resolve().parent.parent


# -- through HTTP ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and its children that have exited or run: the
    bridge's processes (uvicorn's workers are its children)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def figures(name: str, replies: list[Reply], cpu_s: float) -> dict[str, Any]:
    latencies = [r.latency_ms for r in replies]
    sent = [r.sent for r in replies]
    statuses = Counter(r.status for r in replies)
    return {
        f"{name}_p50_ms": round(statistics.median(latencies), 1),
        f"{name}_p99_ms": round(percentile(latencies, 99), 1),
        f"{name}_max_ms": round(max(latencies), 1),
        f"{name}_per_s": round(len(replies) / (max(r.received for r in replies) - min(sent))),
        f"{name}_arrival_s": round(max(sent) - min(sent), 3),
        f"{name}_cpu_ms": round(cpu_s * 1000 / len(replies), 3),
        f"{name}_statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


class Bridge:
    """``python -m api`` on a free port with Redis, for the benchmark (no database needed by the
    room's endpoints: an SQLite file in a temporary home)."""

    def __init__(self, prefix: str, secret: str, web_workers: int) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="bench-queue-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRGATE_")}
        env |= {
            "FAIRGATE_ENV": "test",
            "FAIRGATE_HOME": str(self.home),
            "FAIRGATE_REDIS_URL": REDIS_URL,
            "FAIRGATE_REDIS_PREFIX": prefix,
            "FAIRGATE_QUEUE_SECRET": secret,
        }
        self.log = (self.home / "bridge.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api", "--port", str(self.port),
             "--workers", str(web_workers), "--log-level", "warning"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the bridge exited: see {self.home}/bridge.log")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health/live", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the bridge did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


async def measure_http(
    shared: SharedState, room: WaitingRoom, secret: str, fans: int, web_workers: int
) -> dict[str, Any]:
    bridge = Bridge(shared.prefix, secret, web_workers)
    try:
        await room.open(EVENT, opens_at=time.time() + 3600, rate_per_s=1000)
        await room.open(EVENT + 1, opens_at=time.time() + 3600, rate_per_s=1000)
        async with Crowd("127.0.0.1", bridge.port, 200) as crowd:
            host = crowd.authority

            def joins(event: int, n: int, tag: str) -> list[bytes]:
                return [
                    request(
                        "POST",
                        f"/queue/{event}/join",
                        host=host,
                        headers={
                            "User-Agent": f"Mozilla/5.0 ({tag} {i})",
                            "X-Forwarded-For": f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}",
                        },
                    )
                    for i in range(n)
                ]

            # warm-up: connections, Redis pools and scripts, the interpreter's caches
            await crowd.arrive(joins(EVENT + 1, 1000, "warm"), over_s=1.0)
            health = [request("GET", "/health/live", host=host) for _ in range(fans)]
            await crowd.arrive(health[:1000], over_s=1.0)
            before = cpu_seconds(bridge.proc.pid)
            trivial = await crowd.arrive(health, over_s=ARRIVAL_S)
            middle = cpu_seconds(bridge.proc.pid)
            admitted = await crowd.arrive(joins(EVENT, fans, "fan"), over_s=ARRIVAL_S)
            after = cpu_seconds(bridge.proc.pid)
        return {
            **figures("queue_admit", admitted, after - middle),
            **figures("trivial", trivial, middle - before),
            "queue_web_workers": web_workers,
        }
    finally:
        bridge.stop()


# -- in this process, at Redis (the previous version's figures) --------------------------------


async def burst(
    n: int, concurrency: int, call: Callable[[int], Awaitable[Any]]
) -> tuple[list[float], float]:
    """``n`` calls by ``concurrency`` callers, each taking the next as soon as its last one was
    answered: each call's latency (ms) and the calls per second."""
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


async def measure_inprocess(
    shared: SharedState, room: WaitingRoom, fans: int, concurrency: int = 100
) -> dict[str, Any]:
    client = shared.async_client(patient=True)
    assert client is not None
    await asyncio.gather(*(client.ping() for _ in range(1000)))  # warm-up
    pings, ping_rate = await burst(fans, concurrency, lambda i: client.ping())
    await room.open(EVENT + 2, opens_at=time.time() + 3600, rate_per_s=1000)
    bindings = [room.binding(f"inproc-{i}", "bench") for i in range(fans)]
    joins, join_rate = await burst(fans, concurrency, lambda i: room.join(EVENT + 2, bindings[i]))
    return {
        "redis_roundtrip_p99_ms": round(percentile(pings, 99), 3),
        "redis_roundtrip_per_s": round(ping_rate),
        "queue_join_inprocess_p99_ms": round(percentile(joins, 99), 3),
        "queue_join_inprocess_per_s": round(join_rate),
    }


async def measure(fans: int = 10_000, web_workers: int = 1) -> dict[str, Any]:
    prefix = f"bench-queue-{secrets.token_hex(4)}:"
    secret = secrets.token_hex(32)
    shared = SharedState(REDIS_URL, prefix, timeout_s=5.0, patient_timeout_s=60.0)
    room = WaitingRoom(shared, secret.encode())
    try:
        result = await measure_http(shared, room, secret, fans, web_workers)
        result |= await measure_inprocess(shared, room, fans)
        result["queue_fans"] = fans
        result["queue_note"] = (
            f"HTTP: {fans:,} joins spread over {ARRIVAL_S} s, open loop, 200 pipelined keep-alive "
            f"connections (scripts/fan_crowd.py) to python -m api ({web_workers} web process(es)),"
            " Redis 127.0.0.1; baseline trivial_*: GET /health/live, same arrival, same run. "
            "In-process: WaitingRoom joins and PING, 100 callers, closed loop, same Redis."
        )
        return result
    finally:
        client = shared.async_client(patient=True)
        assert client is not None
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def run_queue_bench(fans: int = 10_000, web_workers: int = 1) -> dict[str, Any]:
    return asyncio.run(measure(fans, web_workers))
