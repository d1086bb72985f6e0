"""Reaching a node within its provider's limits: one place that makes the web3 connection.

Public RPC endpoints (an L2's, a testnet's, a provider's free plan) limit what a client may ask:

* **requests per second**: :class:`RateLimiter` spaces requests out (GCRA: a burst of up to one
  second's worth, then one every ``1/rate`` s), shared by every thread of the process that uses
  the connection; :class:`LimitedHTTPProvider` takes a slot before each request. Waiting here is
  cheaper than the provider's 429 and the retries that follow it.
* **eth_getLogs block range**: :func:`get_logs_paged` splits a range into pages of at most
  ``settings.rpc_max_log_blocks`` blocks; :class:`chain.events.EventReader` caps its chunks at the
  same figure.

:func:`connect` builds the ``Web3`` of the settings (``rpc_url``, ``rpc_max_requests_per_s``);
:func:`check_chain` makes sure the node is the chain the settings describe, so that a development
configuration (its well-known accounts) is never pointed at a public chain by mistake.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from fairgate.errors import ConfigError
from fairgate.settings import DEV_CHAIN_IDS, Settings, get_settings

__all__ = ["LimitedHTTPProvider", "RateLimiter", "check_chain", "connect", "get_logs_paged"]


class RateLimiter:
    """At most ``per_s`` acquisitions per second on average, bursts of ``burst`` (default: one
    second's worth) allowed. Thread safe; ``clock``/``sleep`` are injectable for tests."""

    def __init__(
        self,
        per_s: float,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_s <= 0:
            raise ValueError(f"a rate must be > 0 per second, not {per_s}")
        self.interval = 1.0 / per_s
        size = max(1, int(per_s)) if burst is None else burst
        if size < 1:
            raise ValueError(f"burst must be >= 1, not {burst}")
        self.tolerance = (size - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat = clock()  # theoretical arrival time of the next request

    def acquire(self) -> float:
        """Wait for a slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            tat = max(self._tat, now)
            wait = max(0.0, tat - self.tolerance - now)
            self._tat = tat + self.interval
        if wait > 0:
            self._sleep(wait)
        return wait


class LimitedHTTPProvider(HTTPProvider):
    """web3's HTTP provider that waits for a :class:`RateLimiter` slot before each request."""

    def __init__(self, *args: Any, limiter: RateLimiter | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limiter = limiter

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if self.limiter is not None:
            self.limiter.acquire()
        response: RPCResponse = super().make_request(method, params)
        return response


def connect(settings: Settings | None = None, *, timeout_s: float = 60.0) -> Web3:
    """A ``Web3`` on ``settings.rpc_url`` within ``settings.rpc_max_requests_per_s``."""
    s = settings or get_settings()
    rate = s.rpc_max_requests_per_s
    provider = LimitedHTTPProvider(
        s.rpc_url,
        request_kwargs={"timeout": timeout_s},
        limiter=None if rate is None else RateLimiter(rate),
    )
    return Web3(provider)


def check_chain(node_chain_id: int, settings: Settings) -> None:
    """ConfigError unless the node's chain id fits the settings: the settings' own id, or any
    development id when the settings describe a development chain (Ganache, Anvil, Hardhat)."""
    if node_chain_id == settings.chain_id:
        return
    if settings.dev_chain and node_chain_id in DEV_CHAIN_IDS:
        return
    if settings.dev_chain:
        raise ConfigError(
            f"the node is chain {node_chain_id}, not a local development chain, but the settings "
            "describe one (FAIRGATE_NETWORK=dev): set FAIRGATE_NETWORK (or FAIRGATE_CHAIN_ID) and "
            "keys of your own"
        )
    raise ConfigError(
        f"the node is chain {node_chain_id}, but FAIRGATE_NETWORK={settings.network} expects "
        f"chain {settings.chain_id}: check FAIRGATE_RPC_URL"
    )


def get_logs_paged(
    w3: Web3,
    params: Mapping[str, Any],
    *,
    to_block: int | None = None,
    settings: Settings | None = None,
) -> list[Any]:
    """``eth_getLogs`` of ``params`` from its ``fromBlock`` to ``to_block`` (default: the head),
    in pages of at most ``settings.rpc_max_log_blocks`` blocks, in chain order."""
    s = settings or get_settings()
    first = int(params.get("fromBlock", 0))
    last = int(w3.eth.block_number) if to_block is None else to_block
    logs: list[Any] = []
    while first <= last:
        end = min(first + s.rpc_max_log_blocks - 1, last)
        logs.extend(w3.eth.get_logs({**params, "fromBlock": first, "toBlock": end}))  # type: ignore[typeddict-item]
        first = end + 1
    return logs
