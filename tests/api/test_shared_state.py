"""Redis shared by the replicas (api.shared): one order budget per client across every replica,
and the fallback when Redis is down (the bridge keeps selling, per-process limits, and its health
says so). Two apps over one database stand for two replicas; SQLite keeps the database out of it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_helpers import order_body
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.catalog_cache import CatalogCache
from api.db import make_engine, session_factory
from api.errors import RateLimited
from api.migrate import upgrade
from api.models import Event, Organizer, Tier
from api.ratelimit import OrderLimiter
from api.shared import SharedState
from fairgate.settings import Settings

BURST = 4


def closed_port_url() -> str:
    """A Redis URL nobody answers at (a port just freed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def seed(sessions: sessionmaker[Session]) -> dict[str, Any]:
    now = datetime.now(UTC)
    with sessions() as s:
        organizer = Organizer(name="o")
        s.add(organizer)
        s.flush()
        event = Event(
            organizer_id=organizer.id, name="e", symbol="E", state="active",
            starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2),
            contract_address="0x" + "11" * 20,
        )  # fmt: skip
        s.add(event)
        s.flush()
        tier = Tier(
            event_id=event.id, tier_index=0, name="GA", price_cents=2500, face_value_wei="1",
            supply=1000, resale_cap_bps=10000, royalty_bps=0, resale_opens_at=0,
            resale_closes_at=0,
        )  # fmt: skip
        s.add(tier)
        s.commit()
        return {"id": event.id, "tiers": [{"id": tier.id}]}


