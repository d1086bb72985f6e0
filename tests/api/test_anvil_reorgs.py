"""The bridge on a chain that behaves like a public one, on Anvil: blocks at an interval (not one
per transaction), confirmations before a mint counts, and real reorganisations through
``anvil_reorg`` (tests/api/test_indexer_reorg.py emulates them with Ganache snapshots).

Nothing is lost or minted twice: the minting worker finalizes an order only ``confirmations``
blocks after its mint; a reorg that drops the mint makes the worker send it again, once (a reorg
that keeps it changes nothing); the indexer never sees a reorg shallower than its confirmations,
and rewinds past a deeper one to the new chain's counts.

The module runs on the session's Anvil (tests/conftest.py ``anvil``): it is snapshotted before
the module and reverted after it, with its mining mode restored, so the chain is shared, not
started again. Blocks are mined by the test where the order of events matters (:class:`Miner`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import create_event, pay, place_order, read_order
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.exceptions import TransactionNotFound

import api.services.minting as minting
from api.accounts import BridgeAccounts
from api.models import Event, MintBatch, Order, Ticket, Tier
from api.services.indexer import index_once
from api.services.locks import WorkerLocks
from api.services.minting import Minter
from chain.anvil import AnvilRunner
from chain.nodes import DevNode, dev_node
from chain.sender import NonceManager
from chain.ticket_event import TicketEventClient
from fairgate.settings import Settings

pytestmark = [pytest.mark.postgres]
CONFIRMATIONS = 3
FACE = 10**15


# ------------------------------------------------------------------------------ the module's chain


@pytest.fixture(scope="module")
def ganache(anvil: AnvilRunner) -> Iterator[AnvilRunner]:
    """This module's chain (the name the bridge fixtures ask for): the session's Anvil, restored
    after the module."""
    w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
    node = dev_node(w3)
    snapshot = node.snapshot()
    yield anvil
    node.set_block_time(0)
    node.set_automine(True)
    node.revert(snapshot)
    chain = (int(w3.eth.chain_id), "0x" + bytes(w3.eth.get_block(0)["hash"]).hex())
    for account in anvil.accounts_with_keys():
        NonceManager.reset(chain, account.address)  # nonces went back with the revert


@pytest.fixture(scope="module")
def w3(ganache: AnvilRunner) -> Web3:
    return Web3(Web3.HTTPProvider(ganache.url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def dev_accounts(ganache: AnvilRunner) -> list[LocalAccount]:
    return ganache.accounts_with_keys()


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """The bridge's settings with a public chain's rules: confirmations and a fast replacement."""
    return settings.model_copy(
        update={"confirmations": CONFIRMATIONS, "block_time_s": 1.0, "mint_replace_after_s": 1.0}
    )


@pytest.fixture(scope="module")
def node(w3: Web3) -> DevNode:
    return dev_node(w3)


class Miner:
    """Mines a block every ``interval`` seconds while running (a chain with a block time that the
    test can pause at an exact point)."""

    def __init__(self, node: DevNode, interval: float = 0.2) -> None:
        self.node = node
        self.interval = interval
        self.running = threading.Event()
        self.stopped = False
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stopped:
            if self.running.is_set():
                self.node.mine()
            time.sleep(self.interval)

    def __enter__(self) -> Miner:
        self.node.set_block_time(0)
        self.node.set_automine(False)
        self.running.set()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped = True
        self.thread.join(timeout=5)
        self.node.set_automine(True)


def wait_for(what: str, check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def known(w3: Web3, tx_hash: str) -> bool:
    """Whether the node knows a transaction (pending or mined)."""
    try:
        w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
    except TransactionNotFound:
        return False
    return True


def index_until_idle(db: sessionmaker[Session], chain: BridgeAccounts) -> None:
    for _ in range(50):
        with db() as session:
            if index_once(session, chain) == 0:
                return
    raise AssertionError("the indexer did not catch up")


def counters(db: sessionmaker[Session], event_id: int) -> tuple[int, int]:
    with db() as session:
        tier = session.scalars(select(Tier).where(Tier.event_id == event_id)).one()
        return tier.chain_minted, tier.eth_minted


def issued_per_ref(w3: Web3, contract: str) -> dict[str, int]:
    """How many TicketsIssued each order ref has on the canonical chain."""
    return dict(Counter(i.order_ref for i in TicketEventClient(w3, contract).issued_since(0)))


# ------------------------------------------------------------------------------ block time


def test_the_worker_mints_and_the_indexer_counts_only_after_confirmations(
    app_client: TestClient,
    organizer_key: str,
    db: sessionmaker[Session],
    engine: Engine,
    settings: Settings,
    bridge_chain: BridgeAccounts,
    node: DevNode,
    w3: Web3,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node.set_block_time(1)  # a block a second, none per transaction
    try:
        event = create_event(app_client, organizer_key, supply=50)
        orders = [place_order(app_client, event, 2) for _ in range(3)]
        for order in orders:
            pay(app_client, order)
        depth_at_finalize: list[int] = []

        def hook(point: str) -> None:
            if point == "mined":  # the receipt is in hand: how deep is its block now?
                with db() as session:
                    batch = session.scalars(select(MintBatch)).one()
                    receipt = w3.eth.get_transaction_receipt(batch.tx_hashes[-1])
                depth_at_finalize.append(w3.eth.block_number - receipt["blockNumber"])

        monkeypatch.setattr(minting, "MINT_HOOK", hook)
        minter = Minter(db, bridge_chain, WorkerLocks(engine), settings)
        minted: list[int] = []
        wait_for("the orders to be minted", lambda: minted.append(minting.mint_some(minter))
                 or sum(minted) == 6)  # fmt: skip
        assert depth_at_finalize and depth_at_finalize[0] >= CONFIRMATIONS
        assert [read_order(app_client, o)["state"] for o in orders] == ["minted"] * 3

        index_until_idle(db, bridge_chain)
        with db() as session:
            row = session.get(Event, event["id"])
            assert row is not None
            assert row.indexed_block <= w3.eth.block_number - CONFIRMATIONS

        def counted() -> bool:
            index_until_idle(db, bridge_chain)
            return counters(db, event["id"]) == (6, 0)

        wait_for("the mint to be confirmed for the indexer", counted)
    finally:
        node.set_block_time(0)
        node.set_automine(True)


def test_an_order_paid_while_a_mint_waits_for_its_block_goes_into_that_block(
    app_client: TestClient,
    organizer_key: str,
    db: sessionmaker[Session],
    engine: Engine,
    settings: Settings,
    bridge_chain: BridgeAccounts,
    node: DevNode,
    w3: Web3,
) -> None:
    """With a batch in flight and nothing paid, the worker looks for paid orders again instead of
    sitting on the batch's receipt: an order paid before the block is made is sent into it."""
    with Miner(node) as miner:
        event = create_event(app_client, organizer_key, supply=50)
        early, late = place_order(app_client, event, 2), place_order(app_client, event, 2)
        miner.running.clear()  # no block until both are sent (or the test gives up)
        pay(app_client, early)

        def state(order: dict[str, Any]) -> str:
            with db() as session:
                return str(session.get(Order, order["id"]).state)

        wait_for("the early order to be paid", lambda: state(early) == "paid")
        minter = Minter(db, bridge_chain, WorkerLocks(engine), settings)
        result: list[int] = []
        worker = threading.Thread(
            target=lambda: result.append(minting.mint_some(minter)), daemon=True
        )
        worker.start()

        def sent() -> list[list[str]]:  # each batch's hashes (a replacement adds one)
            with db() as session:
                batches = session.scalars(
                    select(MintBatch).where(MintBatch.event_id == event["id"])
                ).all()
                return [list(b.tx_hashes) for b in batches if b.tx_hashes]

        wait_for("the early order's mint to be sent", sent)
        time.sleep(0.5)  # the worker found nothing more to claim meanwhile
        pay(app_client, late)
        wait_for("the late order's mint, before any block", lambda: len(sent()) == 2, timeout=15)
        miner.running.set()
        worker.join(timeout=60)
        assert not worker.is_alive()

    assert result == [4]
    blocks = set()
    for hashes in sent():
        for h in hashes:
            try:
                blocks.add(w3.eth.get_transaction_receipt(h)["blockNumber"])  # type: ignore[arg-type]
            except TransactionNotFound:
                continue  # replaced
    assert len(blocks) == 1  # both mints in the first block after the pause
    assert [read_order(app_client, o)["state"] for o in (early, late)] == ["minted"] * 2


