"""Fan endpoints: create an order, read it with its order token, claim custody tickets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ClientDep, LimiterDep, OrderTokenDep, ProviderDep, SessionDep, SettingsDep
from api.models import Order, OrderEvent, OrderState
from api.routes import errors
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

router = APIRouter(prefix="/orders", tags=["orders"])
OrderId = Path(pattern=r"^[0-9a-f]{32}$")


def order_out(order: Order, history: list[OrderEvent] | None = None) -> OrderOut:
    """The order as the API shows it; ``history`` given for a new order (no lazy loads)."""
    lines = order.history if history is None else history
    tickets = [] if history is not None else order.tickets
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
            for h in lines
        ],
        tickets=[
            TicketOut(
                token_id=t.token_id,
                holder=t.holder,
                custody=t.custody,
                state=t.state,
                commitment=t.commitment,
            )
            for t in tickets
        ],
    )


@router.post(
    "", status_code=201, response_model=OrderCreated, responses=errors(404, 409, 422, 429, 502)
)
def create_order(
    body: OrderCreate,
    session: SessionDep,
    provider: ProviderDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    client: ClientDep,
) -> OrderCreated:
    limiter.take(client)
    created = orders.create_order(session, provider, settings, body)
    out = order_out(created.order, [created.history])
    # ``out`` is validated already: extend it without a second validation pass
    return OrderCreated.model_construct(
        **dict(out),
        order_token=created.token,
        checkout_url=created.intent.checkout_url,
        client_secret=created.intent.client_secret,
    )


@router.get("/{order_id}", response_model=OrderOut, responses=errors(401, 404))
def get_order(session: SessionDep, token: OrderTokenDep, order_id: str = OrderId) -> OrderOut:
    return order_out(orders.order_for_token(session, order_id, token))


@router.get("/{order_id}/claim-message", response_model=ClaimMessage, responses=errors(401, 404))
def get_claim_message(
    session: SessionDep,
    token: OrderTokenDep,
    wallet: Annotated[str, Query(pattern=ADDRESS_PATTERN)],
    order_id: str = OrderId,
) -> ClaimMessage:
    order = orders.order_for_token(session, order_id, token)
    return ClaimMessage(message=claim_message(order.id, wallet))


@router.post(
    "/{order_id}/claims",
    status_code=202,
    response_model=ClaimOut,
    responses=errors(401, 403, 404, 409),
)
def claim_tickets(
    body: ClaimCreate, session: SessionDep, token: OrderTokenDep, order_id: str = OrderId
) -> ClaimOut:
    order = orders.order_for_token(session, order_id, token)
    return claims.request_claim(session, order, body)
