"""``fairgate fan``: wallets, buying (ETH or card), the resale market, gifts and gate proofs.

Ticket secrets are derived from the wallet (:mod:`cli.ticket_keys`): only commitments leave the
device, and a lost laptop loses nothing that the wallet cannot rebuild.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from eth_utils.address import to_checksum_address

from chain.keys import Signer
from chain.ticket_event import TicketEventClient
from chain.ticket_gate import TicketGateClient
from cli import fan_card
from cli.catalog import (
    NoFunds,
    QuantityOpt,
    SoldOutHere,
    TierArg,
    all_events,
    check_quantity,
    register_catalog_commands,
    resolve_tier,
)
from cli.challenge import parse_challenge
from cli.errors import no_funds, sold_out
from cli.ledger import read_history, read_tree_history
from cli.names import resolve_account, wallet_names
from cli.output import (
    console,
    err_console,
    format_amount,
    format_eth,
    parse_amount,
    setup_progress,
    spinner,
    table,
    use_currency,
)
from cli.session import Session, open_session
from cli.ticket_keys import TicketKeys
from cli.tokens import EventOpt, TokenArg, parse_token
from cli.wallets import (
    PasswordFileOpt,
    ScryptOpt,
    WalletOpt,
    keystore_address,
    load_signer,
    new_wallet,
    read_password,
)
from fairgate.errors import ContractRevert, KeyStoreError, NotFound, ProofError
from fairgate.settings import get_settings
from gate.challenges import CARD_PREFIX
from zk import payload
from zk.identity import WINDOW_S, time_window, window_challenge

__all__ = ["app"]

app = typer.Typer(
    help="Fan commands: wallet, buy, resale market, gifts, gate proofs.", no_args_is_help=True
)
wallet_app = typer.Typer(
    help="Create, import and show wallets (encrypted keystores).", no_args_is_help=True
)
app.add_typer(wallet_app, name="wallet")

EventArg = Annotated[str, typer.Argument(help="The event: its contract address or symbol.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _signed_in(wallet: str, password_file: Path | None) -> tuple[Session, Signer]:
    session = open_session()
    return session, load_signer(session.settings, wallet, password_file)


# ---------------------------------------------------------------------------------- wallet


@wallet_app.command("create", epilog="Example: fairgate fan wallet create -w alice")
def wallet_create(
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
    scrypt_n: ScryptOpt = 2**18,
) -> None:
    """Create a new wallet: a random key in an encrypted keystore (password asked twice)."""
    signer = new_wallet(get_settings(), wallet, password_file, scrypt_n=scrypt_n)
    console.print(f"[green]created[/] wallet {wallet}: {signer.address}")
    err_console.print("Back up the keystore file and remember the password: neither can be reset.")


@wallet_app.command(
    "import",
    epilog="Example: fairgate fan wallet import -w bob   (the key is asked without echo)",
)
def wallet_import(
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
    key_file: Annotated[
        Path | None,
        typer.Option(help="Read the hex private key from this file instead of prompting."),
    ] = None,
    scrypt_n: ScryptOpt = 2**18,
) -> None:
    """Import an existing private key into an encrypted keystore."""

    key = read_password(key_file, "Private key (hex)")
    signer = new_wallet(
        get_settings(),
        wallet,
        password_file,
        private_key=key,
        scrypt_n=scrypt_n,
    )
    console.print(f"[green]imported[/] wallet {wallet}: {signer.address}")


@wallet_app.command("list", epilog="Example: fairgate fan wallet list")
def wallet_list() -> None:
    """List this device's wallets: name and address (no password needed, no node needed)."""
    settings = get_settings()
    names = wallet_names(settings)
    if not names:
        console.print("no wallets yet: fairgate fan wallet create -w NAME")
        return
    rows = [(name, keystore_address(settings, name)) for name in names]
    console.print(table(f"Wallets in {settings.home / 'wallets'}", ["name", "address"], rows))


