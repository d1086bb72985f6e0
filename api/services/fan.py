"""What the fan pages read from the chain, through the chain layer's typed client and log reader.

The pages (``/event/{id}``, ``/me``) hold no key: they send transactions through the fan's own
wallet and read what they need here. Everything is rebuilt from the event contract's logs and
its view functions (:class:`TicketEventClient`); nothing is written. Logs come through the one
reader of tree-changing logs (:func:`chain.tree_logs.tree_log_reader`, burns only among
transfers) plus the few events a view needs, and a holder's incoming transfers through a
``to``-topic filter. The gate path is built
the way the CLI's ``fan prove`` builds it (:func:`zk.tree_sync.tree_from_events`), but from the
events up to the *published* root's publication, so it is a path the gates accept, and only when
that tree's root equals the published one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_canonical_address, to_checksum_address

from api.accounts import BridgeAccounts
from api.models import Event
from chain.events import EventReader, EventRecord
from chain.ticket_event import TicketEventClient
from chain.ticket_gate import TicketGateClient
from chain.tree_logs import tree_log_reader
from fairgate.errors import Conflict, NotFound, TicketError
from metadata.store import ContentStore
from zk.tree_sync import tree_from_events

log = logging.getLogger(__name__)

__all__ = [
    "GatePath",
    "HeldTicket",
    "ListingView",
    "TierView",
    "event_client",
    "gate_path",
    "held_tickets",
    "listings",
    "read_events",
    "tier_metadata",
    "tier_views",
]

#: Events the fan views read beside the tree's (chain.tree_logs: burns only among transfers).
MARKET_EVENTS = ("Listed",)
GATE_EVENTS = ("RootPublished",)


def event_client(chain: BridgeAccounts, event: Event) -> TicketEventClient:
    """The typed client of an event the bridge deployed (NotFound before it is deployed)."""
    if not event.contract_address:
        raise NotFound("this event has no contract yet")
    return TicketEventClient(chain.w3, event.contract_address)


def read_events(
    chain: BridgeAccounts, event: Event, extra: Iterable[str] = MARKET_EVENTS
) -> list[EventRecord]:
    """The event's tree-changing logs (:func:`chain.tree_logs.tree_log_reader`, the reader the
    gate and the CLI use) and ``extra`` events (``RootPublished`` is the platform's TicketGate's,
    this event's only), in chain order, up to the safe head."""
    client = event_client(chain, event)
    reader = tree_log_reader(
        chain.w3,
        client.artifact.abi,
        client.address,
        start_block=max(0, int(event.deploy_block or 0)),
        extra_events=tuple(extra),
        gate=TicketGateClient.for_event(client),
        settings=chain.settings,
    )
    records, _ = reader.read_all()
    return records


def read_transfers_to(chain: BridgeAccounts, event: Event, holder: str) -> list[EventRecord]:
    """The ``Transfer`` logs to ``holder`` only (the ``to`` topic filtered by the node)."""
    client = event_client(chain, event)
    topic = b"\x00" * 12 + to_canonical_address(holder)
    reader = EventReader(
        chain.w3,
        client.artifact.abi,
        client.address,
        start_block=max(0, int(event.deploy_block or 0)),
        event_names=["Transfer"],
        where={"Transfer": [None, topic]},
        settings=chain.settings,
    )
    records, _ = reader.read_all()
    return records


# ---------------------------------------------------------------- tiers and metadata


@dataclass(frozen=True)
class TierView:
    """One tier as the chain has it (the truth for ETH buyers), beside the bridge's card price."""

    index: int
    name: str
    price_cents: int | None
    face_value_wei: int
    supply: int
    minted: int
    remaining: int
    resale_cap_bps: int
    resale_cap_wei: int
    royalty_bps: int
    resale_opens_at: int
    resale_closes_at: int


def tier_views(client: TicketEventClient, event: Event) -> list[TierView]:
    names = {t.tier_index: t for t in event.tiers}
    views = []
    for index, tier in enumerate(client.tiers()):
        row = names.get(index)
        views.append(
            TierView(
                index=index,
                name=row.name if row is not None else f"Tier {index}",
                price_cents=row.price_cents if row is not None else None,
                face_value_wei=tier.face_value,
                supply=tier.supply,
                minted=tier.minted,
                remaining=tier.remaining,
                resale_cap_bps=tier.resale_cap_bps,
                resale_cap_wei=tier.resale_cap,
                royalty_bps=tier.royalty_bps,
                resale_opens_at=tier.resale_opens_at,
                resale_closes_at=tier.resale_closes_at,
            )
        )
    return views


def base_uri(chain: BridgeAccounts, event: Event, records: list[EventRecord] | None = None) -> str:
    """The event's metadata base (``ipfs://CID/tiers/``), read from the chain.

    The contract has no getter for it: a minted ticket's ``tokenURI`` minus its tier id gives the
    current base (after any ``setBaseURI``); before the first ticket, the factory's
    ``createEvent`` calldata of the event's deployment gives the base it was created with.
    """
    client = event_client(chain, event)
    for record in records or []:
        if record["event"] == "TicketsIssued" and record["args"]["commitments"]:
            token = int(record["args"]["firstTokenId"])
            tier = str(int(record["args"]["tierId"]))
            try:
                uri = client.token_uri(token)
            except TicketError:
                continue  # burned since
            return uri[: -len(tier)] if uri.endswith(tier) else ""
    clone = next((tx for tx in event.deploy_txs or [] if tx.get("step") == "clone"), None)
    if clone is None:
        return ""
    try:
        tx = chain.w3.eth.get_transaction(clone["hash"])
        return chain.factory_at(str(tx["to"])).created_base_uri(tx["input"])
    except Exception:  # a node that forgot the transaction: the page shows no metadata
        log.warning("could not read the creation calldata of event %s", event.id, exc_info=True)
        return ""


def tier_metadata(store: ContentStore | None, base: str, tier_index: int) -> dict[str, Any] | None:
    """The tier's ERC-721 metadata from IPFS, with ``image_url`` rewritten to the gateway path
    (``/ipfs/CID/...``), or None when there is none or it cannot be read."""
    if store is None or not base.startswith("ipfs://"):
        return None
    path = base[len("ipfs://") :] + str(tier_index)
    cid, _, sub = path.partition("/")
    try:
        data = store.get(cid, sub)
        meta = json.loads(data)
    except Exception:
        log.info("no metadata at ipfs://%s", path)
        return None
    if not isinstance(meta, dict):
        return None
    image = meta.get("image")
    if isinstance(image, str) and image.startswith("ipfs://"):
        meta["image_url"] = "/ipfs/" + image[len("ipfs://") :]
    elif isinstance(image, str) and image.startswith("https://"):
        meta["image_url"] = image
    return meta


# ---------------------------------------------------------------- tickets and listings


@dataclass(frozen=True)
class ListingView:
    token_id: int
    tier_id: int
    seller: str
    price_wei: int
    reserved_for: str | None


@dataclass(frozen=True)
class HeldTicket:
    token_id: int
    tier_id: int
    commitment: str  # the ticket's current leaf, 0x + 64 hex
    listing: ListingView | None
    locked: bool  # ERC-5192: not freely transferable (always, under the market-only policy)
    resale_open: bool  # its tier's resale window is open now (chain time): list, gift, re-key
    paid_in_eth: bool
    refundable: bool  # claimable on-chain after a cancellation: bought with ETH or on the market


def _tiers_of(records: Iterable[EventRecord]) -> dict[int, int]:
    tiers: dict[int, int] = {}
    for record in records:
        if record["event"] == "TicketsIssued":
            first = int(record["args"]["firstTokenId"])
            for offset in range(len(record["args"]["commitments"])):
                tiers[first + offset] = int(record["args"]["tierId"])
    return tiers


def _listing(client: TicketEventClient, token: int, tier: int) -> ListingView | None:
    found = client.listing(token)
    if found is None:
        return None
    return ListingView(token, tier, found.seller, found.price, found.reserved_for)


def listings(client: TicketEventClient, records: list[EventRecord]) -> list[ListingView]:
    """The open listings (gifts included), confirmed with the contract's ``listing``."""
    tiers = _tiers_of(records)
    candidates = sorted({int(r["args"]["tokenId"]) for r in records if r["event"] == "Listed"})
    out = []
    for token in candidates:
        try:
            view = _listing(client, token, tiers.get(token, 0))
        except TicketError:
            continue  # burned
        if view is not None:
            out.append(view)
    return out


def held_tickets(
    client: TicketEventClient,
    records: list[EventRecord],
    transfers_to: list[EventRecord],
    holder: str,
) -> list[HeldTicket]:
    """The tickets ``holder`` owns now, with their current commitment and listing.

    ``records``: the tree's logs (:func:`read_events`); ``transfers_to``: the transfers to the
    holder (:func:`read_transfers_to`), each checked with ``ownerOf``."""
    me = to_checksum_address(holder)
    tiers = _tiers_of(records)
    received = {
        int(r["args"]["tokenId"])
        for r in transfers_to
        if to_checksum_address(r["args"]["to"]) == me
    }
    tree = tree_from_events(records)
    tiers_now = client.tiers()
    now = int(client.w3.eth.get_block("latest")["timestamp"])
    out = []
    for token in sorted(received):
        try:
            if client.owner_of(token) != me:
                continue
        except TicketError:
            continue  # burned
        out.append(
            HeldTicket(
                token_id=token,
                tier_id=tiers.get(token, 0),
                commitment=f"0x{tree.leaf(token):064x}",
                listing=_listing(client, token, tiers.get(token, 0)),
                locked=client.locked(token),
                resale_open=_open(tiers_now, tiers.get(token, 0), now),
                paid_in_eth=(paid := client.paid_in_eth(token)),
                refundable=paid or client.held_sale(token).price > 0,
            )
        )
    return out


def _open(tiers: list[Any], tier_id: int, now: int) -> bool:
    """The contract's ``_resaleOpen``: ``opensAt <= now < closesAt``."""
    if not 0 <= tier_id < len(tiers):
        return False
    tier = tiers[tier_id]
    return bool(tier.resale_opens_at <= now < tier.resale_closes_at)


def used_commitments(records: list[EventRecord], holder: str) -> list[str]:
    """Every commitment ever given for ``holder`` (issued to them, or bought by them): the
    browser skips the counters that made these when it derives a fresh secret."""
    me = to_checksum_address(holder)
    found: list[str] = []
    for r in records:
        args = r["args"]
        if r["event"] == "TicketsIssued" and to_checksum_address(args["holder"]) == me:
            found.extend(str(c) for c in args["commitments"])
        elif r["event"] == "Resold" and to_checksum_address(args["buyer"]) == me:
            found.append(str(args["commitment"]))
    return found


# ---------------------------------------------------------------- the gate path


class GateListNotReady(Conflict):
    """The published gate list cannot give this ticket a path (yet)."""

    code = "gate_list_not_ready"


@dataclass(frozen=True)
class GatePath:
    """A ticket's Merkle path in the tree of the event's published root."""

    token_id: int
    root: int
    leaf: int
    siblings: tuple[int, ...]
    scope: int
    published_block: int
    holders_changed_since: bool


def _root_of(record: EventRecord) -> int:
    value = record["args"]["root"]
    return int(value, 16) if isinstance(value, str) else int.from_bytes(bytes(value), "big")


def gate_path(client: TicketEventClient, records: list[EventRecord], token_id: int) -> GatePath:
    """The path of ``token_id`` in the tree whose root the event published last.

    The tree is rebuilt from the events up to that root's publication (a later resale is not
    in it: the gates would not accept a newer, unpublished root). GateListNotReady when no root is
    published, when the rebuilt tree does not give the published root, or when the ticket is
    not in it.
    """
    root = TicketGateClient.for_event(client).current_root()
    if root == 0:
        raise GateListNotReady("the organizer has not published the gate list yet")
    published = [r for r in records if r["event"] == "RootPublished" and _root_of(r) == root]
    if not published:
        raise GateListNotReady("the published gate list was not found in the event's history")
    last = published[-1]
    position = (last["block_number"], last["log_index"])
    before = [r for r in records if (r["block_number"], r["log_index"]) < position]
    tree = tree_from_events(before)
    if tree.root != root:
        raise GateListNotReady(
            "the gate list rebuilt from the chain does not match the published one"
        )
    if not 0 <= token_id < (1 << 20) or tree.leaf(token_id) == 0:
        raise GateListNotReady(
            f"ticket {token_id} is not in the published gate list yet: "
            "the organizer publishes a new list after sales"
        )
    later = [r for r in records if (r["block_number"], r["log_index"]) > position]
    changed = any(
        r["event"] in ("Resold", "CommitmentRotated") and int(r["args"]["tokenId"]) == token_id
        for r in later
    )
    path = tree.proof(token_id)
    return GatePath(
        token_id=token_id,
        root=root,
        leaf=path.leaf,
        siblings=tuple(path.siblings),
        scope=client.gate_scope(),
        published_block=int(last["block_number"]),
        holders_changed_since=changed,
    )
