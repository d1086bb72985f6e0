"""The on-sale waiting room on the real Redis (own key prefix per test) and PostgreSQL.

Time is the room's own clock stepped by the test (``WaitingRoom.clock``), never a sleep: the
admissions are a function of the clock, so every assertion is exact."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_helpers import order_body, seed_peak_event
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.db import make_engine, session_factory
from api.errors import InvalidRequest, QueueRefused
from api.migrate import upgrade
from api.models import Event, Order, Tier
from api.services.auth import create_organizer
from api.shared import SharedState
from api.waiting_room import WaitingRoom
from fairgate.errors import NotFound
from fairgate.settings import Settings

REDIS = "redis://127.0.0.1:6379/0"
SECRET = b"k" * 32
OPENS = 1_000_000.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_ten_thousand_fans_in_one_second_are_admitted_strictly_in_order_at_the_rate(
    shared: SharedState,
) -> None:
    rate = 500.0
    clock = Clock(OPENS - 1.0)
    fans = [f"fan-{i}" for i in range(10_000)]

    async def scenario() -> None:
        room = WaitingRoom(shared, SECRET, clock=clock)
        await room.open(7, opens_at=OPENS, rate_per_s=rate)
        # all 10,000 arrive within the second before the sale opens, concurrently
        bindings = {fan: room.binding(fan, "Mozilla/5.0") for fan in fans}
        places: dict[str, int] = {}
        tokens: dict[str, str] = {}
        for start in range(0, len(fans), 100):  # 100 at a time: the client's pool size
            batch = fans[start : start + 100]
            clock.now = OPENS - 1.0 + start / 10_000
            joined = await asyncio.gather(*(room.join(7, bindings[f]) for f in batch))
            for fan, place in zip(batch, joined, strict=True):
                places[fan] = place.place
                tokens[fan] = place.token
        assert sorted(places.values()) == list(range(1, 10_001))  # one place each, no gaps
        again = await room.join(7, bindings[fans[123]])
        assert again.place == places[fans[123]]  # joining again keeps the place
        by_place = sorted(fans, key=places.__getitem__)

        # before the opening nobody is admitted, whatever their place
        for fan in random.Random(1).sample(fans, 50) + by_place[:5]:
            with pytest.raises(QueueRefused) as refused:
                await room.claim(tokens[fan], 7, bindings[fan])
            assert refused.value.code == "queue_not_admitted"

        admitted_at: dict[str, int] = {}
        step_s = 2.0
        step = 0
        while len(admitted_at) < len(fans):
            step += 1
            clock.now = OPENS + step * step_s
            expected = min(len(fans), math.floor(rate * step * step_s))
            state = await room.state(7)
            assert state is not None and math.floor(state.admitted) == expected
            # the next fans in line and a sample of the rest all try to order now
            first_waiting = len(admitted_at)
            trying = by_place[first_waiting : expected + 200]
            trying += random.Random(step).sample(
                by_place[expected:], min(100, len(fans) - expected)
            )
            results: list[Any] = []
            for start in range(0, len(trying), 100):
                results += await asyncio.gather(
                    *(room.claim(tokens[f], 7, bindings[f]) for f in trying[start : start + 100]),
                    return_exceptions=True,
                )
            for fan, result in zip(trying, results, strict=False):
                if places[fan] <= expected:
                    assert result == places[fan], (fan, result)
                    admitted_at.setdefault(fan, step)
                else:
                    assert isinstance(result, QueueRefused) and result.code == "queue_not_admitted"
            assert len(admitted_at) == expected  # exactly the rate, never ahead of it
        # strictly in order: a fan who arrived earlier was never admitted later
        steps_in_place_order = [admitted_at[f] for f in by_place]
        assert steps_in_place_order == sorted(steps_in_place_order)
        assert step == math.ceil(len(fans) / rate / step_s)
        # a token orders once; a spent admission given back can be used again
        with pytest.raises(QueueRefused) as used:
            await room.claim(tokens[by_place[0]], 7, bindings[by_place[0]])
        assert used.value.code == "queue_token_used"
        await room.release(7, 1)
        assert await room.claim(tokens[by_place[0]], 7, bindings[by_place[0]]) == 1

    run(scenario())


def test_admissions_keep_to_the_rate_over_thousands_of_irregular_steps_at_an_epoch_time(
    shared: SharedState,
) -> None:
    """Every call advances the admissions from the last one; at an epoch time (10 digits before
    the point) a time kept with 14 significant digits lost up to 0.05 ms a step, and the count
    wandered off the rate by a place every few hundred steps."""
    opens = 1_796_000_000.0
    clock = Clock(opens - 1.0)

    async def scenario() -> None:
        room = WaitingRoom(shared, SECRET, clock=clock)
        await room.open(8, opens_at=opens, rate_per_s=2000.0)
        await asyncio.gather(*(room.join(8, room.binding(f"e-{i}", "UA")) for i in range(100)))
        for i in range(100, 10_000, 100):  # 10,000 places: the count is never capped below
            await asyncio.gather(
                *(room.join(8, room.binding(f"e-{j}", "UA")) for j in range(i, i + 100))
            )
        steps = random.Random(8)
        clock.now = opens
        for _ in range(3000):
            clock.now += steps.uniform(0.0001, 0.0017)  # like requests arriving unevenly
            state = await room.state(8)
            assert state is not None
            expected = 2000.0 * (clock.now - opens)
            assert state.admitted == pytest.approx(expected, abs=1e-6), (clock.now, expected)

    run(scenario())


def test_a_token_cannot_be_forged_moved_to_another_client_or_another_event(
    shared: SharedState,
) -> None:
    clock = Clock(OPENS + 10)

    async def scenario() -> None:
        room = WaitingRoom(shared, SECRET, clock=clock)
        await room.open(3, opens_at=OPENS, rate_per_s=100)
        mine = room.binding("cookie-a", "Firefox")
        place = await room.join(3, mine)
        token = place.token
        cases = {
            "queue_token_invalid": [
                (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), mine),  # damaged mac
                (token.replace(".1.", ".2.", 1), mine),  # another place
                (WaitingRoom(shared, b"x" * 32).token(3, 1, mine), mine),  # another key
                ("q1.3.1", mine),
                ("garbage", mine),
                (room.token(4, 1, mine), mine),  # another event's token
            ],
            "queue_token_shared": [
                (token, room.binding("cookie-b", "Firefox")),  # copied to another browser
                (token, room.binding("cookie-a", "Chrome")),  # the cookie alone, elsewhere
            ],
        }
        for code, attempts in cases.items():
            for bad, binding in attempts:
                with pytest.raises(QueueRefused) as refused:
                    await room.claim(bad, 3, binding)
                assert refused.value.code == code, bad
        with pytest.raises(QueueRefused) as none:
            await room.claim(None, 3, mine)
        assert none.value.code == "queue_required"
        clock.now += 0.01  # one admission at 100 a second
        assert await room.claim(token, 3, mine) == place.place  # the genuine one still works
        assert await room.claim(None, 99, mine) is None  # an event without a room
        with pytest.raises(NotFound):
            await room.join(99, mine)
        with pytest.raises(InvalidRequest):
            await room.open(3, opens_at=OPENS, rate_per_s=0)
        assert await room.close(3)
        assert await room.claim(None, 3, mine) is None  # closed: orders are no longer held

    run(scenario())


def test_a_room_never_banks_admissions_while_nobody_waits(shared: SharedState) -> None:
    clock = Clock(OPENS + 3600)  # an hour after the opening, nobody came

    async def scenario() -> None:
        room = WaitingRoom(shared, SECRET, clock=clock)
        await room.open(5, opens_at=OPENS, rate_per_s=10)
        for i in range(50):  # then 50 arrive at once
            await room.join(5, room.binding(f"late-{i}", "UA"))
        state = await room.state(5)
        assert state is not None and math.floor(state.admitted) == 0
        clock.now += 1.0
        state = await room.state(5)
        assert state is not None and math.floor(state.admitted) == 10
        assert state.position(50) == 39 and state.wait_s(50) == pytest.approx(4.0)

    run(scenario())


# -- the order endpoint behind the room (PostgreSQL) -----------------------------------------


@pytest.fixture()
def bridge(database_url: str, shared: SharedState, tmp_path) -> Iterator[dict[str, Any]]:
    from pydantic import SecretStr

    settings = Settings(
        env="test",
        home=tmp_path,
        database_url=database_url,
        order_rate_per_s=10_000,
        order_rate_burst=10_000,
        redis_url=SecretStr(REDIS),
        redis_prefix=shared.prefix,
        redis_timeout_s=5.0,
    )
    engine = make_engine(settings)
    ids = seed_peak_event(engine, 40, other_organizer=True)
    sessions = session_factory(engine)
    info = {"id": ids["event"], "tiers": [{"id": ids["tier"]}], "tier": ids["tier"]}
    info |= {"key": ids["key"], "other_key": ids["other_key"]}
    app = create_app(settings, engine=engine, with_chain=False)
    clock = Clock(OPENS - 5)
    app.state.waiting_room.clock = clock
    with TestClient(app) as client:
        yield {"client": client, "event": info, "sessions": sessions, "clock": clock, "app": app}
    engine.dispose()


def test_orders_need_admission_while_the_room_is_open_and_never_oversell(bridge) -> None:
    client: TestClient = bridge["client"]
    event = bridge["event"]
    clock: Clock = bridge["clock"]
    url = f"/organizer/events/{event['id']}/waiting-room"
    opens_at = datetime.fromtimestamp(OPENS, UTC).isoformat()
    body = {"opens_at": opens_at, "admit_per_s": 100}
    assert client.put(url, json=body).status_code == 401
    assert client.put(url, json=body, headers={"X-API-Key": event["other_key"]}).status_code in (
        403,
        404,
    )
    bad = client.put(url, json={**body, "admit_per_s": 0}, headers={"X-API-Key": event["key"]})
    assert bad.status_code == 422
    naive = {**body, "opens_at": "2026-12-07T12:00:00"}
    assert client.put(url, json=naive, headers={"X-API-Key": event["key"]}).status_code == 422
    opened = client.put(url, json=body, headers={"X-API-Key": event["key"]})
    assert opened.status_code == 200, opened.text
    assert opened.json()["open"] is True and opened.json()["admit_per_s"] == 100
    assert client.get(f"/queue/{event['id']}").json()["open"] is True

    def as_fan(i: int) -> dict[str, str]:
        return {"User-Agent": f"fan-browser-{i}"}

    fans: list[dict[str, str]] = []
    for i in range(300):  # 300 fans for 40 seats, all before the opening
        client.cookies.clear()
        joined = client.post(f"/queue/{event['id']}/join", headers=as_fan(i))
        assert joined.status_code == 200, joined.text
        body = joined.json()
        assert body["place"] == i + 1 and body["admitted"] is False
        fans.append(
            {
                **as_fan(i),
                "Cookie": f"fg_queue={client.cookies['fg_queue']}",
                "X-Queue-Token": body["token"],
            }
        )
    client.cookies.clear()

    def order(headers: dict[str, str]) -> Any:
        return client.post("/orders", json=order_body(event, 1), headers=headers)

    no_token = order(as_fan(0))
    assert no_token.status_code == 403
    assert no_token.json()["error"]["code"] == "queue_required"
    assert "waiting room" in no_token.json()["error"]["message"]
    early = order(fans[0])
    assert early.status_code == 403 and early.json()["error"]["code"] == "queue_not_admitted"
    shared_token = order({**fans[1], "X-Queue-Token": fans[0]["X-Queue-Token"]})
    assert shared_token.json()["error"]["code"] == "queue_token_shared"
    status = client.get(f"/queue/{event['id']}/status", headers=fans[299]).json()
    assert (status["place"], status["ahead"], status["admitted"]) == (300, 299, False)
    assert status["estimate_s"] == pytest.approx(5 + 3.0, abs=0.1)

    clock.now = OPENS + 1.0  # 100 admitted
    outcomes: dict[int, str] = {}
    for place, headers in enumerate(fans, start=1):
        r = order(headers)
        outcomes[place] = "ordered" if r.status_code == 201 else r.json()["error"]["code"]
    assert [p for p, o in outcomes.items() if o == "ordered"] == list(range(1, 41))
    assert {outcomes[p] for p in range(41, 101)} == {"sold_out"}
    assert {outcomes[p] for p in range(101, 301)} == {"queue_not_admitted"}
    assert order(fans[0]).json()["error"]["code"] == "queue_token_used"
    with bridge["sessions"]() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 40
        tier = s.get(Tier, event["tier"])
        assert tier is not None and tier.taken + tier.eth_minted <= tier.supply
    metrics = client.get("/metrics").text
    assert f'fairgate_queue_admitted_total{{event="{event["id"]}"}} 100.0' in metrics
    assert f'fairgate_queue_length{{event="{event["id"]}"}} 200.0' in metrics
    assert 'fairgate_reservation_failures_total{reason="queue_not_admitted"}' in metrics
    closed = client.delete(url, headers={"X-API-Key": event["key"]})
    assert closed.status_code == 200 and closed.json()["open"] is False
    client.cookies.clear()
    assert order(as_fan(0)).json()["error"]["code"] == "sold_out"  # no longer held back


def test_a_bridge_without_redis_has_no_room_open_and_says_so_plainly(tmp_path) -> None:
    """Without Redis no event can have a room: the fan's calls answer as for an event whose
    organizer opened none (404 / open: false, never a server error), and an organizer who tries
    to open one is told what the bridge lacks (409)."""
    settings = Settings(env="test", home=tmp_path, database_url=f"sqlite:///{tmp_path}/b.db")
    assert settings.redis_url is None
    engine = make_engine(settings)
    upgrade(engine)
    now = datetime.now(UTC)
    with session_factory(engine)() as s:
        organizer, key = create_organizer(s, "No Redis Org", None)
        s.flush()
        event = Event(
            organizer_id=organizer.id, name="Quiet", symbol="QT", starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=2), state="active", contract_address="0x" + "33" * 20,
        )  # fmt: skip
        s.add(event)
        s.commit()
        event_id = event.id
    app = create_app(settings, engine=engine, with_chain=False)
    with TestClient(app) as client:
        assert client.get(f"/queue/{event_id}").json() == {
            "event_id": event_id, "open": False, "opens_at": None, "admit_per_s": None,
            "waiting": 0, "admitted": 0,
        }  # fmt: skip
        for call in (
            client.post(f"/queue/{event_id}/join"),
            client.get(f"/queue/{event_id}/status"),
        ):
            assert call.status_code == 404, call.text
            assert "no waiting room open" in call.json()["error"]["message"]
        page = client.get(f"/event/{event_id}/queue")
        assert page.status_code == 200, page.text
        url = f"/organizer/events/{event_id}/waiting-room"
        body = {"opens_at": (now + timedelta(hours=1)).isoformat(), "admit_per_s": 10}
        refused = client.put(url, json=body, headers={"X-API-Key": key})
        assert refused.status_code == 409, refused.text
        assert "without Redis" in refused.json()["error"]["message"]
        closed = client.delete(url, headers={"X-API-Key": key})
        assert closed.status_code == 200 and closed.json()["open"] is False
    engine.dispose()