@wallet_app.command("show", epilog="Example: fairgate fan wallet show -w alice")
def wallet_show(wallet: WalletOpt = "default") -> None:
    """Show a wallet's address and balance (no password needed)."""

    address = keystore_address(get_settings(), wallet)
    console.print(f"wallet {wallet}: {address}")
    session = open_session()
    console.print(
        f"balance {format_eth(int(session.w3.eth.get_balance(to_checksum_address(address))))}"
        f" on chain {session.chain_id}"
    )


# ---------------------------------------------------------------------------------- tickets


@app.command(epilog="Example: fairgate fan tickets -w alice   or   fairgate fan tickets NIGHT1")
def tickets(
    event: Annotated[str | None, typer.Argument(help="Only this event.")] = None,
    wallet: WalletOpt = "default",
) -> None:
    """My tickets: Transfer events to my address, kept where ownerOf is still me."""
    session = open_session()
    me = keystore_address(session.settings, wallet)
    events = [session.resolve_event(event)] if event else all_events(session)
    rows = []
    for address in events:
        client = TicketEventClient(session.w3, address)
        history = read_history(session, client, ["Transfer", "TicketsIssued"])
        tiers = history.tier_of_tokens()
        for token in history.received_by(me):
            try:
                if client.owner_of(token) != me:
                    continue
            except ContractRevert:  # burned: NonexistentTicket
                continue
            listing = client.listing(token)
            state = "locked" if client.locked(token) else "movable"
            if listing is not None:
                state = (
                    ("gift to " + str(listing.reserved_for))
                    if listing.is_gift
                    else (f"listed at {format_amount(listing.price, client.currency())}")
                )
            tier_id = tiers[token] if token in tiers else client.tier_of(token)
            rows.append(
                (
                    f"{client.call('symbol')}:{token}",
                    client.name(),
                    session.tier_name(address, tier_id),
                    state,
                )
            )
    if not rows:
        console.print(f"no tickets held by {me}")
        return
    console.print(table(f"Tickets of {me}", ["ticket", "event", "tier", "state"], rows))


