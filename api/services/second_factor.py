"""The dashboard's second factor: TOTP (RFC 6238, pyotp) with one-time recovery codes.

- Enrolment: a fresh secret shown as a QR code (``otpauth://`` URI) and as text; it counts only
  once a code from the authenticator confirms it. Then ten recovery codes are shown once; only
  their SHA-256 is stored (80 random bits each, so a plain hash is enough, as for API keys).
- A fresh code is required for each money-moving or irreversible action (:func:`require_fresh`):
  cancelling an event (which starts its refunds), creating or revoking gate and API keys.
- A code is accepted once: the 30-second step of the last accepted code is stored and a code of
  that step or an earlier one is refused, by one conditional UPDATE (two racing requests with the
  same code cannot both pass). A recovery code is spent the same way.
- Wrong codes are limited: after :data:`MAX_FAILURES` the factor is locked for
  :data:`LOCK_S` seconds (429 with Retry-After), whatever the code.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import cast

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from api.errors import Forbidden, RateLimited
from api.models import RecoveryCode, SecondFactor, utcnow
from api.services import audit

ISSUER = "Fairgate"
MAX_FAILURES = 5
LOCK_S = 300
RECOVERY_CODES = 10
_CODE = re.compile(r"^[0-9]{6}$")
_RECOVERY = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$")


class SecondFactorRequired(Forbidden):
    """This action needs a fresh code from the organizer's authenticator."""

    code = "second_factor_required"


class SecondFactorRefused(Forbidden):
    """The second-factor code is wrong, expired or already used."""

    code = "second_factor_refused"


class TooManyCodes(RateLimited):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(retry_after_s)
        self.message = "too many wrong codes: the second factor is locked for a few minutes"


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def factor_of(session: Session, organizer_id: int) -> SecondFactor | None:
    return session.get(SecondFactor, organizer_id)


def is_enrolled(session: Session, organizer_id: int) -> bool:
    factor = factor_of(session, organizer_id)
    return factor is not None and factor.confirmed_at is not None


def start_enrolment(session: Session, organizer_id: int) -> str:
    """A new pending secret (replacing a pending one). An enrolled factor is not replaced here."""
    factor = factor_of(session, organizer_id)
    if factor is not None and factor.confirmed_at is not None:
        raise Forbidden("a second factor is already set up")
    secret = pyotp.random_base32()
    if factor is None:
        session.add(SecondFactor(organizer_id=organizer_id, secret=secret, last_step=-1))
    else:
        factor.secret = secret
    session.flush()
    return secret


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG data URI (drawn on the server: no script needed)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is ``code`` (this step or one either side, for clock drift)."""
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def _check_lock(factor: SecondFactor, now: datetime) -> None:
    locked = _aware(factor.locked_until)
    if locked is not None and locked > now:
        raise TooManyCodes(retry_after_s=(locked - now).total_seconds())


def _fail(session: Session, factor: SecondFactor, now: datetime, why: str) -> SecondFactorRefused:
    failures = factor.failures + 1
    values: dict[str, object] = {"failures": failures}
    if failures >= MAX_FAILURES:
        values = {"failures": 0, "locked_until": now + timedelta(seconds=LOCK_S)}
    session.execute(
        update(SecondFactor)
        .where(SecondFactor.organizer_id == factor.organizer_id)
        .values(**values)
    )
    session.commit()
    return SecondFactorRefused(why)


def _accept_totp(session: Session, factor: SecondFactor, code: str, now: datetime) -> None:
    step = _matching_step(factor.secret, code, now)
    if step is None:
        raise _fail(session, factor, now, "the code is wrong or expired")
    spent = cast(
        CursorResult[tuple[()]],
        session.execute(
            update(SecondFactor)
            .where(SecondFactor.organizer_id == factor.organizer_id, SecondFactor.last_step < step)
            .values(last_step=step, failures=0)
        ),
    )
    if spent.rowcount != 1:
        raise _fail(session, factor, now, "this code was already used: wait for the next one")


def _accept_recovery(session: Session, factor: SecondFactor, code: str, now: datetime) -> None:
    spent = cast(
        CursorResult[tuple[()]],
        session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.organizer_id == factor.organizer_id,
                RecoveryCode.code_hash == _hash(code),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
        ),
    )
    if spent.rowcount != 1:
        raise _fail(session, factor, now, "the recovery code is wrong or already used")


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def confirm_enrolment(
    session: Session, organizer_id: int, code: str, *, actor: str, client: str
) -> list[str]:
    """Confirm a pending secret with a code from the authenticator; the recovery codes."""
    factor = factor_of(session, organizer_id)
    if factor is None or factor.confirmed_at is not None:
        raise Forbidden("start the set-up first")
    now = utcnow()
    _check_lock(factor, now)
    if not _CODE.match(code.strip()):
        raise _fail(session, factor, now, "enter the 6-digit code your authenticator shows")
    _accept_totp(session, factor, code.strip(), now)
    factor.confirmed_at = now
    codes = new_recovery_codes(session, organizer_id)
    audit.record(
        session,
        actor=actor,
        organizer_id=organizer_id,
        client=client,
        action="second_factor_enrol",
        target=f"organizer {organizer_id}",
        after={"recovery_codes": len(codes)},
    )
    session.commit()
    return codes


def new_recovery_codes(session: Session, organizer_id: int) -> list[str]:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    codes = [
        "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))
        for _ in range(RECOVERY_CODES)
    ]
    session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.organizer_id == organizer_id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    session.add_all(RecoveryCode(organizer_id=organizer_id, code_hash=_hash(c)) for c in codes)
    return codes


def require_fresh(session: Session, organizer_id: int, code: str | None) -> str:
    """Accept a fresh TOTP code or an unused recovery code, or raise; returns which was used.

    Commits the spent step or code (and counts a failure) at once, so a rejected action cannot
    roll back the replay or rate-limit bookkeeping."""
    factor = factor_of(session, organizer_id)
    if factor is None or factor.confirmed_at is None:
        raise SecondFactorRequired(
            "set up a second factor (Security page) before money-moving actions"
        )
    now = utcnow()
    _check_lock(factor, now)
    code = (code or "").strip().upper()
    if not code:
        raise SecondFactorRequired("enter a fresh code from your authenticator")
    if _CODE.match(code):
        _accept_totp(session, factor, code, now)
        used = "totp"
    elif _RECOVERY.match(code):
        _accept_recovery(session, factor, code, now)
        used = "recovery_code"
    else:
        raise _fail(session, factor, now, "enter the 6-digit code your authenticator shows")
    session.commit()
    return used


def unused_recovery_codes(session: Session, organizer_id: int) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.organizer_id == organizer_id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )
