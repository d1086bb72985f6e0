"""The roots a gate accepts for one event: synced from the chain, cached on disk for offline use.

A proof shows membership in *some* Merkle tree; only the root check makes it membership in the
event's tree. The platform's TicketGate contract keeps the truth (``rootStatus(event, root) ->
(publishedAt, replacedAt)``, ``isAcceptedRoot``); this module mirrors it so a gate can decide
without the network:

* **Sync** (online): new ``RootPublished`` events of the event (emitted by the TicketGate, the
  event's address their first topic) are read from a persisted cursor together with the ticket
  contract's events (:class:`chain.events.EventReader` over both addresses, reorg-aware), then
  ``rootStatus`` is asked for every root that may still be acceptable. The chain's answer wins
  over the events (a root published again after being replaced is current again; a root whose
  publication was reorged away reads ``publishedAt == 0`` and is dropped).
* **Grace**: a replaced root stays acceptable ``grace_s`` seconds counted from ``replacedAt``,
  in the chain's block time. The gate uses its setting (``root_grace_s``) and, at each sync, also
  asks ``isAcceptedRoot`` for every
  replaced root inside that window: a root the chain already refuses is refused here too, so a
  gate configured with a longer grace than the event's can never accept more than the event.
* **No grace across a change of hands**: grace exists so a proof made against the previous
  root still works while only *new* tickets were added since (every member of the old tree is
  still a member). A resale, a rotated commitment or a burn removes a member: a proof against a
  root published before that could be the seller's, so such a replaced root is refused at once
  ("replaced after tickets changed hands"), whatever the grace. The sync therefore also reads
  ``Resold``, ``CommitmentRotated`` and burning ``Transfer`` events and keeps the position
  (block, log index) of the latest one; a root is superseded when replaced and published before
  it. (The TicketGate contract's ``isAcceptedRoot`` refuses such a root too, by time:
  ``publishedAt <= holdersChangedAt``.) A *current* root published before a change of hands stays
  accepted (refusing it would stop every holder until the organizer publishes), and
  :meth:`RootCache.describe` says a publication is due.
* **Entries on-chain**: the same read brings the gate contract's ``CheckedIn`` (an entry
  verified on-chain) and ``CheckInsAnchored`` (entries anchored by a gate) of this event; their
  nullifiers are handed to ``on_chain_used`` (the service copies them into the nullifier store)
  before the new cursor is saved, so an online gate refuses a ticket that entered on the other
  path, and a failed hand-over is read again at the next sync.
* **Time offline**: the chain's clock is estimated as the last synced block's timestamp plus the
  wall-clock time elapsed since that sync (never less than that timestamp).
* **Cache**: the snapshot is written atomically (temp file + rename) after every sync and read at
  start, so a gate that boots offline keeps admitting with the last synced roots;
  :meth:`RootCache.staleness_s` says how old they are. A root published while the gate is offline
  is unknown to it until the next sync: the holder sees "ticket list not recognised here".
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from chain.events import Cursor, EventReader
from chain.ticket_event import TicketEventClient
from chain.ticket_gate import TicketGateClient
from chain.tree_logs import BURNS_ONLY, address_topic
from fairgate.errors import ChainError, ConfigError, ProofError
from gate.store import hex32, norm_event, parse_hex32
from zk.identity import gate_scope

__all__ = ["ChainUse", "RootCache", "RootExpired", "RootRecord", "RootSnapshot", "RootUnknown"]

log = logging.getLogger(__name__)

CACHE_VERSION = 2
REMOVAL_EVENTS = ("Resold", "CommitmentRotated", "Transfer")
ZERO_ADDRESS = "0x" + "00" * 20

Position = tuple[int, int]  # (block number, log index): chain order of events


class RootUnknown(ProofError):
    """ticket list not recognised here (root never published for this event)"""

    code = "root_unknown"


class RootExpired(ProofError):
    """ticket list out of date (root replaced longer ago than the grace period)"""

    code = "root_expired"


class RootSuperseded(ProofError):
    """ticket list out of date (replaced after tickets changed hands: refresh the ticket)"""

    code = "root_superseded"


@dataclass(frozen=True)
class RootRecord:
    """One published root: when it was published and replaced (0: still current), chain time."""

    root: int
    published_at: int
    replaced_at: int = 0
    chain_refused: bool = False  # the chain's isAcceptedRoot said no at the last sync
    published_pos: Position = (0, 0)  # where its (latest) RootPublished event is

    def superseded(self, last_removal: Position | None) -> bool:
        """Replaced, and a ticket changed hands after it was published (see the module doc)."""
        return (
            bool(self.replaced_at)
            and last_removal is not None
            and (last_removal > self.published_pos)
        )

    def accepted_at(
        self, chain_now: float, grace_s: int, last_removal: Position | None = None
    ) -> bool:
        if self.replaced_at == 0:
            return True
        if self.chain_refused or self.superseded(last_removal):
            return False
        return chain_now <= self.replaced_at + grace_s


@dataclass(frozen=True)
class RootSnapshot:
    """Everything a gate needs to judge roots offline."""

    chain_id: int
    event: str
    scope: int
    grace_s: int
    roots: dict[int, RootRecord] = field(default_factory=dict)
    current: int | None = None
    chain_time: int = 0  # timestamp of the newest block seen at the last sync
    block_number: int = -1
    synced_at: float = 0.0  # wall clock of the last successful sync (0: never)
    cursor: Cursor | None = None
    last_removal: Position | None = None  # the latest resale, rotation or burn seen

    def accepts(self, record: RootRecord, chain_now: float) -> bool:
        return record.accepted_at(chain_now, self.grace_s, self.last_removal)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CACHE_VERSION,
            "chain_id": self.chain_id,
            "event": self.event,
            "scope": hex32(self.scope),
            "grace_s": self.grace_s,
            "current": None if self.current is None else hex32(self.current),
            "chain_time": self.chain_time,
            "block_number": self.block_number,
            "synced_at": self.synced_at,
            "cursor": None if self.cursor is None else self.cursor.to_json(),
            "last_removal": None if self.last_removal is None else list(self.last_removal),
            "roots": [
                {**asdict(r), "root": hex32(r.root), "published_pos": list(r.published_pos)}
                for r in sorted(self.roots.values(), key=lambda r: r.published_at)
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RootSnapshot:
        if data.get("version") != CACHE_VERSION:
            raise ConfigError("root cache has an unknown version")
        roots = {}
        for item in data["roots"]:
            record = RootRecord(
                root=parse_hex32(item["root"]),
                published_at=int(item["published_at"]),
                replaced_at=int(item["replaced_at"]),
                chain_refused=bool(item["chain_refused"]),
                published_pos=_position(item["published_pos"]),
            )
            roots[record.root] = record
        return cls(
            chain_id=int(data["chain_id"]),
            event=norm_event(data["event"]),
            scope=parse_hex32(data["scope"]),
            grace_s=int(data["grace_s"]),
            roots=roots,
            current=None if data["current"] is None else parse_hex32(data["current"]),
            chain_time=int(data["chain_time"]),
            block_number=int(data["block_number"]),
            synced_at=float(data["synced_at"]),
            cursor=None if data["cursor"] is None else Cursor.from_json(data["cursor"]),
            last_removal=None if data["last_removal"] is None else _position(data["last_removal"]),
        )


def _position(value: Any) -> Position:
    block, index = value
    return int(block), int(index)


@dataclass(frozen=True)
class ChainUse:
    """A nullifier the chain records as used: ``entered`` when verified by ``checkIn`` (an
    entry at an on-chain entrance), else anchored by a gate (a copy of a gate's entry)."""

    nullifier: int
    entered: bool
    at: float  # the block's timestamp
    root: int = 0
    challenge: int = 0


GATE_LOGS = ("RootPublished", "CheckedIn", "CheckInsAnchored")


class RootCache:
    """The acceptable roots of one event on one gate device.

    ``client`` may be None for a gate that starts offline: it then needs a cache file. Checks
    (:meth:`check`) never touch the network; only :meth:`sync` does.
    """

    def __init__(
        self,
        path: Path,
        *,
        event: str,
        chain_id: int,
        grace_s: int,
        client: TicketEventClient | None = None,
        start_block: int = 0,
        clock: Callable[[], float] = time.time,
        on_chain_used: Callable[[list[ChainUse]], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.client = client
        self.on_chain_used = on_chain_used
        self.start_block = start_block
        self.clock = clock
        self._lock = threading.Lock()
        event = norm_event(event)
        cached = self._load()
        if cached is not None and (cached.event, cached.chain_id) != (event, chain_id):
            raise ConfigError(f"root cache {self.path} belongs to another event or chain")
        if cached is not None and cached.grace_s != grace_s:
            cached = replace(cached, grace_s=grace_s)  # the setting changed: use the new one
        self.snapshot = cached or RootSnapshot(
            chain_id=chain_id, event=event, scope=gate_scope(chain_id, event), grace_s=grace_s
        )

    @property
    def scope(self) -> int:
        """The event's gate scope (a proof's scope must equal it)."""
        return self.snapshot.scope

    # ------------------------------------------------------------------ offline judgement

    def chain_now(self) -> float:
        """Estimated chain time now (see the module doc)."""
        snap = self.snapshot
        if snap.synced_at == 0:
            return self.clock()
        return max(float(snap.chain_time), snap.chain_time + (self.clock() - snap.synced_at))

    def staleness_s(self) -> float | None:
        """Seconds since the last successful sync (None: never synced)."""
        synced = self.snapshot.synced_at
        return None if synced == 0 else max(0.0, self.clock() - synced)

    def accepted(self) -> set[int]:
        """The roots acceptable now."""
        snap, now = self.snapshot, self.chain_now()
        return {r.root for r in snap.roots.values() if snap.accepts(r, now)}

    def check(self, root: int) -> RootRecord:
        """The root's record if acceptable now; RootUnknown or RootExpired otherwise."""
        snap = self.snapshot
        record = snap.roots.get(root)
        if record is None:
            raise RootUnknown()
        if not snap.accepts(record, self.chain_now()):
            if record.superseded(snap.last_removal):
                raise RootSuperseded()
            raise RootExpired()
        return record

    def publication_due(self) -> bool:
        """True if a ticket changed hands after the current root was published."""
        snap = self.snapshot
        current = snap.roots.get(snap.current) if snap.current is not None else None
        return (
            current is not None
            and snap.last_removal is not None
            and snap.last_removal > current.published_pos
        )

    def describe(self) -> str:
        """One line for the gate screen: how many roots and how fresh."""
        age = self.staleness_s()
        if age is None:
            return "ticket lists never synced"
        n = len(self.accepted())
        due = "; tickets changed hands since the last publication" if self.publication_due() else ""
        return f"{n} ticket list(s) accepted, synced {_ago(age)}{due}"

    # ------------------------------------------------------------------ online sync

    def sync(self) -> bool:
        """Bring the roots up to date from the chain; False (logged) if the chain is unreachable.

        The new snapshot replaces the old one only once complete, and is written to disk first.
        """
        if self.client is None:
            return False
        with self._lock:
            try:
                snapshot, used = self._fetch(self.snapshot, self.client)
            except ChainError as exc:
                log.warning("root sync failed, keeping cached roots: %s", exc)
                return False
            if used and self.on_chain_used is not None:
                self.on_chain_used(used)  # before the cursor moves past them
            self._save(snapshot)
            self.snapshot = snapshot
        log.info(
            "roots synced at block %d: %d known, %d accepted",
            snapshot.block_number,
            len(snapshot.roots),
            len(self.accepted()),
        )
        return True

    def _fetch(
        self, old: RootSnapshot, client: TicketEventClient
    ) -> tuple[RootSnapshot, list[ChainUse]]:
        w3 = client.w3
        try:
            chain_id = int(w3.eth.chain_id)
            block = w3.eth.get_block("latest")
        except Exception as exc:  # requests/web3 raise many types for an unreachable node
            raise ChainError(f"node unreachable: {type(exc).__name__}") from None
        if chain_id != old.chain_id:
            raise ConfigError(f"the node is on chain {chain_id}, the gate on {old.chain_id}")
        try:
            gate = TicketGateClient.for_event(client)
            scope = gate.gate_scope()
        except ChainError:
            raise
        except Exception as exc:
            raise ChainError(f"reading the event's gate failed: {type(exc).__name__}") from None
        if scope != old.scope:
            raise ConfigError("the contract's gateScope differs from the computed scope")
        reader = EventReader(
            w3,
            [*client.artifact.abi, *gate.event_abi(GATE_LOGS)],
            [client.address, gate.address],
            start_block=self.start_block,
            confirmations=0,
            event_names=[*GATE_LOGS, *REMOVAL_EVENTS],
            # of the transfers, only burns: not one log per minted ticket; of the shared gate's
            # logs, only this event's
            where={**BURNS_ONLY, **{name: [address_topic(client.address)] for name in GATE_LOGS}},
        )
        try:
            events, cursor = reader.read_all(old.cursor)
        except ValueError as exc:
            raise ChainError(f"reading RootPublished failed: {exc}") from None
        chain_time = int(block["timestamp"])
        last_removal = old.last_removal
        published: dict[int, Position] = {}
        used: list[ChainUse] = []
        block_times: dict[int, float] = {}

        def block_time(number: int) -> float:
            if number not in block_times:
                try:
                    block_times[number] = float(w3.eth.get_block(number)["timestamp"])
                except Exception as exc:  # requests/web3 raise many types
                    raise ChainError(f"reading block {number} failed: {exc}") from None
            return block_times[number]

        for event in events:
            pos = (int(event["block_number"]), int(event["log_index"]))
            args = event["args"]
            if not gate.concerns(event):
                continue  # another event's log on the shared gate
            if event["event"] == "CheckedIn":
                at = block_time(pos[0])
                used.append(
                    ChainUse(
                        _int(args["nullifier"]),
                        True,
                        at,
                        _int(args["root"]),
                        int(args["challenge"]),
                    )
                )
            elif event["event"] == "CheckInsAnchored":
                at = block_time(pos[0])
                used += [ChainUse(_int(n), False, at) for n in args["nullifiers"]]
            elif event["event"] == "RootPublished":
                published[int(str(args["root"]), 16)] = pos
                previous = int(str(args["previous"]), 16)
                if previous:
                    published.setdefault(previous, (0, 0))  # its status is asked below
            elif event["event"] != "Transfer" or str(args["to"]).lower() == ZERO_ADDRESS:
                last_removal = pos if last_removal is None else max(last_removal, pos)
        # roots that may still be acceptable are asked again; the others cannot come back
        # without a new RootPublished event
        candidates = {r.root for r in old.roots.values() if old.accepts(r, chain_time)}
        candidates |= set(published)
        roots: dict[int, RootRecord] = {
            r.root: r for r in old.roots.values() if r.root not in candidates
        }
        try:
            current = gate.current_root() or None
            for root in candidates:
                published_at, replaced = gate.root_status(root)
                if published_at == 0:
                    continue  # never published (or its publication was reorged away)
                refused = False
                if replaced and chain_time <= replaced + old.grace_s:
                    refused = not gate.is_accepted_root(root)
                known = old.roots.get(root)
                pos = published.get(root, (0, 0))
                if pos == (0, 0) and known is not None:
                    pos = known.published_pos
                roots[root] = RootRecord(root, published_at, replaced, refused, pos)
        except ChainError:
            raise
        except Exception as exc:
            raise ChainError(f"reading root status failed: {type(exc).__name__}") from None
        snapshot = replace(
            old,
            roots=roots,
            current=current,
            chain_time=max(chain_time, old.chain_time),
            block_number=int(block["number"]),
            synced_at=self.clock(),
            cursor=cursor if cursor is not None else old.cursor,
            last_removal=last_removal,
        )
        return snapshot, used

    # ------------------------------------------------------------------ disk

    def _load(self) -> RootSnapshot | None:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("root cache %s unreadable (%s): starting empty", self.path, exc)
            return None
        try:
            return RootSnapshot.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("root cache %s malformed (%s): starting empty", self.path, exc)
            return None

    def _save(self, snapshot: RootSnapshot) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as handle:
            json.dump(snapshot.to_json(), handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self.path)


def _int(value: Any) -> int:
    """A decoded bytes32 (hex text or bytes) as an integer."""
    if isinstance(value, bytes | bytearray):
        return int.from_bytes(value, "big")
    return int(str(value), 16)


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)} s ago"
    if seconds < 5400:
        return f"{int(seconds // 60)} min ago"
    return f"{seconds / 3600:.1f} h ago"
