"""What a fan looks at before buying: events, their tiers, and the resale listings.

One way to name things everywhere (``buy``, ``buy-card``, ``events``, ``listings``): an event by
its symbol, name or contract address; a tier by its number (0, 1, ...) or its name ("VIP"). One
quantity limit for every purchase, ETH or card: ``FAIRGATE_MAX_TICKETS_PER_ORDER`` (default 10,
the bridge's own limit), said in the help and in the refusal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from chain.ticket_event import TicketEventClient
from cli.ledger import read_history
from cli.output import console, format_amount, table, use_currency
from cli.session import Session, open_session
from fairgate.errors import ChainError, NotFound, TicketError
from fairgate.settings import Settings

__all__ = [
    "NoFunds",
    "QuantityOpt",
    "SoldOutHere",
    "TierArg",
    "all_events",
    "check_quantity",
    "register_catalog_commands",
    "resolve_tier",
]

DEFAULT_LIMIT = 10

TierArg = Annotated[
    str, typer.Argument(help="The tier: its number (0, 1, ...) or its name (e.g. VIP).")
]
QuantityOpt = Annotated[
    int,
    typer.Option(
        "-n",
        help=f"How many tickets: 1 to {DEFAULT_LIMIT} per order "
        "(FAIRGATE_MAX_TICKETS_PER_ORDER; the same limit by card and with ETH).",
    ),
]


class NoFunds(ChainError):
    """The wallet cannot pay (checked before sending)."""

    code = "no_funds"


class SoldOutHere(TicketError, ValueError):
    """Fewer tickets are left than asked (checked before sending)."""

    code = "sold_out"


class BadQuantity(TicketError, ValueError):
    code = "bad_quantity"


def check_quantity(settings: Settings, n: int) -> int:
    """``n`` if it is within the one per-order limit; a plain refusal otherwise."""
    limit = settings.max_tickets_per_order
    if not 1 <= n <= limit:
        raise BadQuantity(
            f"-n {n}: an order holds 1 to {limit} tickets (FAIRGATE_MAX_TICKETS_PER_ORDER)"
        )
    return n


def tier_names(session: Session, client: TicketEventClient, count: int) -> list[str]:
    """The tiers' names as this machine recorded them, else ``tier N``."""
    return [session.tier_name(client.address, i) for i in range(count)]


def resolve_tier(session: Session, client: TicketEventClient, ref: str) -> int:
    """The tier number named by ``ref`` (a number or a name, case-insensitive)."""
    count = client.tier_count()
    names = tier_names(session, client, count)
    text = ref.strip()
    if text.isdigit():
        number = int(text)
        if number < count:
            return number
    else:
        for number, name in enumerate(names):
            if name.lower() == text.lower():
                return number
    listed = ", ".join(f"{i} ({name})" for i, name in enumerate(names))
    raise NotFound(f"{client.name()} has no tier {ref!r}: its tiers are {listed}")


def all_events(session: Session) -> list[str]:
    """Event addresses this machine recorded, then those the platform factory lists."""
    from chain.deploy import load_deployment

    found = dict.fromkeys(session.known_events())
    deployment = load_deployment(session.w3, session.settings)
    if deployment is not None:
        factory = deployment.factory_client(session.w3)
        for index in range(factory.event_count()):
            found.setdefault(factory.event_at(index), None)
    return list(found)


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "-"


