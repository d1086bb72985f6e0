"""Ticket e-mails (issue 15): the worker sends them over SMTP from the outbox, to a real SMTP server
running in this process (aiosmtpd), on real Ganache and PostgreSQL. Each test reads what the
server received: one e-mail per paid-and-minted, refunded or revoked order, retried after a
failure, never lost when the worker dies between the server's acceptance and its own record
(then sent again with the same Message-ID: at least once, see api.services.notifications)."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from api_helpers import create_event, free_port, pay, place_order, read_order
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_e2e import make_worker

from api.models import OutboxMessage
from api.services import notifications
from fairgate.settings import Settings

pytestmark = [pytest.mark.ganache, pytest.mark.postgres]
FAN_EMAIL = "fan@example.com"  # api_helpers' orders


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts; it can defer the next DATA
    commands (451) or refuse recipients for good (550)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.defer = 0
        self.unknown: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.unknown:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.defer:
            self.defer -= 1
            return "451 4.3.0 mailbox busy, try again later"
        message = email.message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 2.0.0 accepted"


@pytest.fixture()
def smtp(settings: Settings) -> Iterator[tuple[Inbox, Settings]]:
    """The SMTP server and the settings that point the worker at it."""
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield (
            handler,
            settings.model_copy(
                update={
                    "smtp_host": "127.0.0.1",
                    "smtp_port": port,
                    "smtp_starttls": False,
                    "mail_retry_s": 0.0,
                    "mail_from": "Fairgate tickets <tickets@fairgate.test>",
                }
            ),
        )
    finally:
        controller.stop()


def _outbox(db) -> list[tuple[str, str, int, str | None]]:
    with db() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(r.kind, r.state, r.attempts, r.last_error) for r in rows]


def test_a_paid_custody_order_gets_one_e_mail_with_tickets_claim_link_and_event_page(
    app_client: TestClient, organizer_key, db, bridge_chain, provider, fans, smtp
) -> None:
    inbox, settings = smtp
    event = create_event(app_client, organizer_key, supply=10)
    custody = place_order(app_client, event, 2)
    wallet = place_order(app_client, event, 1, fans[0].address)
    pay(app_client, custody)
    pay(app_client, wallet)
    worker = make_worker(settings, db, bridge_chain, provider)
    worker.run(until_idle=True)
    worker.run(until_idle=True)  # a second pass sends nothing more

    assert len(inbox.messages) == 2
    assert all(m["To"] == FAN_EMAIL for m in inbox.messages)
    (mail,) = [m for m in inbox.messages if custody["id"] in m.get_content()]
    body = mail.get_content()
    tokens = [t["token_id"] for t in read_order(app_client, custody)["tickets"]]
    assert mail["Subject"] == f"Your tickets for {event['name']}"
    assert mail["From"] == "Fairgate tickets <tickets@fairgate.test>"
    assert mail["Message-ID"] == f"<minted.{custody['id']}@fairgate.orders>"
    assert all(f"ticket {t}" in body for t in tokens)
    assert f"{settings.public_url}/me?event={event['id']}" in body  # the custody claim link
    # the link works on its own (the bridge keeps no order token to send): its claim token
    # opens the order as the order token does, and releases the tickets to a proven wallet
    (token,) = re.findall(rf"/me\?event={event['id']}&order={custody['id']}#claim=(\S+)", body)
    assert custody["order_token"] not in body
    opened = {"X-Order-Token": token}
    assert app_client.get(f"/orders/{custody['id']}", headers=opened).json()["state"] == "minted"
    forged = {"X-Order-Token": token[:-2] + ("AA" if not token.endswith("AA") else "BB")}
    assert app_client.get(f"/orders/{custody['id']}", headers=forged).status_code == 404
    other_order = {"X-Order-Token": token}
    assert app_client.get(f"/orders/{wallet['id']}", headers=other_order).status_code == 404
    message = app_client.get(
        f"/orders/{custody['id']}/claim-message",
        params={"wallet": fans[1].address},
        headers=opened,
    ).json()["message"]
    signature = fans[1].sign_message(encode_defunct(text=message)).signature.hex()
    claimed = app_client.post(
        f"/orders/{custody['id']}/claims",
        json={"wallet": fans[1].address, "signature": "0x" + signature.removeprefix("0x")},
        headers=opened,
    )
    assert claimed.status_code == 202, claimed.text
    assert sorted(claimed.json()["tickets"]) == sorted(tokens)
    assert f"{settings.public_url}/event/{event['id']}" in body
    (other,) = [m for m in inbox.messages if wallet["id"] in m.get_content()]
    assert "/me?event=" not in other.get_content()  # in the fan's wallet: nothing to claim
    assert fans[0].address in other.get_content()
    assert _outbox(db) == [("minted", "sent", 1, None)] * 2


def test_a_cancelled_event_tells_each_fan_once_what_happened_to_the_order(
    app_client: TestClient, organizer_key, db, bridge_chain, provider, fans, smtp
) -> None:
    inbox, settings = smtp
    event = create_event(app_client, organizer_key, supply=10)
    minted = place_order(app_client, event, 2, fans[0].address)
    pay(app_client, minted)
    worker = make_worker(settings, db, bridge_chain, provider)
    worker.run(until_idle=True)
    unpaid_then_paid = place_order(app_client, event, 1, fans[1].address)
    r = app_client.post(
        f"/organizer/events/{event['id']}/cancel", headers={"X-API-Key": organizer_key}
    )
    assert r.status_code == 200
    pay(app_client, unpaid_then_paid)  # paid after the cancellation: refunded, never minted
    worker.run(until_idle=True)
    worker.run(until_idle=True)

    subjects = sorted(str(m["Subject"]) for m in inbox.messages)
    assert subjects == [
        f"Your order for {event['name']} was refunded",
        f"Your tickets for {event['name']}",
        f"Your tickets for {event['name']} were revoked",
    ]
    (revoked,) = [m for m in inbox.messages if str(m["Subject"]).endswith("were revoked")]
    assert minted["id"] in revoked.get_content()
    assert "ticket " in revoked.get_content() and ": revoked" in revoked.get_content()
    (refunded,) = [m for m in inbox.messages if str(m["Subject"]).endswith("was refunded")]
    assert unpaid_then_paid["id"] in refunded.get_content()
    assert "No tickets were issued" in refunded.get_content()


def test_a_deferred_e_mail_is_retried_and_delivered_once(
    app_client: TestClient, organizer_key, db, bridge_chain, provider, fans, smtp
) -> None:
    inbox, settings = smtp
    inbox.defer = 1  # the server answers 451 to the first attempt
    event = create_event(app_client, organizer_key, supply=10)
    order = place_order(app_client, event, 1, fans[0].address)
    pay(app_client, order)
    later = settings.model_copy(update={"mail_retry_s": 3600.0})
    make_worker(later, db, bridge_chain, provider).run(until_idle=True)

    ((kind, state, attempts, error),) = _outbox(db)
    assert (kind, state, attempts, inbox.messages) == ("minted", "pending", 1, [])
    assert error == "deferred by the SMTP server: 451 4.3.0 mailbox busy, try again later"
    make_worker(later, db, bridge_chain, provider).run(until_idle=True)
    assert _outbox(db)[0][1:3] == ("pending", 1)  # not before its time (an hour)
    _bring_forward(db)
    make_worker(settings, db, bridge_chain, provider).run(until_idle=True)

    assert _outbox(db) == [("minted", "sent", 2, None)]
    assert len(inbox.messages) == 1


def _bring_forward(db) -> None:
    """Make every pending message due now (instead of waiting out its retry delay)."""
    with db() as session:
        session.execute(
            OutboxMessage.__table__.update().values(next_attempt_at=OutboxMessage.created_at)
        )
        session.commit()


def test_an_unreachable_server_delays_the_e_mail_and_loses_nothing(
    app_client: TestClient, organizer_key, db, bridge_chain, provider, fans, smtp
) -> None:
    inbox, settings = smtp
    event = create_event(app_client, organizer_key, supply=10)
    order = place_order(app_client, event, 1, fans[0].address)
    pay(app_client, order)
    down = settings.model_copy(update={"smtp_port": free_port(), "mail_retry_s": 3600.0})
    make_worker(down, db, bridge_chain, provider).run(until_idle=True)

    ((kind, state, attempts, error),) = _outbox(db)
    assert (kind, state, attempts) == ("minted", "pending", 1)
    assert error is not None and error.startswith("ConnectionRefusedError")
    _bring_forward(db)  # instead of waiting out the retry delay
    make_worker(settings, db, bridge_chain, provider).run(until_idle=True)
    assert _outbox(db) == [("minted", "sent", 2, None)]
    assert len(inbox.messages) == 1


def test_a_refused_address_fails_the_e_mail_plainly_without_retrying(
    app_client: TestClient, organizer_key, db, bridge_chain, provider, fans, smtp
) -> None:
    inbox, settings = smtp
    event = create_event(app_client, organizer_key, supply=10)
    order = place_order(app_client, event, 1, fans[0].address)
    assert _outbox(db) == []  # nothing before the order is minted
    inbox.unknown.add(FAN_EMAIL)
    pay(app_client, order)
    worker = make_worker(settings, db, bridge_chain, provider)
    worker.run(until_idle=True)
    worker.run(until_idle=True)

    ((kind, state, attempts, error),) = _outbox(db)
    assert (kind, state, attempts) == ("minted", "failed", 1)
    assert error is not None and "550" in error and "no such mailbox" in error
    assert inbox.messages == []


def test_a_worker_dying_after_the_server_accepted_sends_it_again_never_loses_it(
    app_client: TestClient, organizer_key, db, bridge_chain, provider, fans, smtp
) -> None:
    inbox, settings = smtp
    event = create_event(app_client, organizer_key, supply=10)
    order = place_order(app_client, event, 1, fans[0].address)
    pay(app_client, order)

    class Died(BaseException):
        """The worker process ends here: its transaction never commits."""

    def die(point: str) -> None:
        if point == "accepted":
            raise Died

    worker = make_worker(settings, db, bridge_chain, provider)
    notifications.SEND_HOOK = die
    try:
        with pytest.raises(Died):
            worker.run(until_idle=True)
    finally:
        notifications.SEND_HOOK = None
    assert len(inbox.messages) == 1  # the server has it, our record does not
    assert _outbox(db) == [("minted", "pending", 0, None)]

    make_worker(settings, db, bridge_chain, provider).run(until_idle=True)

    assert _outbox(db) == [("minted", "sent", 1, None)]
    first, second = inbox.messages  # at least once: a duplicate, never nothing
    assert first["Message-ID"] == second["Message-ID"] == f"<minted.{order['id']}@fairgate.orders>"
    assert first.get_content() == second.get_content()
