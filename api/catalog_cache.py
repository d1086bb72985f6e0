"""A cache of hot catalog reads (events on sale, their tiers, prices and remaining seats) in Redis.

The catalog is read by every fan at an on-sale's peak and changes far less often than it is read.
Each answer of ``GET /events`` and ``GET /events/{id}`` is kept as its JSON body for
``catalog_cache_ttl_s`` (2 s by default), shared by every replica. PostgreSQL stays the truth:

* the indexer drops an event's entries (and the list) as soon as it applied that event's chain
  logs (ETH purchases, mints, cancellation: :func:`api.services.indexer.index_once`'s
  ``on_change``), so on-chain changes show at once;
* card reservations do not touch the cache (the order path stays one statement): the remaining
  seats shown may be up to the TTL old. That is a display; a reservation itself is always
  checked against PostgreSQL under the tier's lock, so the cache can never oversell.

Without Redis, or while it is down (:mod:`api.shared`), every read goes to the database.
"""

from __future__ import annotations

import redis

from api.shared import SharedState


class CatalogCache:
    def __init__(self, shared: SharedState, ttl_s: float) -> None:
        self.shared = shared
        self.ttl_ms = int(ttl_s * 1000)

    def _key(self, name: str) -> str:
        return self.shared.key("catalog", name)

    def get(self, name: str) -> bytes | None:
        """The cached body of ``name`` (``events``, ``event:<id>``), or None."""
        client = self.shared.sync_client() if self.ttl_ms else None
        if client is None:
            return None
        try:
            body = client.get(self._key(name))
        except redis.RedisError as exc:
            self.shared.failed(exc)
            return None
        return body if isinstance(body, bytes) else None

    def put(self, name: str, body: bytes) -> None:
        client = self.shared.sync_client() if self.ttl_ms else None
        if client is None:
            return
        try:
            client.set(self._key(name), body, px=self.ttl_ms)
        except redis.RedisError as exc:
            self.shared.failed(exc)

    def invalidate(self, event_id: int) -> None:
        """Drop what the cache holds of ``event_id``, and the list of events."""
        client = self.shared.sync_client()
        if client is None:
            return
        try:
            client.delete(self._key(f"event:{event_id}"), self._key("events"))
        except redis.RedisError as exc:
            self.shared.failed(exc)
