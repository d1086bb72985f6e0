"""Ticket e-mails to fans, sent by the worker over SMTP from an outbox (issue 15).

Written with the change they tell of: :func:`enqueue` adds an ``outbox_messages`` row in the same
database transaction that moves an order to ``minted`` (tickets, the custody claim link when the
order has no wallet, the event's page), ``refunded`` or ``revoked``. So a message exists exactly
when its change was committed, never for one rolled back, and is never lost: a crash or an SMTP
server that is down only delays it. One per order and kind: its id (also the e-mail's
``Message-ID``) is unique, so enqueueing twice (a chargeback after a cancellation revokes an order
again) adds nothing.

:func:`send_outbox` (a worker duty) takes due messages one at a time under a row lock (``SKIP
LOCKED``: several workers never take the same one), composes the e-mail from the order as it is
now, sends it, and records the outcome in the same transaction. A server's temporary refusal
(4xx) or a network error is retried later, the delay doubling from ``mail_retry_s`` up to an
hour, at most ``mail_max_attempts`` times; a permanent refusal (5xx: no such mailbox) fails the
message at once, with the server's answer in ``last_error``.

Delivery is at least once, not exactly once: if the worker dies after the server accepted a
message and before its transaction commits, the message is still pending and is sent again.
SMTP has no idempotency key a client could use to make that window safe, and the other order
(record first, then send) would lose the message instead: a fan may get a duplicate, never
nothing. The duplicate carries the same ``Message-ID``, by which mail systems and clients
recognise (and many drop) a copy of a message already delivered.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from api.models import (
    Event,
    MailKind,
    MailState,
    Order,
    OrderState,
    OutboxMessage,
    Ticket,
    TicketState,
    Tier,
    local_time,
    utcnow,
)
from api.security import claim_link_token
from fairgate.settings import Settings

log = logging.getLogger(__name__)

#: The order states a fan is told about, and the message each gets.
MAIL_OF_STATE = {
    OrderState.MINTED: MailKind.MINTED,
    OrderState.REFUNDED: MailKind.REFUNDED,
    OrderState.REVOKED: MailKind.REVOKED,
}
MAX_RETRY_S = 3600.0
#: Tests set this to stop the worker at a named point (see :data:`api.services.minting.MINT_HOOK`):
#: ``"accepted"`` is right after the SMTP server accepted a message, before it is recorded.
SEND_HOOK: Callable[[str], None] | None = None


def message_id(order_id: str, kind: str) -> str:
    """The message's unique id in the outbox and (in angle brackets) its e-mail Message-ID."""
    return f"{kind}.{order_id}@fairgate.orders"


def enqueue(conn: Connection, messages: Iterable[tuple[str, str]], now: datetime) -> None:
    """Add a pending message for each (order id, kind), in the caller's transaction; one that
    exists already is left as it is. One multi-row statement (the minting worker enqueues a whole
    batch's orders at once)."""
    rows = [
        {
            "message_id": message_id(order_id, kind),
            "order_id": order_id,
            "kind": kind,
            "state": MailState.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for order_id, kind in messages
    ]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # one statement over arrays: an executemany ran a statement per row on the server
        # (the largest part of a 200-order batch's finalize, 0.9 ms an order under load)
        conn.execute(
            text(
                "INSERT INTO outbox_messages (message_id, order_id, kind, state, attempts, "
                "next_attempt_at, created_at) SELECT m, o, k, :state, 0, :now, :now "
                "FROM unnest(CAST(:m AS text[]), CAST(:o AS text[]), CAST(:k AS text[])) "
                "AS v(m, o, k) ON CONFLICT (message_id) DO NOTHING"
            ),
            {
                "m": [r["message_id"] for r in rows],
                "o": [r["order_id"] for r in rows],
                "k": [str(r["kind"]) for r in rows],
                "state": str(MailState.PENDING),
                "now": now,
            },
        )
        return
    statement = sqlite.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["message_id"])
    conn.execute(statement, rows)


