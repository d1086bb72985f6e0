"""``fairgate organizer``: create events, comp tickets, watch sales, publish the gate root, cancel.

The organizer signs with a keystore wallet (``-w NAME``) or, on a local chain, a development
account (``-w dev:1``). Event metadata and images go to IPFS through :mod:`metadata` (the Kubo
RPC node of ``FAIRGATE_IPFS_API_URL``, else the embedded store under ``FAIRGATE_HOME/ipfs``).

Metadata layout: ``metadata.erc721`` writes one file per tier (``<dirCID>/tiers/<tierId>``), the
event's base URI is ``ipfs://<dirCID>/tiers/``, and the contract's ``tokenURI`` appends the
ticket's tier id: every ticket resolves to its tier's file.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape

from chain.deploy import Deployment, deploy_platform, load_deployment
from chain.devchain import latest_timestamp
from chain.keys import Signer
from chain.ticket_event import TicketEventClient
from chain.ticket_gate import TicketGateClient
from chain.types import Currency, EventParams, MintRun, Tier
from cli.bridge_client import client_from_settings
from cli.event_file import FORMAT, EventFile, EventFileError, load_event_file
from cli.ledger import History, read_history, read_tree_history
from cli.names import resolve_account
from cli.organizer_bridge import (
    GATE_NAME,
    create_through_bridge,
    find_my_event,
    organizer_key,
    save_organizer_key,
    tier_body,
)
from cli.organizer_bridge import gate_key as issue_gate_key
from cli.organizer_bridge import signup as signup_at_bridge
from cli.output import (
    console,
    err_console,
    format_amount,
    spinner,
    steps_progress,
    table,
    use_currency,
)
from cli.session import Session, open_session
from cli.wallets import PasswordFileOpt, WalletOpt, load_signer
from fairgate.errors import ConfigError, KeyStoreError, TicketError
from fairgate.settings import Settings, get_settings
from metadata.erc721 import Event as MetaEvent
from metadata.erc721 import Tier as MetaTier
from metadata.erc721 import build_event_bundle
from metadata.store import store_from_settings

__all__ = ["app"]

app = typer.Typer(
    help="Organizer commands: create events, comps, sales, gate root, cancel, withdraw.",
    no_args_is_help=True,
)

EventArg = Annotated[str, typer.Argument(help="The event: its contract address or symbol.")]


class CompsError(TicketError, ValueError):
    """The comp recipients are malformed."""

    code = "comps_error"


def _platform(session: Session, signer: Signer) -> Deployment:
    """The recorded platform of this chain; on a development chain, deployed on first use."""
    deployment = load_deployment(session.w3, session.settings)
    if deployment is not None:
        return deployment
    if session.settings.env == "prod":
        raise ConfigError(f"no Fairgate platform is recorded for chain {session.chain_id}")
    with spinner("Deploying the Fairgate platform on this chain (first use)"):
        return deploy_platform(session.sender(signer), session.settings)


def _upload(settings: Settings, spec: EventFile) -> tuple[str, str]:
    """Upload the event's metadata directory; returns (base URI, directory CID)."""
    try:
        image = spec.image.read_bytes()
    except OSError:
        raise EventFileError(f"image {spec.image} not found or unreadable") from None
    event = MetaEvent(
        name=spec.name,
        description=spec.description,
        venue=spec.venue,
        start_time=spec.start,
        image=image,
        external_url=spec.external_url,
    )
    tiers = [
        MetaTier(tier_id=i, name=t.name, description=t.description)
        for i, t in enumerate(spec.tiers)
    ]
    bundle = build_event_bundle(event, tiers)
    where = settings.ipfs_api_url or "embedded store"
    with spinner(f"Uploading metadata and image to IPFS ({where})"):
        cid = store_from_settings(settings).put_directory(bundle.files)
    return bundle.base_uri, str(cid)


def _tiers(spec: EventFile, now: int, currency: Currency) -> tuple[Tier, ...]:
    start = int(spec.start.timestamp())
    return tuple(
        Tier(
            face_value=t.face_value(currency),
            supply=t.supply,
            resale_cap_bps=t.resale_cap_bps,
            royalty_bps=t.royalty_bps,
            resale_opens_at=int(t.resale_opens.timestamp()) if t.resale_opens else now,
            resale_closes_at=int(t.resale_closes.timestamp()) if t.resale_closes else start,
        )
        for t in spec.tiers
    )


