"""The on-sale waiting room: a fair queue in Redis in front of an event's orders.

An organizer opens a room for an event with the time the sale opens and the rate the bridge can
serve (orders per second). From then on, until the organizer closes it:

* a fan *joins* (``POST /queue/{event}/join``) and gets the next place (Redis ``INCR``: the order
  of arrival at Redis is the order of the queue, whichever replica the fan reached) and a signed
  queue token; joining again from the same client gives the same place back;
* places ``1..floor(admitted)`` may order, where ``admitted`` grows by ``rate`` per second from the
  opening time and never runs ahead of the places given out (so an idle room does not bank
  admissions for a later crowd). It is advanced lazily, inside the same Lua script as every read,
  on Redis's own clock (``TIME``): every replica sees the same admissions, and nothing has to run
  in the background. Admission is strictly in order of places, by construction;
* ``POST /orders`` (and the event page's card form) for the event refuses an order without an
  admitted token, and a token admits one order: its place's bit in a Redis bitmap is set
  atomically (``SETBIT`` returns the old bit), and given back if the order is refused for another
  reason (bad input, sold out), so the fan can correct it and try again.

The queue token, ``q1.<event>.<place>.<binding>.<mac>``, is an HMAC-SHA256 (key:
``FAIRGATE_QUEUE_SECRET``) over the event, the place and the *client binding*: an HMAC of the
client's queue cookie (``fg_queue``, random, HttpOnly) and its User-Agent. So a token cannot be
forged (no key), nor used by another client (its cookie and browser differ: refused as
``queue_token_shared``, and counted), nor used twice (the bitmap).

An order without a token asks Redis whether the event has a room open: one round trip per
order, on the hot path of every sale without a room. Each process remembers an answer of "no
room" for ``no_room_ttl_s`` (1 s) from before it asked, and :meth:`WaitingRoom.open` returns only
after that long past its write: once an organizer's open has returned, no process anywhere still
believes the room closed, so nobody orders without admission while a room is open (as before,
an order whose check ran before the room existed may complete). "Room open" is never cached:
a closed room is seen at once.

Redis down (``api.shared``): no room can be known, so orders are not held back (the sale goes on,
limited by the rate limits) and the bridge's readiness says Redis is down; joining and the room's
pages answer 503. Slow is not down here: the room's calls wait up to ``redis_room_timeout_s`` (5 s,
the patient client of :meth:`api.shared.SharedState.async_client`), because under the peak the
bridge's own event loop lags, and with the 0.25 s of the other callers 8,386 of 10,000 fans
joining within one second were refused, while orders went through without admission. Keys live
under the settings' Redis prefix and expire ``ROOM_TTL_S`` after the room was last opened.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.errors import InvalidRequest, QueueRefused
from api.shared import SharedState
from fairgate.errors import ConfigError, NotFound

ROOM_TTL_S = 2 * 24 * 3600
NO_ROOM_TTL_S = 1.0  # how long a process trusts "this event has no room open" (see above)
CLIENT_COOKIE = "fg_queue"
TOKEN_COOKIE = "fg_qt_{event}"  # noqa: S105 - a cookie name
TOKEN_HEADER = "X-Queue-Token"  # noqa: S105 - a header name

QUEUE_REFUSALS = Counter(
    "fairgate_queue_refusals_total",
    "Orders or tokens refused by a waiting room, by reason",
    ["reason"],
)


# -- Lua: every script first advances the admissions on Redis's clock -------------------------
# KEYS[1] config hash (opens_at, rate), KEYS[2] places given out, KEYS[3] admissions hash
# (n: admitted so far, a float; at: when it was last advanced). ARGV[1]: a test clock or "".
_ADVANCE = """
local function now()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function advance(t)
  local cfg = redis.call('HMGET', KEYS[1], 'opens_at', 'rate')
  if not cfg[1] then return nil end
  local opens, rate = tonumber(cfg[1]), tonumber(cfg[2])
  local issued = tonumber(redis.call('GET', KEYS[2]) or '0')
  local adm = redis.call('HMGET', KEYS[3], 'n', 'at')
  local n = tonumber(adm[1] or '0')
  local at = tonumber(adm[2] or '0')
  if t > opens then
    local from = math.max(at, opens)
    if t > from then
      n = math.min(issued, n + (t - from) * rate)
      -- every digit (%.17g: the same double back): tostring keeps 14 significant digits, 0.1 ms
      -- of an epoch time, and each advance then added up to rate * 0.05 ms too many or too few
      -- admissions: over thousands of requests the count wandered off the rate (places ahead
      -- of it, seen at 2,000 a second by tests/api/test_waiting_room_http.py)
      redis.call('HSET', KEYS[3], 'n', string.format('%.17g', n), 'at', string.format('%.17g', t))
    end
  end
  return {opens, rate, issued, n}
