"""Challenges a gate shows on its screen; a proof must answer one this gate issued, recently.

Why: the proof binds the challenge (a public signal), so a QR code photographed at gate A is
useless at gate B (B never issued that challenge) and useless at A after ``challenge_ttl_s``.
The nullifier already stops a second entry; challenges stop a stolen code from being the first.

Each challenge is a uniformly random field element from the OS CSPRNG, recorded with the gate
and event it was issued for and the time it expires. The screen shows the current challenge and
rotates to a new one every ``rotate_s`` seconds (default half the TTL), so a holder who scanned
it just before a rotation still has at least ``ttl - rotate_s`` seconds to show their proof.
Many holders answer the same challenge: a challenge is not single-use (the nullifier is).

Issued challenges are kept in memory for the check (a dict lookup) and written to the device's
SQLite file, so a restart does not invalidate the challenge on the screen. Expired challenges
are kept a day so a late proof is told "challenge expired" rather than "not from this gate".

Screen payload (QR alphanumeric characters only): ``FGC1:<event address, 40 hex>:<challenge,
64 hex>`` in upper case.
"""

from __future__ import annotations

import io
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import qrcode
import qrcode.constants

from fairgate.errors import ProofError
from gate.store import norm_event
from zk.field import P
from zk.verifier import new_challenge

__all__ = [
    "ChallengeBook",
    "ChallengeCard",
    "ChallengeExpired",
    "ChallengeUnknown",
    "parse_card",
]

CARD_PREFIX = "FGC1:"
KEEP_EXPIRED_S = 86_400

SCHEMA = """
CREATE TABLE IF NOT EXISTS challenges (
    event TEXT NOT NULL,
    gate_id TEXT NOT NULL,
    challenge TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (event, gate_id, challenge)
) WITHOUT ROWID;
"""


class ChallengeExpired(ProofError):
    """challenge expired"""

    code = "challenge_expired"


class ChallengeUnknown(ProofError):
    """challenge not issued by this gate"""

    code = "challenge_unknown"


@dataclass(frozen=True)
class ChallengeCard:
    """What the gate screen shows: the challenge as text and as a QR code."""

    event: str
    challenge: int
    issued_at: float
    expires_at: float

    @property
    def text(self) -> str:
        return f"{CARD_PREFIX}{self.event[2:].upper()}:{self.challenge:064X}"

    def qr_png(self, *, box_size: int = 8) -> bytes:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size)
        code.add_data(self.text)
        code.make(fit=True)
        buffer = io.BytesIO()
        code.make_image().save(buffer, "PNG")
        return buffer.getvalue()


def parse_card(text: str) -> tuple[str, int]:
    """``(event address, challenge)`` from a screen payload (the holder's app side)."""
    parts = text.strip().split(":")
    if len(parts) != 3 or parts[0] + ":" != CARD_PREFIX:
        raise ProofError("not a Fairgate gate challenge")
    event, value = parts[1], parts[2]
    if len(event) != 40 or len(value) != 64:
        raise ProofError("malformed gate challenge")
    try:
        challenge = int(value, 16)
        address = norm_event("0x" + event)
    except ValueError:
        raise ProofError("malformed gate challenge") from None
    if challenge >= P:
        raise ProofError("gate challenge outside the field")
    return address, challenge


class ChallengeBook:
    """The challenges one gate issued for one event."""

    def __init__(
        self,
        path: Path | str,
        *,
        gate_id: str,
        event: str,
        ttl_s: float,
        rotate_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.gate_id = gate_id
        self.event = norm_event(event)
        self.ttl_s = float(ttl_s)
        self.rotate_s = float(rotate_s) if rotate_s else self.ttl_s / 2
        if self.rotate_s > self.ttl_s:
            raise ValueError("rotate_s must not exceed ttl_s")
        self.clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        now = self.clock()
        self._db.execute("DELETE FROM challenges WHERE expires_at < ?", (now - KEEP_EXPIRED_S,))
        rows = self._db.execute(
            "SELECT challenge, issued_at, expires_at FROM challenges "
            "WHERE event = ? AND gate_id = ? ORDER BY issued_at",
            (self.event, self.gate_id),
        ).fetchall()
        self._issued: dict[int, tuple[float, float]] = {
            int(c, 16): (float(i), float(e)) for c, i, e in rows
        }
        self._current: ChallengeCard | None = None
        if rows:
            c, i, e = rows[-1]
            self._current = ChallengeCard(self.event, int(c, 16), float(i), float(e))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def issue(self) -> ChallengeCard:
        """A new challenge, valid ``ttl_s`` seconds from now (recorded before it is shown)."""
        challenge = new_challenge()
        now = self.clock()
        card = ChallengeCard(self.event, challenge, now, now + self.ttl_s)
        with self._lock:
            self._db.execute(
                "INSERT INTO challenges (event, gate_id, challenge, issued_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (self.event, self.gate_id, f"{challenge:064x}", now, card.expires_at),
            )
            self._issued[challenge] = (now, card.expires_at)
            self._current = card
            stale = [c for c, (_, exp) in self._issued.items() if exp < now - KEEP_EXPIRED_S]
            for c in stale:  # a gate runs for days: keep the book a day deep
                del self._issued[c]
        return card

    def current(self) -> ChallengeCard:
        """The challenge to show now: the last one, or a new one once it is ``rotate_s`` old."""
        card = self._current
        if card is None or self.clock() - card.issued_at >= self.rotate_s:
            card = self.issue()
        return card

    def check(self, challenge: int) -> None:
        """Pass if this gate issued ``challenge`` for this event and it has not expired.

        Raises :class:`ChallengeUnknown` or :class:`ChallengeExpired` (both ProofError).
        """
        found = self._issued.get(challenge)
        if found is None:
            raise ChallengeUnknown()
        if self.clock() > found[1]:
            raise ChallengeExpired()
