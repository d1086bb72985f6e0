"""No oversell: 1,000 concurrent order attempts over HTTP for a tier of 100 seats end with
exactly 100 seats sold; every other attempt is refused cleanly (409 sold_out)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from api_helpers import LiveServer, create_event, order_body
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.models import Order, Tier

pytestmark = [pytest.mark.postgres, pytest.mark.ganache, pytest.mark.slow]


def test_thousand_concurrent_attempts_for_hundred_seats(
    app_client: TestClient, organizer_key: str, settings, db
) -> None:
    event = create_event(app_client, organizer_key, supply=100)
    server = LiveServer(settings, workers=2)
    try:
        bodies = [order_body(event, 1) for _ in range(1000)]
        with (
            httpx.Client(
                base_url=server.url, timeout=30, limits=httpx.Limits(max_connections=64)
            ) as client,
            ThreadPoolExecutor(64) as pool,
        ):
            responses = list(pool.map(lambda b: client.post("/orders", json=b), bodies))
    finally:
        server.stop()
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 100, 409: 900}, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"sold_out"}
    with db() as session:
        assert session.scalar(select(func.sum(Order.quantity))) == 100
        tier = session.get(Tier, event["tiers"][0]["id"])
        assert tier.taken == 100 and tier.remaining == 0
