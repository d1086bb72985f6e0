"""Gate challenges: issued here, fresh, bound to the gate and the event, kept across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairgate.errors import ProofError
from gate.challenges import ChallengeBook, ChallengeExpired, ChallengeUnknown, parse_card
from zk.field import P

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
