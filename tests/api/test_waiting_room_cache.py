"""The per-process memory of "this event has no room open" (api.waiting_room): an order without
a queue token no longer costs a Redis round trip per order, and the room's guarantee holds: once
an organizer's ``open`` has returned, no process lets a tokenless order through.

Two :class:`WaitingRoom` objects on one Redis prefix stand for two replicas. Real Redis, real
seconds (the memory's lifetime is the process's monotonic clock, not the room's)."""

from __future__ import annotations

import asyncio
import time

import pytest

from api.errors import QueueRefused
from api.shared import SharedState
from api.waiting_room import WaitingRoom

REDIS = "redis://127.0.0.1:6379/0"
SECRET = b"k" * 32
TTL = 0.5


def test_no_room_is_remembered_for_its_ttl_then_asked_again(shared: SharedState) -> None:
    async def scenario() -> None:
        replica = WaitingRoom(shared, SECRET, no_room_ttl_s=TTL)
        assert await replica.claim(None, 4, "b") is None  # asked Redis: no room
        # a room appears behind this process's back (not through open(), which would wait)
        client = shared.async_client()
        assert client is not None
        written = time.monotonic()
        await client.hset(shared.key("wr", 4, "cfg"), mapping={"opens_at": "0", "rate": "1"})
        assert await replica.claim(None, 4, "b") is None  # remembered: Redis not asked
        await asyncio.sleep(max(0.0, written + TTL - time.monotonic()) + 0.05)
        with pytest.raises(QueueRefused) as refused:  # the memory ran out: asked again
            await replica.claim(None, 4, "b")
        assert refused.value.code == "queue_required"
        # "room open" is never remembered: closed, it is seen at once
        assert await replica.close(4)
        assert await replica.claim(None, 4, "b") is None

    asyncio.run(scenario())


def test_once_open_returns_no_replica_lets_a_tokenless_order_through(
    shared: SharedState,
) -> None:
    async def scenario() -> None:
        organizer = WaitingRoom(shared, SECRET, no_room_ttl_s=TTL)
        replicas = [WaitingRoom(shared, SECRET, no_room_ttl_s=TTL) for _ in range(3)]
        for r in replicas:
            assert await r.claim(None, 9, "b") is None  # each now remembers "no room"
        started = time.monotonic()
        await organizer.open(9, opens_at=time.time() + 3600, rate_per_s=10)
        assert time.monotonic() - started >= TTL  # open outwaits every memory of "no room"
        for r in replicas:
            with pytest.raises(QueueRefused) as refused:
                await r.claim(None, 9, "b")
            assert refused.value.code == "queue_required"
        # another event's memory is its own
        assert await replicas[0].claim(None, 10, "b") is None

    asyncio.run(scenario())


def test_without_the_memory_every_tokenless_order_asks_redis(shared: SharedState) -> None:
    async def scenario() -> None:
        replica = WaitingRoom(shared, SECRET, no_room_ttl_s=0)
        assert await replica.claim(None, 5, "b") is None
        client = shared.async_client()
        assert client is not None
        await client.hset(shared.key("wr", 5, "cfg"), mapping={"opens_at": "0", "rate": "1"})
        with pytest.raises(QueueRefused):
            await replica.claim(None, 5, "b")

    asyncio.run(scenario())


def test_a_burst_asks_redis_once_and_a_steady_sale_asks_ahead(
    shared: SharedState, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        replica = WaitingRoom(shared, SECRET, no_room_ttl_s=1.0)
        client = replica._client()  # the room's own client (api.shared: the patient one)
        asked: list[float] = []
        exists = client.exists

        async def counted(*keys: str) -> int:  # the real call, counted
            asked.append(time.monotonic())
            return await exists(*keys)

        monkeypatch.setattr(client, "exists", counted)
        # 200 tokenless orders at once on a process that knows nothing yet: one question
        assert (
            await asyncio.gather(*(replica.claim(None, 6, "b") for _ in range(200))) == [None] * 200
        )
        assert len(asked) == 1
        # in the second half of the answer's life an order asks again, in the background: it
        # and the orders behind it answer at once from the answer still valid
        await asyncio.sleep(max(0.0, asked[0] + 0.6 - time.monotonic()))
        assert (
            await asyncio.gather(*(replica.claim(None, 6, "b") for _ in range(50))) == [None] * 50
        )
        await asyncio.sleep(0.05)
        assert len(asked) == 2
        # so a steady sale never finds the answer run out: no wait at the 1 s mark
        await asyncio.sleep(max(0.0, asked[0] + 1.1 - time.monotonic()))
        assert await replica.claim(None, 6, "b") is None
        assert len(asked) == 2

    asyncio.run(scenario())
