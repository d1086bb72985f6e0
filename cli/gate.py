"""``fairgate gate``: a gate device at the door, on top of the gate service (:mod:`gate`).

A device (``--gate-id``, default ``FAIRGATE_GATE_ID``) keeps its files under
``FAIRGATE_GATE_DIR`` (default ``<home>/gate``): the nullifier store and the challenges it issued
(SQLite) and the event's accepted roots (a JSON snapshot). ``challenge`` shows the current
challenge card (text and QR) for holders to prove against; ``verify`` judges one holder's payload
(a file, ``-`` for pasted text on stdin, or a QR image) and records the entry; ``sync`` refreshes
the roots from the chain and exchanges check-ins with the hub; ``offline`` says what the device
can do without the network; ``anchor`` writes the used nullifiers on-chain after doors.

Offline-first: when the chain node is unreachable the device judges with its cached roots, and
says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer
from eth_utils.address import is_address, to_checksum_address

from chain.ticket_event import TicketEventClient
from cli.output import console, err_console, setup_progress, spinner, table
from cli.qr import read_payload
from cli.session import event_index, open_session
from cli.wallets import PasswordFileOpt, WalletOpt, load_signer
from fairgate.errors import ChainError, NotFound
from fairgate.settings import Settings, get_settings
from gate.service import GateService

__all__ = ["app"]

app = typer.Typer(
    help="Gate commands: challenge, verify proofs, sync, offline status, anchor.",
    no_args_is_help=True,
)

EventArg = Annotated[str, typer.Argument(help="The event: its contract address or symbol.")]
GateIdOpt = Annotated[
    str | None, typer.Option("--gate-id", help="This device's gate id (FAIRGATE_GATE_ID).")
]


@dataclass
class Device:
    """An open gate device and how it reached the chain."""

    service: GateService
    online: bool
    name: str


def _offline_address(settings: Settings, ref: str) -> str:
    """The event's address without a node: an address, or a name this machine recorded."""
    if is_address(ref):
        return to_checksum_address(ref)
    for address, record in event_index(settings, settings.chain_id).items():
        if ref.lower() in (
            str(record.get("symbol", "")).lower(),
            str(record.get("name", "")).lower(),
        ):
            return address
    raise NotFound(f"unknown event {ref!r} (offline: give its contract address)")


def _open(
    event: str,
    gate_id: str | None,
    *,
    signer_wallet: str | None = None,
    password_file: PasswordFileOpt = None,
) -> Device:
    settings = get_settings()
    if gate_id:
        settings = settings.model_copy(update={"gate_id": gate_id})
    try:
        session = open_session(settings)
    except ChainError:
        address = _offline_address(settings, event)
        service = GateService.open(event=address, settings=settings)
        return Device(service, False, address)
    sender = None
    if signer_wallet is not None:
        sender = session.sender(load_signer(settings, signer_wallet, password_file))
    client = TicketEventClient(session.w3, session.resolve_event(event), sender)
    with setup_progress(), spinner("Loading the verifier and syncing the event's ticket lists"):
        service = GateService.open(client=client, chain_id=session.chain_id, settings=settings)
        service.roots.sync()
    return Device(service, True, client.name())


@app.command(epilog="Example: fairgate gate challenge NIGHT1 --png challenge.png")
def challenge(
    event: EventArg,
    png: Annotated[str | None, typer.Option(help="Also write the challenge's QR as a PNG.")] = None,
    gate_id: GateIdOpt = None,
) -> None:
    """Show this gate's current challenge card (holders prove against it; it rotates)."""
    device = _open(event, gate_id)
    try:
        card = device.service.challenges.current()
    finally:
        device.service.close()
    if png:
        with open(png, "wb") as fh:
            fh.write(card.qr_png())
        err_console.print(f"challenge QR written to {png}")
    console.print(f"challenge {card.text}", markup=False, highlight=False)
    err_console.print(f"holders run: fairgate fan prove EVENT:ID --challenge {card.text}")


@app.command(
    epilog="Examples: fairgate gate verify NIGHT1 ticket.png;  "
    "pbpaste | fairgate gate verify NIGHT1 -"
)
def verify(
    event: EventArg,
    source: Annotated[
        str, typer.Argument(help="Payload file, QR image (PNG/JPEG), or - to read stdin.")
    ] = "-",
    gate_id: GateIdOpt = None,
) -> None:
    """Check a holder's proof, record the entry, and say in plain words whether they may enter."""
    text = read_payload(source)
    device = _open(event, gate_id)
    try:
        result = device.service.check(text)
    finally:
        device.service.close()
    if not device.online:
        err_console.print("offline: judged with the cached ticket lists")
    if result.admitted:
        console.print(f"[bold green]ADMITTED[/] valid ticket of {device.name}")
        err_console.print(f"checked in {result.total_ms:.1f} ms (proof {result.verify_ms:.1f} ms)")
        return
    console.print(f"[bold red]REFUSED[/] {result.reason}")
    raise typer.Exit(1)