# ------------------------------------------------------------------------------ reorgs: the worker


@pytest.mark.parametrize("kept", [False, True], ids=["mint-dropped", "mint-kept"])
def test_a_mint_reorged_away_is_sent_again_exactly_once(
    app_client: TestClient,
    organizer_key: str,
    db: sessionmaker[Session],
    engine: Engine,
    settings: Settings,
    bridge_chain: BridgeAccounts,
    node: DevNode,
    w3: Web3,
    kept: bool,
) -> None:
    with Miner(node) as miner:
        event = create_event(app_client, organizer_key, supply=50)
        orders = [place_order(app_client, event, 2) for _ in range(4)]
        for order in orders:
            pay(app_client, order)
        minter = Minter(db, bridge_chain, WorkerLocks(engine), settings)
        claimed = wait_for("the paid orders", minter.claim)  # webhooks arrive in the background
        assert len(claimed.order_ids) == 4
        miner.running.clear()  # from here the test mines
        result: list[int] = []
        worker = threading.Thread(
            target=lambda: result.append(minter.process(claimed)), daemon=True
        )
        worker.start()

        def sent() -> list[str]:
            with db() as session:
                batch = session.get(MintBatch, claimed.batch_id)
                return list(batch.tx_hashes or []) if batch is not None else []

        first = wait_for("the mint to be sent", sent)[0]
        node.mine()
        receipt = w3.eth.get_transaction_receipt(first)
        raw = node.rpc("eth_getRawTransactionByHash", first)
        first_nonce = w3.eth.get_transaction(first)["nonce"]  # type: ignore[arg-type]
        depth = w3.eth.block_number - receipt["blockNumber"] + 1
        assert depth < CONFIRMATIONS  # the worker has not finalized yet
        # the block holding the mint is replaced: without it, or with it again
        node.reorg(depth, [bytes.fromhex(raw[2:])] if kept else [])
        assert known(w3, first) == kept
        miner.running.set()
        worker.join(timeout=90)
        assert not worker.is_alive()

    assert result == [8]
    hashes = sent()
    assert len(hashes) == (1 if kept else 2)  # sent again once, at the same nonce
    if not kept:
        assert not known(w3, hashes[0])
        assert w3.eth.get_transaction(hashes[1])["nonce"] == first_nonce  # type: ignore[arg-type]
    contract = event["contract_address"]
    with db() as session:
        refs = session.scalars(select(Order.order_ref).where(Order.event_id == event["id"])).all()
        assert session.query(Ticket).filter(Ticket.event_id == event["id"]).count() == 8
    assert issued_per_ref(w3, contract) == {ref: 1 for ref in refs}  # each order minted once
    assert bridge_chain.event(contract).tier(0).minted == 8
    assert [read_order(app_client, o)["state"] for o in orders] == ["minted"] * 4


