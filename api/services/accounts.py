"""Organizer accounts of the dashboard: Sign-In with Ethereum, browser sessions, CSRF tokens.

- A nonce is handed out with each sign-in message and spent by one conditional UPDATE (``used_at
  IS NULL AND expires_at > now``): a replayed message finds it spent and is refused, even when
  two replays race.
- The wallet that signs must be an organizer's: its payout address (the wallet its events are
  handed to by default) or the on-chain owner of one of its events.
- A session is a random 256-bit token in an HttpOnly cookie; only its SHA-256 is stored, with the
  organizer, the wallet, an expiry and the session's CSRF token (sent back with every
  state-changing form and compared in constant time).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from eth_utils.address import to_checksum_address
from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from api import siwe
from api.errors import Forbidden, Unauthorized
from api.models import DashboardSession, Event, Organizer, SiweNonce, utcnow
from api.security import hash_secret
from api.services import audit

NONCE_TTL_S = 300  # a sign-in message must come back signed within this
SESSION_TTL_S = 8 * 3600
COOKIE = "fg_session"


@dataclass(frozen=True)
class SignedIn:
    """The organizer behind a dashboard request."""

    session_id: int
    organizer_id: int
    address: str
    csrf_token: str

    @property
    def actor(self) -> str:
        return f"wallet {self.address}"


def new_message(
    session: Session, *, address: str, domain: str, origin: str, chain_id: int
) -> siwe.SiweMessage:
    """A fresh EIP-4361 message for ``address`` with a new nonce (committed by the caller)."""
    now = utcnow()
    nonce = secrets.token_hex(16)
    session.add(
        SiweNonce(nonce=nonce, issued_at=now, expires_at=now + timedelta(seconds=NONCE_TTL_S))
    )
    return siwe.build(
        domain=domain,
        address=to_checksum_address(address),
        uri=origin + "/dashboard",
        chain_id=chain_id,
        nonce=nonce,
        now=now,
        ttl_s=NONCE_TTL_S,
    )


def organizer_of_wallet(session: Session, address: str) -> Organizer | None:
    wallet = to_checksum_address(address)
    by_payout = session.scalar(
        select(Organizer)
        .where(func.lower(Organizer.payout_address) == wallet.lower())
        .order_by(Organizer.id)
        .limit(1)
    )
    if by_payout is not None:
        return by_payout
    event = session.scalar(
        select(Event)
        .where(func.lower(Event.deploy_owner) == wallet.lower())
        .order_by(Event.id)
        .limit(1)
    )
    return session.get(Organizer, event.organizer_id) if event is not None else None


def sign_in(
    session: Session,
    *,
    message: str,
    signature: str,
    domain: str,
    origin: str,
    chain_id: int,
    client: str,
) -> tuple[str, SignedIn]:
    """Check a signed message, spend its nonce and open a session: ``(cookie token, who)``.

    Commits: the nonce is spent even if no organizer owns the wallet (one try per message)."""
    now = utcnow()
    parsed = siwe.check(
        message, signature, domain=domain, origin=origin, chain_id=chain_id, now=now
    )
    spent = cast(
        CursorResult[tuple[()]],
        session.execute(
            update(SiweNonce)
            .where(
                SiweNonce.nonce == parsed.nonce,
                SiweNonce.used_at.is_(None),
                SiweNonce.expires_at > now,
            )
            .values(used_at=now)
        ),
    )
    if spent.rowcount != 1:
        session.commit()
        raise siwe.SiweRefused("the sign-in nonce is unknown, expired or already used")
    organizer = organizer_of_wallet(session, parsed.address)
    if organizer is None:
        session.commit()
        raise Forbidden(f"{parsed.address} is not the wallet of any organizer")
    token = secrets.token_urlsafe(32)
    row = DashboardSession(
        token_hash=hash_secret(token),
        organizer_id=organizer.id,
        address=parsed.address,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(seconds=SESSION_TTL_S),
        client=client[:64],
    )
    session.add(row)
    session.flush()
    who = SignedIn(row.id, organizer.id, parsed.address, row.csrf_token)
    audit.record(
        session,
        actor=who.actor,
        organizer_id=organizer.id,
        client=client,
        action="sign_in",
        target=f"session {row.id}",
        after={"expires_at": row.expires_at},
    )
    session.commit()
    return token, who


def signed_in(session: Session, token: str | None) -> SignedIn:
    """The organizer of a session cookie; Unauthorized when absent, unknown, ended or expired."""
    if not token:
        raise Unauthorized("sign in first")
    row = session.scalar(  # times compared in SQL: SQLite hands back naive datetimes
        select(DashboardSession).where(
            DashboardSession.token_hash == hash_secret(token),
            DashboardSession.ended_at.is_(None),
            DashboardSession.expires_at > utcnow(),
        )
    )
    if row is None:
        raise Unauthorized("your session has ended: sign in again")
    return SignedIn(row.id, row.organizer_id, row.address, row.csrf_token)


def check_csrf(who: SignedIn, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(sent.encode(), who.csrf_token.encode()):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page")


def sign_out(session: Session, who: SignedIn, client: str) -> None:
    session.execute(
        update(DashboardSession)
        .where(DashboardSession.id == who.session_id)
        .values(ended_at=utcnow())
    )
    audit.record(
        session,
        actor=who.actor,
        organizer_id=who.organizer_id,
        client=client,
        action="sign_out",
        target=f"session {who.session_id}",
    )
    session.commit()


def purge_expired_nonces(session: Session, now: datetime | None = None) -> None:
    """Forget nonces past their expiry, spent or not: they can never be accepted again (a
    replay then finds no nonce, which is refused the same way)."""
    now = now or utcnow()
    session.execute(delete(SiweNonce).where(SiweNonce.expires_at <= now))
