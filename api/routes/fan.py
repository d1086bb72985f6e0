"""What the fan pages need from the bridge (JSON): contract ABIs, the chain's view of an event,
the fan's tickets, open listings, a ticket's gate path, and the gate circuit's files by hash.

No route here takes a key or a secret: the pages sign with the fan's own wallet and derive ticket
secrets in the browser. Reads go through the chain layer (see :mod:`api.services.fan`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse, JSONResponse

from api.deps import ChainDep, SessionDep
from api.models import Event, EventState
from api.routes import errors
from api.schemas import ChainCurrencyOut
from api.schemas_fan import (
    ChainEventOut,
    CircuitFileOut,
    GateCircuitOut,
    GatePathOut,
    HeldTicketOut,
    HolderOut,
    ListingOut,
    TierChainOut,
)
from api.services import circuit, fan
from chain import abi
from fairgate.errors import NotFound
from zk.identity import WINDOW_S

router = APIRouter(tags=["fan"])
EventId = Path(ge=1, le=2**31 - 1)
TokenId = Path(ge=0, lt=2**20)
Holder = Path(pattern=r"^0x[0-9a-fA-F]{40}$")
ContractName = Path(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
IMMUTABLE = "public, max-age=31536000, immutable"


def _event(session: SessionDep, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None or event.state not in (EventState.ACTIVE, EventState.CANCELLED):
        raise NotFound("no such event")
    return event


@router.get("/abi/{name}", responses=errors(404))
def get_abi(name: str = ContractName) -> JSONResponse:
    """A contract's ABI from the package data (pages never carry a hand-copied ABI)."""
    if name not in abi.packaged_names() or not abi.artifact(name).abi:
        raise NotFound(f"no contract named {name} in the build")
    return JSONResponse(abi.artifact(name).abi, headers={"Cache-Control": "no-cache"})


def _listing(view: fan.ListingView | None) -> ListingOut | None:
    if view is None:
        return None
    return ListingOut(
        token_id=view.token_id,
        tier_id=view.tier_id,
        seller=view.seller,
        price_wei=str(view.price_wei),
        reserved_for=view.reserved_for,
    )


@router.get("/events/{event_id}/chain", response_model=ChainEventOut, responses=errors(404, 502))
def get_chain_event(session: SessionDep, chain: ChainDep, event_id: int = EventId) -> ChainEventOut:
    """The event as its contract has it: tiers (price, remaining, cap, royalty, resale window),
    cancellation, gate scope; what a wallet page needs before it builds a transaction."""
    event = _event(session, event_id)
    client = fan.event_client(chain, event)
    currency = client.currency()
    return ChainEventOut(
        id=event.id,
        name=event.name,
        address=client.address,
        chain_id=int(chain.w3.eth.chain_id),
        cancelled=client.cancelled(),
        scope=str(client.gate_scope()),
        window_s=WINDOW_S,
        currency=ChainCurrencyOut(
            address=currency.address, symbol=currency.symbol, decimals=currency.decimals
        ),
        tiers=[TierChainOut.of(t) for t in fan.tier_views(client, event)],
    )


@router.get("/events/{event_id}/listings", response_model=list[ListingOut], responses=errors(404))
def get_listings(session: SessionDep, chain: ChainDep, event_id: int = EventId) -> list[ListingOut]:
    """Open resale listings and gifts of the event (checked against the contract)."""
    event = _event(session, event_id)
    client = fan.event_client(chain, event)
    views = fan.listings(client, fan.read_events(chain, event))
    return [out for out in (_listing(v) for v in views) if out is not None]


@router.get("/events/{event_id}/holders/{holder}", response_model=HolderOut, responses=errors(404))
def get_holder(
    session: SessionDep, chain: ChainDep, event_id: int = EventId, holder: str = Holder
) -> HolderOut:
    """A wallet's tickets of the event (tier, current commitment, listing, lock), and every
    commitment ever given for it (the page skips their counters when it makes a new secret)."""
    event = _event(session, event_id)
    client = fan.event_client(chain, event)
    records = fan.read_events(chain, event)
    transfers = fan.read_transfers_to(chain, event, holder)
    tickets = [
        HeldTicketOut(
            token_id=t.token_id,
            tier_id=t.tier_id,
            commitment=t.commitment,
            listing=_listing(t.listing),
            locked=t.locked,
            resale_open=t.resale_open,
            paid_in_eth=t.paid_in_eth,
            refundable=t.refundable,
        )
        for t in fan.held_tickets(client, records, transfers, holder)
    ]
    return HolderOut(tickets=tickets, used_commitments=fan.used_commitments(records, holder))


@router.get(
    "/events/{event_id}/tickets/{token_id}/gate-path",
    response_model=GatePathOut,
    responses=errors(404, 409),
)
def get_gate_path(
    session: SessionDep, chain: ChainDep, event_id: int = EventId, token_id: int = TokenId
) -> GatePathOut:
    """The ticket's Merkle path in the tree of the root the event published (public data: the
    proof that uses it is made in the browser, with a secret that never leaves it)."""
    event = _event(session, event_id)
    client = fan.event_client(chain, event)
    path = fan.gate_path(client, fan.read_events(chain, event, fan.GATE_EVENTS), token_id)
    return GatePathOut(
        token_id=path.token_id,
        root=str(path.root),
        leaf=str(path.leaf),
        siblings=[str(s) for s in path.siblings],
        scope=str(path.scope),
        published_block=path.published_block,
        holders_changed_since=path.holders_changed_since,
    )


def _file_out(f: circuit.CircuitFile) -> CircuitFileOut:
    return CircuitFileOut(sha256=f.sha256, bytes=f.size, url=f"/zk/files/{f.sha256}")


@router.get("/zk/gate-circuit", response_model=GateCircuitOut, responses=errors(503))
def get_gate_circuit() -> Any:
    """The wasm and zkey of the setup whose verification key the gates hold, by content hash
    (503 naming the set-up step to run when this machine's set-up has not built them)."""
    files = circuit.gate_circuit()
    body = GateCircuitOut(
        wasm=_file_out(files.wasm), zkey=_file_out(files.zkey), vkey=_file_out(files.vkey)
    )
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-cache"})


_CIRCUIT_FILE_TYPES = ("application/wasm", "application/octet-stream", "application/json")


@router.get(
    "/zk/files/{sha256}",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file's bytes: the circuit's wasm, the zkey or the vkey",
            "content": {media: {} for media in _CIRCUIT_FILE_TYPES},
        },
        **errors(404, 503),
    },
)
def get_circuit_file(sha256: str = Path(pattern=r"^[0-9a-f]{64}$")) -> FileResponse:
    """One circuit file by its SHA-256 (immutable: the URL names the content)."""
    found = circuit.file_by_hash(sha256)
    return FileResponse(
        found.path, media_type=found.media_type, headers={"Cache-Control": IMMUTABLE}
    )