# ------------------------------------------------------------------------------ reorgs: the indexer


class Buyer:
    """A fan buying with ETH through raw signed transactions (so the test picks the blocks)."""

    def __init__(
        self, w3: Web3, chain: BridgeAccounts, account: LocalAccount, contract: str
    ) -> None:
        self.w3 = w3
        self.account = account
        self.event = chain.event(contract)
        self.seq = 0

    def raw(self, n: int, nonce: int) -> bytes:
        commitments = []
        for _ in range(n):
            self.seq += 1
            commitments.append(10_000 + self.seq)
        tx = {
            **self.event.purchase_tx(0, commitments),
            "value": n * FACE,
            "gas": 400_000,
            "maxFeePerGas": 50 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "nonce": nonce,
            "chainId": int(self.w3.eth.chain_id),
        }
        return bytes(self.account.sign_transaction(tx).raw_transaction)

    def buy(self, n: int, node: DevNode) -> int:
        """Buy ``n`` in the next block; returns the block number."""
        nonce = self.w3.eth.get_transaction_count(self.account.address)
        tx_hash = self.w3.eth.send_raw_transaction(self.raw(n, nonce))
        node.mine()
        return int(self.w3.eth.get_transaction_receipt(tx_hash)["blockNumber"])


def test_the_indexer_ignores_shallow_reorgs_and_rewinds_past_deep_ones(
    app_client: TestClient,
    organizer_key: str,
    db: sessionmaker[Session],
    bridge_chain: BridgeAccounts,
    node: DevNode,
    w3: Web3,
    fans: list[LocalAccount],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with Miner(node) as miner:
        event = create_event(app_client, organizer_key, supply=100)
        miner.running.clear()
    try:
        node.set_automine(False)
        buyer = Buyer(w3, bridge_chain, fans[2], event["contract_address"])
        contract = bridge_chain.event(event["contract_address"])

        # deeper than the confirmations: the indexer counted the old branch, then rewinds
        nonce = w3.eth.get_transaction_count(fans[2].address)
        old = buyer.buy(2, node)
        node.mine(CONFIRMATIONS + 1)
        index_until_idle(db, bridge_chain)
        assert counters(db, event["id"]) == (2, 2)
        depth = w3.eth.block_number - old + 1
        assert depth > CONFIRMATIONS
        node.reorg(depth, [buyer.raw(3, nonce)])  # the same fan bought 3, not 2, on the new chain
        with caplog.at_level("WARNING"):
            index_until_idle(db, bridge_chain)
        assert "reorg" in caplog.text
        assert counters(db, event["id"]) == (3, 3) == (contract.tier(0).minted,) * 2

        # shallower than the confirmations: the indexer never saw the old branch
        caplog.clear()
        nonce = w3.eth.get_transaction_count(fans[2].address)
        shallow = buyer.buy(1, node)
        index_until_idle(db, bridge_chain)
        assert counters(db, event["id"]) == (3, 3)  # not confirmed yet: not counted
        node.reorg(w3.eth.block_number - shallow + 1, [buyer.raw(4, nonce)])
        node.mine(CONFIRMATIONS)
        with caplog.at_level("WARNING"):
            index_until_idle(db, bridge_chain)
        assert "reorg" not in caplog.text  # nothing to take back
        assert counters(db, event["id"]) == (7, 7) == (contract.tier(0).minted,) * 2
    finally:
        node.set_automine(True)
