"""What the demo needs around the story: the local stack, the cast, the bridge's HTTP API, gas.

The stack is the one `fairgate dev up` starts (cli.dev): Ganache, the platform's factory, the
embedded IPFS store, the bridge (uvicorn, SQLite) and its minting worker, each a real process.
Fans are Ganache's deterministic accounts; their ticket secrets are derived from their wallets
(zk.identity), as the `fairgate fan` command does on a fan's device.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table
from web3 import Web3

from chain.client import TxResult
from chain.errors import error_class
from chain.ganache import dev_accounts
from chain.keys import Signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from chain.ticket_gate import TicketGateClient
from chain.tree_logs import read_tree_logs
from cli.bridge_client import BridgeClient
from fairgate.errors import ContractRevert, TicketError
from zk.identity import TicketSecret, gate_scope, seed_from_account
from zk.tree import MerkleTree
from zk.tree_sync import tree_from_events

ETH = 10**18
console = Console(highlight=False)


def say(step: str, text: str) -> None:
    console.print(f"\n[bold cyan]{step}[/] {text}")


def detail(text: str) -> None:
    console.print(f"   {text}")


def eth(wei: int) -> str:
    return f"{wei / ETH:.4f} ETH"


@dataclass
class GasLog:
    """Each transaction of the story, for the closing table."""

    rows: list[tuple[str, str, int]] = field(default_factory=list)

    def add(self, step: str, tx_hash: str, gas: int) -> None:
        self.rows.append((step, tx_hash, gas))
        detail(f"[dim]tx {tx_hash[:18]}... gas {gas:,}[/]")

    def result(self, step: str, result: TxResult) -> TxResult:
        self.add(step, result.tx_hash, result.gas_used)
        return result

    def table(self) -> Table:
        out = Table(title="Transactions of the story")
        out.add_column("step")
        out.add_column("transaction")
        out.add_column("gas", justify="right")
        for step, tx_hash, gas in self.rows:
            out.add_row(step, tx_hash[:18] + "...", f"{gas:,}")
        return out


def refused(action: Callable[[], Any], expected: str) -> ContractRevert:
    """Run what the contract must refuse with ``expected``; return the decoded error."""
    try:
        action()
    except ContractRevert as exc:
        if not isinstance(exc, error_class(expected)):
            raise
        return exc
    raise TicketError(f"the contract accepted what it must refuse ({expected})")


@dataclass
class Person:
    """Someone in the story with a wallet (a Ganache development account)."""

    name: str
    account: LocalAccount
    sender: TransactionSender
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def on(self, event: TicketEventClient) -> TicketEventClient:
        client = event.with_sender(self.sender)
        assert isinstance(client, TicketEventClient)
        return client

    def gate_of(self, event: TicketEventClient) -> TicketGateClient:
        """The event's gate contract, writing as this person."""
        return TicketGateClient.for_event(event, self.sender)

    def new_secrets(self, event: TicketEventClient, count: int) -> list[TicketSecret]:
        """The next ``count`` ticket secrets of this event, derived from the wallet."""
        seed = seed_from_account(self.account)
        scope = event.gate_scope()
        start = self.counters.get(event.address, 0)
        self.counters[event.address] = start + count
        return [TicketSecret.derive(seed, scope, start + i) for i in range(count)]


def cast(w3: Web3, names: list[str], first_index: int) -> dict[str, Person]:
    accounts = dev_accounts(first_index + len(names))
    people = {}
    for offset, name in enumerate(names):
        account = accounts[first_index + offset]
        sender = TransactionSender(w3, Signer.from_account(account, name))
        people[name] = Person(name, account, sender)
    return people


class Bridge(BridgeClient):
    """The bridge's HTTP API: the fan side is the CLI's client; the demo adds what an organizer's
    dashboard and the checkout page do."""

    def __init__(self, url: str, admin_key: str) -> None:
        super().__init__(url)
        self.admin_key = admin_key

    def new_organizer(self, name: str, payout: str) -> str:
        created = self._request(
            "POST",
            "/admin/organizers",
            json={"name": name, "payout_address": payout},
            headers={"X-API-Key": self.admin_key},
        )
        return str(created["api_key"])

    def create_event(self, api_key: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(
            self._request("POST", "/organizer/events", json=body, headers={"X-API-Key": api_key})
        )

    def pay(self, checkout_url: str, card: str) -> dict[str, Any]:
        payment_id = checkout_url.rstrip("/").rsplit("/", 1)[-1]
        return dict(self._request("POST", f"/checkout/{payment_id}", json={"card_number": card}))

    def wait_order(
        self, order_id: str, token: str, states: set[str], timeout_s: float = 90
    ) -> dict[str, Any]:
        """Poll until the order reaches one of ``states`` (a story step, not any final state)."""
        deadline = time.monotonic() + timeout_s
        while True:
            order = self.order(order_id, token)
            if order["state"] in states:
                return order
            if time.monotonic() > deadline:
                raise TicketError(f"order {order_id} stayed {order['state']} for {timeout_s:.0f} s")
            time.sleep(0.3)


def gate_tree(
    w3: Web3, event: TicketEventClient, start_block: int, until_block: int | None = None
) -> MerkleTree:
    """The event's gate tree, rebuilt from its chain events alone (anyone can do this), as of
    ``until_block`` (default: now)."""
    records, _ = read_tree_logs(
        w3, event.artifact.abi, event.address, start_block=start_block, until_block=until_block
    )
    return tree_from_events(records)


def stack_state(home: Path) -> dict[str, Any]:
    return dict(json.loads((home / "dev-stack.json").read_text()))


def scope_of(event: TicketEventClient) -> int:
    return gate_scope(int(event.w3.eth.chain_id), event.address)
