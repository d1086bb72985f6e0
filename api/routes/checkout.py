"""The local provider's checkout page (development and tests only; 404 with Stripe).

The page (``api/templates/checkout.html`` + ``web/src/checkout.js``) shows what is bought, takes
a test card, and then follows the order (``/checkout/{id}/status``) from paid to minted; reopened
after payment it shows that state, never "Pay" again. Knowing the payment id (128 random bits)
is what lets a browser see its order's state here, as Stripe's checkout session id does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.deps import ProviderDep, SessionDep
from api.models import Event, LocalPayment, Order, OrderState, Tier, local_time
from api.pages import render
from api.payments.base import PaymentProvider
from api.payments.local import DECLINE_CARD, PENDING, SUCCEED_CARD, LocalProvider
from api.routes import errors
from api.schemas import WebhookAck
from api.services.payments import handle_webhook
from fairgate.errors import NotFound

router = APIRouter(prefix="/checkout", tags=["checkout"])
PaymentId = Path(pattern=r"^pi_local_[0-9a-f]{32}$")


class CheckoutTicket(BaseModel):
    token_id: int
    state: str


class CheckoutStatus(BaseModel):
    state: str
    order_state: str
    notice: str
    text: str
    tickets: list[CheckoutTicket]


class CheckoutPay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card_number: str = Field(min_length=12, max_length=23, pattern=r"^[0-9 ]+$")


def _local(provider: PaymentProvider) -> LocalProvider:
    if not isinstance(provider, LocalProvider):
        raise NotFound("checkout pages exist only with the local payment provider")
    return provider


#: The page's states: what the fan sees, and the line the status box says.
_STATES: dict[str, tuple[str, str]] = {
    "pay": ("warn", "Not paid yet."),
    "paid": ("ok", "Paid. Your tickets are being minted…"),
    "minting": ("ok", "Paid. Your tickets are being minted…"),
    "minted": ("ok", "Paid, and your tickets are minted."),
    "declined": ("bad", "The card was declined: this order is closed. Start a new order."),
    "expired": ("bad", "This order expired before it was paid: start a new order."),
    "refunded": ("warn", "This order was refunded."),
    "cancelled": ("warn", "The event was cancelled: this order is refunded."),
    "revoked": ("warn", "These tickets were revoked and the order refunded."),
    "failed": ("bad", "The tickets could not be minted; the order is refunded."),
}


def _view(session: Session, payment: LocalPayment) -> dict[str, Any]:
    """What the checkout shows: the order's event, tier and quantity, and its state."""
    order = session.get(Order, payment.order_id)
    if order is None:
        raise NotFound("no such checkout")
    state = OrderState(order.state)
    page_state = {
        OrderState.RESERVED: "pay",
        OrderState.PAID: "paid",
        OrderState.MINTING: "minting",
    }.get(state, state.value)
    if page_state == "pay" and payment.status != PENDING:
        page_state = "declined" if payment.status == "failed" else "paid"
    notice, text = _STATES.get(page_state, ("warn", f"Order {state.value}."))
    tickets = [
        {"token_id": t.token_id, "state": t.state}
        for t in sorted(order.tickets, key=lambda t: t.token_id)
    ]
    return {
        "order": order,
        "event": session.get(Event, order.event_id),
        "tier": session.get(Tier, order.tier_id),
        "state": page_state,
        "order_state": state.value,
        "notice": notice,
        "status_text": text,
        "tickets": tickets,
    }


@router.get("/{payment_id}", response_class=HTMLResponse, responses=errors(404))
def checkout_page(
    request: Request, session: SessionDep, provider: ProviderDep, payment_id: str = PaymentId
) -> HTMLResponse:
    """The local checkout: what is bought (event, tier, quantity, total), then its state:
    pay, paid and minting (followed by the page), minted, or closed."""
    payment = _local(provider).payment(session, payment_id)
    view = _view(session, payment)
    event = view["event"]
    return render(
        request,
        "checkout.html",
        payment=payment,
        amount=f"{payment.amount_cents / 100:.2f} {payment.currency.upper()}",
        succeed_card=SUCCEED_CARD,
        decline_card=DECLINE_CARD,
        starts_at=local_time(event.starts_at, event.starts_at_offset_min),
        **view,
    )


@router.get("/{payment_id}/status", response_model=CheckoutStatus, responses=errors(404))
def checkout_status(
    session: SessionDep, provider: ProviderDep, payment_id: str = PaymentId
) -> CheckoutStatus:
    """The order behind a checkout, for the page to follow it from paid to minted."""
    payment = _local(provider).payment(session, payment_id)
    view = _view(session, payment)
    return CheckoutStatus(
        state=view["state"],
        order_state=view["order_state"],
        notice=view["notice"],
        text=view["status_text"],
        tickets=[CheckoutTicket(**t) for t in view["tickets"]],
    )


@router.post("/{payment_id}", response_model=WebhookAck, responses=errors(400, 404, 409, 502))
def pay(
    body: CheckoutPay, session: SessionDep, provider: ProviderDep, payment_id: str = PaymentId
) -> WebhookAck:
    """Charge a test card; the outcome reaches the bridge as a signed webhook (in-process)."""
    local = _local(provider)
    webhook_body, headers = local.pay(session, payment_id, body.card_number)
    session.commit()
    outcome = handle_webhook(session, local, webhook_body, headers)
    return WebhookAck(received=True, outcome=outcome)
