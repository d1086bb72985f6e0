"""A crowd of fans over HTTP/1.1: an open-loop arrival of many requests within a set time.

Used by the waiting-room test (tests/api/test_waiting_room_http.py) and its benchmark
(scripts/bench_queue.py), so both present the bridge the same arrival: request ``i`` is written
at ``start + i * over_s / n`` (in ticks of ``tick_s``), whether or not the earlier ones have been
answered, on keep-alive connection ``i % connections``, pipelined behind the requests already
waiting there. Each request is one fan with its own headers (User-Agent, cookies, forwarded
address), as if it came through a load balancer that keeps a few hundred connections to a
replica; the replica reads them from its sockets and answers each connection's in order.

Why not one connection per fan, or httpx: 10,000 connections opened within one second overflow
the listen backlog (SYN retries of a second or more: the arrival would measure TCP, not the
bridge), and httpx's async client tops out at a few hundred requests a second on this machine
(scripts/bench_orders.py): the generator, not the server, would set the pace. This one writes
10,000 requests in a few tens of milliseconds of CPU, and reads the answers as they come.

Times are wall-clock (``time.time()``), so a test can compare them with what the server did on
the same machine's clock (Redis ``TIME``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class Reply:
    """One request's answer: status, headers (names lower-case), body; when the request was
    written and when its answer was read (``time.time()``)."""

    status: int
    headers: dict[str, list[str]]
    body: bytes
    sent: float
    received: float

    @property
    def latency_ms(self) -> float:
        return (self.received - self.sent) * 1000

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def cookies(self) -> dict[str, str]:
        """The cookies the answer sets (name -> value)."""
        out: dict[str, str] = {}
        for line in self.headers.get("set-cookie", []):
            name, _, rest = line.partition("=")
            out[name.strip()] = rest.split(";", 1)[0].strip().strip('"')
        return out


def request(
    method: str,
    path: str,
    *,
    host: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    waiting: deque[tuple[int, float]] = field(default_factory=deque)  # (request index, sent)
    more: asyncio.Event = field(default_factory=asyncio.Event)
    finished: bool = False  # every request of the crowd is written


class Crowd:
    """``connections`` keep-alive connections to ``host:port``; :meth:`arrive` sends a crowd.

    Use as ``async with Crowd(host, port, 200) as crowd: replies = await crowd.arrive(...)``."""

    def __init__(self, host: str, port: int, connections: int) -> None:
        self.host = host
        self.port = port
        self.size = connections
        self._connections: list[_Connection] = []

    async def __aenter__(self) -> Crowd:
        for _ in range(self.size):
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
            self._connections.append(_Connection(reader, writer))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for c in self._connections:
            c.writer.close()
        for c in self._connections:
            with contextlib.suppress(ConnectionError, OSError):
                await c.writer.wait_closed()
        self._connections = []

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    async def arrive(
        self, requests: list[bytes], over_s: float, *, tick_s: float = 0.02
    ) -> list[Reply]:
        """Write ``requests`` spread evenly over ``over_s`` seconds from now (request ``i`` on
        connection ``i % connections``), then wait for every answer; the replies in request
        order."""
        start = time.time()
        n = len(requests)
        return await self.send_at(
            requests, [start + i * over_s / n for i in range(n)], tick_s=tick_s
        )

    async def send_at(
        self, requests: list[bytes], times: list[float], *, tick_s: float = 0.02
    ) -> list[Reply]:
        """Write request ``i`` at wall-clock time ``times[i]`` (on connection ``i %
        connections``), whether or not earlier requests were answered; then wait for every
        answer. The replies in request order.

        The requests are grouped by tick of ``tick_s`` and by connection before the clock
        starts, so the timed loop only writes: one write per connection and tick (4,000 writes
        for 10,000 requests over one second on 200 connections). A late tick is written at once:
        on a loaded machine the arrival bunches up, never spreads out."""
        n = len(requests)
        replies: list[Reply | None] = [None] * n
        size = len(self._connections)
        first = min(times) if times else 0.0
        ticks: dict[int, dict[int, list[int]]] = {}
        for i in sorted(range(n), key=times.__getitem__):
            tick = max(0, int((times[i] - first) / tick_s))
            ticks.setdefault(tick, {}).setdefault(i % size, []).append(i)
        plan = [
            (first + tick * tick_s, [(k, ids, b"".join(requests[i] for i in ids))
                                     for k, ids in by_connection.items()])
            for tick, by_connection in sorted(ticks.items())
        ]  # fmt: skip
        for c in self._connections:
            c.finished = False
        readers = [asyncio.create_task(self._read(c, replies)) for c in self._connections]
        try:
            for due, writes in plan:
                delay = due - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                now = time.time()
                for k, ids, data in writes:
                    c = self._connections[k]
                    c.waiting.extend((i, now) for i in ids)
                    c.writer.write(data)
                    c.more.set()
            for c in self._connections:
                await c.writer.drain()
            for c in self._connections:
                c.finished = True
                c.more.set()
            await asyncio.gather(*readers)
        finally:
            for task in readers:
                task.cancel()
        missing = [i for i, r in enumerate(replies) if r is None]
        if missing:
            raise RuntimeError(f"{len(missing)} requests got no answer (first: {missing[0]})")
        return [r for r in replies if r is not None]

    async def _read(self, c: _Connection, replies: list[Reply | None]) -> None:
        """Read answers on one connection, in order, until no request waits there."""
        while True:
            while not c.waiting:
                if c.finished:
                    return
                c.more.clear()
                await c.more.wait()
            head = await c.reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers: dict[str, list[str]] = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers.setdefault(name.strip().lower(), []).append(value.strip())
            if "chunked" in ",".join(headers.get("transfer-encoding", [])):
                raise RuntimeError("a chunked answer: not expected from these endpoints")
            length = int(headers.get("content-length", ["0"])[0])
            body = await c.reader.readexactly(length) if length else b""
            i, sent = c.waiting.popleft()
            replies[i] = Reply(status, headers, body, sent, time.time())


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))
    return ordered[int(rank)]
