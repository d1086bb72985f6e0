"""Helpers shared by the bridge tests."""

from __future__ import annotations

import secrets
import secrets as _secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.schemas import FIELD_MODULUS

ADMIN_KEY = "admin-" + _secrets.token_hex(8)


def commitments(n: int) -> list[str]:
    return [str(secrets.randbelow(FIELD_MODULUS - 1) + 1) for _ in range(n)]


def event_body(
    supply: int = 100, *, tiers: int = 1, price_cents: int = 5000, name: str = "Show"
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "name": name,
        "symbol": "SHOW",
        "venue": "Hall",
        "starts_at": (now + timedelta(days=30)).isoformat(),
        "ends_at": (now + timedelta(days=31)).isoformat(),
        "tiers": [
            {
                "name": f"Tier {i}",
                "price_cents": price_cents,
                "face_value_wei": 10**15,
                "supply": supply,
                "resale_cap_bps": 11000,
                "royalty_bps": 500,
                # a day back: a reverted Anvil snapshot leaves the chain's clock behind
                "resale_opens_at": int((now - timedelta(days=1)).timestamp()),
                "resale_closes_at": int((now + timedelta(days=29)).timestamp()),
            }
            for i in range(tiers)
        ],
    }


def create_event(client: TestClient, key: str, supply: int = 100, **kw: Any) -> dict[str, Any]:
    r = client.post("/organizer/events", json=event_body(supply, **kw), headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    return r.json()


def order_body(
    event: dict[str, Any], quantity: int = 2, wallet: str = "custody", tier: int = 0
) -> dict[str, Any]:
    return {
        "event_id": event["id"],
        "tier_id": event["tiers"][tier]["id"],
        "quantity": quantity,
        "email": "fan@example.com",
        "wallet": wallet,
        "commitments": commitments(quantity),
    }


def place_order(
    client: TestClient, event: dict[str, Any], quantity: int = 2, wallet: str = "custody"
) -> dict[str, Any]:
    r = client.post("/orders", json=order_body(event, quantity, wallet))
    assert r.status_code == 201, r.text
    return r.json()


def pay(
    client: TestClient, order: dict[str, Any], card: str = "4242424242424242"
) -> dict[str, Any]:
    r = client.post(f"/checkout/{order['payment_ref']}", json={"card_number": card})
    assert r.status_code == 200, r.text
    return r.json()


def read_order(client: TestClient, order: dict[str, Any]) -> dict[str, Any]:
    r = client.get(f"/orders/{order['id']}", headers={"X-Order-Token": order["order_token"]})
    assert r.status_code == 200, r.text
    return r.json()


def free_port() -> int:
    import socket

    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in (8545, 8555):
            return port


def bridge_env(settings: Any, **extra: str) -> dict[str, str]:
    """FAIRGATE_* variables that make a subprocess use the same database, chain and secrets."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRGATE_")}
    env.update(
        {
            "FAIRGATE_ENV": "test",
            "FAIRGATE_HOME": str(settings.home),
            "FAIRGATE_DATABASE_URL": settings.database_url,
            "FAIRGATE_RPC_URL": settings.rpc_url,
            "FAIRGATE_FACTORY_ADDRESS": settings.factory_address,
            "FAIRGATE_ADMIN_API_KEY": settings.admin_api_key.get_secret_value(),
            "FAIRGATE_ORDER_RATE_PER_S": str(settings.order_rate_per_s),
            "FAIRGATE_ORDER_RATE_BURST": str(settings.order_rate_burst),
            "FAIRGATE_WORKER_POLL_S": "0.05",
        }
    )
    env.update(extra)
    return env


class LiveServer:
    """``python -m api`` in a subprocess on a free port."""

    def __init__(self, settings: Any, workers: int = 1, **extra: str) -> None:
        import subprocess
        import sys
        import time

        import httpx

        from fairgate.settings import PROJECT_ROOT

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = bridge_env(settings, FAIRGATE_PUBLIC_URL=self.url, **extra)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=PROJECT_ROOT,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the bridge did not start")

    def stop(self) -> None:
        import subprocess

        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def seed_peak_event(engine: Any, supply: int, *, other_organizer: bool = False) -> dict[str, Any]:
    """An empty bridge schema (migrated, orders/events truncated) with one active event "Peak"
    (one tier of ``supply`` seats) of organizer "Peak Org": ``{"event", "tier", "key"}``, and
    ``"other_key"`` of a second organizer when asked. For the waiting-room tests, whose events
    need no contract (the address is a placeholder)."""
    from sqlalchemy import text

    from api.db import session_factory
    from api.migrate import upgrade
    from api.models import Event, Tier
    from api.services.auth import create_organizer

    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE orders, order_events, local_payments, tiers, events, organizers"
                " RESTART IDENTITY CASCADE"
            )
        )
    now = datetime.now(UTC)
    with session_factory(engine)() as s:
        organizer, key = create_organizer(s, "Peak Org", None)
        ids: dict[str, Any] = {"key": key}
        if other_organizer:
            ids["other_key"] = create_organizer(s, "Other Org", None)[1]
        s.flush()
        event = Event(
            organizer_id=organizer.id, name="Peak", symbol="PK", starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=2), state="active", contract_address="0x" + "22" * 20,
        )  # fmt: skip
        s.add(event)
        s.flush()
        tier = Tier(
            event_id=event.id, tier_index=0, name="GA", price_cents=1000, face_value_wei="1",
            supply=supply, resale_cap_bps=10000, royalty_bps=0, resale_opens_at=0,
            resale_closes_at=0,
        )  # fmt: skip
        s.add(tier)
        s.commit()
        ids |= {"event": event.id, "tier": tier.id}
    return ids