CREATE_HELP = (
    "Upload an event's metadata to IPFS and create its ticket contract.\n\n"
    "With an organizer account at the bridge (`fairgate organizer signup`), the bridge creates "
    "it and hands it to your wallet, and it is sold by card too (tiers need a card_price); "
    "without one, your wallet creates it through the factory (on-chain sales only). Either way "
    "it settles on-chain in ETH or the token of `currency`.\n\n"
    "The event file (TOML; a complete one is examples/night-one.toml):\n\n" + escape(FORMAT)
)


@app.command(
    help=CREATE_HELP,
    epilog="Example: fairgate organizer create examples/night-one.toml -w dev:1",
)
def create(
    event_file: Annotated[Path, typer.Argument(help="The event's TOML file.")],
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
    minter: Annotated[
        str | None,
        typer.Option(help="Grant the minter role (wallet name or address; factory path only)."),
    ] = None,
    gate: Annotated[
        str | None, typer.Option(help="Grant the gate role (wallet name or address).")
    ] = None,
    bridge: Annotated[
        bool | None,
        typer.Option(
            "--bridge/--no-bridge",
            help="Create it through the bridge (default: when this device has an organizer key).",
        ),
    ] = None,
) -> None:
    spec = load_event_file(event_file)
    session = open_session()
    taken = session.symbol_taken(spec.symbol)
    if taken:
        raise EventFileError(
            f"symbol {spec.symbol} is already used by event {taken} on this chain: "
            "choose another symbol (events are named by it)"
        )
    key = organizer_key(session.settings)
    if bridge and key is None:
        raise ConfigError("no organizer key on this device: `fairgate organizer signup NAME` first")
    use_bridge = key is not None if bridge is None else bridge
    currency = session.currency_named(spec.currency)
    use_currency(currency)
    for t in spec.tiers:
        t.face_value(currency)  # too many decimals for the currency: refused before any upload
    if use_bridge:
        if minter:
            raise ConfigError("--minter is for the factory path (--no-bridge): the bridge mints")
        for index in range(len(spec.tiers)):
            tier_body(spec, index, 0)  # a missing card_price is refused before any upload
    signer = load_signer(session.settings, wallet, password_file)
    minter = resolve_account(session.settings, minter, what="minter") if minter else None
    gate = resolve_account(session.settings, gate, what="gate") if gate else None
    steps = 3
    with steps_progress(f"Creating {spec.name}", steps) as step:
        step("uploading the metadata and the poster to IPFS")
        base_uri, cid = _upload(session.settings, spec)
        start_block = int(session.w3.eth.block_number)
        now = latest_timestamp(session.w3)
        bridge_id: int | None = None
        if use_bridge:
            assert key is not None
            step("the bridge deploys the contract and hands it to your wallet")
            out = create_through_bridge(
                client_from_settings(session.settings),
                key,
                spec,
                organizer=signer.address,
                base_uri=base_uri,
                now=now,
                gate=gate,
                currency=currency,
            )
            address, bridge_id, gas = str(out["contract_address"]), int(out["id"]), None
            _accept_if_proposed(session, address, signer)
        else:
            step("deploying the contract through the platform factory")
            deployment = _platform(session, signer)
            factory = deployment.factory_client(session.w3, session.sender(signer))
            params = EventParams(
                name=spec.name,
                symbol=spec.symbol,
                organizer=signer.address,
                starts_at=int(spec.start.timestamp()),
                ends_at=int(spec.end.timestamp()),
                tiers=_tiers(spec, now, currency),
                base_uri=base_uri,
                currency=currency.address,
                transfer_policy=spec.policy,
                root_grace_period=session.settings.root_grace_s,
                **({"minter": minter} if minter else {}),
                **({"gate": gate} if gate else {}),
            )
            event, result = factory.create_event(params)
            address, gas, start_block = event.address, result.gas_used, result.block_number
        step("recording it on this device")
        record: dict[str, Any] = {
            "name": spec.name,
            "symbol": spec.symbol,
            "tiers": [t.name for t in spec.tiers],
            "cid": cid,
            "block": start_block,
        }
        if bridge_id is not None:
            record["bridge_id"] = bridge_id
            record["bridge"] = session.settings.public_url
        session.remember_event(address, record)
    console.print(f"[green]created[/] {spec.name} ({spec.symbol}) at [bold]{address}[/]")
    how = (
        f"through the bridge (its event {bridge_id}; on sale by card too)"
        if bridge_id is not None
        else f"through the factory, gas {gas:,} (on-chain sales only, in {currency.symbol})"
    )
    console.print(f"metadata ipfs://{cid}  base URI {base_uri}  {how}")
    rows = [
        (
            i,
            t.name,
            format_amount(t.face_value(currency)),
            f"{t.card_price} {session.settings.currency.upper()}" if t.card_price else "-",
            t.supply,
            f"{t.resale_cap_pct}%",
            f"{t.royalty_pct}%",
        )
        for i, t in enumerate(spec.tiers)
    ]
    console.print(
        table(
            None,
            ["#tier", "name", "face value", "by card", "#supply", "resale cap", "royalty"],
            rows,
        )
    )


