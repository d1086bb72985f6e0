"""The bridge's indexer survives reorgs, on a real Ganache: ``evm_snapshot``, blocks on an old
branch that the indexer applies, ``evm_revert``, then a new branch with other transactions. The
seat counters must then match the new chain exactly (and a from-scratch index of it), whatever
the rewind depth: a partial rewind taking back the journal (depth 4 > fork), a fork deeper than
the rewind found through the journal's hashes (depth 2), and a start-over (depth 64 > the event's
age)."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import create_event
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from api.accounts import BridgeAccounts
from api.models import Event, Tier
from api.services.indexer import index_once
from chain.keys import Signer
from chain.sender import NonceManager, TransactionSender
from chain.ticket_event import TicketEventClient
from fairgate.settings import Settings

pytestmark = [pytest.mark.postgres]


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in response, response
    return response["result"]


def index_until_idle(db: sessionmaker[Session], chain: BridgeAccounts, depth: int) -> int:
    rounds = 0
    while True:
        with db() as session:
            if index_once(session, chain, reorg_depth=depth) == 0:
                return rounds
        rounds += 1
        assert rounds < 50


def counters(db: sessionmaker[Session], event_id: int) -> tuple[int, int]:
    with db() as session:
        tier = session.scalars(select(Tier).where(Tier.event_id == event_id)).one()
        return tier.chain_minted, tier.eth_minted


class Buyer:
    def __init__(self, w3: Web3, settings: Settings, chain: BridgeAccounts, account: LocalAccount,
                 address: str) -> None:  # fmt: skip
        self.sender = TransactionSender(w3, Signer.from_account(account), settings=settings)
        self.contract = TicketEventClient(w3, address, self.sender)
        self.seq = 0

    def buy(self, n: int) -> int:
        commitments = []
        for _ in range(n):
            self.seq += 1
            commitments.append(self.seq)
        return self.contract.purchase(0, commitments).block_number


@pytest.mark.parametrize("depth", [4, 2, 64])
def test_reorg_rewinds_and_reapplies(
    app_client: TestClient,
    organizer_key: str,
    db: sessionmaker[Session],
    settings: Settings,
    bridge_chain: BridgeAccounts,
    w3: Web3,
    fans: list[LocalAccount],
    depth: int,
) -> None:
    event = create_event(app_client, organizer_key, supply=100)
    buyer = Buyer(w3, settings, bridge_chain, fans[4], event["contract_address"])
    buyer.buy(3)
    for _ in range(4):  # room between the deploy block and the fork for a partial rewind
        rpc(w3, "evm_mine")
    index_until_idle(db, bridge_chain, depth)
    assert counters(db, event["id"]) == (3, 3)

    snapshot = rpc(w3, "evm_snapshot")
    fork = w3.eth.block_number
    buyer.buy(2)  # block fork+1: with depth 2 the rewind lands on it (journal check needed)
    buyer.buy(1)
    rpc(w3, "evm_mine")
    index_until_idle(db, bridge_chain, depth)
    assert counters(db, event["id"]) == (6, 6)  # the old branch was applied
    with db() as session:
        cursor = session.get(Event, event["id"])
        assert cursor is not None and cursor.indexed_block == fork + 3

    assert rpc(w3, "evm_revert", snapshot) is True
    NonceManager.reset(buyer.sender.chain, buyer.sender.address)
    # the new branch: other purchases, as long as the old one (the cursor block now has
    # another hash) plus one block
    buyer.buy(4)
    buyer.buy(5)
    rpc(w3, "evm_mine")
    rpc(w3, "evm_mine")
    assert w3.eth.block_number == fork + 4
    rewinds = index_until_idle(db, bridge_chain, depth)
    assert rewinds >= 2  # at least one rewind and one read of the new branch

    on_chain = bridge_chain.event(event["contract_address"]).tier(0).minted
    assert on_chain == 12
    assert counters(db, event["id"]) == (12, 12)
    with db() as session:
        row = session.get(Event, event["id"])
        assert row is not None and row.indexed_block == w3.eth.block_number
        assert row.indexed_block_hash == "0x" + bytes(w3.eth.get_block("latest")["hash"]).hex()
        journal = row.index_journal or {}
        for number, entry in journal.items():  # only blocks of the new chain remain
            assert entry["hash"] == "0x" + bytes(w3.eth.get_block(int(number))["hash"]).hex()
        # the same as an index of the new chain from scratch
        session.execute(update(Tier).where(Tier.event_id == row.id).values(
            chain_minted=0, eth_minted=0))  # fmt: skip
        row.indexed_block, row.indexed_block_hash = row.deploy_block - 1, None
        row.index_journal = None
        session.commit()
    index_until_idle(db, bridge_chain, depth)
    assert counters(db, event["id"]) == (12, 12)


def test_reapplying_journaled_blocks_counts_nothing_twice(
    app_client: TestClient,
    organizer_key: str,
    db: sessionmaker[Session],
    settings: Settings,
    bridge_chain: BridgeAccounts,
    w3: Web3,
    fans: list[LocalAccount],
) -> None:
    event = create_event(app_client, organizer_key, supply=100)
    buyer = Buyer(w3, settings, bridge_chain, fans[3], event["contract_address"])
    first = buyer.buy(2)
    buyer.buy(3)
    index_until_idle(db, bridge_chain, 64)
    assert counters(db, event["id"]) == (5, 5)
    # a cursor set back (a crash between effects and cursor would do this if they were not
    # committed together): the journal recognises both blocks and applies nothing again
    with db() as session:
        row = session.get(Event, event["id"])
        assert row is not None and set(row.index_journal or {}) >= {str(first), str(first + 1)}
        row.indexed_block = first - 1
        row.indexed_block_hash = "0x" + bytes(w3.eth.get_block(first - 1)["hash"]).hex()
        session.commit()
    assert index_until_idle(db, bridge_chain, 64) == 0  # nothing applied
    assert counters(db, event["id"]) == (5, 5)
    with db() as session:
        row = session.get(Event, event["id"])
        assert row is not None and row.indexed_block == w3.eth.block_number  # read again


def test_the_indexer_drops_the_catalog_cache_of_an_event_it_changed(
    organizer_key: str,
    app_client: TestClient,
    engine: Any,
    db: sessionmaker[Session],
    settings: Settings,
    bridge_chain: BridgeAccounts,
    w3: Web3,
    fans: list[LocalAccount],
    redis_url: str,
    redis_prefix: str,
) -> None:
    """An ETH purchase, seen by the indexer, shows in the cached catalog at once (not after the
    cache's TTL, 60 s here)."""
    from pydantic import SecretStr

    from api.app import create_app
    from api.catalog_cache import CatalogCache
    from api.shared import SharedState

    cached = settings.model_copy(
        update={
            "redis_url": SecretStr(redis_url),
            "redis_prefix": redis_prefix,
            "catalog_cache_ttl_s": 60.0,
        }
    )
    event = create_event(app_client, organizer_key, supply=50)
    index_until_idle(db, bridge_chain, 4)
    cache = CatalogCache(SharedState.from_settings(cached), 60.0)
    app = create_app(cached, engine=engine, chain=bridge_chain)
    with TestClient(app) as client:

        def seats() -> int:
            return int(client.get(f"/events/{event['id']}").json()["tiers"][0]["remaining"])

        assert seats() == 50
        Buyer(w3, settings, bridge_chain, fans[3], event["contract_address"]).buy(3)
        assert seats() == 50  # cached: the bridge has not seen the purchase yet
        changed: list[int] = []
        with db() as session:
            while index_once(session, bridge_chain, on_change=changed.append):
                pass
        assert changed == [event["id"]]
        for event_id in changed:
            cache.invalidate(event_id)
        assert seats() == 47
