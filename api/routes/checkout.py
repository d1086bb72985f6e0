"""The local provider's checkout page (development and tests only; 404 with Stripe)."""

from __future__ import annotations

import html

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ProviderDep, SessionDep
from api.payments.base import PaymentProvider
from api.payments.local import DECLINE_CARD, SUCCEED_CARD, LocalProvider
from api.routes import errors
from api.schemas import WebhookAck
from api.services.payments import handle_webhook
from fairgate.errors import NotFound

router = APIRouter(prefix="/checkout", tags=["checkout"])
PaymentId = Path(pattern=r"^pi_local_[0-9a-f]{32}$")


class CheckoutPay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card_number: str = Field(min_length=12, max_length=23, pattern=r"^[0-9 ]+$")


def _local(provider: PaymentProvider) -> LocalProvider:
    if not isinstance(provider, LocalProvider):
        raise NotFound("checkout pages exist only with the local payment provider")
    return provider


@router.get("/{payment_id}", response_class=HTMLResponse, responses=errors(404))
def checkout_page(
    session: SessionDep, provider: ProviderDep, payment_id: str = PaymentId
) -> HTMLResponse:
    payment = _local(provider).payment(session, payment_id)
    amount = f"{payment.amount_cents / 100:.2f} {payment.currency.upper()}"
    pid = html.escape(payment.id)
    return HTMLResponse(f"""<!doctype html><html><head><title>Fairgate checkout</title></head><body>
<h1>Pay {html.escape(amount)}</h1><p>Status: {html.escape(payment.status)}</p>
<p>Test cards: {SUCCEED_CARD} succeeds, {DECLINE_CARD} is declined.</p>
<input id="card" value="{SUCCEED_CARD}"><button onclick="pay()">Pay</button><pre id="out"></pre>
<script>async function pay(){{const r=await fetch('/checkout/{pid}',{{method:'POST',
headers:{{'Content-Type':'application/json'}},body:JSON.stringify({{card_number:
document.getElementById('card').value}})}});document.getElementById('out').textContent=
await r.text();}}</script></body></html>""")


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
