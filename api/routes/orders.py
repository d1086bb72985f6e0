"""Fan endpoints: create an order, read it with its order token, claim custody tickets."""

from __future__ import annotations

import json
import logging
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import OrderTokenDep, SessionDep, SettingsDep
from api.errors import QueueRefused
from api.metrics import RESERVATION_FAILURES
from api.models import Order, OrderState
from api.routes import errors
from api.routes.queue import Admission
from api.schemas import (
    ADDRESS_PATTERN,
    ClaimCreate,
    ClaimMessage,
    ClaimOut,
    HistoryOut,
    OrderCreate,
    OrderCreated,
    OrderOut,
    TicketOut,
)
from api.security import claim_message
from api.services import claims, orders
from fairgate.errors import TicketError
from fairgate.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/orders", tags=["orders"])
OrderId = Path(pattern=r"^[0-9a-f]{32}$")


def order_out(order: Order) -> OrderOut:
    """The order as the API shows it."""
    return OrderOut(
        id=order.id,
        event_id=order.event_id,
        tier_id=order.tier_id,
        quantity=order.quantity,
        state=OrderState(order.state),
        amount_cents=order.amount_cents,
        currency=order.currency,
        wallet=order.wallet,
        custody=order.wallet is None,
        expires_at=order.expires_at,
        created_at=order.created_at,
        payment_ref=order.payment_ref,
        failure_code=order.failure_code,
        history=[
            HistoryOut(
                from_state=OrderState(h.from_state) if h.from_state else None,
                to_state=OrderState(h.to_state),
                reason=h.reason,
                at=h.at,
            )
            for h in order.history
        ],
        tickets=[
            TicketOut(
                token_id=t.token_id,
                holder=t.holder,
                custody=t.custody,
                state=t.state,
                commitment=t.commitment,
            )
            for t in order.tickets
        ],
    )


def created_out(created: orders.CreatedOrder) -> OrderCreated:
    """A new order's answer. Built without validation (a third of an order's Python cost went
    into validating these values): every one of them is the service's own, of the right type."""
    return OrderCreated.model_construct(
        id=created.id,
        event_id=created.event_id,
        tier_id=created.tier_id,
        quantity=created.quantity,
        state=OrderState.RESERVED,
        amount_cents=created.amount_cents,
        currency=created.currency,
        wallet=created.wallet,
        custody=created.wallet is None,
        expires_at=created.expires_at,
        created_at=created.created_at,
        payment_ref=created.payment_ref,
        failure_code=None,
        history=[
            HistoryOut.model_construct(
                from_state=None,
                to_state=OrderState.RESERVED,
                reason=created.reason,
                at=created.created_at,
            )
        ],
        tickets=[],
        order_token=created.token,
        checkout_url=created.intent.checkout_url,
        client_secret=created.intent.client_secret,
    )


@router.post(
    "", status_code=201, response_model=OrderCreated, responses=errors(403, 404, 409, 422, 429, 502)
)
async def create_order(body: OrderCreate, request: Request) -> OrderCreated:
    # async: the reservation joins its tier's group commit on the event loop, with no thread hop
    # per order (a sync route also validated its response in the thread pool: a second hop).
    # The app's state is read here, not through api.deps: FastAPI's resolver cost about 0.1 ms
    # per dependency, and a session is only needed when the group commit declines the order.
    # A well-formed JSON order usually arrives through FastOrders (below), which calls this.
    state = request.app.state
    admission = Admission(request, body.event_id)
    try:
        await state.order_limiter.take(request.client.host if request.client else "unknown")
        await admission.take()  # while the event's waiting room is open: admitted fans only
        created = await orders.create_order_async(
            state.sessions, state.provider, state.settings, body
        )
    except TicketError as exc:
        RESERVATION_FAILURES.labels(exc.code).inc()
        if not isinstance(exc, QueueRefused):
            await admission.give_back()  # the fan may correct the order and try again
        raise
    log.info(
        "order reserved",
        extra={"order_id": created.id, "event_id": created.event_id, "quantity": created.quantity},
    )
    return created_out(created)


