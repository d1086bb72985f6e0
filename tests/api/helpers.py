"""Helpers shared by the bridge tests."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.schemas import FIELD_MODULUS


def commitments(n: int) -> list[str]:
    return [str(secrets.randbelow(FIELD_MODULUS - 1) + 1) for _ in range(n)]


def event_body(supply: int = 100, *, tiers: int = 1, price_cents: int = 5000, name: str = "Show") -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "name": name, "symbol": "SHOW", "venue": "Hall",
        "starts_at": (now + timedelta(days=30)).isoformat(), "ends_at": (now + timedelta(days=31)).isoformat(),
        "tiers": [{"name": f"Tier {i}", "price_cents": price_cents, "face_value_wei": 10**15, "supply": supply,
                   "resale_cap_bps": 11000, "royalty_bps": 500,
                   "resale_opens_at": int(now.timestamp()), "resale_closes_at": int((now + timedelta(days=29)).timestamp())}
                  for i in range(tiers)],
    }


def create_event(client: TestClient, key: str, supply: int = 100, **kw: Any) -> dict[str, Any]:
    r = client.post("/organizer/events", json=event_body(supply, **kw), headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    return r.json()


def order_body(event: dict[str, Any], quantity: int = 2, wallet: str = "custody", tier: int = 0) -> dict[str, Any]:
    return {"event_id": event["id"], "tier_id": event["tiers"][tier]["id"], "quantity": quantity,
            "email": "fan@example.com", "wallet": wallet, "commitments": commitments(quantity)}


def place_order(client: TestClient, event: dict[str, Any], quantity: int = 2, wallet: str = "custody") -> dict[str, Any]:
    r = client.post("/orders", json=order_body(event, quantity, wallet))
    assert r.status_code == 201, r.text
    return r.json()


def pay(client: TestClient, order: dict[str, Any], card: str = "4242424242424242") -> dict[str, Any]:
    r = client.post(f"/checkout/{order['payment_ref']}", json={"card_number": card})
    assert r.status_code == 200, r.text
    return r.json()


def read_order(client: TestClient, order: dict[str, Any]) -> dict[str, Any]:
    r = client.get(f"/orders/{order['id']}", headers={"X-Order-Token": order["order_token"]})
    assert r.status_code == 200, r.text
    return r.json()
