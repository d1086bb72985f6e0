"""Redis: what the bridge's replicas share (order rate limits, hot catalog reads).

Redis is optional and never the truth: the chain and PostgreSQL are. Without ``redis_url`` the
bridge runs as one process group always has (per-process rate limits, no cache). With it, and
Redis down, the bridge keeps selling: each call that fails marks Redis down for
``redis_retry_s``, during which callers skip it at once (no connect timeout per request) and fall
back (limits per process, cache bypassed); :meth:`SharedState.status` says so, with the reason,
for the health endpoints. After ``redis_retry_s`` the next call tries Redis again.

Clients: one synchronous client per process (thread-safe pool: sync routes, the indexer) and
one asyncio client per event loop (async routes: the order route's limiter). Every key starts
with ``redis_prefix``, so several bridges (or parallel test runs) can share one Redis server.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Literal

import redis
import redis.asyncio

from fairgate.settings import Settings

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 100  # per process and event loop (redis-py's default pool size)
# the patient client's (the waiting room's): one connection per room call in flight, made on
# demand; a join holds its connection until this process's loop reads the answer, so under a
# peak 200 pipelined requests waited for 100 connections past the timeout
PATIENT_MAX_CONNECTIONS = 1000


@dataclass(frozen=True, slots=True)
class RedisStatus:
    """``ok``: Redis answers; ``down``: configured but failing (``reason`` says how: the bridge
    runs on its fallbacks); ``off``: not configured (per-process limits, no cache)."""

    state: Literal["ok", "down", "off"]
    reason: str = ""


class SharedState:
    """Access to Redis with a fallback; see the module's doc."""

    def __init__(
        self,
        url: str | None,
        prefix: str = "fairgate:",
        *,
        timeout_s: float = 0.25,
        retry_s: float = 1.0,
        patient_timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self._timeout = timeout_s
        self._patient_timeout = max(timeout_s, patient_timeout_s)
        self._retry = retry_s
        self._down_until = 0.0
        self._reason = ""
        self._lock = threading.Lock()
        self._sync: redis.Redis | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._patient: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SharedState:
        return cls(
            settings.redis_url.get_secret_value() if settings.redis_url else None,
            settings.redis_prefix,
            timeout_s=settings.redis_timeout_s,
            retry_s=settings.redis_retry_s,
            patient_timeout_s=settings.redis_room_timeout_s,
        )

    def __repr__(self) -> str:  # the URL may carry a password
        return f"SharedState(prefix={self.prefix!r})"

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    @property
    def configured(self) -> bool:
        return self.url is not None

    def usable(self) -> bool:
        """True when Redis is configured and not marked down."""
        return self.url is not None and time.monotonic() >= self._down_until

    def sync_client(self) -> redis.Redis | None:
        """The process's synchronous client, or None (off, or marked down)."""
        if not self.usable():
            return None
        with self._lock:
            if self._sync is None:
                assert self.url is not None
                self._sync = redis.Redis.from_url(
                    self.url,
                    socket_timeout=self._timeout,
                    socket_connect_timeout=self._timeout,
                    health_check_interval=30,
                )
            return self._sync

    def async_client(self, *, patient: bool = False) -> redis.asyncio.Redis | None:
        """The running event loop's asyncio client, or None (off, or marked down).

        ``patient``: the client of callers that have no fallback (the waiting room: letting an
        order through because Redis was slow to answer would defeat the room). Its calls wait up
        to ``patient_timeout_s``, and it ignores the down mark that impatient callers' timeouts
        set: under an on-sale peak the bridge's own event loop lags, and a connect or read of
        0.25 s "timed out" while Redis was fine (10,000 fans joining within one second over
        HTTP: 8,386 joins were refused with Redis marked down). A failure of its own still marks
        Redis down for everyone else."""
        if self.url is None or (not patient and not self.usable()):
            return None
        clients = self._patient if patient else self._async
        loop = asyncio.get_running_loop()
        client = clients.get(loop)
        if client is None:
            timeout = self._patient_timeout if patient else self._timeout
            # a blocking pool: above MAX_CONNECTIONS calls in flight (an on-sale peak), a call
            # waits up to its timeout for a free connection; the plain pool raised at once
            # ("Too many connections"), which marked a busy Redis down
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url,
                max_connections=PATIENT_MAX_CONNECTIONS if patient else MAX_CONNECTIONS,
                timeout=timeout,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                health_check_interval=30,
            )
            client = clients[loop] = redis.asyncio.Redis(connection_pool=pool)
        return client

    def failed(self, exc: BaseException) -> None:
        """A call failed: skip Redis for ``retry_s`` (callers use their fallback)."""
        reason = f"{type(exc).__name__}: {exc}"[:200]
        with self._lock:
            was_up = self._down_until <= time.monotonic()
            self._down_until = time.monotonic() + self._retry
            self._reason = reason
        if was_up:
            log.warning("redis unavailable (%s): per-process limits, no catalog cache", reason)

    def status(self) -> RedisStatus:
        """What the last calls found (no I/O): for health endpoints on the hot path."""
        if self.url is None:
            return RedisStatus("off", "FAIRGATE_REDIS_URL is not set: per-process limits, no cache")
        if not self.usable():
            return RedisStatus("down", self._reason)
        return RedisStatus("ok")

    def check(self) -> RedisStatus:
        """Ping Redis now (one round trip, at most ``timeout_s``) and return its status: for
        readiness checks. A failure marks Redis down as any failed call does."""
        if self.url is None:
            return self.status()
        with self._lock:
            self._down_until = 0.0  # a check always tries
        client = self.sync_client()
        assert client is not None
        try:
            client.ping()
        except redis.RedisError as exc:
            self.failed(exc)
        return self.status()

    def close(self) -> None:
        with self._lock:
            if self._sync is not None:
                self._sync.close()
                self._sync = None