def _accept_if_proposed(session: Session, address: str, signer: Signer) -> None:
    """The bridge deployed the event and proposed it to this wallet (the two-step hand-over):
    running ``create`` is the organizer's consent, so its wallet accepts at once."""
    client = session.event(address, signer)
    if client.organizer() != signer.address and client.pending_organizer() == signer.address:
        client.accept_organizer()
        err_console.print(f"accepted the event with wallet {signer.address}: it is yours now")


@app.command(
    epilog='Example: fairgate organizer signup "Fairgate Live" --payout dev:3   '
    "(then organizer create sells by card too)"
)
def signup(
    name: Annotated[str, typer.Argument(help="Your organizer name at the bridge.")],
    payout: Annotated[
        str | None, typer.Option(help="Payout wallet (name or address) for card sales.")
    ] = None,
) -> None:
    """Open an organizer account at the bridge; its key is kept on this device (mode 0600)."""
    settings = get_settings()
    payout_address = resolve_account(settings, payout, what="payout wallet") if payout else None
    key = signup_at_bridge(settings, client_from_settings(settings), name, payout_address)
    path = save_organizer_key(settings, key)
    console.print(f"[green]signed up[/] {name} at {settings.public_url}; key kept in {path}")


@app.command(
    "gate-key",
    epilog='Example: eval "$(fairgate organizer gate-key NIGHT1 --gate north)"; '
    "fairgate gate sync NIGHT1",
)
def gate_key_command(
    event: EventArg,
    gate: Annotated[
        str | None,
        typer.Option(
            help="The gate this device stands at (devices of one gate share it); "
            "default: a gate of its own.",
        ),
    ] = None,
) -> None:
    """Issue a key for one gate device of an event (it syncs check-ins through the bridge).

    Prints the export lines the gate device needs (its gate, the bridge, the key); the key is
    shown once.
    """
    if gate is not None and not GATE_NAME.fullmatch(gate):
        raise ConfigError(f"--gate {gate!r}: a gate name is 1-64 letters, digits, '_', '.' or '-'")
    session = open_session()
    client = session.event(event)
    key = organizer_key(session.settings)
    if key is None:
        raise ConfigError("no organizer key on this device: `fairgate organizer signup NAME` first")
    bridge = client_from_settings(session.settings)
    record = session.event_record(client.address)
    bridge_id = record.get("bridge_id") or find_my_event(bridge, key, client.address)["id"]
    issued = issue_gate_key(bridge, key, int(bridge_id), gate)
    console.print(
        f"export FAIRGATE_GATE_ID={issued.gate_name}\n"
        f"export FAIRGATE_GATE_HUB_URL={session.settings.public_url}\n"
        f"export FAIRGATE_GATE_API_KEY={issued.api_key}",
        markup=False,
        highlight=False,
    )
    err_console.print(
        f"a gate key for {client.name()}, gate {issued.gate_name}: give it to one gate device only"
    )


