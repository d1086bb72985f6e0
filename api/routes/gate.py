"""Gate devices (X-API-Key with role gate, bound to one event): the event's ticket commitments,
to build the gate's Merkle tree offline."""

from __future__ import annotations

from fastapi import APIRouter, Path
from sqlalchemy import select

from api.deps import PrincipalDep, SessionDep
from api.models import Ticket, Tier
from api.routes import errors
from api.schemas import GateTicket
from api.services import auth

router = APIRouter(prefix="/gate", tags=["gate"])


@router.get(
    "/events/{event_id}/tickets", response_model=list[GateTicket], responses=errors(401, 403, 404)
)
def event_tickets(
    session: SessionDep, principal: PrincipalDep, event_id: int = Path(ge=1, le=2**31 - 1)
) -> list[GateTicket]:
    event = auth.event_of_gate(session, principal, event_id)
    rows = session.execute(
        select(Ticket, Tier.tier_index)
        .join(Tier, Tier.id == Ticket.tier_id)
        .where(Ticket.event_id == event.id)
        .order_by(Ticket.token_id)
    ).all()
    return [
        GateTicket(token_id=t.token_id, tier_index=idx, commitment=t.commitment, state=t.state)
        for t, idx in rows
    ]
