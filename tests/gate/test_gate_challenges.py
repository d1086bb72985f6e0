"""Gate challenges: issued here, fresh, bound to the gate and the event, kept across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairgate.errors import ProofError
from gate.challenges import (
    ChallengeBook,
    ChallengeExpired,
    ChallengeUnknown,
    WindowAhead,
    WindowExpired,
    parse_card,
)
from zk.field import P
from zk.identity import time_window, window_challenge

EVENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def book(tmp_path: Path, gate: str, clock: Clock, event: str = EVENT) -> ChallengeBook:
    return ChallengeBook(
        tmp_path / "gate.sqlite3", gate_id=gate, event=event, ttl_s=120, clock=clock
    )


def test_fresh_challenge_passes_then_expires(tmp_path: Path) -> None:
    clock = Clock()
    b = book(tmp_path, "A", clock)
    card = b.current()
    assert 0 < card.challenge < P
    b.check(card.challenge)
    clock.now += 60
    assert b.current() != card  # rotated after ttl/2 ...
    b.check(card.challenge)  # ... and the old one is still valid until its ttl
    clock.now += 61
    with pytest.raises(ChallengeExpired, match="challenge expired"):
        b.check(card.challenge)


def test_challenge_of_another_gate_or_event_is_unknown(tmp_path: Path) -> None:
    clock = Clock()
    a, b = book(tmp_path, "A", clock), book(tmp_path, "B", clock)
    other_event = book(tmp_path, "A", clock, OTHER)
    card = a.current()
    with pytest.raises(ChallengeUnknown, match="not issued by this gate"):
        b.check(card.challenge)
    with pytest.raises(ChallengeUnknown):
        other_event.check(card.challenge)
    with pytest.raises(ChallengeUnknown):
        a.check(card.challenge + 1)


def test_challenges_survive_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    a = book(tmp_path, "A", clock)
    card = a.current()
    a.close()
    again = book(tmp_path, "A", clock)
    again.check(card.challenge)
    assert again.current() == card  # the screen shows the same challenge after a reboot


def test_screen_card_round_trip(tmp_path: Path) -> None:
    card = book(tmp_path, "A", Clock()).current()
    assert set(card.text) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert parse_card(card.text) == (EVENT.lower(), card.challenge)
    assert card.qr_png().startswith(b"\x89PNG")
    with pytest.raises(ProofError):
        parse_card("FGC1:XYZ:00")


SCOPE = 0x1234_5678_9ABC


def window_book(tmp_path: Path, clock: Clock, skew: float = 10) -> ChallengeBook:
    return ChallengeBook(
        tmp_path / "gate.sqlite3",
        gate_id="A",
        event=EVENT,
        ttl_s=120,
        scope=SCOPE,
        window_skew_s=skew,
        clock=clock,
    )


def test_rotating_window_code_passes_within_its_window_and_the_skew(tmp_path: Path) -> None:
    clock = Clock()
    clock.now = 20 * 50_000  # the start of window 50,000
    b = window_book(tmp_path, clock)
    code = window_challenge(SCOPE, 50_000)
    assert b.window_card() == (50_000, code)
    b.check(code)  # a phone in step with the gate
    clock.now += 29.9  # window over 9.9 s ago, within the 10 s skew: still good
    b.check(code)
    with pytest.raises(WindowAhead):  # 10.1 s before window 50,002: beyond the skew
        b.check(window_challenge(SCOPE, 50_002))
    clock.now += 0.1
    with pytest.raises(WindowExpired, match=r"^code expired \(its time window ended at \d\d:"):
        b.check(code)
    b.check(window_challenge(SCOPE, 50_002))  # 10 s early: a phone clock 10 s fast is fine
    assert WindowExpired.code == "code_expired"
    assert b.check_window(50_001) is None


def test_old_window_code_is_expired_and_a_future_one_is_ahead(tmp_path: Path) -> None:
    clock = Clock()
    b = window_book(tmp_path, clock, skew=0)
    now = time_window(clock.now)
    with pytest.raises(WindowExpired):
        b.check(window_challenge(SCOPE, now - 1))
    with pytest.raises(WindowExpired):  # a screenshot from hours ago is still told "expired"
        b.check(window_challenge(SCOPE, now - 3 * 180))
    with pytest.raises(WindowAhead, match="ahead of this gate's clock"):
        b.check(window_challenge(SCOPE, now + 1))
    with pytest.raises(ChallengeUnknown):  # two days old: no longer recognised
        b.check(window_challenge(SCOPE, now - 2 * 4320))
    with pytest.raises(ChallengeUnknown):  # another event's window code
        b.check(window_challenge(SCOPE + 1, now))


def test_window_codes_follow_the_clock_and_need_the_scope(tmp_path: Path) -> None:
    clock = Clock()
    b = window_book(tmp_path, clock, skew=0)
    for _ in range(3):  # hours later, the book has slid on with the clock
        clock.now += 3 * 3600 + 7
        b.check(window_challenge(SCOPE, time_window(clock.now)))
    clock.now += 5 * 86_400  # a jump past the whole day held
    b.check(window_challenge(SCOPE, time_window(clock.now)))
    plain = book(tmp_path, "B", clock)  # no scope: gate-issued challenges only
    with pytest.raises(ChallengeUnknown):
        plain.check(window_challenge(SCOPE, time_window(clock.now)))
    with pytest.raises(ProofError):
        plain.window_card()