end
"""
# status/claim: ARGV[2] the place (0: just the room's state); ARGV[3] "claim" to use the token
_STATE = (
    _ADVANCE
    + """
local t = now()
local s = advance(t)
if not s then return nil end
local place = tonumber(ARGV[2])
local verdict = 'state'
if place > 0 and ARGV[3] == 'claim' then
  if place > math.floor(s[4]) then
    verdict = 'not_admitted'
  elseif redis.call('SETBIT', KEYS[4], place, 1) == 1 then
    verdict = 'used'
  else
    verdict = 'claimed'
  end
end
return {string.format('%.17g', t), string.format('%.17g', s[1]), tostring(s[2]), tostring(s[3]),
        string.format('%.17g', s[4]), verdict}
"""
)
# join: KEYS[4] the client's place (one place per client binding); ARGV[2] key TTL
_JOIN = (
    _ADVANCE
    + """
local t = now()
local s = advance(t)
if not s then return nil end
local place = tonumber(redis.call('GET', KEYS[4]) or '0')
if place == 0 then
  place = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[4], place, 'EX', tonumber(ARGV[2]))
  s[3] = place > s[3] and place or s[3]
end
return {string.format('%.17g', t), string.format('%.17g', s[1]), tostring(s[2]), tostring(s[3]),
        string.format('%.17g', s[4]), tostring(place)}
