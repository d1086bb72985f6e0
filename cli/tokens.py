"""Naming a ticket on the command line: ``EVENT:ID`` (``NIGHT1:7``), or ``ID`` with ``--event``.

When neither names the event and this machine knows exactly one event, that one is meant.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.session import Session
from fairgate.errors import NotFound, TicketError

__all__ = ["EventOpt", "TokenArg", "parse_token"]

TokenArg = Annotated[
    str, typer.Argument(help="The ticket: EVENT:ID (e.g. NIGHT1:7), or ID with --event.")
]
EventOpt = Annotated[
    str | None, typer.Option("--event", "-e", help="The event (address or symbol).")
]


class BadToken(TicketError, ValueError):
    """A ticket reference could not be read."""

    code = "bad_token"


def parse_token(session: Session, ref: str, event: str | None) -> tuple[str, int]:
    """``(event address, token id)`` of a ticket reference."""
    name, _, number = ref.rpartition(":")
    if name and event and session.resolve_event(name) != session.resolve_event(event):
        raise BadToken(f"{ref!r} names another event than --event {event}")
    try:
        token_id = int(number)
    except ValueError:
        raise BadToken(f"{ref!r} is not a ticket (EVENT:ID or ID)") from None
    if token_id < 0:
        raise BadToken("ticket ids are >= 0")
    target = name or event
    if not target:
        known = list(session.known_events())
        if len(known) != 1:
            raise NotFound(f"which event is ticket {token_id} of? write EVENT:{token_id}")
        return known[0], token_id
    return session.resolve_event(target), token_id