def events(
    event: Annotated[str | None, typer.Argument(help="Show this event's tiers.")] = None,
) -> None:
    """The events on this chain, or one event with its tiers: prices, seats left, resale rules."""
    session = open_session()
    if event is None:
        rows = []
        for address in all_events(session):
            client = TicketEventClient(session.w3, address)
            starts, _ = client.schedule()
            left = sum(t.remaining for t in client.tiers())
            state = "cancelled" if client.cancelled() else f"{left} left"
            rows.append((client.symbol(), client.name(), _when(starts), state, address))
        if not rows:
            console.print("no events on this chain yet: fairgate organizer create EVENT.toml")
            return
        console.print(table(None, ["event", "name", "starts", "seats", "contract"], rows))
        return
    client = session.event(event)
    starts, ends = client.schedule()
    state = "CANCELLED" if client.cancelled() else "on sale"
    currency = client.currency()
    use_currency(currency)
    paid_in = "ETH" if currency.is_eth else f"{currency.symbol} (token {currency.address})"
    console.print(
        f"{client.name()} ({client.call('symbol')}) - {state}\n"
        f"{_when(starts)} to {_when(ends)}; transfers: {client.transfer_policy().name.lower()}; "
        f"paid in {paid_in}; contract {client.address}"
    )
    tiers = client.tiers()
    names = tier_names(session, client, len(tiers))
    by_card = _card_prices(session, client.address)
    tier_rows = [
        (
            i,
            names[i],
            format_amount(t.face_value),
            by_card.get(i, "-"),
            t.supply,
            t.minted,
            t.remaining,
            f"{format_amount(t.resale_cap)} ({t.resale_cap_bps / 100:g}%)",
            f"{t.royalty_bps / 100:g}%",
            f"{_when(t.resale_opens_at)} - {_when(t.resale_closes_at)}",
        )
        for i, t in enumerate(tiers)
    ]
    console.print(
        table(
            None,
            [
                "#tier",
                "name",
                "price",
                "by card",
                "#supply",
                "#sold",
                "#left",
                "resale cap",
                "royalty",
                "resale window",
            ],
            tier_rows,
        )
    )


def _card_prices(session: Session, address: str) -> dict[int, str]:
    """Tier number -> its price by card, when the bridge sells this event (``fan buy-card``)."""
    for event in session.bridge_events():
        if str(event["contract_address"]).lower() == address.lower():
            return {
                int(t["tier_index"]): f"{int(t['price_cents']) / 100:.2f} "
                f"{str(t.get('currency', '')).upper()}".strip()
                for t in event.get("tiers", [])
            }
    return {}


def listings(
    event: Annotated[str, typer.Argument(help="The event: symbol, name or address.")],
) -> None:
    """What is listed for resale on an event: ticket, tier, price, cap, and who may buy it."""
    session = open_session()
    client = session.event(event)
    history = read_history(session, client, ["Listed", "TicketsIssued"])
    tier_of = history.tier_of_tokens()
    tokens = sorted({int(e["args"]["tokenId"]) for e in history.named("Listed")})
    symbol = client.symbol()
    tiers = client.tiers()
    use_currency(client.currency())
    rows = []
    for token in tokens:
        listing = client.listing(token)
        if listing is None:
            continue
        tier_id = tier_of.get(token, None)
        if tier_id is None:
            tier_id = client.tier_of(token)
        if listing.is_gift:
            price, who = "gift", f"only {listing.reserved_for}"
        else:
            price = format_amount(listing.price)
            who = f"only {listing.reserved_for}" if listing.reserved_for else "anyone"
        rows.append(
            (
                f"{symbol}:{token}",
                session.tier_name(client.address, tier_id),
                price,
                format_amount(tiers[tier_id].resale_cap),
                who,
            )
        )
    if not rows:
        console.print(f"nothing listed for resale on {client.name()}")
        return
    console.print(
        table(
            f"Resale listings of {client.name()}", ["ticket", "tier", "price", "cap", "buyer"], rows
        )
    )
    console.print(f"buy one with: fairgate fan buy-resale {rows[0][0]} -w NAME")


def register_catalog_commands(app: typer.Typer) -> None:
    """Add ``events`` and ``listings`` to the fan group."""
    app.command("events", epilog="Examples: fairgate fan events;  fairgate fan events NIGHT1")(
        events
    )
    app.command("listings", epilog="Example: fairgate fan listings NIGHT1")(listings)
