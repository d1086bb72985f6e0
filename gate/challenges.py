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

Rotating window challenges (the fan's phone needs nothing from the gate): a proof may instead
answer :func:`zk.identity.window_challenge` of the event's scope and a time window of
``WINDOW_S`` (20) seconds, the code a fan's page rotates like a SafeTix barcode. Given the scope,
the book accepts window ``w`` while the gate's clock is within ``[w * WINDOW_S - skew,
(w + 1) * WINDOW_S + skew)``; ``skew`` (setting ``gate_window_skew_s``) absorbs the difference
between the phone's and the gate's clocks and the seconds between showing and scanning. An older
window is refused as "code expired" (:class:`WindowExpired`: a screenshot of an old code); a
later one as "code ahead of this gate's clock" (:class:`WindowAhead`: the phone's clock is wrong).
Window challenges are never stored: the book keeps the challenges of the last day's windows (and
the next hour's) in a dict, recomputed as time moves, so recognising one is a dict lookup.
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
from zk.identity import WINDOW_S, check_scope, time_window, window_challenge
from zk.verifier import new_challenge

__all__ = [
    "ChallengeBook",
    "ChallengeCard",
    "ChallengeExpired",
    "ChallengeUnknown",
    "WindowAhead",
    "WindowExpired",
    "parse_card",
]

CARD_PREFIX = "FGC1:"
KEEP_EXPIRED_S = 86_400
KEEP_WINDOWS = KEEP_EXPIRED_S // WINDOW_S  # past windows still recognised as "expired"
AHEAD_WINDOWS = 3_600 // WINDOW_S  # future windows recognised as "ahead of the gate's clock"

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


class WindowExpired(ChallengeExpired):
    """code expired"""

    code = "code_expired"


class WindowAhead(ProofError):
    """code ahead of this gate's clock (check the phone's time)"""

    code = "code_ahead"


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
        scope: int | None = None,
        window_skew_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``scope`` (the event's gate scope) turns on rotating window challenges."""
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        if window_skew_s < 0:
            raise ValueError("window_skew_s must not be negative")
        self.scope = None if scope is None else check_scope(scope)
        self.window_skew_s = float(window_skew_s)
        self._windows: dict[int, int] = {}  # window challenge -> window number
        self._window_span: tuple[int, int] = (0, -1)  # windows held in _windows, inclusive
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
        """Pass if this gate issued ``challenge`` for this event and it has not expired, or if
        it is the window challenge of a window the gate's clock is in (give or take the skew).

        Raises :class:`ChallengeUnknown`, :class:`ChallengeExpired`, :class:`WindowExpired` or
        :class:`WindowAhead` (all ProofError).
        """
        found = self._issued.get(challenge)
        if found is not None:
            if self.clock() > found[1]:
                raise ChallengeExpired()
            return
        if self.scope is not None:
            now = self.clock()
            window = self._window_of(challenge, now)
            if window is not None:
                self.check_window(window, now)
                return
        raise ChallengeUnknown()

    def check_window(self, window: int, now: float | None = None) -> None:
        """Pass if the gate's clock (``now``) is within window ``window``, give or take the skew."""
        now = self.clock() if now is None else now
        start, end = window * WINDOW_S, (window + 1) * WINDOW_S
        if now >= end + self.window_skew_s:
            ended = time.strftime("%H:%M:%S", time.localtime(end))
            raise WindowExpired(f"code expired (its time window ended at {ended})")
        if now < start - self.window_skew_s:
            raise WindowAhead()

    def window_card(self, now: float | None = None) -> tuple[int, int]:
        """``(window, challenge)`` of the current window (what a fan's phone shows now)."""
        if self.scope is None:
            raise ProofError("window challenges need the event's scope")
        window = time_window(self.clock() if now is None else now)
        return window, window_challenge(self.scope, window)

    def _window_of(self, challenge: int, now: float) -> int | None:
        """The window whose challenge this is, among the last day's and the next hour's."""
        assert self.scope is not None
        current = time_window(now)
        low, high = current - KEEP_WINDOWS, current + AHEAD_WINDOWS
        if (low, high) != self._window_span:
            with self._lock:
                self._slide_windows(low, high)
        return self._windows.get(challenge)

    def _slide_windows(self, low: int, high: int) -> None:
        """Hold exactly the challenges of windows ``low..high`` (computes only the new ones)."""
        assert self.scope is not None
        old_low, old_high = self._window_span
        if low > old_high or high < old_low:
            fresh = dict.fromkeys(range(max(low, 0), high + 1), 0)
            windows = {}
        else:
            fresh = {w: 0 for w in range(max(low, 0), high + 1) if not old_low <= w <= old_high}
            windows = {c: w for c, w in self._windows.items() if low <= w <= high}
        for w in fresh:
            windows[window_challenge(self.scope, w)] = w
        self._windows = windows  # swapped whole: readers never see a half-built dict
        self._window_span = (low, high)
