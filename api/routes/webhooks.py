"""Payment webhooks. The raw body is verified by the configured provider before anything else."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from api.deps import ProviderDep, SessionDep
from api.routes import errors
from api.schemas import WebhookAck
from api.services.payments import handle_webhook
from fairgate.errors import NotFound

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "description": "A provider event"}}
        },
    }
}


@router.post(
    "/{provider_name}",
    response_model=WebhookAck,
    responses=errors(400, 404),
    openapi_extra=BODY_SCHEMA,
)
async def receive(
    request: Request,
    session: SessionDep,
    provider: ProviderDep,
    provider_name: str = Path(pattern=r"^(local|stripe)$"),
) -> WebhookAck:
    if provider_name != provider.name:
        raise NotFound(f"this bridge takes webhooks from {provider.name}, not {provider_name}")
    body = await request.body()
    # the database work is synchronous: keep it off the event loop
    outcome = await run_in_threadpool(
        handle_webhook, session, provider, body, dict(request.headers)
    )
    return WebhookAck(received=True, outcome=outcome)
