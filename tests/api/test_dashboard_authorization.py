"""Every dashboard route against every role, as tests/api/test_authorization.py does for the API:
no credentials, the API's keys (organizer, gate, admin: keys are for machines, never a dashboard
session), another organizer's session, and the organizer's own session. Another organizer's event
answers 404 (no probing); pages without a session redirect to sign-in; every state-changing
request without the session's CSRF token is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import ADMIN_KEY, create_event
from dashboard_helpers import PUBLIC_URL, new_wallet, sign_in
from fastapi.testclient import TestClient

from api.app import create_app
from api.services.auth import create_organizer
from chain.compiler import load_artifact

pytestmark = [pytest.mark.postgres, pytest.mark.ganache]
TWO_STEP = any(e.get("name") == "pendingOrganizer" for e in load_artifact("TicketEvent").abi)
ROLES = ["none", "organizer_key", "gate_key", "admin_key", "other_organizer", "organizer"]


@pytest.fixture()
def world(settings, engine, db, bridge_chain, provider) -> Iterator[dict]:
    mine, theirs = new_wallet(), new_wallet()
    with db() as session:
        _, key = create_organizer(session, "Mine", mine.address)
        _, their_key = create_organizer(session, "Theirs", theirs.address)
        session.commit()
    clients = {
        role: TestClient(
            create_app(settings, engine=engine, provider=provider, chain=bridge_chain),
            base_url=PUBLIC_URL,
        )
        for role in ROLES
    }
    for c in clients.values():
        c.__enter__()
    event = create_event(clients["none"], key, supply=5)
    create_event(clients["none"], their_key, supply=5)
    gate = (
        clients["none"]
        .post(f"/organizer/events/{event['id']}/gate-keys", headers={"X-API-Key": key})
        .json()["api_key"]
    )
    csrf = {
        "organizer": sign_in(clients["organizer"], mine)["csrf"],
        "other_organizer": sign_in(clients["other_organizer"], theirs)["csrf"],
    }
    headers = {
        "none": {},
        "organizer_key": {"X-API-Key": key},
        "gate_key": {"X-API-Key": gate},
        "admin_key": {"X-API-Key": ADMIN_KEY},
        "other_organizer": {},
        "organizer": {},
    }
    yield {
        "clients": clients,
        "headers": headers,
        "csrf": csrf,
        "event": event,
        "key_id": key.split("_")[1],
    }
    for c in clients.values():
        c.__exit__(None, None, None)


LOGIN = "login"  # a redirect (303) to the sign-in page


def routes(w: dict) -> list[tuple[str, str, dict | None, dict[str, int | str]]]:
    e = w["event"]["id"]
    no_session = {"none": 401, "organizer_key": 401, "gate_key": 401, "admin_key": 401}
    page = {**dict.fromkeys(no_session, LOGIN), "other_organizer": 200, "organizer": 200}
    own_page = {**page, "other_organizer": 404}
    data = {**no_session, "other_organizer": 200, "organizer": 200}
    own_data = {**data, "other_organizer": 404}
    # state-changing forms, sent with the role's CSRF token and no second-factor code
    needs_code = {**no_session, "other_organizer": 404, "organizer": 403}
    return [
        ("GET", "/dashboard/login", None, dict.fromkeys(ROLES, 200)),
        ("GET", "/dashboard", None, page),
        ("GET", "/dashboard/audit", None, page),
        ("GET", "/dashboard/security", None, page),
        ("GET", "/dashboard/keys", None, page),
        ("GET", "/dashboard/events/new", None, page),
        ("GET", f"/dashboard/events/{e}", None, own_page),
        ("GET", "/dashboard/audit.csv", None, data),
        ("GET", f"/dashboard/events/{e}/stats.json", None, own_data),
        ("GET", f"/dashboard/events/{e}/export/sales.csv", None, own_data),
        ("GET", f"/dashboard/events/{e}/export/checkins.csv", None, own_data),
        ("GET", f"/dashboard/events/{e}/export/refusals.csv", None, own_data),
        ("GET", f"/dashboard/events/{e}/export/resales.csv", None, own_data),
        ("GET", f"/dashboard/events/{e}/export/tiers.csv", None, own_data),
        ("GET", f"/dashboard/events/{e}/insights.json", None, own_data),
        ("GET", f"/dashboard/events/{e}/export/forecast.csv", None, own_data),
        ("GET", f"/dashboard/events/{e}/export/signals.csv", None, own_data),
        ("GET", f"/dashboard/events/{e}/export/secrets.csv", None, {**no_session,
         "other_organizer": 422, "organizer": 422}),
        ("POST", "/dashboard/security/totp", {}, {**data}),
        ("POST", "/dashboard/security/totp/confirm", {"code": "000000"}, {**data, **dict.fromkeys(
            ("other_organizer", "organizer"), 403)}),
        ("POST", "/dashboard/keys", {"label": "x"}, {**needs_code, "other_organizer": 403}),
        ("POST", f"/dashboard/keys/{w['key_id']}/revoke", {}, needs_code),
        ("POST", f"/dashboard/events/{e}/gate-keys", {"label": "x"}, needs_code),
        # before the wallet accepts a two-step hand-over, the operator holds the event: 409
        ("POST", f"/dashboard/events/{e}/withdraw", {"to": "0x" + "11" * 20},
         {**needs_code, "organizer": 409 if TWO_STEP else 403}),
        ("POST", f"/dashboard/events/{e}/cancel", {}, needs_code),
        # the proposed wallet gets the page that has it send acceptOrganizer(); 409 when no
        # hand-over is pending (a build without the two-step hand-over)
        ("POST", f"/dashboard/events/{e}/accept", {}, {**needs_code,
         "organizer": 200 if TWO_STEP else 409}),
        ("POST", "/dashboard/events/new", {"name": ""}, {**data, "other_organizer": 422,
         "organizer": 422}),
        ("POST", "/dashboard/logout", {}, {**data, "other_organizer": 303, "organizer": 303}),
    ]  # fmt: skip


def test_every_dashboard_route_every_role(world: dict) -> None:
    # one world for every role (each world deploys two events: a test per role cost 7-9 s)
    for role in ROLES:
        client = world["clients"][role]
        for method, path, form, expected in routes(world):
            data = None
            if form is not None:
                data = {**form, "csrf_token": world["csrf"].get(role, "")}
            r = client.request(
                method, path, data=data, headers=world["headers"][role], follow_redirects=False
            )
            want = expected[role]
            if want == LOGIN:
                assert r.status_code == 303, (role, method, path, r.status_code)
                assert r.headers["location"].startswith("/dashboard/login?next=")
            else:
                assert r.status_code == want, (role, method, path, r.status_code, r.text[:200])


def test_every_form_needs_the_csrf_token(world: dict) -> None:
    client = world["clients"]["organizer"]
    for method, path, form, _ in routes(world):
        if method != "POST":
            continue
        for token in (None, "forged"):
            data = dict(form or {})
            if token:
                data["csrf_token"] = token
            r = client.post(path, data=data, follow_redirects=False)
            assert r.status_code == 403, (path, token, r.status_code)
            assert "CSRF" in r.json()["error"]["message"]
    assert client.get("/dashboard", follow_redirects=False).status_code == 200  # still signed in


def test_the_live_stream_is_the_organizers_only(world: dict) -> None:
    e = world["event"]["id"]
    for role in ("none", "organizer_key", "admin_key", "gate_key"):
        r = world["clients"][role].get(
            f"/dashboard/events/{e}/stream", headers=world["headers"][role]
        )
        assert r.status_code == 401, role
    assert (
        world["clients"]["other_organizer"].get(f"/dashboard/events/{e}/stream").status_code == 404
    )
    with world["clients"]["organizer"].stream("GET", f"/dashboard/events/{e}/stream") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        first = next(r.iter_lines())
        assert first == "event: stats"
