"""POST /orders through api.routes.orders.FastOrders (ahead of FastAPI's machinery) answers as
the FastAPI route does: the same order for a good request, the same refusal word for word for a
bad one (bad requests are replayed to the FastAPI route), the same service errors and headers.

The reference is the same app with the fast route taken out (FastAPI's route alone)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import create_event, order_body
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api import app as app_module
from api.payments.local import LocalProvider
from api.routes import orders

JSON = "application/json"
UNIQUE = {"id", "order_token", "payment_ref", "expires_at", "created_at", "checkout_url"}


@pytest.fixture()
def fastapi_only(
    settings: Any, engine: Engine, db: Any, bridge_chain: Any, provider: LocalProvider
) -> Iterator[TestClient]:
    """The bridge without FastOrders: POST /orders is FastAPI's route alone."""
    app = app_module.create_app(settings, engine=engine, provider=provider, chain=bridge_chain)
    fast = app.router.routes.pop(0)
    assert isinstance(fast, orders._FastOrdersRoute)
    with TestClient(app) as client:
        yield client


def comparable(answer: Any) -> tuple[int, Any, str | None]:
    body = answer.json()
    if answer.status_code == 201:
        body = {k: v for k, v in body.items() if k not in UNIQUE}
        body["history"] = [{k: v for k, v in h.items() if k != "at"} for h in body["history"]]
    return answer.status_code, body, answer.headers.get("retry-after")


def test_good_and_bad_orders_get_the_fastapi_routes_answers(
    app_client: TestClient,
    fastapi_only: TestClient,
    organizer_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = create_event(app_client, organizer_key, supply=6)  # the 3 good orders on each app
    fast_path: list[bool] = []
    well_formed = orders._well_formed

    def counted(scope: Any, body: bytes) -> Any:
        order = well_formed(scope, body)
        fast_path.append(order is not None)
        return order

    monkeypatch.setattr(orders, "_well_formed", counted)
    good = order_body(event, 1)
    hundred = [str(i + 1) for i in range(100)]
    bad: dict[str, Any] = {
        "missing field": {k: v for k, v in good.items() if k != "email"},
        "a list": [1, 2],
        "extra field": {**good, "admin": True},
        "wrong type": {**good, "quantity": "many"},
        "two commitments for one": {**good, "commitments": good["commitments"] * 2},
    }
    cases: list[tuple[str, bytes | str, str]] = [
        ("good", json.dumps(good), JSON),
        ("good, charset", json.dumps(good), JSON + "; charset=utf-8"),
        *((name, json.dumps(body), JSON) for name, body in bad.items()),
        ("bad JSON", b'{"event_id": 1,', JSON),
        ("empty", b"", JSON),
        ("too many tickets", json.dumps({**good, "quantity": 100, "commitments": hundred}), JSON),
        ("plain text", json.dumps(good), "text/plain"),
        ("+json subtype", json.dumps(good), "application/vnd.fairgate+json"),
        ("no such tier", json.dumps({**good, "tier_id": 999}), JSON),
    ]
    for name, body, content_type in cases:
        headers = {"Content-Type": content_type}
        fast = app_client.post("/orders", content=body, headers=headers)
        reference = fastapi_only.post("/orders", content=body, headers=headers)
        assert comparable(fast) == comparable(reference), name
    # the fast path took the good orders and those the service refuses (per-order limit, no such
    # tier); FastAPI's route the rest
    expected = [
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        False,
        False,
        True,
    ]
    assert fast_path == expected
    # the seats are gone: sold out alike
    sold_out = [app_client.post("/orders", json=good), fastapi_only.post("/orders", json=good)]
    assert [a.status_code for a in sold_out] == [409, 409]
    assert comparable(sold_out[0]) == comparable(sold_out[1])
    # other methods: FastAPI's refusal
    assert comparable(app_client.get("/orders")) == comparable(fastapi_only.get("/orders"))
    # the HTTP metrics name the route as before
    metrics = app_client.get("/metrics").text
    assert 'method="POST",route="/orders",status="201"' in metrics
    assert 'method="POST",route="/orders",status="422"' in metrics


def test_the_rate_limit_and_its_header_through_the_fast_path(
    app_client: TestClient, organizer_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = create_event(app_client, organizer_key, supply=50)
    limiter = app_client.app.state.order_limiter  # type: ignore[attr-defined]
    monkeypatch.setattr(limiter.local, "burst", 2.0)
    monkeypatch.setattr(limiter.local, "rate", 0.01)
    statuses = [app_client.post("/orders", json=order_body(event, 1)) for _ in range(3)]
    assert [a.status_code for a in statuses] == [201, 201, 429]
    assert int(statuses[2].headers["Retry-After"]) >= 1
    assert statuses[2].json()["error"]["code"] == "rate_limited"