@app.command(epilog="Example: fairgate gate sync NIGHT1")
def sync(event: EventArg, gate_id: GateIdOpt = None) -> None:
    """Refresh the ticket lists from the chain and exchange check-ins with the hub."""
    device = _open(event, gate_id)
    try:
        report = device.service.sync()
        roots = device.service.roots.describe()
    finally:
        device.service.close()
    console.print(roots if device.online else f"chain unreachable: {roots}")
    if report is None:
        console.print("no hub configured (FAIRGATE_GATE_HUB_URL, FAIRGATE_GATE_API_KEY)")
    elif not report.online:
        console.print(f"hub unreachable: {report.error}; check-ins stay queued")
    else:
        console.print(
            f"hub: pushed {report.pushed}, pulled {report.pulled}, "
            f"new conflicts {report.new_conflicts}"
        )


@app.command(epilog="Example: fairgate gate offline NIGHT1")
def offline(event: EventArg, gate_id: GateIdOpt = None) -> None:
    """What this device can do without the network: cached lists, entries, queued work."""
    device = _open(event, gate_id)
    service = device.service
    try:
        address = service.event
        rows = [
            ("chain", "reachable" if device.online else "UNREACHABLE (working from cache)"),
            ("ticket lists", service.roots.describe()),
            ("entries recorded here", service.store.count(address)),
            ("waiting for the hub", len(service.store.unpushed(address, 100_000))),
            ("conflicts", len(service.store.conflicts(address))),
            ("anchored on-chain", service.store.anchored_count(address)),
            ("hub", "configured" if service.hub else "none"),
        ]
    finally:
        service.close()
    console.print(table(f"Gate {service.gate_id} - {device.name}", ["", "status"], rows))


@app.command(epilog="Example: fairgate gate anchor NIGHT1 -w gate-key")
def anchor(
    event: EventArg,
    gate_id: GateIdOpt = None,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """After doors: write the used nullifiers on-chain in batches (needs the gate role)."""
    device = _open(event, gate_id, signer_wallet=wallet, password_file=password_file)
    if not device.online:
        raise ChainError("anchoring needs the chain node")
    try:
        report = device.service.anchor()
    finally:
        device.service.close()
    console.print(
        f"anchored {report.anchored} ({report.already_on_chain} were already on-chain) in "
        f"{len(report.transactions)} transaction(s), gas {report.gas_used:,}"
    )


@app.command(
    epilog="Examples: fairgate gate serve NIGHT1;  fairgate gate serve NIGHT1 --host 0.0.0.0 "
    "--tls-cert gate.pem --tls-key gate-key.pem"
)
def serve(
    event: EventArg,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8700,
    tls_cert: Annotated[
        str | None,
        typer.Option(
            help="TLS certificate (PEM): browsers give the camera to https pages only, "
            "or to http://127.0.0.1 on the device itself."
        ),
    ] = None,
    tls_key: Annotated[str | None, typer.Option(help="TLS private key (PEM).")] = None,
    gate_id: GateIdOpt = None,
) -> None:
    """Run this device's scanner service: the staff's scanner page and its API, offline too."""
    from gate.app import serve_device

    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither")
    settings = get_settings()
    if gate_id:
        settings = settings.model_copy(update={"gate_id": gate_id})
    device = _open(event, gate_id)
    if not device.online:
        err_console.print("chain unreachable: judging with the cached ticket lists")
    address = device.service.event

    def connect() -> TicketEventClient:  # a device started offline picks the chain up later
        session = open_session(settings)  # ChainError while the node is still unreachable
        return TicketEventClient(session.w3, session.resolve_event(address))

    def announce(link: str) -> None:
        err_console.print(f"gate {device.service.gate_id} scanner for {device.name}")
        err_console.print("pair a staff device with this link (it holds the gate's key):")
        console.print(link, markup=False, highlight=False)

    serve_device(
        device.service,
        settings,
        name=device.name,
        host=host,
        port=port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        connect=None if device.online else connect,
        announce=announce,
    )
