"""Every endpoint against every role: none, fan (order token), organizer of another event,
organizer, gate. Nothing leaks across events: another event's resources answer 404."""

from __future__ import annotations

import pytest
from api_helpers import ADMIN_KEY, create_event, event_body, order_body, place_order
from fastapi.testclient import TestClient

pytestmark = [pytest.mark.postgres, pytest.mark.ganache]


@pytest.fixture()
def world(app_client: TestClient, organizer_key: str, other_organizer_key: str):
    event = create_event(app_client, organizer_key, supply=10)
    other_event = create_event(app_client, other_organizer_key, supply=10)
    order = place_order(app_client, event, 1)
    gate = app_client.post(
        f"/organizer/events/{event['id']}/gate-keys", headers={"X-API-Key": organizer_key}
    ).json()
    other_gate = app_client.post(
        f"/organizer/events/{other_event['id']}/gate-keys",
        headers={"X-API-Key": other_organizer_key},
    ).json()
    return {
        "event": event,
        "other_event": other_event,
        "order": order,
        "gate": gate["api_key"],
        "other_gate": other_gate["api_key"],
        "organizer": organizer_key,
        "other": other_organizer_key,
    }


ROLES = ["none", "fan", "other_organizer", "organizer", "gate", "other_gate", "admin"]


def headers_for(role: str, w) -> dict[str, str]:
    return {
        "none": {},
        "fan": {"X-Order-Token": w["order"]["order_token"]},
        "other_organizer": {"X-API-Key": w["other"]},
        "organizer": {"X-API-Key": w["organizer"]},
        "gate": {"X-API-Key": w["gate"]},
        "other_gate": {"X-API-Key": w["other_gate"]},
        "admin": {"X-API-Key": ADMIN_KEY},
    }[role]


# (method, path template, body factory, {role: expected status})
def matrix(w):
    e, o = w["event"]["id"], w["order"]["id"]
    org_only = {
        "none": 401,
        "fan": 401,
        "other_organizer": 404,
        "organizer": 200,
        "gate": 403,
        "other_gate": 403,
        "admin": 403,
    }
    return [
        ("GET", "/events", None, dict.fromkeys(ROLES, 200)),
        ("GET", f"/events/{e}", None, dict.fromkeys(ROLES, 200)),
        ("GET", f"/orders/{o}", None, {**dict.fromkeys(ROLES, 401), "fan": 200}),
        (
            "GET",
            f"/orders/{o}/claim-message?wallet=0x{'11' * 20}",
            None,
            {**dict.fromkeys(ROLES, 401), "fan": 200},
        ),
        ("GET", "/organizer/events", None, {**org_only, "other_organizer": 200}),
        ("GET", f"/organizer/events/{e}/orders", None, org_only),
        ("GET", f"/organizer/events/{e}/sales", None, org_only),
        ("POST", f"/organizer/events/{e}/gate-keys", {}, {**org_only, "organizer": 201}),
        (
            "POST",
            "/organizer/events",
            event_body(5),
            {**org_only, "other_organizer": 201, "organizer": 201},
        ),
        (
            "GET",
            f"/gate/events/{e}/tickets",
            None,
            {
                "none": 401,
                "fan": 401,
                "other_organizer": 404,
                "organizer": 200,
                "gate": 200,
                "other_gate": 404,
                "admin": 403,
            },
        ),
        (
            "POST",
            "/admin/organizers",
            {"name": "X"},
            {**dict.fromkeys(ROLES, 403), "none": 401, "fan": 401, "admin": 201},
        ),
        ("POST", f"/organizer/events/{e}/cancel", {}, org_only),  # last: it cancels the event
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_every_role(app_client: TestClient, world, role: str) -> None:
    for method, path, body, expected in matrix(world):
        r = app_client.request(method, path, json=body, headers=headers_for(role, world))
        assert r.status_code == expected[role], (role, method, path, r.status_code, r.text)
        if r.status_code >= 400:
            assert set(r.json()) == {"error"} and r.json()["error"]["code"]


def test_nothing_leaks_across_events(app_client: TestClient, world) -> None:
    other_id = world["other_event"]["id"]
    for path in (f"/organizer/events/{other_id}/orders", f"/organizer/events/{other_id}/sales"):
        r = app_client.get(path, headers={"X-API-Key": world["organizer"]})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    mine = app_client.get("/organizer/events", headers={"X-API-Key": world["organizer"]}).json()
    assert [ev["id"] for ev in mine] == [world["event"]["id"]]
    # an order token opens its own order only
    other_order = place_order(app_client, world["other_event"], 1)
    r = app_client.get(
        f"/orders/{other_order['id']}", headers={"X-Order-Token": world["order"]["order_token"]}
    )
    assert r.status_code == 404
    # a tier of another event cannot be ordered through this event
    body = order_body(world["event"], 1)
    body["tier_id"] = world["other_event"]["tiers"][0]["id"]
    assert app_client.post("/orders", json=body).status_code == 404


def test_invalid_commitments_refused_at_creation(app_client: TestClient, world) -> None:
    from api.schemas import FIELD_MODULUS

    for bad in ["0", str(FIELD_MODULUS), hex(FIELD_MODULUS), "-1", "12abc"]:
        body = order_body(world["event"], 1)
        body["commitments"] = [bad]
        r = app_client.post("/orders", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", bad
    body = order_body(world["event"], 2)
    body["commitments"] = [body["commitments"][0]] * 2
    assert app_client.post("/orders", json=body).status_code == 422


def test_rate_limit_on_order_creation(
    settings, engine, db, bridge_chain, provider, organizer_key
) -> None:
    from api.app import create_app

    limited = settings.model_copy(update={"order_rate_per_s": 0.01, "order_rate_burst": 3})
    with TestClient(
        create_app(limited, engine=engine, provider=provider, chain=bridge_chain)
    ) as client:
        event = create_event(client, organizer_key, supply=50)
        codes = [client.post("/orders", json=order_body(event, 1)).status_code for _ in range(5)]
        assert codes == [201, 201, 201, 429, 429]
        r = client.post("/orders", json=order_body(event, 1))
        assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
