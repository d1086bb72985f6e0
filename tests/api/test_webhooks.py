"""Webhooks: forged, wrong secret, replayed, stale, out of order, malformed: refused or harmless.
Stripe: signatures verified by the SDK, requests built for a local recorder (Stripe itself cannot
be reached from here, so these tests check what is sent, not Stripe's answer)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from api_helpers import create_event, place_order, read_order
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.models import OrderEvent, WebhookEvent
from api.payments.local import SIGNATURE_HEADER, event_body, sign
from api.payments.stripe import StripeProvider

pytestmark = [pytest.mark.postgres, pytest.mark.ganache]
SECRET = "whsec_fairgate_local_development_only"


def succeeded(order: dict[str, Any], event_id: str = "evt_1", created: int | None = None) -> bytes:
    return event_body(
        "payment_intent.succeeded", {"id": order["payment_ref"]}, event_id=event_id, created=created
    )


def post(client: TestClient, body: bytes, header: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[SIGNATURE_HEADER] = header
    return client.post("/webhooks/local", content=body, headers=headers)


def history_count(db) -> int:
    with db() as s:
        return int(s.scalar(select(func.count()).select_from(OrderEvent)))


def webhook_count(db) -> int:
    with db() as s:
        return int(s.scalar(select(func.count()).select_from(WebhookEvent)))


@pytest.fixture()
def order(app_client: TestClient, organizer_key: str) -> dict[str, Any]:
    event = create_event(app_client, organizer_key, supply=5)
    return place_order(app_client, event, 1)


@pytest.mark.parametrize(
    "case",
    ["forged", "wrong_secret", "stale", "future", "no_header", "malformed_header", "tampered_body"],
)
def test_refused_and_changes_nothing(app_client: TestClient, order, db, case: str) -> None:
    body = succeeded(order)
    header = {
        "forged": f"t={int(time.time())},v1={'0' * 64}",
        "wrong_secret": sign(body, "whsec_other"),
        "stale": sign(body, SECRET, int(time.time()) - 301),
        "future": sign(body, SECRET, int(time.time()) + 301),
        "no_header": None,
        "malformed_header": "garbage",
        "tampered_body": sign(body, SECRET),
    }[case]
    if case == "tampered_body":
        body = body.replace(b"payment_intent.succeeded", b"payment_intent.succeedeD")
    before = (history_count(db), webhook_count(db))
    r = post(app_client, body, header)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "webhook_rejected"
    assert (history_count(db), webhook_count(db)) == before
    assert read_order(app_client, order)["state"] == "reserved"


@pytest.mark.parametrize(
    "v1",
    ["\u00e9" * 64, "\u00e9", "0" * 63 + "\u00e9", "\u2603" + "a" * 63],
    ids=["latin1", "one-char", "last-char", "snowman"],
)
def test_non_ascii_signature_is_400_not_500(app_client: TestClient, order, db, v1: str) -> None:
    body = succeeded(order)
    header = f"t={int(time.time())},v1={v1}".encode()  # raw UTF-8 bytes on the wire
    before = history_count(db)
    r = app_client.post(
        "/webhooks/local",
        content=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: header},  # type: ignore[dict-item]
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "webhook_rejected"
    assert history_count(db) == before


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"id": "evt_x"}',
        b'{"id":"e","type":"payment_intent.succeeded","created":1,"data":{"object":{}}}',
    ],
)
def test_malformed_body_refused(app_client: TestClient, order, db, body: bytes) -> None:
    before = history_count(db)
    r = post(app_client, body, sign(body, SECRET))
    assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_rejected"
    assert history_count(db) == before


def test_replay_is_harmless(app_client: TestClient, order, db) -> None:
    body = succeeded(order)
    header = sign(body, SECRET)
    assert post(app_client, body, header).json()["outcome"] == "paid"
    after_first = history_count(db)
    for _ in range(3):
        r = post(app_client, body, header)
        assert r.status_code == 200 and r.json()["outcome"] == "duplicate"
    assert history_count(db) == after_first


def test_out_of_order_failure_after_success_is_ignored(app_client: TestClient, order) -> None:
    ok = succeeded(order, "evt_ok")
    failed = event_body(
        "payment_intent.payment_failed", {"id": order["payment_ref"]}, event_id="evt_fail"
    )
    assert post(app_client, ok, sign(ok, SECRET)).json()["outcome"] == "paid"
    assert post(app_client, failed, sign(failed, SECRET)).json()["outcome"].startswith("ignored")
    assert read_order(app_client, order)["state"] == "paid"


def test_success_after_failure_takes_seats_again(app_client: TestClient, order) -> None:
    failed = event_body(
        "payment_intent.payment_failed", {"id": order["payment_ref"]}, event_id="evt_fail"
    )
    ok = succeeded(order, "evt_ok")
    assert post(app_client, failed, sign(failed, SECRET)).json()["outcome"] == "declined"
    assert post(app_client, ok, sign(ok, SECRET)).json()["outcome"] == "paid"
    assert read_order(app_client, order)["state"] == "paid"


def test_refund_before_success_keeps_order_refunded(app_client: TestClient, order) -> None:
    refund = event_body(
        "charge.refunded", {"id": "ch_1", "payment_intent": order["payment_ref"]}, event_id="evt_r"
    )
    ok = succeeded(order, "evt_ok")
    assert post(app_client, refund, sign(refund, SECRET)).json()["outcome"] == "refunded"
    assert post(app_client, ok, sign(ok, SECRET)).json()["outcome"].startswith("ignored")
    assert read_order(app_client, order)["state"] == "refunded"


def test_unknown_event_types_and_payments_are_harmless(app_client: TestClient, order, db) -> None:
    before = history_count(db)
    other = event_body("customer.created", {"id": "cus_1"})
    assert post(app_client, other, sign(other, SECRET)).json()["outcome"] == "ignored"
    unknown = event_body("payment_intent.succeeded", {"id": "pi_local_" + "0" * 32})
    assert post(app_client, unknown, sign(unknown, SECRET)).json()["outcome"] == "unknown payment"
    assert history_count(db) == before


def test_wrong_provider_path_is_404(app_client: TestClient, order) -> None:
    body = succeeded(order)
    r = app_client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": sign(body, SECRET)}
    )
    assert r.status_code == 404


# ---------------------------------------------------------------- Stripe (no network to Stripe)


def stripe_header(body: bytes, secret: str, t: int | None = None) -> str:
    return sign(body, secret, t)  # Stripe's scheme is the one the local provider copies


def test_stripe_webhook_signatures_verified_by_sdk() -> None:
    provider = StripeProvider("sk_test_x", "whsec_stripe", tolerance_s=300)
    body = event_body("payment_intent.succeeded", {"id": "pi_123"}, event_id="evt_s")
    event = provider.parse_webhook(body, {"Stripe-Signature": stripe_header(body, "whsec_stripe")})
    assert event.payment_ref == "pi_123" and event.kind == "succeeded"
    from api.errors import WebhookRejected

    for header in [
        stripe_header(body, "whsec_wrong"),
        stripe_header(body, "whsec_stripe", int(time.time()) - 1000),
        "x",
    ]:
        with pytest.raises(WebhookRejected):
            provider.parse_webhook(body, {"Stripe-Signature": header})
    with pytest.raises(WebhookRejected):
        provider.parse_webhook(body, {})
    with pytest.raises(WebhookRejected):
        provider.parse_webhook(
            b"{bad", {"Stripe-Signature": stripe_header(b"{bad", "whsec_stripe")}
        )


class _Recorder(BaseHTTPRequestHandler):
    requests: list[tuple[str, str, dict[str, str]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        _Recorder.requests.append((self.path, body, dict(self.headers)))
        if self.path.startswith("/v1/payment_intents"):
            answer = {
                "id": "pi_rec",
                "object": "payment_intent",
                "client_secret": "pi_rec_secret_x",
                "amount": 5000,
            }
        else:
            answer = {"id": "re_rec", "object": "refund", "payment_intent": "pi_rec"}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_stripe_requests_are_built_with_idempotency_keys() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        provider = StripeProvider(
            "sk_test_x",
            "whsec",
            base_url=f"http://127.0.0.1:{server.server_port}",
            max_network_retries=0,
        )
        intent = provider.create_payment(
            None,
            order_id="o" * 32,
            amount_cents=5000,
            currency="usd",  # type: ignore[arg-type]
            email="fan@example.com",
        )
        assert intent.ref == "pi_rec" and intent.client_secret == "pi_rec_secret_x"
        refund = provider.refund(None, payment_ref="pi_rec", order_id="o" * 32)  # type: ignore[arg-type]
        assert refund == "re_rec"
    finally:
        server.shutdown()
    (path1, body1, headers1), (path2, body2, headers2) = _Recorder.requests[-2:]
    assert path1 == "/v1/payment_intents" and "amount=5000" in body1 and "currency=usd" in body1
    assert "metadata[order_id]=" + "o" * 32 in body1.replace("%5B", "[").replace("%5D", "]")
    assert headers1["Idempotency-Key"] == "fairgate-order-" + "o" * 32
    assert path2 == "/v1/refunds" and "payment_intent=pi_rec" in body2
    assert headers2["Idempotency-Key"] == "fairgate-refund-" + "o" * 32
    assert headers1["Authorization"] == "Bearer sk_test_x"
    assert "sk_test_x" not in repr(provider)
