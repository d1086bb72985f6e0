"""Readiness of a bridge replica: PostgreSQL, Redis and the chain, each with its reason.

``GET /health/live`` says the process answers (nothing else is touched); ``GET /health/ready``
runs the checks below concurrently, each bounded by ``CHECK_TIMEOUT_S``, and answers 503 when the
replica cannot take orders. Only the database decides that: a load balancer takes a replica that
answers 503 out of rotation, and Redis and the chain are shared by every replica, so their being
down would empty the whole pool at once while the bridge can still sell (without Redis: limits
per process, no cache, no waiting room; without the chain: orders are taken and minted later).
They make the answer ``degraded`` instead, with the reason.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

CHECK_TIMEOUT_S = 2.0


class NotOk(Exception):
    """A check's own finding (its message is the reason as it stands)."""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    required: bool
    reason: str  # "ok", or why not (no secrets: URLs are not repeated)
    ms: float


async def _timed(name: str, required: bool, probe: Awaitable[str]) -> Check:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
        ok, reason = True, detail
    except TimeoutError:
        ok, reason = False, f"no answer within {CHECK_TIMEOUT_S:g} s"
    except NotOk as exc:
        ok, reason = False, str(exc)
    except Exception as exc:
        ok, reason = False, f"{type(exc).__name__}: {_short(exc)}"
    return Check(name, ok, required, reason, round((time.perf_counter() - started) * 1000, 2))


def _short(exc: Exception) -> str:
    """The first line of an exception's message, without anything that looks like a URL
    (a database or Redis URL may carry a password)."""
    first = (str(exc).splitlines() or [""])[0][:200]
    return " ".join(w for w in first.split() if "://" not in w and "@" not in w) or "failed"


async def _database(state: Any) -> str:
    def ping() -> str:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return f"ok ({state.engine.dialect.name})"

    return await run_in_threadpool(ping)


async def _redis(state: Any) -> str:
    shared = getattr(state, "shared", None)
    if shared is None:
        raise NotOk("off: not configured")
    status = await run_in_threadpool(shared.check)  # api.shared: one ping, marks Redis down
    if status.state != "ok":
        raise NotOk(f"{status.state}: {status.reason}")
    return "ok"


#: one HTTP client per event loop for the chain check: the load balancer asks every replica
#: twice a second, and a new client each time built a TLS context (milliseconds of CPU) for it
_CHAIN_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


async def _chain(state: Any) -> str:
    url = state.settings.rpc_url
    loop = asyncio.get_running_loop()
    client = _CHAIN_CLIENTS.get(loop)
    if client is None:
        client = _CHAIN_CLIENTS[loop] = httpx.AsyncClient(timeout=CHECK_TIMEOUT_S)
    answer = await client.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
    )
    answer.raise_for_status()
    block = int(answer.json()["result"], 16)
    return f"ok (block {block})"


async def readiness(state: Any) -> tuple[bool, dict[str, Any]]:
    """``(ready, body)``: ready unless a required check failed."""
    checks = await asyncio.gather(
        _timed("database", True, _database(state)),
        _timed("redis", False, _redis(state)),
        _timed("chain", False, _chain(state)),
    )
    ready = all(c.ok for c in checks if c.required)
    status = "ready" if all(c.ok for c in checks) else ("degraded" if ready else "unavailable")
    body = {
        "status": status,
        "checks": {
            c.name: {"ok": c.ok, "required": c.required, "reason": c.reason, "ms": c.ms}
            for c in checks
        },
    }
    return ready, body
