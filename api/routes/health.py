from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

from api.deps import ProviderDep, SessionDep
from api.schemas import Health, Live

router = APIRouter(tags=["health"])


@router.get("/health/live", response_model=Live)
def live() -> Live:
    """Liveness: answers without touching the database (also the benchmark's baseline)."""
    return Live(status="ok")


@router.get("/health", response_model=Health)
def health(session: SessionDep, provider: ProviderDep, request: Request) -> Health:
    session.execute(text("SELECT 1"))
    redis = request.app.state.shared.check()
    return Health(
        status="ok",
        database=session.get_bind().dialect.name,
        provider=provider.name,
        redis=redis.state if redis.state != "down" else f"down: {redis.reason}",
    )