@pytest.fixture()
def replicas(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``make(redis_url, prefix)``: two apps (replicas) over one SQLite database, and the event."""
    clients: list[TestClient] = []
    engine = None

    def make(
        redis_url: str | None, prefix: str = "fairgate:", cache_ttl_s: float = 2.0
    ) -> tuple[list[TestClient], Any]:
        nonlocal engine
        settings = Settings(
            env="test", home=tmp_path, order_rate_per_s=0.01, order_rate_burst=BURST,
            redis_url=SecretStr(redis_url) if redis_url else None, redis_prefix=prefix,
            catalog_cache_ttl_s=cache_ttl_s,
        )  # fmt: skip
        engine = make_engine(settings)
        upgrade(engine)
        event = seed(session_factory(engine))
        event["sessions"] = session_factory(engine)
        for _ in range(2):
            client = TestClient(create_app(settings, engine=engine, with_chain=False))
            clients.append(client.__enter__())
        return clients, event

    yield make
    for client in clients:
        client.__exit__(None, None, None)
    if engine is not None:
        engine.dispose()


def order_statuses(clients: list[TestClient], event: dict[str, Any], n: int) -> list[int]:
    """``n`` orders from one client address, alternating between the replicas."""
    return [clients[i % 2].post("/orders", json=order_body(event, 1)).status_code for i in range(n)]


def test_one_client_gets_one_budget_across_replicas(replicas: Any, redis_prefix: str) -> None:
    clients, event = replicas("redis://127.0.0.1:6379/0", redis_prefix)
    statuses = order_statuses(clients, event, 3 * BURST)
    assert statuses.count(201) == BURST  # per process, it would have been 2 x BURST
    assert statuses.count(429) == 2 * BURST
    refused = clients[0].post("/orders", json=order_body(event, 1))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    for client in clients:
        assert client.get("/health").json()["redis"] == "ok"


def test_with_redis_down_the_replicas_keep_selling_on_their_own_limits(replicas: Any) -> None:
    clients, event = replicas(closed_port_url())
    statuses = order_statuses(clients, event, 3 * BURST)
    assert statuses.count(201) == 2 * BURST  # each replica's own budget: sold, not refused
    assert statuses.count(429) == BURST
    health = clients[0].get("/health")
    assert health.status_code == 200
    assert health.json()["redis"].startswith("down: ConnectionError")


def test_without_redis_configured_health_says_off(replicas: Any) -> None:
    clients, event = replicas(None)
    assert clients[0].post("/orders", json=order_body(event, 1)).status_code == 201
    assert clients[0].get("/health").json()["redis"] == "off"


def test_the_limiter_goes_back_to_redis_when_it_returns(redis_url: str, redis_prefix: str) -> None:
    """Marked down after a failure, Redis is skipped for retry_s, then used again: the budget
    spent in Redis before the outage still counts after it."""

    async def scenario() -> None:
        shared = SharedState(redis_url, redis_prefix, retry_s=0.05)
        limiter = OrderLimiter(shared, rate_per_s=0.01, burst=2)
        await limiter.take("10.0.0.1")
        shared.failed(ConnectionError("simulated outage"))
        assert shared.status().state == "down"
        await limiter.take("10.0.0.1")  # local bucket (full): passes
        await asyncio.sleep(0.06)
        assert shared.status().state == "ok"
        await limiter.take("10.0.0.1")  # Redis: the second of the burst
        with pytest.raises(RateLimited):
            await limiter.take("10.0.0.1")
        await limiter.take("10.0.0.2")  # another client, its own budget

    asyncio.run(scenario())


def test_concurrent_orders_share_one_round_trip_and_each_spends_its_own_token(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Orders arriving together go to Redis in one script call (api.ratelimit's batches); the
    budget is kept exactly, per client, even with one client several times in a batch."""

    async def scenario() -> None:
        shared = SharedState(redis_url, redis_prefix)
        limiter = OrderLimiter(shared, rate_per_s=0.001, burst=5)
        client = shared.async_client()
        assert client is not None
        calls: list[int] = []
        evalsha = client.evalsha

        async def counted(sha: str, numkeys: int, *keys_and_args: Any) -> Any:  # the real call
            calls.append(numkeys)
            return await evalsha(sha, numkeys, *keys_and_args)

        monkeypatch.setattr(client, "evalsha", counted)

        async def take(who: str) -> int:
            try:
                await limiter.take(who)
            except RateLimited:
                return 429
            return 201

        who = ["10.0.0.1"] * 12 + ["10.0.0.2"] * 3 + ["10.0.0.1"] * 3
        statuses = await asyncio.gather(*(take(w) for w in who))
        by_client = {w: [s for x, s in zip(who, statuses, strict=True) if x == w] for w in who}
        assert by_client["10.0.0.1"] == [201] * 5 + [429] * 10  # in arrival order
        assert by_client["10.0.0.2"] == [201] * 3
        assert sum(calls) == len(who) and len(calls) <= 2  # the first alone, the rest together
        assert await take("10.0.0.2") == 201 and await take("10.0.0.2") == 201
        assert await take("10.0.0.2") == 429

    asyncio.run(scenario())


def remaining(client: TestClient, event: dict[str, Any]) -> tuple[int, int]:
    """Remaining seats as ``GET /events/{id}`` and ``GET /events`` show them."""
    one = client.get(f"/events/{event['id']}").json()["tiers"][0]["remaining"]
    [listed] = client.get("/events").json()
    return one, listed["tiers"][0]["remaining"]


def take(event: dict[str, Any], seats: int) -> None:
    with event["sessions"]() as s:
        tier = s.get(Tier, event["tiers"][0]["id"])
        tier.taken += seats
        s.commit()


def test_catalog_reads_are_shared_by_the_replicas_until_invalidated(
    replicas: Any, redis_prefix: str
) -> None:
    clients, event = replicas("redis://127.0.0.1:6379/0", redis_prefix, cache_ttl_s=60)
    assert remaining(clients[0], event) == (1000, 1000)
    take(event, 5)  # behind the cache's back (the indexer would say so)
    assert remaining(clients[1], event) == (1000, 1000)  # the other replica: the shared entry
    shared = SharedState("redis://127.0.0.1:6379/0", redis_prefix)
    CatalogCache(shared, 60).invalidate(event["id"])  # what the indexer does after a change
    assert remaining(clients[1], event) == (995, 995)
    assert clients[0].get("/events/999999").status_code == 404  # a miss is never cached as hit
    assert clients[0].get("/events/999999").status_code == 404


def test_without_a_cache_every_read_is_fresh(replicas: Any) -> None:
    clients, event = replicas(closed_port_url(), cache_ttl_s=60)  # Redis down: bypassed
    assert remaining(clients[0], event) == (1000, 1000)
    take(event, 7)
    assert remaining(clients[0], event) == (993, 993)
