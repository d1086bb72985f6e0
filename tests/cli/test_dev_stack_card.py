"""``fairgate dev up/status/env/down`` and a card purchase through the bridge it starts.

The stack is the real one (its own Ganache, the bridge under uvicorn on SQLite, the minting
worker) on free ports under a temporary home; the organizer side is set up through the bridge's
HTTP API (admin key from ``<home>/dev/admin-key``), and the payment through the local provider's
checkout endpoint, as a fan's browser would.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from chain.ganache import dev_accounts
from tests.cli.conftest import Cli, base_env

# `fairgate dev up` starts its own Ganache (a grandchild process: the lane guard cannot see it)
pytestmark = [pytest.mark.slow, pytest.mark.ganache]

SUCCEED_CARD = "4242 4242 4242 4242"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, dict[str, str]]]:
    home = tmp_path_factory.mktemp("dev-home")
    cli = Cli(base_env(home, "http://127.0.0.1:9"), home)
    cli("dev", "up", timeout=300)
    try:
        exports = dict(re.findall(r"export (FAIRGATE_\w+)=(\S+)", cli("dev", "env").stdout))
        cli.env.update(exports)
        yield cli, exports
    finally:
        cli("dev", "down")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _bridge_event(url: str, home: Path) -> dict[str, object]:
    admin = (home / "dev" / "admin-key").read_text().strip()
    org = httpx.post(f"{url}/admin/organizers", json={"name": "Org"}, headers={"X-API-Key": admin})
    org.raise_for_status()
    start = datetime.now(UTC) + timedelta(days=30)
    body = {
        "name": "Card Night",
        "symbol": "CARD1",
        "venue": "Hall",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=5)).isoformat(),
        "tiers": [
            {
                "name": "GA",
                "price_cents": 5000,
                "face_value_wei": 10**16,
                "supply": 50,
                "resale_cap_bps": 11_000,
                "resale_closes_at": int(start.timestamp()),  # open until doors
            }
        ],
    }
    created = httpx.post(
        f"{url}/organizer/events",
        json=body,
        headers={"X-API-Key": org.json()["api_key"]},
        timeout=60,
    )
    created.raise_for_status()
    event: dict[str, object] = created.json()
    return event


def _pay(checkout_url: str) -> None:
    paid = httpx.post(checkout_url, json={"card_number": SUCCEED_CARD}, timeout=30)
    paid.raise_for_status()
    assert paid.json()["outcome"] == "paid"


def test_stack_status(stack: tuple[Cli, dict[str, str]]) -> None:
    cli, exports = stack
    state = json.loads((cli.home / "dev-stack.json").read_text())
    assert set(state["components"]) == {"chain", "ipfs", "bridge", "worker"}
    for name in ("chain", "bridge", "worker"):
        assert _alive(state["components"][name]["pid"]), name
    status = cli("dev", "status").stdout
    assert re.search(r"bridge\s+│\s+up", status) and exports["FAIRGATE_PUBLIC_URL"] in status
    again = cli("dev", "up", ok=False)
    assert "the stack is already up" in again.stderr
    recorded = (cli.home / "dev-stack.json").read_text()
    for account in dev_accounts(3):  # the bridge's keys reach its processes' environment only
        key = bytes(account.key).hex()
        assert key not in status and key not in recorded


def test_card_purchase_wallet_and_custody(stack: tuple[Cli, dict[str, str]]) -> None:
    cli, exports = stack
    _bridge_event(exports["FAIRGATE_PUBLIC_URL"], cli.home)
    address = re.findall(r"0x[0-9a-fA-F]{40}", cli.as_("dana", "fan", "wallet", "create").stdout)[0]

    order = cli.as_(
        "dana",
        "fan",
        "buy-card",
        "CARD1",
        "GA",
        "-n",
        "2",
        "--email",
        "dana@example.org",
    )
    order_id = re.search(r"order (\w{32}) reserved", order.stdout).group(1)  # type: ignore[union-attr]
    checkout = re.search(r"pay at (\S+)", order.stdout).group(1)  # type: ignore[union-attr]
    token = json.loads((cli.home / "orders" / f"{order_id}.json").read_text())["order_token"]
    assert token not in order.output  # the order token is kept on the device, never printed
    _pay(checkout)
    minted = cli("fan", "order", order_id, "--wait", "--timeout", "120")
    assert f"order {order_id}: minted" in minted.stdout
    assert minted.stdout.count(address) == 2

    custody = cli.as_(
        "dana",
        "fan",
        "buy-card",
        "card1",
        "0",
        "--custody",
        "--email",
        "dana@example.org",
    )
    custody_id = re.search(r"order (\w{32}) reserved", custody.stdout).group(1)  # type: ignore[union-attr]
    _pay(re.search(r"pay at (\S+)", custody.stdout).group(1))  # type: ignore[union-attr]
    held = cli("fan", "order", custody_id, "--wait", "--timeout", "120")
    assert "custody" in held.stdout and address not in held.stdout
    claim = cli.as_("dana", "fan", "claim-custody", custody_id)
    assert f"for {address}" in claim.stdout

    tickets = cli("fan", "tickets", "CARD1", "-w", "dana")
    for _ in range(30):
        if tickets.stdout.count("CARD1:") == 3:
            break
        time.sleep(1)
        tickets = cli("fan", "tickets", "CARD1", "-w", "dana")
    assert tickets.stdout.count("CARD1:") == 3, tickets


def test_card_ticket_first_resale_pays_its_seller_the_markup_to_withdraw(
    stack: tuple[Cli, dict[str, str]],
) -> None:
    """A card ticket's first resale holds its face value; the seller withdraws the rest."""
    cli, _ = stack
    cli.as_("erin", "fan", "wallet", "create")
    for name in ("dana", "erin"):
        cli("dev", "fund", name, "--eth", "1")
    nothing = cli.as_("dana", "fan", "proceeds", "CARD1")
    assert "proceeds waiting for" in nothing.stdout and ": 0 ETH" in nothing.stdout, nothing
    refused = cli.as_("dana", "fan", "proceeds", "CARD1", "--withdraw", ok=False)
    assert "error: nothing to withdraw" in refused.stderr, refused

    cli.as_("dana", "fan", "list", "CARD1:1", "0.011")  # the cap: 110 % of the 0.01 ETH face
    cli.as_("erin", "fan", "buy-resale", "CARD1:1", "--yes")
    # 0.011 paid: the 0.01 face is held until the event (its 5 % royalty then), the 0.001
    # above face goes to the seller's pull balance at once, less its 5 % royalty
    waiting = cli.as_("dana", "fan", "proceeds", "CARD1")
    assert ": 0.00095 ETH: take them with --withdraw" in waiting.stdout, waiting
    assert "(tickets 1): 0.01 ETH, paid less its royalty; held until the event ends" in (
        waiting.stdout
    ), waiting
    taken = cli.as_("dana", "fan", "proceeds", "CARD1", "--withdraw")
    assert "withdrew 0.00095 ETH" in taken.stdout, taken
    assert ": 0 ETH" in cli.as_("dana", "fan", "proceeds", "CARD1").stdout


