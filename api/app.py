"""The FastAPI application factory.

``create_app`` builds everything once per process (engine, session factory, payment provider,
chain adapter, Redis access, rate limiter) and keeps it in ``app.state``; routes reach it through
the typed
dependencies of :mod:`api.deps`. Errors: one handler renders every ``TicketError`` as
``{"error": {"code", "message"}}`` with the status from :data:`api.errors.STATUS`; request
validation errors and unknown routes use the same shape, and the OpenAPI document says so.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.accounts import BridgeAccounts
from api.catalog_cache import CatalogCache
from api.db import make_engine, session_factory
from api.errors import RateLimited, status_of
from api.gate_hub import hub_router
from api.pages import mount_assets
from api.payments import PaymentProvider, provider_from_settings
from api.ratelimit import OrderLimiter
from api.routes import (
    admin,
    catalog,
    checkout,
    dashboard,
    fan,
    fan_pages,
    gate,
    health,
    orders,
    organizer,
    queue,
    webhooks,
)
from api.routes.site import mount_site
from api.shared import SharedState
from api.waiting_room import WaitingRoom
from fairgate.errors import TicketError
from fairgate.logs import RequestIds
from fairgate.metrics import HttpMetrics
from fairgate.settings import Settings, get_settings

log = logging.getLogger(__name__)
ERROR_SCHEMA_REF = {"$ref": "#/components/schemas/ErrorBody"}


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    provider: PaymentProvider | None = None,
    chain: BridgeAccounts | None = None,
    with_chain: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        docs_url=None,  # served offline by api.routes.site (no CDN)
        redoc_url=None,
        title="Fairgate bridge",
        version="1.0.0",
        description="Card orders, payments and exactly-once minting of Fairgate tickets.",
        # FastAPI's own OpenTelemetry: off. The bridge's metrics are Prometheus (api.metrics) and
        # no tracer is configured, yet FastAPI asked OpenTelemetry's global providers whether
        # one was on every request: ~3 % of a replica's CPU per order in the balancer benchmark
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings)
    app.state.sessions = session_factory(app.state.engine)
    app.state.provider = provider or provider_from_settings(settings)
    if chain is None and with_chain:
        chain = BridgeAccounts.from_settings(settings)
    app.state.chain = chain
    # Redis (optional): what the replicas share; api.shared.SharedState.status() for health
    app.state.shared = SharedState.from_settings(settings)
    app.state.catalog_cache = CatalogCache(app.state.shared, settings.catalog_cache_ttl_s)
    app.state.order_limiter = OrderLimiter(
        app.state.shared, settings.order_rate_per_s, settings.order_rate_burst
    )
    # on-sale waiting rooms live in the same Redis (api.waiting_room); None without Redis
    app.state.waiting_room = (
        WaitingRoom(app.state.shared, settings.queue_secret.get_secret_value().encode())
        if app.state.shared.configured
        else None
    )
    # the waiting room first: its join is the peak's endpoint (10,000 fans within a second), and
    # FastAPI matches routes in order; behind some 150 others it cost 0.98 ms of CPU, first
    # 0.74 ms (scripts/bench_queue.py's arrival). No other route shares its paths.
    routers = (
        queue, health, catalog, orders, checkout, webhooks, organizer, gate, admin, fan, dashboard,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    orders.install_fast_orders(app)  # POST /orders ahead of FastAPI's machinery (same answers)
    app.include_router(hub_router(app))
    app.include_router(fan_pages.router)
    mount_assets(app)
    mount_site(app, settings)
    _install_error_handlers(app)
    # outermost first: the request id is set before anything logs; metrics see the final status
    app.add_middleware(HttpMetrics, name="bridge")
    app.add_middleware(RequestIds)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(dashboard.LoginRedirect)
    async def login_first(_: Request, exc: dashboard.LoginRedirect) -> RedirectResponse:
        return RedirectResponse(f"/dashboard/login?next={quote(exc.after)}", status_code=303)

    @app.exception_handler(TicketError)
    async def ticket_error(request: Request, exc: TicketError) -> Response:
        status = status_of(exc)
        if dashboard.wants_page(request):
            return dashboard.error_page(request, exc, status)
        if status >= 500:
            log.warning("%s: %s", exc.code, exc.message)
        headers = (
            {"Retry-After": str(max(1, round(exc.retry_after_s)))}
            if isinstance(exc, RateLimited)
            else None
        )
        return error_response(status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(
            422, "validation_error", f"{where}: {first.get('msg', 'invalid request')}"
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # a body that is not JSON at all: a validation error too
            return error_response(422, "validation_error", f"body: {exc.detail}")
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_response(
            exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail)
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "internal error")


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with every error response (4xx and 5xx) described as our JSON
    ErrorBody: that is what the one error handler sends, whatever the route's own type."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    default = "Validation error" if status == "422" else "Error"
                    responses[status] = {
                        "description": response.get("description", default),
                        "content": {"application/json": {"schema": ERROR_SCHEMA_REF}},
                    }
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema
