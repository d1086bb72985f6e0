"""The fan's card purchase through the bridge: order, checkout URL, status, custody claim."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.bridge_client import (
    OrderArg,
    client_from_settings,
    load_order,
    save_order,
    wait_for,
)
from cli.output import console, err_console, spinner, table
from cli.session import open_session
from cli.ticket_keys import TicketKeys
from cli.wallets import PasswordFileOpt, WalletOpt, load_signer
from fairgate.errors import NotFound

__all__ = ["buy_card", "claim_custody", "order"]

BUY_CARD_EPILOG = (
    "Example: fairgate fan buy-card 1 2 -n 2 --email fan@example.org -w alice --wait "
    "(EVENT_ID and TIER_ID are the bridge's ids: see its /events)"
)


def buy_card(
    event_id: Annotated[int, typer.Argument(help="The bridge's event id.")],
    tier_id: Annotated[int, typer.Argument(help="The bridge's tier id.")],
    email: Annotated[str, typer.Option(help="Where the receipt goes.")],
    n: Annotated[int, typer.Option("-n", min=1, max=100, help="How many tickets.")] = 1,
    custody: Annotated[
        bool, typer.Option(help="Mint to the bridge's custody; claim later with claim-custody.")
    ] = False,
    wait: Annotated[bool, typer.Option(help="Wait until the tickets are minted.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait.")] = 600,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Buy tickets by card through the bridge: commitments made here, a checkout URL to pay."""
    session = open_session()
    signer = load_signer(session.settings, wallet, password_file)
    bridge = client_from_settings(session.settings)
    event = bridge.event(event_id)
    address = event.get("contract_address")
    if not address:
        raise NotFound(f"bridge event {event_id} has no contract yet")
    client = session.event(address)
    keys = TicketKeys(session.settings, signer, session.chain_id)
    commitments = keys.commitments(client.address, client.gate_scope(), n)
    created = bridge.create_order(
        {
            "event_id": event_id,
            "tier_id": tier_id,
            "quantity": n,
            "email": email,
            "wallet": "custody" if custody else signer.address,
            "commitments": [f"{c:#x}" for c in commitments],
        }
    )
    save_order(session.settings, created, {"event": client.address, "wallet": signer.address})
    console.print(
        f"order [bold]{created['id']}[/] {created['state']}: "
        f"{created['amount_cents'] / 100:.2f} {created['currency'].upper()}"
    )
    if created.get("checkout_url"):
        console.print(f"pay at {created['checkout_url']}", markup=False)
    if wait:
        with spinner("Waiting for the payment and the mint"):
            final = wait_for(bridge, created["id"], created["order_token"], timeout)
        _show(final)


def _show(data: dict[str, Any]) -> None:
    console.print(f"order {data['id']}: [bold]{data['state']}[/]")
    tickets = data.get("tickets") or []
    if tickets:
        rows = [
            (t["token_id"], t["holder"], "custody" if t["custody"] else "wallet", t["state"])
            for t in tickets
        ]
        console.print(table(None, ["#ticket", "holder", "where", "state"], rows))


def order(
    order_id: OrderArg,
    wait: Annotated[bool, typer.Option(help="Poll until a final state.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait.")] = 600,
) -> None:
    """Show a card order's state and tickets (polling with --wait)."""
    from fairgate.settings import get_settings

    settings = get_settings()
    record = load_order(settings, order_id)
    bridge = client_from_settings(settings)
    if wait:
        with spinner("Waiting for the order"):
            data = wait_for(bridge, order_id, record["order_token"], timeout)
    else:
        data = bridge.order(order_id, record["order_token"])
    _show(data)


def claim_custody(
    order_id: OrderArg,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Move a custody order's tickets to your wallet (you sign the bridge's claim message)."""
    from fairgate.settings import get_settings

    settings = get_settings()
    record = load_order(settings, order_id)
    signer = load_signer(settings, wallet, password_file)
    claim = client_from_settings(settings).claim(order_id, record["order_token"], signer)
    err_console.print("the bridge releases the tickets in its next worker round")
    console.print(
        f"claim of order {order_id} for {claim['wallet']}: {claim['state']} "
        f"(tickets {', '.join(map(str, claim['tickets']))})"
    )
