"""Metrics, request ids, JSON logs and readiness of the bridge, on the embedded SQLite database
(no node, no server): route templates as labels, no identity in any label, one JSON object per
log line carrying the request id, readiness reasons."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_helpers import order_body, pay
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.db import make_engine, session_factory
from api.metrics import webhook_outcome
from api.migrate import upgrade
from api.models import Event, Order, Organizer, Tier
from fairgate.logs import JsonFormatter, accepted_request_id, bound_request_id, configure
from fairgate.metrics import UNMATCHED
from fairgate.settings import Settings

WALLET = "0x" + "ab" * 20


@pytest.fixture()
def bridge(tmp_path) -> Iterator[tuple[TestClient, dict[str, Any], sessionmaker[Session]]]:
    settings = Settings(
        env="test",
        home=tmp_path,
        order_rate_per_s=1000,
        order_rate_burst=1000,
        rpc_url="http://127.0.0.1:9",  # nothing listens: the chain check fails with a reason
    )
    engine = make_engine(settings)
    upgrade(engine)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    with sessions() as s:
        organizer = Organizer(name="o")
        s.add(organizer)
        s.flush()
        event = Event(
            organizer_id=organizer.id, name="e", symbol="E", starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=2), state="active", contract_address="0x" + "11" * 20,
        )  # fmt: skip
        s.add(event)
        s.flush()
        tier = Tier(
            event_id=event.id, tier_index=0, name="GA", price_cents=2500, face_value_wei="1",
            supply=3, resale_cap_bps=10000, royalty_bps=0, resale_opens_at=0, resale_closes_at=0,
        )  # fmt: skip
        s.add(tier)
        s.commit()
        info = {"id": event.id, "tiers": [{"id": tier.id}]}
    with TestClient(create_app(settings, engine=engine, with_chain=False)) as client:
        yield client, info, sessions
    engine.dispose()


def scrape(client: TestClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def value(samples: dict[str, Any], name: str, **labels: str) -> float:
    return sum(
        v for got, v in samples.get(name, []) if all(got.get(k) == w for k, w in labels.items())
    )


def test_requests_are_counted_by_route_template_never_by_raw_path(bridge):
    client, _, _ = bridge
    before = scrape(client)
    order_id = "0123456789abcdef0123456789abcdef"
    for _ in range(3):
        assert client.get(f"/orders/{order_id}", headers={"X-Order-Token": "x"}).status_code == 404
    assert client.get("/no/such/page/" + order_id).status_code == 404
    after = scrape(client)
    name = "fairgate_http_requests_total"
    labels = {"app": "bridge", "method": "GET", "route": "/orders/{order_id}", "status": "404"}
    assert value(after, name, **labels) - value(before, name, **labels) == 3
    unmatched = {"app": "bridge", "route": UNMATCHED, "status": "404"}
    assert value(after, name, **unmatched) - value(before, name, **unmatched) == 1
    assert (
        value(after, "fairgate_http_request_duration_seconds_count", route="/orders/{order_id}")
        >= 3
    )
    routes = {labels["route"] for labels, _ in after[name]}
    assert not any(order_id in route for route in routes)


IDENTITY = re.compile(
    r"0x[0-9a-fA-F]{40}|[0-9a-f]{32}|@|\b\d{1,3}(\.\d{1,3}){3}\b|q1\.|fg_|testclient",
)


def test_no_label_carries_an_identity_after_a_whole_card_order(bridge):
    """An order to a wallet, its payment and webhook, refusals, a bad request: afterwards no
    label value of /metrics holds an address, an order id, an e-mail, a client address, a token
    or a key."""
    client, event, _ = bridge
    made = client.post("/orders", json=order_body(event, 1, WALLET))
    assert made.status_code == 201
    order = made.json()
    pay(client, order)
    assert (
        client.get(
            f"/orders/{order['id']}", headers={"X-Order-Token": order["order_token"]}
        ).status_code
        == 200
    )
    assert client.post("/orders", json=order_body(event, 3, WALLET)).status_code == 409  # sold out
    bad = order_body(event, 1, WALLET) | {"tier_id": 999}
    assert client.post("/orders", json=bad).status_code == 404
    samples = scrape(client)
    assert value(samples, "fairgate_reservation_failures_total", reason="sold_out") >= 1
    assert value(samples, "fairgate_reservation_failures_total", reason="not_found") >= 1
    assert value(samples, "fairgate_webhooks_total", provider="local", outcome="paid") >= 1
    assert value(samples, "fairgate_orders", state="paid") == 1
    seen = [v for series in samples.values() for labels, _ in series for v in labels.values()]
    assert seen, "the scrape has labelled series"
    leaks = [v for v in seen if IDENTITY.search(v)]
    assert leaks == []
    assert WALLET.lower() not in client.get("/metrics").text.lower()


def test_webhook_outcomes_become_bounded_labels():
    assert webhook_outcome("paid") == "paid"
    assert webhook_outcome("ignored: order already minted") == "ignored"
    assert webhook_outcome("unknown payment") == "unknown"
    assert webhook_outcome("flagged: revoked after minting") == "flagged"
    assert webhook_outcome("") == "unknown"


def test_each_response_carries_a_request_id_and_a_well_formed_one_is_kept(bridge):
    client, _, _ = bridge
    fresh = client.get("/health/live").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    assert client.get("/health/live").headers["x-request-id"] != fresh
    kept = client.get("/health/live", headers={"X-Request-Id": "lb-1234abcd"})
    assert kept.headers["x-request-id"] == "lb-1234abcd"
    forged = client.get("/health/live", headers={"X-Request-Id": 'x"}\n{"level":"error'})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])


def test_an_order_keeps_its_request_id_and_its_webhook_logs_under_it(bridge):
    client, event, sessions = bridge
    stream = io.StringIO()
    handler = configure("info", stream=stream)
    try:
        made = client.post(
            "/orders", json=order_body(event, 1), headers={"X-Request-Id": "order-req-0001"}
        )
        assert made.status_code == 201
        pay(client, made.json())
    finally:
        logging.getLogger().removeHandler(handler)
    with sessions() as s:
        assert s.get(Order, made.json()["id"]).request_id == "order-req-0001"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == "order-req-0001"]
    assert {"order reserved", "webhook applied"} <= {line["msg"] for line in mine}
    webhook = next(line for line in mine if line["msg"] == "webhook applied")
    assert webhook["outcome"] == "paid"


def test_json_log_lines_are_one_object_each_with_extra_fields_and_exceptions():
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "a\nb %s", ("c",), None)
    record.order_id = "o1"
    with bound_request_id("req-12345678"):
        line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["msg"] == "a\nb c"
    assert parsed["level"] == "warning"
    assert parsed["request_id"] == "req-12345678"
    assert parsed["order_id"] == "o1"
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("t", logging.ERROR, __file__, 1, "x", None, sys.exc_info())
    assert "ValueError: boom" in json.loads(JsonFormatter().format(failed))["exc"]


def test_request_ids_from_outside_are_kept_only_when_plain():
    assert accepted_request_id("abcDEF12-._") == "abcDEF12-._"
    for bad in (None, "", "short", "x" * 65, "has space 123", 'quote"12345'):
        assert accepted_request_id(bad) != bad
        assert re.fullmatch(r"[0-9a-f]{32}", accepted_request_id(bad))


def test_readiness_names_each_dependency_with_its_reason(bridge):
    client, _, _ = bridge
    answer = client.get("/health/ready")
    assert answer.status_code == 200  # the database answers: the replica takes orders
    body = answer.json()
    assert body["status"] == "degraded"
    checks = body["checks"]
    assert checks["database"]["ok"] and checks["database"]["reason"] == "ok (sqlite)"
    assert not checks["chain"]["ok"] and "ConnectError" in checks["chain"]["reason"]
    assert not checks["redis"]["ok"]
    assert checks["redis"]["reason"].startswith("off: FAIRGATE_REDIS_URL is not set")


def test_readiness_is_503_with_the_reason_when_the_database_is_gone(bridge):
    client, _, _ = bridge
    client.app.state.engine = create_engine("sqlite:////nonexistent/dir/x.db")
    answer = client.get("/health/ready")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable"
    assert not body["checks"]["database"]["ok"]
    assert "OperationalError" in body["checks"]["database"]["reason"]


def test_gate_verdicts_pushed_through_the_hub_and_rejected_webhooks_are_counted(bridge):
    from api.gate_hub import CheckInIn, RefusalIn, push_checkins, push_refusals

    client, _, _ = bridge
    event = "0x" + "11" * 20
    hexes = [f"0x{i:064x}" for i in range(1, 4)]
    with client.app.state.engine.begin() as conn:
        push_checkins(
            conn,
            event,
            "door-1",
            [CheckInIn(nullifier=h, checked_at=1.0, root=h, challenge=h) for h in hexes],
        )
        push_refusals(
            conn,
            event,
            "door-1",
            "dev-1",
            [
                RefusalIn(reason="nullifier_used", minute=10, count=4),
                RefusalIn(reason="proof_invalid", minute=10, count=2),
            ],
        )
        # the same device pushes its cumulative counters again: 4 stays 4
        push_refusals(
            conn, event, "door-1", "dev-1", [RefusalIn(reason="nullifier_used", minute=10, count=4)]
        )
    forged = client.post(
        "/webhooks/local",
        content=b'{"id": "evt_1"}',
        headers={"Stripe-Signature": "t=1,v1=" + "0" * 64},
    )
    assert forged.status_code == 400
    samples = scrape(client)
    verdicts = "fairgate_gate_verdicts_total"
    assert value(samples, verdicts, verdict="admitted") == 3
    assert value(samples, verdicts, verdict="refused", reason="nullifier_used") == 4
    assert value(samples, verdicts, verdict="refused", reason="proof_invalid") == 2
    assert value(samples, "fairgate_webhooks_total", outcome="rejected") >= 1
    labels = [v for series in samples.values() for got, _ in series for v in got.values()]
    assert not any("door-1" in v or "dev-1" in v or event in v for v in labels)