def _parse_comps(to: list[str], commitments: list[str], file: Path | None) -> list[MintRun]:
    pairs: list[tuple[str, str]] = list(zip(to, commitments, strict=False))
    if len(to) != len(commitments):
        raise CompsError("give one --commitment per --to")
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError:
            raise CompsError(f"comps file {file} not found or unreadable") from None
        for n, line in enumerate(lines, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = [p.strip() for p in line.split(",")]
            if len(parts) < 2:
                raise CompsError(f"{file}:{n}: expected 'address,commitment[,commitment...]'")
            pairs += [(parts[0], c) for c in parts[1:]]
    if not pairs:
        raise CompsError("no recipients: give --to ADDRESS --commitment C, or --file")
    runs: dict[str, list[int]] = {}
    for address, text in pairs:
        try:
            value = int(text, 16) if text.lower().startswith("0x") else int(text)
        except ValueError:
            raise CompsError(f"commitment {text!r} is not a number") from None
        runs.setdefault(address, []).append(value)
    try:
        return [MintRun(holder, tuple(values)) for holder, values in runs.items()]
    except ValueError as exc:
        raise CompsError(str(exc)) from None


@app.command(
    epilog="Example: fairgate organizer mint NIGHT1 0 --to 0xAbc... --commitment 0x1d2e... "
    "(the fan gets a commitment with `fairgate fan commitment NIGHT1`)"
)
def mint(
    event: EventArg,
    tier: Annotated[int, typer.Argument(help="Tier number (0, 1, ...).")],
    to: Annotated[
        list[str], typer.Option("--to", help="Recipient: wallet name or address (repeat).")
    ] = [],  # noqa: B006
    commitment: Annotated[
        list[str], typer.Option("--commitment", help="The recipient's ticket commitment (repeat).")
    ] = [],  # noqa: B006
    file: Annotated[
        Path | None, typer.Option(help="CSV lines 'address,commitment[,commitment...]'.")
    ] = None,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Mint complimentary tickets to fans' addresses, one per commitment they made."""
    settings = get_settings()
    to = [resolve_account(settings, who, what="recipient") for who in to]
    runs = _parse_comps(to, commitment, file)
    session = open_session()
    signer = load_signer(session.settings, wallet, password_file)
    client = session.event(event, signer)
    count = sum(len(r.commitments) for r in runs)
    with spinner(f"Minting {count} ticket(s)"):
        result = client.mint_batch(tier, runs)
    for run in TicketEventClient.issued_runs(result):
        ids = ", ".join(str(t) for t in run.token_ids)
        console.print(f"[green]minted[/] tickets {ids} to {run.holder}")


def _hub_entries(session: Session, address: str) -> dict[str, list[int]] | None:
    """Each gate's check-ins as the hub (the bridge) knows them, or None without an organizer
    key or a reachable bridge (the view then shows the chain alone, and says so)."""
    key = organizer_key(session.settings)
    if key is None:
        return None
    try:
        data = client_from_settings(session.settings).gate_entries(key, address)
    except TicketError:
        return None
    return {str(g["gate_id"]): [int(n, 16) for n in g["nullifiers"]] for g in data.get("gates", [])}


def _sales_view(session: Session, client: TicketEventClient, history: History) -> Group:
    summary = history.sales(
        lambda tx: str(session.w3.eth.get_transaction(tx)["from"])  # type: ignore[arg-type]
    )
    rows = []
    for tier_id, tier in enumerate(client.tiers()):
        rows.append(
            (
                tier_id,
                session.tier_name(client.address, tier_id),
                tier.supply,
                tier.minted,
                summary.resold[tier_id],
                summary.gifted[tier_id],
                summary.burned[tier_id],
                tier.remaining,
            )
        )
    tiers = table(
        f"{client.name()} - {'CANCELLED' if client.cancelled() else 'on sale'} "
        f"(block {history.last_block})",
        ["#tier", "name", "#supply", "#sold", "#resold", "#gifted", "#refunded/revoked", "#left"],
        rows,
    )
    rows_in: list[tuple[str, str, int]] = [
        (gate, how, n) for (gate, how), n in sorted(summary.check_ins.items())
    ]
    hub = _hub_entries(session, client.address)
    for gate_id, nullifiers in sorted((hub or {}).items()):
        waiting = len({n for n in nullifiers if n not in summary.on_chain})
        if waiting:
            rows_in.append((gate_id, "admitted at the gate, not yet anchored", waiting))
    title = "Check-ins per gate: on-chain, and what the hub knows that is not yet anchored"
    if hub is None:
        title = (
            "Check-ins on-chain per gate account (the gates' entries not yet anchored show "
            "here with an organizer key: fairgate organizer signup)"
        )
    gates = table(title, ["gate", "how", "#count"], rows_in or [("(none yet)", "", 0)])
    return Group(tiers, gates)


@app.command(epilog="Example: fairgate organizer sales NIGHT1 --watch 5")
def sales(
    event: EventArg,
    watch: Annotated[
        float, typer.Option(help="Refresh every N seconds until Ctrl-C (0: once).")
    ] = 0,
) -> None:
    """Sales and check-ins per tier, read from chain events (counts only, no identities)."""
    session = open_session()
    client = session.event(event)
    history = read_history(session, client)
    if watch <= 0:
        console.print(_sales_view(session, client, history))
        return
    with Live(_sales_view(session, client, history), console=console) as live:
        try:
            while True:
                time.sleep(watch)
                live.update(_sales_view(session, client, read_history(session, client)))
        except KeyboardInterrupt:
            pass


@app.command(
    "publish-root",
    epilog="Example: fairgate organizer publish-root NIGHT1 -w dev:1",
)
def publish_root(
    event: EventArg,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Rebuild the gate tree from chain events and publish its root (needed after any sale)."""
    session = open_session()
    signer = load_signer(session.settings, wallet, password_file)
    client = session.event(event, signer)
    with spinner("Reading the event's history and building the gate tree"):
        history = read_tree_history(session, client)
        tree = history.tree()
    root = tree.root
    holders = sum(1 for leaf in tree.leaves() if leaf)
    gate = TicketGateClient.for_event(client)
    if root == gate.current_root():
        console.print(f"root {root:#066x} ({holders} tickets) is already published")
        return
    previous = gate.current_root()
    with spinner("Publishing the root"):
        result = gate.publish_root(root)
    console.print(
        f"[green]published[/] root {root:#066x} ({holders} tickets, up to block "
        f"{history.last_block}) in tx {result.tx_hash}"
    )
    if previous and history.holders_changed_since_root(previous):
        # nothing to retire: the gate contract refuses every replaced root published before
        # the last change of holders (a seller's old secret is a leaf of those), whichever it is
        console.print(
            f"the previous root {previous:#066x} is refused from now on: holders changed since "
            "it was published"
        )


@app.command(epilog="Example: fairgate organizer cancel MATINEE -w dev:1 --yes")
def cancel(
    event: EventArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Cancel an event: sales stop and on-chain buyers can claim refunds in the event's currency
    (`fairgate fan refund`)."""
    session = open_session()
    client = session.event(event)
    if not yes:
        typer.confirm(
            f"Cancel {client.name()} ({client.address})? This cannot be undone", abort=True
        )
    signer = load_signer(session.settings, wallet, password_file)
    client = session.event(client.address, signer)
    result = client.cancel()
    console.print(f"[yellow]cancelled[/] {client.name()} in tx {result.tx_hash}")
    err_console.print(
        "on-chain buyers can now claim refunds; card buyers are refunded by the bridge."
    )


@app.command(epilog="Example: fairgate organizer accept NIGHT1 -w mywallet")
def accept(
    event: EventArg,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Accept an event proposed to your wallet (by the bridge that deployed it, or another
    organizer): from then on its proceeds, royalties and cancellation are yours alone."""
    session = open_session()
    signer = load_signer(session.settings, wallet, password_file)
    client = session.event(event, signer)
    current, pending = client.organizer(), client.pending_organizer()
    if current == signer.address:
        console.print(f"{client.name()} is already organized by wallet {wallet}")
        return
    if pending != signer.address:
        raise KeyStoreError(
            f"{client.name()} was not proposed to wallet {wallet} ({signer.address}); "
            f"its organizer {current} proposes with the bridge or `proposeOrganizer`"
        )
    err_console.print(
        f"{client.name()}: {client.next_token_id()} ticket(s) minted so far, "
        f"{client.tier_count()} tier(s); roles and tickets come with the event"
    )
    result = client.accept_organizer()
    console.print(f"[green]accepted[/] {client.name()}: organizer is now {signer.address}")
    err_console.print(f"tx {result.tx_hash}")


@app.command(epilog="Example: fairgate organizer withdraw NIGHT1 -w dev:1 --to 0xAbc...")
def withdraw(
    event: EventArg,
    to: Annotated[
        str | None,
        typer.Option(help="Where to send: wallet name or address (default: the organizer)."),
    ] = None,
    wallet: WalletOpt = "default",
    password_file: PasswordFileOpt = None,
) -> None:
    """Withdraw royalties, and the primary-sale escrow once the event has ended."""
    session = open_session()
    signer = load_signer(session.settings, wallet, password_file)
    client = session.event(event, signer)
    use_currency(client.currency())
    target = resolve_account(session.settings, to, what="recipient") if to else signer.address
    result = client.withdraw_proceeds(target)
    args = result.first("ProceedsWithdrawn").args
    console.print(
        f"[green]withdrawn[/] royalties {format_amount(int(args['royalties']))}, escrow "
        f"{format_amount(int(args['escrow']))} to {args['to']}"
    )
