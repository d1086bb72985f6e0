"""Dashboard accounts: Sign-In with Ethereum (EIP-4361) opens a browser session; every check of
the message is enforced (signature, domain, chain, single-use nonce, expiry); sessions are
HttpOnly SameSite cookies bound to one organizer; state-changing forms need the CSRF token; the
audit log records each action and the database refuses to change or delete its rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import ADMIN_KEY, create_event
from dashboard_helpers import PUBLIC_URL, new_wallet, sign, sign_in, siwe_message
from fastapi.testclient import TestClient
from sqlalchemy import text

from api import siwe
from api.app import create_app
from api.services.auth import create_organizer

pytestmark = [pytest.mark.postgres, pytest.mark.ganache]


@pytest.fixture()
def web(settings, engine, db, bridge_chain, provider) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine, provider=provider, chain=bridge_chain)
    with TestClient(app, base_url=PUBLIC_URL) as client:
        yield client


@pytest.fixture()
def organizers(db):
    """Two organizers, each with a wallet as payout address: ``(wallet A, key A, wallet B)``."""
    a, b = new_wallet(), new_wallet()
    with db() as session:
        _, key_a = create_organizer(session, "Organizer A", a.address)
        create_organizer(session, "Organizer B", b.address)
        session.commit()
    return a, key_a, b


def verify(client: TestClient, message: str, signature: str):
    return client.post("/dashboard/siwe/verify", json={"message": message, "signature": signature})


def test_sign_in_opens_an_httponly_samesite_session(web: TestClient, organizers) -> None:
    a, _, _ = organizers
    assert (
        web.get("/dashboard", follow_redirects=False)
        .headers["location"]
        .startswith("/dashboard/login")
    )
    message = siwe_message(web, a.address)
    assert message.startswith("127.0.0.1:8000 wants you to sign in with your Ethereum account:\n")
    r = verify(web, message, sign(a, message))
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    page = web.get("/dashboard")
    assert page.status_code == 200 and "Organizer A" in page.text and a.address in page.text


def test_a_wrong_signature_is_refused(web: TestClient, organizers) -> None:
    a, _, _ = organizers
    message = siwe_message(web, a.address)
    r = verify(web, message, sign(new_wallet(), message))
    assert r.status_code == 401 and r.json()["error"]["code"] == "sign_in_refused"
    assert "signature" in r.json()["error"]["message"]
    # a tampered message under the right wallet's signature of the original
    tampered = message.replace("Chain ID: 1337", "Chain ID: 1")
    assert verify(web, tampered, sign(a, message)).status_code == 401
    assert "fg_session" not in web.cookies


def test_a_replayed_nonce_is_refused(web: TestClient, organizers) -> None:
    a, _, _ = organizers
    message = siwe_message(web, a.address)
    signature = sign(a, message)
    assert verify(web, message, signature).status_code == 200
    again = verify(web, message, signature)
    assert again.status_code == 401 and "nonce" in again.json()["error"]["message"]
    # a nonce the bridge never issued
    forged = (
        message.split("Nonce: ")[0]
        + "Nonce: 0123456789abcdef\n"
        + (message.split("Nonce: ")[1].split("\n", 1)[1])
    )
    assert verify(web, forged, sign(a, forged)).status_code == 401


def test_an_expired_message_is_refused(web: TestClient, organizers) -> None:
    a, _, _ = organizers
    issued = siwe.parse(siwe_message(web, a.address))
    past = datetime.now(UTC) - timedelta(minutes=10)
    expired = siwe.SiweMessage(
        **{**issued.__dict__, "issued_at": past, "expiration_time": past + timedelta(minutes=5)}
    ).text()
    r = verify(web, expired, sign(a, expired))
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]
    # a message without any expiry is refused too
    endless = siwe.SiweMessage(**{**issued.__dict__, "expiration_time": None}).text()
    assert "no expiration" in verify(web, endless, sign(a, endless)).json()["error"]["message"]


def test_a_message_for_another_site_or_chain_is_refused(web: TestClient, organizers) -> None:
    a, _, _ = organizers
    issued = siwe.parse(siwe_message(web, a.address))
    for change, words in (
        ({"domain": "evil.example"}, "not 127.0.0.1:8000"),
        ({"uri": "https://evil.example/dashboard"}, "URI"),
        ({"chain_id": 1}, "chain 1"),
    ):
        text_ = siwe.SiweMessage(**{**issued.__dict__, **change}).text()
        r = verify(web, text_, sign(a, text_))
        assert r.status_code == 401 and words in r.json()["error"]["message"], change
    for garbage in ("hello", issued.text().replace("Version: 1", "Version: 2")):
        assert verify(web, garbage, sign(a, garbage)).status_code == 401


def test_a_wallet_of_no_organizer_is_forbidden(web: TestClient, organizers) -> None:
    stranger = new_wallet()
    message = siwe_message(web, stranger.address)
    r = verify(web, message, sign(stranger, message))
    assert (
        r.status_code == 403 and "not the wallet of any organizer" in r.json()["error"]["message"]
    )


def test_another_organizers_cookie_opens_only_their_own_dashboard(
    web: TestClient, organizers, settings, engine, bridge_chain, provider
) -> None:
    a, key_a, b = organizers
    event = create_event(web, key_a, supply=5, name="A's show")
    sign_in(web, a)
    assert "A&#39;s show" in web.get("/dashboard").text
    app = create_app(settings, engine=engine, provider=provider, chain=bridge_chain)
    with TestClient(app, base_url=PUBLIC_URL) as other:
        sign_in(other, b)
        page = other.get("/dashboard")
        assert "Organizer B" in page.text and "A&#39;s show" not in page.text
        assert "event_create" not in other.get("/dashboard/audit.csv").text
        # B's cookie presented next to A's event: 404, as the API answers
        r = other.get(f"/dashboard/events/{event['id']}", follow_redirects=False)
        assert r.status_code in (404, 405), r.status_code
    # an unknown or forged cookie is no session
    web.cookies.set("fg_session", "forged")
    assert web.get("/dashboard/audit.csv").status_code == 401


def test_state_changing_forms_need_the_csrf_token(web: TestClient, organizers) -> None:
    a, _, _ = organizers
    who = sign_in(web, a)
    r = web.post("/dashboard/logout", data={}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.json()["error"]["message"]
    r = web.post("/dashboard/logout", data={"csrf_token": "wrong"}, follow_redirects=False)
    assert r.status_code == 403
    r = web.post("/dashboard/logout", data={"csrf_token": who["csrf"]}, follow_redirects=False)
    assert r.status_code == 303
    assert web.get("/dashboard/audit.csv").status_code == 401  # that session is over


def test_the_audit_log_records_actions_and_refuses_changes(web: TestClient, engine) -> None:
    owner = new_wallet()
    r = web.post(
        "/admin/organizers",
        json={"name": "Audited", "payout_address": owner.address},
        headers={"X-API-Key": ADMIN_KEY},
    )
    assert r.status_code == 201
    key = r.json()["api_key"]
    event = create_event(web, key, supply=3)
    assert (
        web.post(
            f"/organizer/events/{event['id']}/gate-keys", headers={"X-API-Key": key}
        ).status_code
        == 201
    )
    sign_in(web, owner)
    csv_text = web.get("/dashboard/audit.csv").text
    lines = csv_text.strip().splitlines()
    assert lines[0] == "id,at,actor,client,action,target,before,after"
    actions = [line.split(",")[4] for line in lines[1:]]
    assert actions == ["sign_in", "gate_key_create", "event_create", "organizer_create"]
    assert "admin" in lines[-1] and "testclient" in lines[-1]
    page = web.get("/dashboard/audit")
    assert "event_create" in page.text and "Export CSV" in page.text
    with engine.connect() as conn:
        for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"):
                conn.execute(text(statement))
            conn.rollback()
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 4


def test_the_audit_log_is_append_only_on_sqlite_too(tmp_path) -> None:
    from api.db import make_engine
    from api.migrate import upgrade
    from fairgate.settings import Settings

    engine = make_engine(Settings(env="test", home=tmp_path))
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, client, action, target) "
                "VALUES ('2026-01-01', 'admin', 'x', 'a', '')"
            )
        )
    with engine.connect() as conn:
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"):
                conn.execute(text(statement))
            conn.rollback()
    engine.dispose()


def test_sign_in_messages_are_rate_limited_per_client(web: TestClient) -> None:
    address = new_wallet().address
    codes = [
        web.post("/dashboard/siwe/message", json={"address": address}).status_code
        for _ in range(12)
    ]
    assert codes[:10] == [200] * 10 and codes[-1] == 429
    r = web.post("/dashboard/siwe/message", json={"address": address})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "sign-in attempts" in r.json()["error"]["message"]
