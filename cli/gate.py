"""``fairgate gate``: check a ticket holder's proof at the door.

``verify`` reads the holder's payload (a file, ``-`` for pasted text on stdin, or a QR image),
and checks, in plain words: that it is readable, for this event, for a tree root the event has
published (or replaced within the grace window), for this gate's challenge, that its ticket has
not entered before (on-chain anchors), and that the zero-knowledge proof verifies.
"""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from chain.ticket_event import TicketEventClient
from cli.output import console, err_console
from cli.qr import read_payload
from cli.session import open_session
from fairgate.errors import ProofError
from zk import payload
from zk.field import element
from zk.proof import GateProof

__all__ = ["app"]

app = typer.Typer(
    help="Gate commands: challenges, verify proofs, sync, offline status.", no_args_is_help=True
)

EventArg = Annotated[str, typer.Argument(help="The event: its contract address or symbol.")]


class Refused(ProofError):
    """The gate refused the ticket."""

    code = "refused"


def _challenge(text: str) -> int:
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise ProofError(f"challenge {text!r} is not a number (decimal or 0x-hex)") from None
    return element(value, "challenge")


def _judge(client: TicketEventClient, proof: GateProof, challenge: int) -> int:
    """The checks, cheapest first; returns the nullifier or raises Refused with the reason."""
    from zk.verifier import GateVerifier

    public = proof.public
    if public.scope != client.gate_scope():
        raise Refused("ticket not valid for this event")
    if public.challenge != challenge:
        raise Refused("the proof answers another challenge (replayed or from another gate)")
    if not client.is_accepted_root(public.root):
        raise Refused("ticket list not recognised here (root unpublished or expired)")
    if client.nullifier_used(public.nullifier):
        raise Refused("this ticket has already entered")
    if not GateVerifier.current().verify(proof):
        raise Refused("proof invalid")
    return public.nullifier


@app.command(epilog="Example: fairgate gate challenge NIGHT1")
def challenge(event: EventArg) -> None:
    """Make a fresh random challenge for holders to prove against (show it at the door)."""
    session = open_session()
    client = session.event(event)
    value = secrets.randbits(248)
    console.print(f"challenge {value:#x} for {client.name()}", markup=False)


@app.command(
    epilog="Examples: fairgate gate verify NIGHT1 ticket.png --challenge 0x2a;  "
    "pbpaste | fairgate gate verify NIGHT1 - --challenge 0x2a"
)
def verify(
    event: EventArg,
    source: Annotated[
        str, typer.Argument(help="Payload file, QR image (PNG/JPEG), or - to read stdin.")
    ] = "-",
    challenge: Annotated[
        str, typer.Option(help="The challenge this gate showed (decimal or 0x-hex).")
    ] = "",
) -> None:
    """Check a holder's gate proof and say, in plain words, whether they may enter."""
    if not challenge:
        raise ProofError("give the challenge this gate showed: --challenge C")
    value = _challenge(challenge)
    text = read_payload(source)
    session = open_session()
    client = session.event(event)
    try:
        proof = payload.decode(text)
        nullifier = _judge(client, proof, value)
    except ProofError as exc:
        console.print(f"[bold red]REFUSED[/] {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"[bold green]ADMITTED[/] valid ticket of {client.name()}")
    err_console.print(
        f"nullifier {nullifier:#066x} (record it: the same ticket cannot enter twice)"
    )
