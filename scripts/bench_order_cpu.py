"""CPU time per order of the bridge's order path, in one process, against the real PostgreSQL
and Redis: a figure that holds on a loaded machine, where rates and latencies do not.

    .venv/bin/python scripts/bench_order_cpu.py --json reports/bench_order_cpu.json

The bridge's app (api.app.create_app, Redis configured: shared rate limit and waiting room, the
local provider taking ``--latency-ms`` to open each payment session) is driven through ASGI
directly, ``--concurrency`` orders in flight: everything of a replica but uvicorn's HTTP parsing
(the same for every route). Reported: this process's CPU milliseconds per order (all threads:
the route, the group commit's thread, the Redis client) and PostgreSQL's (this run's backends),
beside the same for ``GET /health/live`` (the trivial baseline) in the same run. Run it on two
checkouts one after the other to compare code (``cd OTHER && python
/path/to/bench_order_cpu.py``: it imports the checkout it is run from).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path.cwd()
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from api.app import create_app  # noqa: E402
from api.db import make_engine, session_factory  # noqa: E402
from api.migrate import upgrade  # noqa: E402
from api.models import Event, Organizer, Tier  # noqa: E402
from fairgate.settings import Settings  # noqa: E402

PG_ROOT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617


def backend_cpu_s(root: Any, application: str) -> float:
    """CPU seconds so far of the PostgreSQL backends named ``application`` (from /proc)."""
    total = 0.0
    with root.connect() as c:
        pids = c.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"), {"a": application}
        ).scalars()
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def drive(
    app: Any, method: str, path: str, bodies: list[bytes] | None, n: int, conc: int
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    counter = iter(range(n))

    async def one(i: int) -> None:
        body = b"" if bodies is None else bodies[i]
        headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
        headers.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": headers, "client": ("10.1.2.3", 5000),
            "server": ("127.0.0.1", 8000),
        }  # fmt: skip
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)

    async def worker() -> None:
        for i in counter:
            await one(i)

    await asyncio.gather(*(worker() for _ in range(conc)))
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    schema = "cpu_" + secrets.token_hex(4)
    root = create_engine(PG_ROOT, isolation_level="AUTOCOMMIT")
    with root.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"fairgate-{schema}"
    try:
        settings = Settings(
            env="test",
            home=home,
            database_url=f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D"
            f"{schema}&application_name={schema}",
            redis_url=SecretStr("redis://127.0.0.1:6379/0"),
            redis_prefix=f"{schema}:",
            admin_api_key=SecretStr(secrets.token_hex(16)),
            order_rate_per_s=1e9,
            order_rate_burst=10**9,
            db_pool_size=10,
            local_payment_latency_s=args.latency_ms / 1000,
        )
        engine = make_engine(settings)
        upgrade(engine)
        now = datetime.now(UTC)
        with session_factory(engine)() as s:
            organizer = Organizer(name="Bench")
            s.add(organizer)
            s.flush()
            event = Event(
                organizer_id=organizer.id, name="Bench", symbol="B", state="active",
                starts_at=now + timedelta(days=3), ends_at=now + timedelta(days=4),
            )  # fmt: skip
            s.add(event)
            s.flush()
            tier = Tier(
                event_id=event.id, tier_index=0, name="GA", price_cents=2500, face_value_wei="1",
                supply=10**6, resale_cap_bps=10000, royalty_bps=0, resale_opens_at=0,
                resale_closes_at=0,
            )  # fmt: skip
            s.add(tier)
            s.commit()
            event_id, tier_id = event.id, tier.id
        app = create_app(settings, engine=engine, with_chain=False)

        def bodies(n: int) -> list[bytes]:
            return [
                json.dumps(
                    {
                        "event_id": event_id,
                        "tier_id": tier_id,
                        "quantity": 1,
                        "email": "fan@example.com",
                        "wallet": "0x" + secrets.token_hex(20),
                        "commitments": [str(secrets.randbelow(FIELD - 1) + 1)],
                    }
                ).encode()
                for _ in range(n)
            ]

        n, conc = args.orders, args.concurrency

        async def run() -> dict[str, Any]:
            out: dict[str, Any] = {}
            await drive(app, "GET", "/health/live", None, 500, conc)  # warm-up
            cpu, wall = time.process_time(), time.perf_counter()
            statuses = await drive(app, "GET", "/health/live", None, n, conc)
            out["trivial"] = {
                "cpu_ms": round(1000 * (time.process_time() - cpu) / n, 3),
                "per_s": round(n / (time.perf_counter() - wall), 1),
                "statuses": statuses,
            }
            await drive(app, "POST", "/orders", bodies(500), 500, conc)  # warm-up
            work = bodies(n)
            db, cpu, wall = backend_cpu_s(root, schema), time.process_time(), time.perf_counter()
            statuses = await drive(app, "POST", "/orders", work, n, conc)
            out["orders"] = {
                "cpu_ms": round(1000 * (time.process_time() - cpu) / n, 3),
                "postgres_cpu_ms": round(1000 * (backend_cpu_s(root, schema) - db) / n, 3),
                "per_s": round(n / (time.perf_counter() - wall), 1),
                "statuses": statuses,
            }
            return out

        result = asyncio.run(run())
        result |= {
            "checkout": str(ROOT),
            "requests": n,
            "concurrency": conc,
            "payment_latency_ms": args.latency_ms,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average": os.getloadavg(),
            },
        }
        print(json.dumps(result, indent=2))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        engine.dispose()
    finally:
        with root.connect() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        redis_keys_cleanup(f"{schema}:")


def redis_keys_cleanup(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


if __name__ == "__main__":
    main()
