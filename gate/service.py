"""One gate device, wired from settings: roots, challenges, store, checker, hub sync, anchoring.

This is the only module that knows how the parts fit; each part stays usable alone. Files of a
device live in ``settings.gate_path``: ``<gate id>.sqlite3`` (nullifiers and challenges, one
WAL file) and ``roots-<chain id>-<event>.json`` (the root cache).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chain.ticket_event import TicketEventClient
from chain.ticket_gate import TicketGateClient
from fairgate.errors import ConfigError
from fairgate.settings import Settings, get_settings
from gate.anchor import Anchorer, AnchorReport
from gate.challenges import ChallengeBook
from gate.checker import CheckResult, GateChecker
from gate.roots import ChainUse, RootCache
from gate.store import ANCHORED_GATE, ON_CHAIN_GATE, CheckIn, NullifierStore, norm_event
from gate.sync import GateSync, HubClient, SyncReport
from zk.verifier import GateVerifier

__all__ = ["GateService"]

log = logging.getLogger(__name__)


def copy_chain_uses(store: NullifierStore, event: str, uses: list[ChainUse]) -> None:
    """Copy the nullifiers the chain records as used into the device's store (at each root
    sync): an entry at an on-chain entrance is a use like any other gate's (a conflict if this
    gate admitted it too); an anchored one is a copy of some gate's use, added only if unknown."""
    entered = [
        CheckIn(event, u.nullifier, ON_CHAIN_GATE, u.at, u.root, u.challenge)
        for u in uses
        if u.entered
    ]
    anchored = [
        CheckIn(event, u.nullifier, ANCHORED_GATE, u.at, 0, 0) for u in uses if not u.entered
    ]
    if entered:
        store.apply_remote(event, entered)
    if anchored:
        store.apply_remote(event, anchored, copies=True)


@dataclass
class GateService:
    """A gate device for one event."""

    gate_id: str
    event: str
    roots: RootCache
    challenges: ChallengeBook
    store: NullifierStore
    checker: GateChecker
    hub: GateSync | None
    client: TicketEventClient | None
    anchor_batch: int
    _background: list[tuple[threading.Event, threading.Thread]] = field(
        default_factory=list, repr=False
    )

    @classmethod
    def open(
        cls,
        *,
        event: str | None = None,
        chain_id: int | None = None,
        client: TicketEventClient | None = None,
        verifier: GateVerifier | None = None,
        settings: Settings | None = None,
        folder: Path | None = None,
        hub_transport: httpx.BaseTransport | None = None,
        start_block: int = 0,
    ) -> GateService:
        """Open (or create) the device's files and warm everything up.

        ``client`` (a :class:`TicketEventClient`, with the gate's sender for anchoring) may be
        None for a device that starts offline: it then judges with its cached roots only.
        """
        s = settings or get_settings()
        address = event or (client.address if client else None) or s.gate_event
        if address is None:
            raise ConfigError("the gate needs an event (FAIRGATE_GATE_EVENT)")
        address = norm_event(address)
        folder = folder or s.gate_path
        folder.mkdir(parents=True, exist_ok=True)
        chain = chain_id if chain_id is not None else s.chain_id
        db = folder / f"{s.gate_id}.sqlite3"
        store = NullifierStore(
            db, gate_id=s.gate_id, synchronous=s.gate_sqlite_synchronous, flush_s=s.gate_flush_s
        )
        roots = RootCache(
            folder / f"roots-{chain}-{address}.json",
            event=address,
            chain_id=chain,
            grace_s=s.root_grace_s,
            client=client,
            start_block=start_block,
            on_chain_used=lambda uses: copy_chain_uses(store, address, uses),
        )
        challenges = ChallengeBook(
            db,
            gate_id=s.gate_id,
            event=address,
            ttl_s=s.challenge_ttl_s,
            rotate_s=s.gate_challenge_rotate_s,
            scope=roots.scope,
            window_skew_s=s.gate_window_skew_s,
        )
        checker = GateChecker(
            gate_id=s.gate_id,
            event=address,
            roots=roots,
            challenges=challenges,
            store=store,
            verifier=verifier or GateVerifier.current(),
        )
        hub = None
        if s.gate_hub_url and s.gate_api_key:
            http = HubClient(
                s.gate_hub_url,
                s.gate_api_key,
                timeout_s=s.gate_hub_timeout_s,
                transport=hub_transport,
            )
            hub = GateSync(store, http, address, batch=s.gate_sync_batch)
        return cls(
            gate_id=s.gate_id,
            event=address,
            roots=roots,
            challenges=challenges,
            store=store,
            checker=checker,
            hub=hub,
            client=client,
            anchor_batch=s.gate_anchor_batch,
        )

    def check(self, scanned: str | bytes) -> CheckResult:
        return self.checker.check(scanned)

    def sync(self) -> SyncReport | None:
        """Refresh roots from the chain and exchange check-ins with the hub (both best effort)."""
        self.roots.sync()
        return self.hub.sync_once() if self.hub else None

    def sync_in_background(self, every_s: float = 15.0) -> threading.Event:
        """Sync every ``every_s`` seconds in a daemon thread until the returned event is set.

        Checks never wait for it: the store is locked per statement, and a root sync swaps in a
        complete snapshot at once. An offline period only makes each attempt fail fast (the hub
        timeout is short) and the next one retry.
        """
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every_s):
                try:
                    self.sync()
                except Exception:  # keep the door running whatever one sync hit
                    log.exception("background sync failed")

        thread = threading.Thread(target=loop, name=f"gate-sync-{self.gate_id}", daemon=True)
        thread.start()
        self._background.append((stop, thread))
        return stop

    def anchor(self) -> AnchorReport:
        """After doors: anchor every nullifier this device knows (needs the gate's sender)."""
        if self.client is None:
            raise ConfigError("anchoring needs a chain client")
        gate = TicketGateClient.for_event(self.client)
        return Anchorer(self.store, gate, self.event, batch_size=self.anchor_batch).run()

    def close(self) -> None:
        for stop, thread in self._background:
            stop.set()
            thread.join(timeout=10)
        if self.hub is not None:
            self.hub.client.close()
        self.challenges.close()
        self.store.close()