def send_outbox(sessions: sessionmaker[Session], settings: Settings, limit: int = 50) -> int:
    """Send up to ``limit`` due messages; returns how many the server accepted. Does nothing
    without ``smtp_host`` (the messages wait)."""
    if not settings.smtp_host:
        return 0
    sent = 0
    tried: list[int] = []  # each message once per round, even when it is due again at once
    with _Mailer(settings) as mailer:
        for _ in range(limit):
            with sessions() as session:
                message = session.scalar(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.state == MailState.PENDING,
                        OutboxMessage.next_attempt_at <= utcnow(),
                        OutboxMessage.id.not_in(tried),
                    )
                    .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if message is None:
                    return sent
                tried.append(message.id)
                ok = _attempt(session, settings, mailer, message)
                session.commit()
            if not ok and mailer.broken:
                return sent  # the server is unreachable: the rest waits for the next round
            sent += ok
    return sent


def _attempt(session: Session, settings: Settings, mailer: _Mailer, message: OutboxMessage) -> bool:
    message.attempts += 1
    try:
        email = compose(session, settings, message)
    except (ValueError, LookupError) as exc:  # an address or text the e-mail cannot carry
        _fail(message, f"cannot compose: {exc}")
        return False
    try:
        mailer.send(email)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        _refused(
            settings, message, min(codes), "; ".join(_text(r) for _, r in exc.recipients.values())
        )
        return False
    except smtplib.SMTPResponseException as exc:
        _refused(settings, message, exc.smtp_code, _text(exc.smtp_error))
        return False
    except (OSError, smtplib.SMTPException) as exc:  # unreachable, timed out, disconnected
        mailer.broken = True
        _retry(settings, message, f"{type(exc).__name__}: {exc}")
        return False
    if SEND_HOOK is not None:
        SEND_HOOK("accepted")
    message.state = MailState.SENT
    message.sent_at = utcnow()
    message.last_error = None
    log.info("sent %s e-mail of order %s", message.kind, message.order_id)
    return True


def _refused(settings: Settings, message: OutboxMessage, code: int, text: str) -> None:
    if code >= 500:  # permanent: retrying cannot help
        _fail(message, f"refused by the SMTP server: {code} {text}")
    else:
        _retry(settings, message, f"deferred by the SMTP server: {code} {text}")


def _retry(settings: Settings, message: OutboxMessage, error: str) -> None:
    message.last_error = error[:1000]
    if message.attempts >= settings.mail_max_attempts:
        _fail(message, f"gave up after {message.attempts} attempts: {error}")
        return
    delay = min(settings.mail_retry_s * 2 ** (message.attempts - 1), MAX_RETRY_S)
    message.next_attempt_at = utcnow() + timedelta(seconds=delay)
    log.warning("%s e-mail of order %s will be retried: %s", message.kind, message.order_id, error)


def _fail(message: OutboxMessage, error: str) -> None:
    message.state = MailState.FAILED
    message.last_error = error[:1000]
    log.warning("%s e-mail of order %s failed: %s", message.kind, message.order_id, error)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