@app.command(epilog="Example: fairgate fan commitment NIGHT1 -n 2 -w alice")
def commitment(
    event: EventArg,
    n: Annotated[int, typer.Option("-n", min=1, max=100, help="How many.")] = 1,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Make ticket commitments for an organizer's comps (the secrets stay on this device)."""
    session, signer = _signed_in(wallet, password_file)
    client = session.event(event)
    keys = TicketKeys(session.settings, signer, session.chain_id)
    for value in keys.commitments(client.address, client.gate_scope(), n):
        console.print(f"{signer.address},{value:#066x}")


@app.command(epilog="Example: fairgate fan buy NIGHT1 General -n 2 -w alice --yes")
def buy(
    event: EventArg,
    tier: TierArg,
    n: QuantityOpt = 1,
    yes: YesOpt = False,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Buy tickets at face value in the event's currency (ETH, or its token: a permit signed
    here pays in the same transaction), straight from the event's contract."""
    check_quantity(get_settings(), n)
    session, signer = _signed_in(wallet, password_file)
    client = session.event(event, signer)
    tier_id = resolve_tier(session, client, tier)
    info = client.tier(tier_id)
    if info.remaining < n:
        raise SoldOutHere(sold_out(session.tier_name(client.address, tier_id), n, info.remaining))
    price = info.face_value * n
    _check_funds(session, client, signer, price)
    if not yes:
        typer.confirm(
            f"Pay {format_amount(price)} for {n} ticket(s) of {client.name()}?", abort=True
        )
    keys = TicketKeys(session.settings, signer, session.chain_id)
    commitments = keys.commitments(client.address, client.gate_scope(), n)
    with spinner(f"Buying {n} ticket(s)"):
        result = client.purchase(tier_id, commitments)
    ids = [t for run in TicketEventClient.issued_runs(result) for t in run.token_ids]
    console.print(
        f"[green]bought[/] tickets {', '.join(map(str, ids))} for {format_amount(price)}"
        f" (tx {result.tx_hash})"
    )


def _check_funds(session: Session, client: TicketEventClient, signer: Signer, price: int) -> None:
    """Refuse before signing anything when the wallet cannot pay ``price`` in the event's
    currency (and shows this command's prices in it)."""
    currency = client.currency()
    use_currency(currency)
    token = client.token()
    if token is None:
        if int(session.w3.eth.get_balance(signer.address)) < price:
            raise NoFunds(no_funds())
        return
    held = token.balance_of(signer.address)
    if held < price:
        raise NoFunds(
            f"wallet {signer.address} holds {format_amount(held)}, less than the price "
            f"{format_amount(price)} (on a dev chain: fairgate dev faucet NAME)"
        )


@app.command("list", epilog="Example: fairgate fan list NIGHT1:3 0.055 -w alice")
def list_ticket(
    token: TokenArg,
    price: Annotated[
        str, typer.Argument(help="Price in the event's currency, at most the tier's resale cap.")
    ],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Reserve the sale for one buyer (wallet name or address)."),
    ] = None,
    event: EventOpt = None,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """List a ticket for resale (the contract refuses a price above the cap)."""
    session, signer = _signed_in(wallet, password_file)
    address, token_id = parse_token(session, token, event)
    client = session.event(address, signer)
    use_currency(client.currency())
    amount = parse_amount(price, client.currency())
    if to is not None:
        to = resolve_account(session.settings, to, what="buyer")
    client.list(token_id, amount, to)
    console.print(
        f"[green]listed[/] ticket {token_id} at {format_amount(amount)}"
        + (f" for {to}" if to else "")
    )


@app.command(epilog="Example: fairgate fan update NIGHT1:3 0.05 -w alice")
def update(
    token: TokenArg,
    price: Annotated[str, typer.Argument(help="New price in the event's currency.")],
    event: EventOpt = None,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Change the price of a listed ticket (keeps its reserved buyer, if any)."""
    session, signer = _signed_in(wallet, password_file)
    address, token_id = parse_token(session, token, event)
    client = session.event(address, signer)
    use_currency(client.currency())
    amount = parse_amount(price, client.currency())
    listing = client.listing(token_id)
    if listing is None:
        raise NotFound(f"ticket {token_id} is not listed: list it first")
    client.list(token_id, amount, listing.reserved_for)
    console.print(f"[green]updated[/] ticket {token_id}: now {format_amount(amount)}")


@app.command(epilog="Example: fairgate fan unlist NIGHT1:3 -w alice")
def unlist(
    token: TokenArg,
    event: EventOpt = None,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Take a ticket off the resale market (or take back a gift not yet accepted)."""
    session, signer = _signed_in(wallet, password_file)
    address, token_id = parse_token(session, token, event)
    session.event(address, signer).cancel_listing(token_id)
    console.print(f"[green]unlisted[/] ticket {token_id}")


@app.command("buy-resale", epilog="Example: fairgate fan buy-resale NIGHT1:3 -w carol --yes")
def buy_resale(
    token: TokenArg,
    event: EventOpt = None,
    yes: YesOpt = False,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Buy a listed ticket (or accept a gift): royalty and seller are paid in one transaction."""
    session, signer = _signed_in(wallet, password_file)
    address, token_id = parse_token(session, token, event)
    client = session.event(address, signer)
    listing = client.listing(token_id)
    if listing is None:
        raise NotFound(f"ticket {token_id} is not listed for sale")
    _check_funds(session, client, signer, listing.price)
    what = "Accept the gift of" if listing.is_gift else f"Pay {format_amount(listing.price)} for"
    if not yes:
        typer.confirm(f"{what} ticket {token_id} of {client.name()}?", abort=True)
    keys = TicketKeys(session.settings, signer, session.chain_id)
    (new_commitment,) = keys.commitments(address, client.gate_scope(), 1)
    with spinner("Buying"):
        result = client.buy(token_id, new_commitment, price=listing.price)
    sold = result.first("Resold").args
    if listing.is_gift:
        console.print(
            f"[green]accepted[/] the gift of ticket {token_id}; your new secret "
            "replaces the giver's"
        )
        return
    console.print(
        f"[green]bought[/] ticket {token_id} for {format_amount(int(sold['price']))} "
        f"(royalty {format_amount(int(sold['royalty']))} to the organizer); "
        "your new secret replaces the seller's"
    )


@app.command(
    epilog="Example: fairgate fan gift NIGHT1:3 dave -w bob   "
    "(the friend accepts with `fairgate fan buy-resale NIGHT1:3 -w dave`)"
)
def gift(
    token: TokenArg,
    address: Annotated[
        str, typer.Argument(help="The friend: a wallet name of this device, or an address.")
    ],
    event: EventOpt = None,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Gift a ticket: a listing at price 0 that only ADDRESS can take (with their own secret)."""
    session, signer = _signed_in(wallet, password_file)
    event_address, token_id = parse_token(session, token, event)
    friend = resolve_account(session.settings, address, what="friend")
    session.event(event_address, signer).gift(token_id, friend)
    who = friend if friend == address else f"{address} ({friend})"
    console.print(
        f"[green]gifted[/] ticket {token_id} to {who}: they accept it with "
        f"`fairgate fan buy-resale {token}`"
    )


@app.command(epilog="Example: fairgate fan refund MATINEE:4 -w erin")
def refund(
    token: Annotated[list[str], typer.Argument(help="Tickets (EVENT:ID) of one cancelled event.")],
    event: EventOpt = None,
    to: Annotated[
        str | None,
        typer.Option(help="Send the refund here (a wallet name or an address), not to the wallet."),
    ] = None,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Claim the refund of tickets of a cancelled event (the tickets are burned), in the event's
    currency: tickets bought on-chain, and card tickets bought on the market. Claims close 180
    days after the event's end."""
    session, signer = _signed_in(wallet, password_file)
    parsed = [parse_token(session, t, event) for t in token]
    if len({a for a, _ in parsed}) != 1:
        raise NotFound("refund tickets of one event at a time")
    client = session.event(parsed[0][0], signer)
    use_currency(client.currency())
    recipient = resolve_account(session.settings, to, what="recipient") if to else None
    result = client.claim_refund([t for _, t in parsed], to=recipient)
    total = sum(int(e.args["amount"]) for e in result.named("RefundClaimed"))
    console.print(f"[green]refunded[/] {format_amount(total)} for {len(parsed)} ticket(s)")


@app.command(
    epilog="Example: fairgate fan proceeds CARD1 -w dana   (then: --withdraw to take them)"
)
def proceeds(
    event: EventArg,
    withdraw: Annotated[
        bool,
        typer.Option(
            "--withdraw",
            help="Take everything due now: settle held sales (once the event has ended) and "
            "withdraw the pull balance.",
        ),
    ] = False,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Show (and with --withdraw, take) what one event owes the wallet. A first resale of a card
    ticket pays its seller the price above face value (less royalty) at once, into a pull
    balance, and holds the face value until the event has ended; a payment the contract could
    not push waits in the pull balance too."""
    session, signer = _signed_in(wallet, password_file)
    client = session.event(session.resolve_event(event), signer)
    use_currency(client.currency())
    me = signer.address
    owed = client.pending_of(me)
    held = client.held_sales_of(me)
    held_total = sum(h.price for h in held.values())
    ends_at = client.schedule()[1]
    due = client.cancelled() or session.w3.eth.get_block("latest")["timestamp"] >= ends_at
    if not withdraw:
        hint = ": take them with --withdraw" if owed else ""
        console.print(f"proceeds waiting for {me}: {format_amount(owed)}{hint}")
        if held:
            when = "due now: take it with --withdraw" if due else "held until the event ends"
            console.print(
                f"face value of {len(held)} sold card ticket(s) (tickets "
                f"{', '.join(map(str, held))}): {format_amount(held_total)}, paid less its "
                f"royalty; {when}"
            )
        return
    if held and due:
        result = client.settle_held(list(held))
        paid = sum(int(e.args["toSeller"]) for e in result.named("HeldSaleSettled"))
        console.print(f"[green]settled[/] {len(held)} held sale(s): {format_amount(paid)} to {me}")
    elif held:
        console.print(f"{len(held)} sold card ticket(s) stay held until the event ends")
    if owed:
        client.withdraw_pending()
        console.print(f"[green]withdrew[/] {format_amount(owed)} to {me}")
    elif not (held and due):
        raise NotFound(f"nothing to withdraw for {me} on this event")


# ---------------------------------------------------------------------------------- proofs


@app.command(
    epilog="Examples: fairgate fan prove NIGHT1:3 -w carol --png ticket.png  (a rotating code "
    "for the current 20 s window);  fairgate fan prove NIGHT1:3 --challenge FGC1:... -w carol"
)
def prove(
    token: TokenArg,
    challenge: Annotated[
        str,
        typer.Option(
            help="The gate's challenge card (FGC1:...) or number, or 'window': the rotating "
            "code of the current 20 s window, which the gate accepts without a card."
        ),
    ] = "window",
    png: Annotated[
        Path | None, typer.Option(help="Also write the QR code as a PNG file (e.g. ticket.png).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the payload text to this file.")] = None,
    qr: Annotated[bool, typer.Option(help="Draw the QR code in the terminal.")] = True,
    event: EventOpt = None,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Make a gate proof for a ticket: "I hold a valid ticket of this event" and nothing more."""
    from zk.prover import GateProver

    session, signer = _signed_in(wallet, password_file)
    address, token_id = parse_token(session, token, event)
    window = challenge.strip().lower() == "window"
    value = 0 if window else parse_challenge(challenge, address)
    if not window and not challenge.strip().startswith(CARD_PREFIX):
        err_console.print(
            "warning: a bare number is not a challenge a gate issued, and gates refuse proofs "
            "against challenges they did not issue; take the card the gate shows "
            "(`fairgate gate challenge EVENT`) or prove without --challenge (this window's code)"
        )
    client = session.event(address)
    if client.owner_of(token_id) != signer.address:
        raise KeyStoreError(f"ticket {token_id} is not held by wallet {wallet}")
    with spinner("Rebuilding the gate tree from chain events"):
        tree = read_tree_history(session, client).tree()
    root = tree.root
    if not TicketGateClient.for_event(client).is_accepted_root(root):
        raise ProofError(
            "the gate tree with your ticket is not published yet: "
            "ask the organizer to run `fairgate organizer publish-root`"
        )
    scope = client.gate_scope()
    if window:  # as late as possible: the code is good for its window (and the gate's skew)
        number = time_window(time.time())
        value = window_challenge(scope, number)
    keys = TicketKeys(session.settings, signer, session.chain_id)
    secret = keys.secret_for(address, scope, tree.leaf(token_id))
    with setup_progress(), spinner("Proving (about a second)"):
        started = time.monotonic()
        proof = GateProver().prove(secret, tree.proof(token_id), scope, value)
        elapsed = time.monotonic() - started
    text = payload.encode(proof)
    if qr:
        art = payload.qr_terminal(proof)
        width = max(len(line) for line in art.splitlines())
        if console.width >= width:
            console.print(art, markup=False, highlight=False)
        else:  # a cut QR code cannot be scanned: say so instead of drawing it
            err_console.print(
                f"the QR code is {width} columns wide and this terminal has {console.width}: "
                "write it with --png FILE (or widen the terminal); the payload text follows"
            )
    if png is not None:
        png.write_bytes(payload.qr_png(proof))
        err_console.print(f"QR code written to {png}")
    if out is not None:
        out.write_text(text + "\n", encoding="ascii")
        err_console.print(f"payload written to {out}")
    console.print(f"payload {text}", markup=False, highlight=False)
    err_console.print(
        f"proof for ticket {token_id} made in {elapsed:.1f} s "
        f"(QR version {payload.qr_version(proof)})"
    )
    if window:
        ends = time.strftime("%H:%M:%S", time.localtime((number + 1) * WINDOW_S))
        err_console.print(
            f"a rotating code: show it before {ends} (plus the gate's clock tolerance); "
            "after that the gate says 'code expired'"
        )


fan_card.register_commands(app)
register_catalog_commands(app)