def test_card_ticket_enters_at_the_gate(stack: tuple[Cli, dict[str, str]]) -> None:
    """The story end to end: a ticket paid by card, its secret made on the fan's device."""
    cli, _ = stack
    operator = "dev:1"  # dev up's bridge operator: the on-chain organizer of bridge events
    assert "published root" in cli.as_(operator, "organizer", "publish-root", "CARD1").stdout
    card = cli("gate", "challenge", "CARD1").stdout.split()[1]
    payload_file = cli.home / "card-ticket.txt"
    cli.as_(
        "dana",
        "fan",
        "prove",
        "CARD1:2",
        "--challenge",
        card,
        "--no-qr",
        "--out",
        str(payload_file),
    )
    admitted = cli("gate", "verify", "CARD1", str(payload_file))
    assert "ADMITTED valid ticket of Card Night" in admitted.stdout


def test_after_the_event_the_seller_takes_the_held_face_value(
    stack: tuple[Cli, dict[str, str]],
) -> None:
    """The held face value of the card ticket dana sold above is hers, less royalty, once the
    event has ended (the dev chain's clock moved past its end)."""
    cli, exports = stack
    rpc = exports["FAIRGATE_RPC_URL"]
    for method, params in (("evm_increaseTime", [40 * 24 * 3600]), ("evm_mine", [])):
        moved = httpx.post(
            rpc, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        )
        assert "error" not in moved.json(), moved.text
    due = cli.as_("dana", "fan", "proceeds", "CARD1")
    assert "(tickets 1): 0.01 ETH, paid less its royalty; due now" in due.stdout, due
    taken = cli.as_("dana", "fan", "proceeds", "CARD1", "--withdraw")
    assert "settled 1 held sale(s): 0.0095 ETH" in taken.stdout, taken  # 5 % royalty kept
    after = cli.as_("dana", "fan", "proceeds", "CARD1")
    assert ": 0 ETH" in after.stdout and "sold card ticket" not in after.stdout, after


def test_down_stops_everything(stack: tuple[Cli, dict[str, str]]) -> None:
    cli, _ = stack
    state = json.loads((cli.home / "dev-stack.json").read_text())
    pids = [c["pid"] for c in state["components"].values() if c.get("pid")]
    down = cli("dev", "down")
    assert "chain: stopped" in down.stdout and "bridge: stopped" in down.stdout
    assert not any(_alive(pid) for pid in pids)
    assert "no dev stack recorded" in cli("dev", "status").stdout