class _Mailer:
    """One SMTP connection for a round of sends, opened at the first message."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None
        self.broken = False

    def __enter__(self) -> _Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()

    def send(self, email: EmailMessage) -> None:
        s = self.settings
        if self.smtp is None:
            assert s.smtp_host is not None
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
            try:
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_username and s.smtp_password is not None:
                    smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            except BaseException:
                smtp.close()
                raise
            self.smtp = smtp
        try:
            self.smtp.send_message(email, to_addrs=[str(email["To"])])
        except smtplib.SMTPServerDisconnected:
            self.smtp = None
            raise
        except smtplib.SMTPResponseException:
            self.smtp.rset()  # the connection stays usable for the next message
            raise


# ----------------------------------------------------------------------------- the e-mails


def compose(session: Session, settings: Settings, message: OutboxMessage) -> EmailMessage:
    """The e-mail of an outbox message, written from the order as it is now."""
    order = session.get(Order, message.order_id)
    if order is None:
        raise LookupError(f"order {message.order_id} does not exist")
    event = session.get(Event, order.event_id)
    tier = session.get(Tier, order.tier_id)
    if event is None or tier is None:
        raise LookupError(f"the event of order {order.id} does not exist")
    tickets = list(
        session.scalars(select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.token_id))
    )
    base = settings.public_url.rstrip("/")
    name = " ".join(event.name.split())  # one line: a header cannot carry a line break
    if message.kind == MailKind.MINTED:
        subject = f"Your tickets for {name}"
        secret = settings.claim_link_secret.get_secret_value().encode()
        body = _minted(order, event, tier, tickets, base, name, secret)
    elif message.kind == MailKind.REFUNDED:
        subject = f"Your order for {name} was refunded"
        body = _refunded(order, name, settings)
    else:
        subject = f"Your tickets for {name} were revoked"
        body = _revoked(order, tickets, name, settings)
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = order.email
    email["Subject"] = subject
    email["Message-ID"] = f"<{message.message_id}>"
    email["Date"] = format_datetime(message.created_at)
    email.set_content(body + f"\nThe event's page: {base}/event/{event.id}\n")
    return email


def claim_link(base: str, event_id: int, order_id: str, secret: bytes) -> str:
    """The custody claim link of an order: ``/me`` with the order and, after ``#`` (never sent
    to a server, so never in its logs or a Referer), the claim token the page fills in."""
    return f"{base}/me?event={event_id}&order={order_id}#claim={claim_link_token(secret, order_id)}"


def _minted(
    order: Order,
    event: Event,
    tier: Tier,
    tickets: list[Ticket],
    base: str,
    name: str,
    link_secret: bytes,
) -> str:
    starts = local_time(event.starts_at, event.starts_at_offset_min)
    lines = [
        "Hello,",
        "",
        f"your order {order.id} is paid and its tickets are issued: {len(tickets)} x {tier.name}"
        f" for {name}, {starts:%A %d %B %Y, %H:%M}"
        + (f" at {' '.join(event.venue.split())}." if event.venue else "."),
        "",
        *(f"  ticket {t.token_id}" for t in tickets),
        "",
    ]
    if order.wallet is None:
        lines += [
            "Fairgate holds these tickets for you until you move them into a wallet of your own,",
            "which also gives each ticket its own key for the gate. Open this link in the browser",
            'that has your wallet, connect it, and choose "Claim into my wallet":',
            f"  {claim_link(base, event.id, order.id, link_secret)}",
            "Keep this e-mail to yourself: whoever has the link can claim the tickets. It fills in",
            f"your order number ({order.id}) and a claim token that works like your order token.",
        ]
    else:
        lines.append(f"They are in your wallet {order.wallet}.")
    return "\n".join(lines) + "\n"


def _refunded(order: Order, name: str, settings: Settings) -> str:
    return (
        f"Hello,\n\nyour order {order.id} for {name} was refunded: "
        f"{_money(order.amount_cents, order.currency)} back to your card. No tickets were issued.\n"
    )


def _revoked(order: Order, tickets: list[Ticket], name: str, settings: Settings) -> str:
    given = {TicketState.GIVEN_AWAY, TicketState.REFUND_FUNDED}
    gone = sum(t.state in given for t in tickets)
    lines = [
        "Hello,",
        "",
        f"the payment of your order {order.id} for {name} went back"
        + (f" ({_reason(order)})." if _reason(order) else "."),
    ]
    if order.provider_refunded and order.quantity:
        kept = order.amount_cents * (order.quantity - gone) // order.quantity
        lines.append(f"{_money(kept, order.currency)} is refunded to your card.")
    lines.append("")
    for t in tickets:
        if t.state == TicketState.NOT_REVOCABLE:
            what = "stays with the buyer you sold it to, who is refunded on-chain"
        elif t.state in given:
            what = "you gave it away: its holder is refunded on-chain, not your card"
        else:
            what = "revoked"
        lines.append(f"  ticket {t.token_id}: {what}")
    return "\n".join(lines) + "\n"


def _reason(order: Order) -> str:
    to_revoking = [h.reason for h in order.history if h.to_state == OrderState.REVOKING]
    return to_revoking[-1].split(":")[0] if to_revoking else ""


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency.upper()}"
