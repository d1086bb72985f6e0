"""``python -m api``: serve the bridge with uvicorn (FAIRGATE_API_HOST / FAIRGATE_API_PORT)."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from fairgate.settings import get_settings


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m api", description="Run the Fairgate bridge")
    parser.add_argument("--host", default=settings.api_host)
    parser.add_argument("--port", type=int, default=settings.api_port)
    parser.add_argument("--workers", type=int, default=1, help="web worker processes")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        "api.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,
        timeout_keep_alive=30,  # behind a load balancer that keeps connections open
    )


if __name__ == "__main__":
    main()
