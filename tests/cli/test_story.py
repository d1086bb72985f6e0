"""The ticket story through the real ``fairgate`` command, as users would type it.

One module-scoped story on the session's Ganache (steps grouped: each command is a process start):
the organizer creates an event (metadata into the embedded IPFS store), fans create wallets, buy
with ETH, list above the cap (refused with a plain message) and at the cap, another wallet buys
the resale, a gift is accepted, tickets are listed, comps are minted to a fan's commitment, the
gate root is published, a holder proves at the gate and the gate reads the QR image.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest
from web3 import Web3

from metadata.store import EmbeddedStore
from tests.cli.conftest import (
    EVENT_TOML,
    FAIRGATE,
    FUNDER,
    ORGANIZER,
    PASSWORD,
    Cli,
    write_event_file,
)

pytestmark = pytest.mark.ganache

ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@pytest.fixture(scope="module")
def story(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Wallets alice, bob, carol (funded) and the event NIGHT1 created by dev account 1."""
    folder = tmp_path_factory.mktemp("event")
    created = cli.as_(ORGANIZER, "organizer", "create", str(write_event_file(folder, EVENT_TOML)))
    event = ADDRESS.search(created.stdout)
    assert event, created
    addresses = {"event": event.group(0)}
    for name in ("alice", "bob", "carol"):
        made = cli.as_(name, "fan", "wallet", "create")
        addresses[name] = ADDRESS.findall(made.stdout)[0]
        cli("dev", "fund", addresses[name], "--eth", "2", "--account", FUNDER)
    return addresses


def test_create_recorded_event_and_pinned_metadata(cli: Cli, story: dict[str, str]) -> None:
    index = json.loads((cli.home / "events.json").read_text())
    record = index["1337"][story["event"]]
    assert record["symbol"] == "NIGHT1" and record["tiers"] == ["General", "VIP"]
    store = EmbeddedStore(cli.home / "ipfs")
    meta = json.loads(store.get(record["cid"], "tiers/0"))
    assert meta["name"] == "Night One — General"
    assert {"trait_type": "Venue", "value": "Warehouse 9"} in meta["attributes"]
    assert store.get(record["cid"], "image.png").startswith(b"\x89PNG")


def test_a_symbol_names_one_event(cli: Cli, story: dict[str, str], tmp_path: Path) -> None:
    again = cli.as_(
        ORGANIZER, "organizer", "create", str(write_event_file(tmp_path, EVENT_TOML)), ok=False
    )
    assert again.stderr.strip() == (
        f"error: symbol NIGHT1 is already used by event {story['event']} on this chain: "
        "choose another symbol (events are named by it)"
    )


def test_wallets_are_encrypted_and_never_echo_secrets(cli: Cli, story: dict[str, str]) -> None:
    keystore = json.loads((cli.home / "wallets" / "alice.json").read_text())
    assert keystore["crypto"]["kdf"] == "scrypt"
    assert (cli.home / "wallets" / "alice.json").stat().st_mode & 0o077 == 0
    shown = cli("fan", "wallet", "show", "-w", "alice")
    assert story["alice"] in shown.stdout and "balance 2 ETH" in shown.stdout
    again = cli.as_("alice", "fan", "wallet", "create", ok=False)
    assert "wallet 'alice' already exists" in again.stderr


