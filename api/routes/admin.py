"""Platform admin (the bootstrap key FAIRGATE_ADMIN_API_KEY): creates organizers and their keys."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ClientDep, PrincipalDep, SessionDep
from api.models import Role
from api.routes import errors
from api.schemas import OrganizerCreate, OrganizerCreated
from api.services import audit, auth

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post(
    "/organizers", status_code=201, response_model=OrganizerCreated, responses=errors(401, 403, 422)
)
def create_organizer(
    body: OrganizerCreate, session: SessionDep, principal: PrincipalDep, client: ClientDep
) -> OrganizerCreated:
    auth.require_role(principal, Role.ADMIN)
    organizer, key = auth.create_organizer(session, body.name, body.payout_address)
    audit.record(
        session,
        actor=audit.actor_of(principal),
        organizer_id=organizer.id,
        client=client,
        action="organizer_create",
        target=f"organizer {organizer.id}",
        after={"name": organizer.name, "payout_address": organizer.payout_address},
    )
    session.commit()
    return OrganizerCreated(id=organizer.id, name=organizer.name, api_key=key)
