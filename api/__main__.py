"""``python -m api``: serve the bridge with uvicorn (FAIRGATE_API_HOST / FAIRGATE_API_PORT).

uvicorn runs on ``uvloop`` (libuv event loop) and ``httptools`` (C HTTP/1.1 parser) when they
are importable: both are in requirements.lock. Without them (uvloop has no Windows build) it falls
back to plain asyncio and the pure-Python ``h11`` parser, which work the same but cost several
times more CPU per request: the trivial ``/health/live`` answered 612 req/s on asyncio + h11 and
2,170-2,690 req/s on uvloop + httptools (scripts/bench_orders.py, 3 workers, 2 cores shared with
the load generator). The choice is logged at start.

Each worker process builds the app through :func:`worker_app`, which then moves everything
allocated so far (the app, web3, SQLAlchemy and pydantic machinery: some 170,000 objects) out of
the garbage collector's reach with ``gc.freeze()``. Those objects live as long as the process;
scanning them made each full collection stall a worker for 100-320 ms under load, which was the
whole p99 of POST /orders.

Logs are JSON lines (fairgate.logs; ``FAIRGATE_LOG_JSON=false`` for plain text). With
``--workers`` above 1, metrics run in prometheus-client's multiprocess mode (fairgate.metrics):
``GET /metrics`` on any worker answers for all of them.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import uvicorn

from fairgate.logs import configure_logs
from fairgate.metrics import MULTIPROC_ENV
from fairgate.settings import get_settings

log = logging.getLogger("api")
LOG_LEVEL_ENV = "FAIRGATE_SERVE_LOG_LEVEL"  # python -m api's --log-level, for its worker processes


def server_stack() -> tuple[str, str]:
    """uvicorn's ``(loop, http)``: the C implementations when installed, else asyncio and h11."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") is not None else "h11"
    return loop, http


def worker_app() -> Any:
    """uvicorn's app factory, run in each worker process: the bridge's ASGI app, with every
    object allocated up to now frozen out of the cyclic garbage collector's scans."""
    from api.asgi import app

    # a worker process spawned by uvicorn starts with no logging set up: the same JSON lines
    configure_logs(get_settings(), os.environ.get(LOG_LEVEL_ENV, "info"))
    gc.collect()
    gc.freeze()
    return app


def multiprocess_metrics_dir() -> Path:
    """Several worker processes: prometheus-client's multiprocess mode (fairgate.metrics), in the
    folder ``PROMETHEUS_MULTIPROC_DIR`` names (default: a fresh one), emptied before the workers
    start (files of a previous run would be counted again)."""
    folder = Path(os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="fairgate-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)
    log.info("metrics: multiprocess mode in %s", folder)
    return folder


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m api", description="Run the Fairgate bridge")
    parser.add_argument("--host", default=settings.api_host)
    parser.add_argument("--port", type=int, default=settings.api_port)
    parser.add_argument("--workers", type=int, default=1, help="web worker processes")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    configure_logs(settings, args.log_level)
    os.environ[LOG_LEVEL_ENV] = args.log_level  # for the worker processes (worker_app)
    if args.workers > 1:
        multiprocess_metrics_dir()
    loop, http = server_stack()
    log.info("serving on %s + %s", loop, http)
    uvicorn.run(
        "api.__main__:worker_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=None,  # keep the JSON handler configured above
        access_log=False,
        timeout_keep_alive=30,  # behind a load balancer that keeps connections open
        loop=loop,
        http=http,
    )


if __name__ == "__main__":
    main()