"""
)


@dataclass(frozen=True, slots=True)
class RoomState:
    """A room at one instant (Redis's clock)."""

    now: float
    opens_at: float
    rate: float  # admissions per second
    issued: int  # places given out
    admitted: float  # places 1..floor(admitted) may order

    def position(self, place: int) -> int:
        """Fans ahead of ``place`` still waiting (0: admitted or next)."""
        return max(0, place - math.floor(self.admitted) - 1)

    def is_admitted(self, place: int) -> bool:
        return place <= math.floor(self.admitted)

    def wait_s(self, place: int) -> float:
        """Estimated seconds until ``place`` is admitted at the room's rate."""
        if self.is_admitted(place):
            return 0.0
        return max(0.0, self.opens_at - self.now) + (place - self.admitted) / self.rate


@dataclass(frozen=True, slots=True)
class Place:
    event_id: int
    place: int
    token: str
    state: RoomState


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class RedisUnavailable(ConfigError):
    """Redis is off or down: no waiting room can be read or joined now."""

    code = "waiting_room_unavailable"


class WaitingRoom:
    """The rooms of every event, in the bridge's Redis (:class:`api.shared.SharedState`: its
    key prefix, its asyncio client per event loop, and one place that marks Redis down).

    ``clock``: seconds since the epoch to use instead of Redis's ``TIME`` (tests step it).
    ``no_room_ttl_s``: how long an answer "no room open" is trusted by this process, and how
    long :meth:`open` waits after writing the room (0: every tokenless order asks Redis)."""

    def __init__(
        self,
        shared: SharedState,
        secret: bytes,
        *,
        clock: Callable[[], float] | None = None,
        no_room_ttl_s: float = NO_ROOM_TTL_S,
    ) -> None:
        self.shared = shared
        self.secret = secret
        self.clock = clock
        self.no_room_ttl_s = no_room_ttl_s
        # event -> time.monotonic() until which "no room open" holds (taken BEFORE asking Redis)
        self._no_room: dict[int, float] = {}
        self._asking: dict[int, asyncio.Task[bool]] = {}  # event -> its question in flight

    def _client(self) -> Redis:
        # patient: a slow answer under the peak must not open the room (api.shared)
        client = self.shared.async_client(patient=True)
        if client is None:
            status = self.shared.status()
            raise RedisUnavailable(f"the waiting room is unavailable (Redis {status.state})")
        return client

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        client = self._client()
        try:
            return await client.register_script(script)(keys=keys, args=args)
        except RedisError as exc:
            self.shared.failed(exc)
            raise RedisUnavailable("the waiting room is unavailable (Redis down)") from exc

    # -- keys -------------------------------------------------------------------------------
    def _keys(self, event_id: int) -> list[str]:
        return [self.shared.key("wr", event_id, part) for part in ("cfg", "seq", "adm", "used")]

    def _now_arg(self) -> str:
        return "" if self.clock is None else repr(self.clock())

    # -- organizer ----------------------------------------------------------------------------
    async def open(self, event_id: int, *, opens_at: float, rate_per_s: float) -> RoomState:
        """Open (or re-time) the room of ``event_id``; places already given out are kept."""
        if not (rate_per_s > 0 and math.isfinite(rate_per_s)):
            raise InvalidRequest("the admission rate must be a positive number per second")
        cfg, seq, adm, used = self._keys(event_id)
        try:
            async with self._client().pipeline(transaction=True) as pipe:
                config = {"opens_at": repr(float(opens_at)), "rate": repr(rate_per_s)}
                pipe.hset(cfg, mapping=config)  # type: ignore[arg-type]
                for key in (cfg, seq, adm, used):
                    pipe.expire(key, ROOM_TTL_S)
                await pipe.execute()
        except RedisError as exc:
            self.shared.failed(exc)
            raise RedisUnavailable("the waiting room is unavailable (Redis down)") from exc
        # every process's "no room" for this event was asked before now, so it has run out by
        # the time this returns: from then on, every tokenless order is refused everywhere
        self._no_room.pop(event_id, None)
        if self.no_room_ttl_s > 0:
            await asyncio.sleep(self.no_room_ttl_s)
        state = await self.state(event_id)
        assert state is not None
        return state

    async def close(self, event_id: int) -> bool:
        """Close the room: orders are no longer held back. True if there was one."""
        try:
            removed = await self._client().delete(*self._keys(event_id))
        except RedisError as exc:
            self.shared.failed(exc)
            raise RedisUnavailable("the waiting room is unavailable (Redis down)") from exc
        return bool(removed)

    async def state(self, event_id: int) -> RoomState | None:
        """The room of ``event_id`` now, or None when it has none."""
        raw = await self._run(_STATE, self._keys(event_id), [self._now_arg(), 0, ""])
        return None if raw is None else _room_state(raw)

    # -- fans -------------------------------------------------------------------------------
    def binding(self, client_cookie: str, user_agent: str) -> str:
        """The client binding of a token: who holds it (cookie and browser), keyed."""
        material = f"bind\x00{client_cookie}\x00{user_agent}".encode()
        return _b64(hmac.new(self.secret, material, hashlib.sha256).digest()[:16])

    def _mac(self, event_id: int, place: int, binding: str) -> str:
        message = f"q1.{event_id}.{place}.{binding}".encode()
        return _b64(hmac.new(self.secret, message, hashlib.sha256).digest())

    def token(self, event_id: int, place: int, binding: str) -> str:
        return f"q1.{event_id}.{place}.{binding}.{self._mac(event_id, place, binding)}"

    async def join(self, event_id: int, binding: str) -> Place:
        """The client's place in the room (the same one when it joins again)."""
        cfg, seq, adm, _ = self._keys(event_id)
        client_key = self.shared.key("wr", event_id, "c", binding)
        raw = await self._run(_JOIN, [cfg, seq, adm, client_key], [self._now_arg(), ROOM_TTL_S])
        if raw is None:
            raise NotFound("this event has no waiting room open")
        place = int(raw[5])
        return Place(event_id, place, self.token(event_id, place, binding), _room_state(raw))

    def verify(self, token: str, event_id: int, binding: str) -> int:
        """The place a token gives, if it is genuine, for ``event_id`` and held by ``binding``."""
        parts = token.split(".")
        if len(parts) != 5 or parts[0] != "q1" or not parts[2].isdigit():
            raise self._refuse("queue_token_invalid", "the queue token is not one of ours")
        _, event, place_s, bound, mac = parts
        place = int(place_s)
        expected = self._mac(int(event) if event.isdigit() else -1, place, bound)
        if not event.isdigit() or not hmac.compare_digest(mac, expected):
            raise self._refuse("queue_token_invalid", "the queue token is forged or damaged")
        if int(event) != event_id:
            raise self._refuse("queue_token_invalid", "this queue token is for another event")
        if not hmac.compare_digest(bound, binding):
            raise self._refuse(
                "queue_token_shared",
                "this queue token was issued to another browser; join the queue from this one",
            )
        return place

    async def status(self, token: str, event_id: int, binding: str) -> Place:
        place = self.verify(token, event_id, binding)
        state = await self.state(event_id)
        if state is None:
            raise NotFound("this event has no waiting room open")
        return Place(event_id, place, token, state)

    async def claim(self, token: str | None, event_id: int, binding: str) -> int | None:
        """Spend the admission of ``token`` for one order of ``event_id``.

        Returns the place claimed (give it back with :meth:`release` if the order then fails),
        or None when the event has no room (orders are not held back)."""
        keys = self._keys(event_id)
        if token is None:
            if not await self.has_room(event_id):
                return None
            raise self._refuse(
                "queue_required",
                "this on-sale has a waiting room: join the queue and order once admitted",
            )
        place = self.verify(token, event_id, binding)
        raw = await self._run(_STATE, keys, [self._now_arg(), place, "claim"])
        if raw is None:
            return None
        verdict = raw[5].decode() if isinstance(raw[5], bytes) else str(raw[5])
        if verdict == "not_admitted":
            state = _room_state(raw)
            raise self._refuse(
                "queue_not_admitted",
                f"not admitted yet: {state.position(place)} fan(s) ahead of you",
            )
        if verdict == "used":
            raise self._refuse("queue_token_used", "this queue token has already made an order")
        return place

    async def has_room(self, event_id: int) -> bool:
        """Whether ``event_id`` has a room open: Redis, or this process's recent "no" (see the
        module's doc: at most ``no_room_ttl_s`` old, and :meth:`open` outwaits it).

        One question to Redis at a time per event: orders arriving while it is asked wait for
        that answer (at a peak, hundreds would otherwise ask at once each time the "no" runs
        out), and in the second half of a "no"'s life one order asks again in the background
        while the others keep using it, so a steady sale never waits on the question."""
        now = time.monotonic()
        until = self._no_room.get(event_id, 0.0)
        if until > now:
            if until - now < self.no_room_ttl_s / 2 and event_id not in self._asking:
                with contextlib.suppress(RedisUnavailable):  # the "no" still holds meanwhile
                    self._ask(event_id).add_done_callback(_retrieve)  # ahead, not awaited
            return False
        asking = self._asking.get(event_id)
        if asking is None or asking.get_loop() is not asyncio.get_running_loop():
            asking = self._ask(event_id)
        return await asyncio.shield(asking)

    def _ask(self, event_id: int) -> asyncio.Task[bool]:
        """Ask Redis (one task, shared by every caller until it answers)."""
        asked = time.monotonic()  # before the question: the "no" is at most this old
        client = self._client()

        async def ask() -> bool:
            try:
                open_room = bool(await client.exists(self._keys(event_id)[0]))
            except RedisError as exc:
                self.shared.failed(exc)
                raise RedisUnavailable("the waiting room is unavailable (Redis down)") from exc
            finally:
                if self._asking.get(event_id) is task:
                    del self._asking[event_id]
            if open_room:
                self._no_room.pop(event_id, None)
            elif self.no_room_ttl_s > 0:
                if len(self._no_room) >= 10_000:  # bound the memory: stale entries are harmless
                    self._no_room.clear()
                self._no_room[event_id] = asked + self.no_room_ttl_s
            return open_room

        task = self._asking[event_id] = asyncio.ensure_future(ask())
        return task

    async def release(self, event_id: int, place: int) -> None:
        """Give an admission back (its order was refused for another reason)."""
        try:
            await self._client().setbit(self._keys(event_id)[3], place, 0)
        except RedisError as exc:
            self.shared.failed(exc)
            raise RedisUnavailable("the waiting room is unavailable (Redis down)") from exc

    @staticmethod
    def _refuse(code: str, message: str) -> QueueRefused:
        QUEUE_REFUSALS.labels(code).inc()
        return QueueRefused(code, message)

    # -- metrics ------------------------------------------------------------------------------
    async def metric_families(self) -> list[Metric]:
        """Queue length, places given out and admissions of every open room (counts only)."""
        length = GaugeMetricFamily(
            "fairgate_queue_length", "Fans waiting (places not yet admitted)", labels=["event"]
        )
        joined = CounterMetricFamily("fairgate_queue_joined", "Places given out", labels=["event"])
        admitted = CounterMetricFamily(
            "fairgate_queue_admitted", "Places admitted to order", labels=["event"]
        )
        pattern = self.shared.key("wr", "*", "cfg")
        start = len(self.shared.key("wr", ""))
        async for key in self._client().scan_iter(match=pattern, count=500):
            name = key.decode() if isinstance(key, bytes) else str(key)
            event = name[start:-4]
            if not event.isdigit():
                continue
            state = await self.state(int(event))
            if state is None:
                continue
            done = math.floor(state.admitted)
            length.add_metric([event], float(state.issued - done))
            joined.add_metric([event], float(state.issued))
            admitted.add_metric([event], float(done))
        return [length, joined, admitted]


def _room_state(raw: list[Any]) -> RoomState:
    values = [float(v) for v in raw[:5]]
    return RoomState(
        now=values[0],
        opens_at=values[1],
        rate=values[2],
        issued=int(values[3]),
        admitted=values[4],
    )


def _retrieve(task: asyncio.Task[bool]) -> None:
    """A background question's outcome is not awaited: take its error (Redis down: already
    marked by SharedState) so asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()


def new_client_cookie() -> str:
    return secrets.token_urlsafe(24)
