"""A gate's side of the hub: push its check-ins, pull the others', learn conflicts.

Offline-first: the gate admits from its own store whatever the network does; syncing only
narrows the window in which one ticket could enter at two gates. :meth:`GateSync.sync_once`
never raises for an unreachable or failing hub: it reports ``online=False`` and the backlog
stays in the store (``pushed = 0``) for the next attempt.

Order: push first (the others learn our admissions as early as possible), then pull from the
persisted cursor (each page is applied before the cursor after it is saved: a crash in between
applies the page again, which changes nothing), then ``/conflicts`` (merged, idempotently). A
push is marked done only after the hub answered; a lost answer means the same batch is pushed
again, which the hub counts as duplicates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from fairgate.errors import TicketError
from gate.store import CheckIn, NullifierStore, norm_event, parse_hex32

__all__ = ["GateSync", "HubClient", "HubError", "SyncReport"]

log = logging.getLogger(__name__)

CURSOR_KEY = "hub_cursor"


class HubError(TicketError, ConnectionError):
    """The hub is unreachable or refused the request."""

    code = "hub_unavailable"


class HubClient:
    """HTTP client of the bridge's hub (:mod:`api.gate_hub`) for one gate key (never logged)."""

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr | str,
        *,
        timeout_s: float = 3.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise HubError(f"hub unreachable: {type(exc).__name__}") from None
        if response.status_code >= 400:
            detail = response.text[:200]
            raise HubError(f"hub answered {response.status_code}: {detail}")
        data: dict[str, Any] = response.json()
        return data

    def push(self, event: str, entries: list[CheckIn]) -> dict[str, Any]:
        body = {"checkins": [e.to_wire() for e in entries]}
        return self._request("POST", f"/gate/events/{norm_event(event)}/checkins", json=body)

    def push_refusals(self, event: str, counts: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"refusals": counts}
        return self._request("POST", f"/gate/events/{norm_event(event)}/refusals", json=body)

    def pull(self, event: str, since: int, limit: int) -> dict[str, Any]:
        return self._request(
            "GET",
            f"/gate/events/{norm_event(event)}/checkins",
            params={"since": since, "limit": limit},
        )

    def conflicts(self, event: str) -> dict[str, Any]:
        return self._request("GET", f"/gate/events/{norm_event(event)}/conflicts")


@dataclass(frozen=True)
class SyncReport:
    """What one sync did."""

    online: bool
    pushed: int = 0
    pulled: int = 0
    new_conflicts: int = 0
    refusals: int = 0  # refusal buckets pushed
    error: str | None = None


class GateSync:
    """Syncs one gate's store for one event through a hub."""

    def __init__(
        self, store: NullifierStore, client: HubClient, event: str, *, batch: int = 500
    ) -> None:
        self.store = store
        self.client = client
        self.event = norm_event(event)
        self.batch = batch

    def push_backlog(self) -> int:
        """Push every unpushed local check-in; returns how many the hub acknowledged."""
        total = 0
        while entries := self.store.unpushed(self.event, self.batch):
            answer = self.client.push(self.event, entries)
            self.store.mark_pushed(self.event, [e.nullifier for e in entries])
            total += len(entries)
            if answer.get("conflicts"):
                log.warning("hub reports %d conflicting nullifier(s)", len(answer["conflicts"]))
        return total

    def push_refusals(self) -> int:
        """Push the refusal counters that grew since the hub last acknowledged them (cumulative
        per minute and reason: a lost answer means the same counts again, which the hub keeps
        as they are). Returns how many buckets were pushed."""
        grown = {k: c for k, (c, sent) in self.store.refusal_counts(self.event).items() if c > sent}
        items = sorted(grown.items())
        for i in range(0, len(items), self.batch):
            chunk = dict(items[i : i + self.batch])
            self.client.push_refusals(
                self.event,
                [{"reason": r, "minute": m, "count": n} for (m, r), n in chunk.items()],
            )
            self.store.mark_refusals_sent(self.event, chunk)
        return len(items)

    def pull(self) -> tuple[int, int]:
        """Apply the other gates' check-ins since the saved cursor: ``(pulled, new conflicts)``."""
        pulled = conflicts = 0
        while True:
            since = int(self.store.get_state(self.event, CURSOR_KEY) or 0)
            page = self.client.pull(self.event, since, self.batch)
            entries = [_entry(self.event, item) for item in page["checkins"]]
            _, found = self.store.apply_remote(self.event, entries)
            self.store.set_state(self.event, CURSOR_KEY, str(int(page["cursor"])))
            pulled += len(entries)
            conflicts += found
            if not page.get("more"):
                return pulled, conflicts

    def merge_conflicts(self) -> int:
        """Merge the hub's conflict list (covers conflicts between two other gates)."""
        answer = self.client.conflicts(self.event)
        found = 0
        for item in answer["conflicts"]:
            entries = [_entry(self.event, e) for e in item["entries"]]
            found += self.store.apply_remote(self.event, entries)[1]
        return found

    def sync_once(self) -> SyncReport:
        """Push, pull, merge conflicts; never raises for hub trouble (see the module doc)."""
        pushed = 0
        try:
            pushed = self.push_backlog()
            refusals = self.push_refusals()
            pulled, conflicts = self.pull()
            conflicts += self.merge_conflicts()
        except HubError as exc:
            log.warning("hub sync failed (%s); the backlog is kept", exc)
            return SyncReport(online=False, pushed=pushed, error=str(exc))
        return SyncReport(
            online=True,
            pushed=pushed,
            pulled=pulled,
            new_conflicts=conflicts,
            refusals=refusals,
        )


def _entry(event: str, item: dict[str, Any]) -> CheckIn:
    try:
        return CheckIn(
            event=event,
            nullifier=parse_hex32(item["nullifier"]),
            gate_id=str(item["gate_id"]),
            checked_at=float(item["checked_at"]),
            root=parse_hex32(item["root"]),
            challenge=parse_hex32(item["challenge"]),
            source="hub",
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HubError(f"hub sent a malformed check-in: {exc}") from None
