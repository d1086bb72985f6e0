"""The fan's card purchase through the bridge: order, checkout URL, status, custody claim."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from cli.bridge_client import (
    BridgeClient,
    client_from_settings,
    load_order,
    save_order,
    wait_for,
)
from cli.catalog import QuantityOpt, SoldOutHere, check_quantity
from cli.errors import sold_out
from cli.output import console, err_console, spinner, table
from cli.session import open_session
from cli.ticket_keys import TicketKeys
from cli.wallets import PasswordFileOpt, WalletOpt, load_signer
from fairgate.errors import NotFound, TicketError

__all__ = ["buy_card", "claim_custody", "order", "register_commands"]

BUY_CARD_EPILOG = (
    "Example: fairgate fan buy-card NIGHT1 General -n 2 --email fan@example.org -w alice --wait "
    "(the same event and tier names as `fan buy`; see `fairgate fan events`)"
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

OrderArg = Annotated[str, typer.Argument(help="The order id printed by buy-card.")]


def register_commands(app: typer.Typer) -> None:
    """Add ``buy-card``, ``order`` and ``claim-custody`` to the fan group."""
    app.command("buy-card", epilog=BUY_CARD_EPILOG)(buy_card)
    app.command("order", epilog="Example: fairgate fan order 3f2a... --wait")(order)
    app.command("claim-custody", epilog="Example: fairgate fan claim-custody 3f2a... -w alice")(
        claim_custody
    )


class BadEmail(TicketError, ValueError):
    code = "bad_email"


def check_email(text: str) -> str:
    """``text`` if it looks like an e-mail address; a plain refusal otherwise."""
    if not EMAIL.match(text.strip()) or len(text) > 320:
        raise BadEmail(
            f"{text!r} does not look like an e-mail address (name@example.org): "
            "the receipt goes there"
        )
    return text.strip()


def find_bridge_event(bridge: BridgeClient, ref: str) -> dict[str, Any]:
    """The bridge's event named ``ref``: its symbol, name, contract address, or bridge id."""
    wanted = ref.strip().lower()
    events = bridge.events()
    for event in events:
        if wanted in (
            str(event["symbol"]).lower(),
            str(event["name"]).lower(),
            str(event.get("contract_address") or "").lower(),
        ):
            return event
    if wanted.isdigit():
        return bridge.event(int(wanted))
    on_sale = ", ".join(str(e["symbol"]) for e in events) or "none"
    raise NotFound(
        f"the bridge sells no event {ref!r} (on sale by card: {on_sale}); an event made with "
        "`organizer create` is sold by card when its organizer has signed up "
        "(`fairgate organizer signup`)"
    )


def find_bridge_tier(event: dict[str, Any], ref: str) -> dict[str, Any]:
    """The event's tier named ``ref``: its number (0, 1, ...) or its name."""
    wanted = ref.strip().lower()
    for tier in event["tiers"]:
        if wanted in (str(tier["tier_index"]), str(tier["name"]).lower()):
            return dict(tier)
    listed = ", ".join(f"{t['tier_index']} ({t['name']})" for t in event["tiers"])
    raise NotFound(f"{event['name']} has no tier {ref!r}: its tiers are {listed}")


def buy_card(
    event_ref: Annotated[str, typer.Argument(help="The event: symbol, name or contract address.")],
    tier_ref: Annotated[str, typer.Argument(help="The tier: number (0, 1, ...) or name.")],
    email: Annotated[str, typer.Option(help="Where the receipt goes.")],
    n: QuantityOpt = 1,
    custody: Annotated[
        bool, typer.Option(help="Mint to the bridge's custody; claim later with claim-custody.")
    ] = False,
    wait: Annotated[bool, typer.Option(help="Wait until the tickets are minted.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait.")] = 600,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Buy tickets by card through the bridge: commitments made here, a checkout URL to pay."""
    email = check_email(email)
    session = open_session()
    check_quantity(session.settings, n)
    bridge = client_from_settings(session.settings)
    event = find_bridge_event(bridge, event_ref)
    tier = find_bridge_tier(event, tier_ref)
    if int(tier["remaining"]) < n:
        raise SoldOutHere(sold_out(str(tier["name"]), n, int(tier["remaining"])))
    address = event.get("contract_address")
    if not address:
        raise NotFound(f"{event['name']} has no contract yet: try again in a minute")
    signer = load_signer(session.settings, wallet, password_file)
    client = session.event(address)
    keys = TicketKeys(session.settings, signer, session.chain_id)
    commitments = keys.commitments(client.address, client.gate_scope(), n)
    created = bridge.create_order(
        {
            "event_id": event["id"],
            "tier_id": tier["id"],
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
