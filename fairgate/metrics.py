"""Prometheus metrics shared by every Fairgate process: HTTP rate and latency per route, and the
exposition of a process's registry.

Processes and how each is scraped (one choice per kind of process):

* the bridge (``python -m api``): ``GET /metrics`` on the bridge itself. With several uvicorn
  worker processes, ``python -m api`` runs prometheus-client's *multiprocess mode*
  (``PROMETHEUS_MULTIPROC_DIR``, emptied at start): each worker writes its samples to memory-mapped
  files in that folder and any worker answers ``/metrics`` for all of them, so one scrape of the
  port sees the whole replica. Replicas behind a load balancer are scraped one by one (by address,
  not through the balancer).
* the minting worker (``python -m api.worker --metrics-port P``): a worker has no web server, so
  it serves its own registry on a port of its own (prometheus-client's ``start_http_server``);
  each worker process is one scrape target.
* the gate device service (``fairgate gate serve``): ``GET /metrics`` on the device's service.

Counts only: no label carries an identity (no address, order id, token, key, e-mail or client
address). HTTP metrics are labelled by the route's *template* (``/orders/{order_id}``), never the
raw path; a request that matches no route is counted as ``<unmatched>``, so a scanner sending
random paths cannot grow the label set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"
# request latency buckets (seconds): fine below 100 ms, where the order path lives
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

HTTP_REQUESTS = Counter(
    "fairgate_http_requests_total",
    "HTTP requests answered, by method, route template and status code",
    ["app", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "fairgate_http_request_duration_seconds",
    "Time from request to the end of the response, by method and route template",
    ["app", "method", "route"],
    buckets=LATENCY_BUCKETS,
)


def multiprocess() -> bool:
    """True when this process writes its samples for prometheus-client's multiprocess mode."""
    return bool(os.environ.get(MULTIPROC_ENV))


def route_template(scope: Scope) -> str:
    """The template of the route that handled ``scope`` (set by Starlette's router), or
    :data:`UNMATCHED`. A mounted app (static files) counts as its mount path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    root = scope.get("root_path", "")
    app_root = scope.get("app_root_path", "")
    if root and root != app_root:  # inside a Mount without a route of its own
        return str(root)
    endpoint = scope.get("endpoint")  # a plain Starlette route: its endpoint's name
    name = getattr(endpoint, "__name__", None)
    return f"<{name}>" if isinstance(name, str) else UNMATCHED


class HttpMetrics:
    """ASGI middleware: counts each HTTP request and observes its latency under the labels
    ``app`` (which process: bridge, gate), method, route template and status."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(scope)
            method = str(scope.get("method", "GET"))
            HTTP_REQUESTS.labels(self.name, method, route, str(status)).inc()
            HTTP_LATENCY.labels(self.name, method, route).observe(time.perf_counter() - started)


def exposition(extra: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """This process's metrics in the text format (all worker processes' in multiprocess mode),
    plus the ``extra`` collectors (values read at scrape time, e.g. from the database)."""
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Default())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Default(Collector):
    """The process-wide default registry, as a collector of a per-scrape registry."""

    def collect(self):  # type: ignore[no-untyped-def]
        return REGISTRY.collect()