def _link_secret(settings: Settings) -> bytes:
    """The key of the claim links in ticket e-mails: they open an order as its token does."""
    return settings.claim_link_secret.get_secret_value().encode()


@router.get("/{order_id}", response_model=OrderOut, responses=errors(401, 404))
def get_order(
    session: SessionDep, settings: SettingsDep, token: OrderTokenDep, order_id: str = OrderId
) -> OrderOut:
    return order_out(
        orders.order_for_token(session, order_id, token, link_secret=_link_secret(settings))
    )


@router.get("/{order_id}/claim-message", response_model=ClaimMessage, responses=errors(401, 404))
def get_claim_message(
    session: SessionDep,
    settings: SettingsDep,
    token: OrderTokenDep,
    wallet: Annotated[str, Query(pattern=ADDRESS_PATTERN)],
    order_id: str = OrderId,
) -> ClaimMessage:
    order = orders.order_for_token(session, order_id, token, link_secret=_link_secret(settings))
    return ClaimMessage(message=claim_message(order.id, wallet))


@router.post(
    "/{order_id}/claims",
    status_code=202,
    response_model=ClaimOut,
    responses=errors(401, 403, 404, 409),
)
def claim_tickets(
    body: ClaimCreate,
    session: SessionDep,
    settings: SettingsDep,
    token: OrderTokenDep,
    order_id: str = OrderId,
) -> ClaimOut:
    order = orders.order_for_token(session, order_id, token, link_secret=_link_secret(settings))
    return claims.request_claim(session, order, body)


class FastOrders:
    """``POST /orders`` for a well-formed JSON order, without FastAPI's per-request machinery.

    Installed ahead of the router's routes (:func:`install_fast_orders`). For a body whose
    Content-Type is ``application/json`` and which is a valid :class:`OrderCreate` (parsed and
    validated exactly as FastAPI does: ``json.loads``, then the model in Python mode), it runs
    :func:`create_order`, the route itself, and answers its :class:`OrderCreated` as FastAPI
    would (201, the model's JSON by alias); errors go to the app's exception handlers as any
    route's. Anything else (another content type, bad JSON, an invalid order) is replayed to
    the FastAPI route, so every refusal is FastAPI's own, word for word; the OpenAPI document
    is the FastAPI route's.

    Why: under the balancer benchmark, FastAPI's dependency solving, exit stacks, endpoint
    context and response re-validation were about a sixth of a replica's CPU per order.
    """

    path = "/orders"  # the route template in the HTTP metrics (fairgate.metrics.route_template)

    def __init__(self, fallback: ASGIApp) -> None:
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        order = _well_formed(scope, body)
        if order is None:
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.fallback(scope, replay, send)
            return
        created = await create_order(order, Request(scope, receive))
        answer = created.model_dump_json(by_alias=True).encode()
        await Response(answer, status_code=201, media_type="application/json")(scope, receive, send)


def _well_formed(scope: Scope, body: bytes) -> OrderCreate | None:
    """The order, if the request is plain JSON and a valid order; else None (FastAPI's turn)."""
    content_type = None
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            content_type = value.split(b";", 1)[0].strip().lower()
            break
    if content_type != b"application/json" or not body:
        return None
    try:
        return OrderCreate.model_validate(json.loads(body))
    except ValueError:  # bad JSON, or a ValidationError (a ValueError too)
        return None


class _FastOrdersRoute(Route):
    """The route of :class:`FastOrders`; out of the match once it has declined a request, so
    the router, asked again, gives the request to the FastAPI route."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get(DECLINED):
            return Match.NONE, {}
        return super().matches(scope)


DECLINED = "fairgate.fast_orders_declined"


def install_fast_orders(app: FastAPI) -> None:
    """Put :class:`FastOrders` ahead of the app's routes, falling back to the FastAPI route."""
    router = app.router

    async def fallback(scope: Scope, receive: Receive, send: Send) -> None:
        scope[DECLINED] = True
        await router(scope, receive, send)

    route = _FastOrdersRoute("/orders", FastOrders(fallback), methods=["POST"])
    route.include_in_schema = False
    router.routes.insert(0, route)
