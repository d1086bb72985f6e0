"""A stuck mint is replaced: on a chain that mines only every few seconds, the worker's
transaction is re-signed with higher fees at the same nonce, and the batch still mints once."""

from __future__ import annotations

import pytest
from api_helpers import create_event, pay, place_order, read_order
from fastapi.testclient import TestClient
from web3 import Web3

from api.accounts import BridgeAccounts
from api.app import create_app
from api.services.locks import WorkerLocks
from api.services.minting import Minter
from chain.deploy import deploy_platform
from chain.ganache import GanacheRunner, free_port
from chain.keys import dev_signer
from chain.sender import TransactionSender

pytestmark = [pytest.mark.postgres, pytest.mark.ganache, pytest.mark.slow]


@pytest.fixture(scope="module")
def slow_chain():
    runner = GanacheRunner(free_port(), extra_args=("--miner.blockTime", "3")).start()
    yield runner
    runner.stop()


def test_stuck_mint_is_replaced_and_mints_once(
    slow_chain, settings, engine, db, provider, organizer_key
) -> None:
    w3 = Web3(Web3.HTTPProvider(slow_chain.url, request_kwargs={"timeout": 60}))
    local = settings.model_copy(update={"rpc_url": slow_chain.url, "mint_replace_after_s": 1.0})
    factory = deploy_platform(TransactionSender(w3, dev_signer(0), settings=local), local).factory
    local = local.model_copy(update={"factory_address": factory})
    chain = BridgeAccounts(w3, local, operator=dev_signer(0), minter=dev_signer(1))
    with TestClient(create_app(local, engine=engine, provider=provider, chain=chain)) as client:
        event = create_event(client, organizer_key, supply=10)
        order = place_order(client, event, 2, dev_signer(6).address)
        pay(client, order)
        minter = Minter(db, chain, WorkerLocks(engine), local)
        claimed = minter.claim()
        assert claimed is not None
        assert minter.process(claimed) == 2
        view = read_order(client, order)
    assert view["state"] == "minted"
    with db() as s:
        from api.models import MintBatch

        batch = s.get(MintBatch, claimed.batch_id)
        assert batch.state == "done"
        hashes = batch.tx_hashes
    assert len(hashes) >= 2, "the pending mint was never replaced"
    nonces = {w3.eth.get_transaction(h)["nonce"] for h in hashes if _known(w3, h)}
    assert len(nonces) == 1  # replacements reuse the nonce: only one of them can be mined
    assert chain.event(event["contract_address"]).next_token_id() == 2


def _known(w3: Web3, tx_hash: str) -> bool:
    from web3.exceptions import TransactionNotFound

    try:
        w3.eth.get_transaction(tx_hash)
    except TransactionNotFound:
        return False
    return True