def test_wrong_password(cli: Cli, story: dict[str, str], tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the password\n")
    result = cli(
        "fan", "buy", "NIGHT1", "0", "--yes", "-w", "alice", "--password-file", str(wrong), ok=False
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: wrong password or corrupted keystore"


def test_unknown_event_and_tier(cli: Cli, story: dict[str, str]) -> None:
    result = cli.as_("alice", "fan", "buy", "NOSUCH", "0", "--yes", ok=False)
    assert result.stderr.strip() == (
        "error: unknown event 'NOSUCH': give its contract address or its symbol"
    )
    result = cli.as_("alice", "fan", "buy", "NIGHT1", "7", "--yes", ok=False)
    assert result.stderr.strip() == (
        "error: Night One has no tier '7': its tiers are 0 (General), 1 (VIP)"
    )


def test_market_story(cli: Cli, story: dict[str, str]) -> None:
    w3 = Web3(Web3.HTTPProvider(cli.env["FAIRGATE_RPC_URL"]))
    bought = cli.as_("alice", "fan", "buy", "NIGHT1", "0", "-n", "2", "--yes")
    assert "bought tickets 0, 1 for 0.1 ETH" in bought.stdout

    above = cli.as_("alice", "fan", "list", "NIGHT1:0", "0.1", ok=False)
    assert above.returncode == 1
    assert above.stderr.strip() == (
        "error: price 0.1 ETH is above this ticket's resale cap of 0.055 ETH"
    )
    assert (
        "listed ticket 0 at 0.055 ETH"
        in cli.as_("alice", "fan", "list", "NIGHT1:0", "0.055").stdout
    )
    assert "now 0.05 ETH" in cli.as_("alice", "fan", "update", "NIGHT1:0", "0.05").stdout
    cli.as_("alice", "fan", "unlist", "NIGHT1:0")
    cli.as_("alice", "fan", "list", "0", "0.055", "--event", "NIGHT1")

    alice_before = w3.eth.get_balance(story["alice"])
    resale = cli.as_("bob", "fan", "buy-resale", "NIGHT1:0", "--yes")
    assert "bought ticket 0 for 0.055 ETH (royalty 0.00275 ETH to the organizer)" in resale.stdout
    assert w3.eth.get_balance(story["alice"]) - alice_before == 55 * 10**15 - 275 * 10**13

    cli.as_("alice", "fan", "gift", "NIGHT1:1", story["carol"])
    taken = cli.as_("bob", "fan", "buy-resale", "NIGHT1:1", "--yes", ok=False)
    assert f"reserved for {story['carol']}" in taken.stderr
    assert (
        "accepted the gift of ticket 1"
        in cli.as_("carol", "fan", "buy-resale", "NIGHT1:1", "--yes").stdout
    )

    listing = cli("fan", "tickets", "-w", "bob")
    assert "NIGHT1:0" in listing.stdout and "General" in listing.stdout
    assert "no tickets held by" in cli("fan", "tickets", "-w", "alice").stdout


def test_comps_to_a_fans_commitment(cli: Cli, story: dict[str, str]) -> None:
    made = cli.as_("carol", "fan", "commitment", "NIGHT1")
    holder, commitment = made.stdout.strip().split(",")
    assert holder == story["carol"]
    minted = cli.as_(
        ORGANIZER, "organizer", "mint", "NIGHT1", "1", "--to", "carol", "--commitment", commitment
    )  # a wallet name where an address is asked
    assert f"to {story['carol']}" in minted.stdout
    not_organizer = cli.as_(
        "bob",
        "organizer",
        "mint",
        "NIGHT1",
        "1",
        "--to",
        holder,
        "--commitment",
        commitment,
        ok=False,
    )
    assert "is not allowed to do this" in not_organizer.stderr
    carol = cli("fan", "tickets", "NIGHT1", "-w", "carol")
    assert "VIP" in carol.stdout and "General" in carol.stdout


@pytest.mark.slow
def test_publish_prove_and_verify_at_the_gate(
    cli: Cli, story: dict[str, str], tmp_path: Path
) -> None:
    published = cli.as_(ORGANIZER, "organizer", "publish-root", "NIGHT1")
    assert "published root 0x" in published.stdout
    assert "already published" in cli.as_(ORGANIZER, "organizer", "publish-root", "NIGHT1").stdout

    card = cli("gate", "challenge", "NIGHT1").stdout.split()[1]
    assert card.startswith("FGC1:")
    png, text = tmp_path / "ticket.png", tmp_path / "ticket.txt"
    proved = cli.as_(
        "carol",
        "fan",
        "prove",
        "NIGHT1:1",
        "--challenge",
        card,
        "--png",
        str(png),
        "--out",
        str(text),
    )
    assert "█" in proved.stdout or "▀" in proved.stdout
    assert PASSWORD not in proved.output
    payload = text.read_text().strip()
    assert payload.startswith("FG1:") and payload in proved.stdout

    if importlib.util.find_spec("zxingcpp") is None:  # not yet in requirements.lock
        no_decoder = cli("gate", "verify", "NIGHT1", str(png), ok=False)
        assert "reading QR images needs the zxing-cpp package" in no_decoder.stderr
        admitted = cli("gate", "verify", "NIGHT1", str(text))
    else:
        admitted = cli("gate", "verify", "NIGHT1", str(png))
    assert "ADMITTED valid ticket of Night One" in admitted.stdout
    again = cli("gate", "verify", "NIGHT1", "-", stdin=payload, ok=False)
    assert "REFUSED already used at this gate" in again.stdout
    elsewhere = cli("gate", "verify", "NIGHT1", str(png), "--gate-id", "gate-2", ok=False)
    assert "REFUSED challenge not issued by this gate" in elsewhere.stdout
    garbage = cli("gate", "verify", "NIGHT1", "-", stdin="FG1:XYZ", ok=False)
    assert "REFUSED unreadable code" in garbage.stdout
    # without a card: the rotating code of this 20 s window passes the gate's challenge check
    # (a wrong challenge would be refused before the nullifier), and the ticket is used already
    live = cli.as_("carol", "fan", "prove", "NIGHT1:1", "--no-qr", "--out", str(text))
    assert "a rotating code: show it before" in live.stderr
    reused = cli("gate", "verify", "NIGHT1", str(text), ok=False)
    assert "REFUSED already used at this gate" in reused.stdout

    # the gate keeps working from its cache when the node is gone
    offline = cli("gate", "offline", story["event"], env={"FAIRGATE_RPC_URL": "http://127.0.0.1:9"})
    assert "UNREACHABLE" in offline.stdout and re.search(
        r"entries recorded here\s+│\s+1", offline.stdout
    )

    # the seller's old secret no longer opens the door: alice does not hold ticket 0 any more
    stale = cli.as_("alice", "fan", "prove", "NIGHT1:0", "--challenge", card, ok=False)
    assert stale.stderr.strip() == "error: ticket 0 is not held by wallet alice"

    anchored = cli.as_(ORGANIZER, "gate", "anchor", "NIGHT1")
    assert "anchored 1 (0 were already on-chain) in 1 transaction(s)" in anchored.stdout
    sales = cli("organizer", "sales", "NIGHT1")
    # one paid resale and one gift, counted apart
    assert re.search(r"General\s+│\s+100\s+│\s+2\s+│\s+1\s+│\s+1\s+│\s+0\s+│\s+98", sales.stdout), (
        sales
    )
    organizer = Web3.to_checksum_address(
        ADDRESS.findall(cli("fan", "wallet", "show", "-w", ORGANIZER).stdout)[0]
    )
    assert re.search(rf"{organizer}\s+│\s+anchored\s+│\s+1", sales.stdout), sales


def test_cancel_refund_and_withdraw(cli: Cli, story: dict[str, str], tmp_path: Path) -> None:
    matinee = EVENT_TOML.replace('"NIGHT1"', '"MATINEE"').replace('"Night One"', '"Matinee"')
    cli.as_(ORGANIZER, "organizer", "create", str(write_event_file(tmp_path, matinee)))
    assert (
        "bought tickets 0, 1"
        in cli.as_("bob", "fan", "buy", "MATINEE", "0", "-n", "2", "--yes").stdout
    )
    refused = cli.as_("bob", "organizer", "cancel", "MATINEE", "--yes", ok=False)
    assert "is not allowed to do this: it needs to be the organizer" in refused.stderr
    early = cli.as_("bob", "fan", "refund", "MATINEE:0", ok=False)
    assert early.stderr.strip() == "error: the event is not cancelled: refunds are closed"
    assert (
        "cancelled Matinee" in cli.as_(ORGANIZER, "organizer", "cancel", "MATINEE", "--yes").stdout
    )
    refund = cli.as_("bob", "fan", "refund", "MATINEE:0", "MATINEE:1")
    assert "refunded 0.1 ETH for 2 ticket(s)" in refund.stdout
    sales = cli("organizer", "sales", "MATINEE").stdout
    assert "CANCELLED" in sales
    assert re.search(r"General\s+│\s+100\s+│\s+2\s+│\s+0\s+│\s+0\s+│\s+2", sales), sales

    withdrawn = cli.as_(ORGANIZER, "organizer", "withdraw", "NIGHT1", "--to", "alice")
    assert f"royalties 0.00275 ETH, escrow 0 ETH to {story['alice']}" in withdrawn.stdout
    nothing = cli.as_(ORGANIZER, "organizer", "withdraw", "NIGHT1", ok=False)
    assert nothing.stderr.strip() == "error: nothing to withdraw"


def test_import_a_key_without_echoing_it(cli: Cli, tmp_path: Path) -> None:
    from eth_account import Account

    account = Account.create()
    key_file = tmp_path / "key.txt"
    key_file.write_text(account.key.hex() + "\n")
    imported = cli.as_("erin", "fan", "wallet", "import", "--key-file", str(key_file))
    assert f"imported wallet erin: {account.address}" in imported.stdout
    assert account.key.hex().removeprefix("0x") not in imported.output
    key_file.write_text("0x1234\n")
    bad = cli.as_("frank", "fan", "wallet", "import", "--key-file", str(key_file), ok=False)
    assert (
        bad.stderr.strip()
        == "error: the private key to import is not a valid secp256k1 private key"
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sales_watch_follows_new_sales_until_ctrl_c(
    cli: Cli, story: dict[str, str], tmp_path: Path
) -> None:
    """``sales --watch`` on a terminal (a pty: rich refreshes its live view only there) shows a
    sale made while it runs, and Ctrl-C ends it cleanly."""
    show = EVENT_TOML.replace('"NIGHT1"', '"WATCH1"').replace('"Night One"', '"Watched"')
    cli.as_(ORGANIZER, "organizer", "create", str(write_event_file(tmp_path, show)))
    leader, follower = pty.openpty()
    watcher = subprocess.Popen(
        [str(FAIRGATE), "organizer", "sales", "WATCH1", "--watch", "0.3"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**cli.env, "TERM": "xterm-256color"},
        start_new_session=True,
        # as a terminal would: a runner started in the background (`... &` in a script) passes
        # SIGINT on as ignored, and Python then never raises KeyboardInterrupt
        preexec_fn=_default_sigint,
    )
    os.close(follower)
    seen = ""
    ansi = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

    def read_until(pattern: str, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while not re.search(pattern, seen):
            assert watcher.poll() is None, f"the watch ended early:\n{seen}"
            assert time.monotonic() < deadline, f"never showed {pattern!r}:\n{seen[-3000:]}"
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    seen += ansi.sub("", os.read(leader, 65536).decode(errors="replace"))
                except OSError:  # the pty closed
                    break

    try:
        read_until(r"General\s+│\s+100\s+│\s+0\s+│")
        seen = ""
        bought = cli.as_("bob", "fan", "buy", "WATCH1", "0", "--yes")
        assert "bought ticket" in bought.stdout, bought
        read_until(r"General\s+│\s+100\s+│\s+1\s+│")  # the same process, refreshed
        os.killpg(watcher.pid, signal.SIGINT)
        # keep draining the pty: a full pty buffer would block the watch's last writes
        deadline = time.monotonic() + 30
        while watcher.poll() is None and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    os.read(leader, 65536)
                except OSError:
                    break
        assert watcher.wait(5) == 0
    finally:
        if watcher.poll() is None:
            watcher.kill()
        os.close(leader)
