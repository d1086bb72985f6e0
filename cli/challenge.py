"""Reading a gate challenge: the gate's card text (``FGC1:<event>:<challenge>``) or a number."""

from __future__ import annotations

from fairgate.errors import ProofError
from gate.challenges import CARD_PREFIX, parse_card
from zk.field import element

__all__ = ["parse_challenge"]


def parse_challenge(text: str, event: str) -> int:
    """The challenge for ``event`` from a gate card, or from a decimal/0x-hex number."""
    text = text.strip()
    if text.startswith(CARD_PREFIX):
        card_event, value = parse_card(text)
        if card_event.lower() != event.lower():
            raise ProofError("this challenge card is for another event")
        return value
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise ProofError(f"challenge {text!r} is not a gate card nor a number") from None
    return element(value, "challenge")
