"""Platform admin (the bootstrap key FAIRGATE_ADMIN_API_KEY): creates organizers and their keys."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep, SessionDep
from api.models import Role
from api.routes import errors
from api.schemas import OrganizerCreate, OrganizerCreated
from api.services import auth

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post(
    "/organizers", status_code=201, response_model=OrganizerCreated, responses=errors(401, 403, 422)
)
def create_organizer(
    body: OrganizerCreate, session: SessionDep, principal: PrincipalDep
) -> OrganizerCreated:
    auth.require_role(principal, Role.ADMIN)
    organizer, key = auth.create_organizer(session, body.name, body.payout_address)
    session.commit()
    return OrganizerCreated(id=organizer.id, name=organizer.name, api_key=key)
