"""Health and metrics: liveness, readiness (with reasons) and the Prometheus scrape endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client.registry import Collector
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.deps import ProviderDep, SessionDep
from api.metrics import Sampled, scrape_collectors
from api.readiness import readiness
from api.schemas import Health, Live
from fairgate.metrics import exposition

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


@router.get(
    "/health/ready",
    responses={
        200: {"description": "Ready (or degraded: a shared dependency is down, with the reason)"},
        503: {"description": "Not ready: the database cannot be reached (reasons per check)"},
    },
)
async def ready(request: Request) -> JSONResponse:
    """Readiness: PostgreSQL (required), Redis and the chain, each with its reason."""
    is_ready, body = await readiness(request.app.state)
    return JSONResponse(body, status_code=200 if is_ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format: this replica's counters (all its worker processes) and the
    shared stores' counts (orders by state, gate verdicts, waiting rooms)."""
    state = request.app.state
    collectors: list[Collector] = scrape_collectors(state)
    room = getattr(state, "waiting_room", None)
    if room is not None:
        try:
            families = await room.metric_families()
        except Exception:
            families = []
        collectors.append(Sampled(lambda: families))
    body, content_type = await run_in_threadpool(exposition, collectors)
    return Response(body, media_type=content_type)
