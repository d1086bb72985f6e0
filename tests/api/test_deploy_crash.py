"""Creating an event survives a crash at any point: a child process creating an event through the
catalog is SIGKILLed at a named point of the deployment (the intent, each transaction recorded
but not broadcast, each transaction mined but not yet recorded as done), then the reconciliation
finishes or fails the event exactly once: one contract per row at most (the factory's event
count says so), the minter roles set, the organizer's wallet proposed (it accepts the event
itself: the operator keeps it until then), and a second reconciliation sends nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from api_helpers import event_body
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.exceptions import TransactionNotFound

from api.accounts import BridgeAccounts
from api.models import Event, EventState
from api.services.auth import create_organizer
from api.services.catalog import deploy_lock, reconcile_deployments
from chain.keys import dev_signer
from chain.types import ROLE_MINTER
from fairgate.settings import Settings

pytestmark = [pytest.mark.postgres]
ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("deploy_crash_child.py")


@pytest.fixture()
def extra_minter(dev_accounts: list[LocalAccount]) -> str:
    return dev_accounts[2].address


@pytest.fixture()
def owner(dev_accounts: list[LocalAccount]) -> str:
    return dev_accounts[4].address


@pytest.fixture()
def deploy_settings(settings: Settings, extra_minter: str) -> Settings:
    # a second minter account, so that the roles step sends a transaction
    return settings.model_copy(update={"minter_addresses": extra_minter})


@pytest.fixture()
def chain(deploy_settings: Settings, w3: Web3) -> BridgeAccounts:
    return BridgeAccounts(w3, deploy_settings, operator=dev_signer(0), minter=dev_signer(1))


def organizer(db: sessionmaker[Session], payout: str | None) -> int:
    with db() as session:
        row, _ = create_organizer(session, "Organizer", payout)
        session.commit()
        return row.id


def crash_at(point: str, settings: Settings, organizer_id: int) -> None:
    """Run the child until it kills itself at ``point``; fail if it did not die there."""
    spec = {
        "point": point,
        "organizer_id": organizer_id,
        "body": event_body(10, name=f"crash {point}"),
        "settings": {
            "env": "test",
            "home": str(settings.home),
            "database_url": settings.database_url,
            "rpc_url": settings.rpc_url,
            "factory_address": settings.factory_address,
            "minter_addresses": settings.minter_addresses,
            "receipt_timeout_s": 60,
        },
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(CHILD), json.dumps(spec)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -9, (done.returncode, done.stdout, done.stderr[-3000:])


def the_event(db: sessionmaker[Session]) -> Event:
    with db() as session:
        row = session.scalars(select(Event)).one()
        session.expunge(row)
        return row


def event_count(chain: BridgeAccounts) -> int:
    return chain.factory().event_count()


def operator_nonce(w3: Web3) -> int:
    return int(w3.eth.get_transaction_count(dev_signer(0).address, "latest"))


def known(w3: Web3, tx_hash: str) -> bool:
    try:
        w3.eth.get_transaction(HexBytes(tx_hash))
    except TransactionNotFound:
        return False
    return True


POINTS = [
    "signed:clone",  # recorded, never broadcast: the reconciliation broadcasts the recorded tx
    "mined:clone",  # the clone exists, its address was never written: found from the receipt
    "signed:roles",
    "mined:roles",
    "signed:organizer",  # set up, still the operator's
    "mined:organizer",  # handed over, the row still deploying
]


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_is_reconciled_into_one_event(
    point: str,
    db: sessionmaker[Session],
    deploy_settings: Settings,
    chain: BridgeAccounts,
    w3: Web3,
    owner: str,
    extra_minter: str,
) -> None:
    before = event_count(chain)
    crash_at(point, deploy_settings, organizer(db, owner))

    row = the_event(db)
    assert row.state == EventState.DEPLOYING and row.deploy_owner == owner
    txs = row.deploy_txs or []
    steps = [t["step"] for t in txs]
    if point == "signed:clone":
        assert steps == ["clone"] and not known(w3, txs[0]["hash"])  # never broadcast
        assert event_count(chain) == before and row.contract_address is None
    elif point == "mined:clone":
        assert event_count(chain) == before + 1 and row.contract_address is None
    else:
        assert row.contract_address is not None
        assert row.contract_address == chain.factory().event_at(before)
        assert chain.event(row.contract_address).organizer() == chain.operator.address
        pending = chain.event(row.contract_address).pending_organizer()
        assert pending == (owner if point == "mined:organizer" else None)
    if point == "signed:roles":
        assert not known(w3, txs[-1]["hash"]) and steps[-1] == f"roles:{extra_minter}"

    assert reconcile_deployments(db, chain) == 1

    row = the_event(db)
    assert row.state == EventState.ACTIVE and row.deploy_error is None
    assert event_count(chain) == before + 1  # exactly one contract for the row
    address = chain.factory().event_at(before)
    assert row.contract_address == address
    # proposed, not taken: the event is the organizer wallet's once it accepts
    assert chain.event(address).organizer() == chain.operator.address
    contract = chain.event(address)
    assert contract.pending_organizer() == owner
    for account in (chain.minter.address, extra_minter):
        assert contract.roles_of(account) & ROLE_MINTER
    assert row.indexed_block == row.deploy_block - 1
    created = w3.eth.get_transaction_receipt(HexBytes(next(
        t["hash"] for t in txs if t["step"] == "clone" and known(w3, t["hash"]))))  # fmt: skip
    assert row.deploy_block == created["blockNumber"]

    nonce = operator_nonce(w3)
    assert reconcile_deployments(db, chain) == 0  # nothing left: nothing sent
    assert operator_nonce(w3) == nonce and event_count(chain) == before + 1


def test_a_crash_before_any_send_fails_the_event(
    db: sessionmaker[Session], deploy_settings: Settings, chain: BridgeAccounts, w3: Web3
) -> None:
    before, nonce = event_count(chain), operator_nonce(w3)
    crash_at("intent", deploy_settings, organizer(db, None))
    assert the_event(db).state == EventState.DEPLOYING
    assert reconcile_deployments(db, chain) == 1
    row = the_event(db)
    assert row.state == EventState.FAILED and row.contract_address is None
    assert event_count(chain) == before and operator_nonce(w3) == nonce
    assert reconcile_deployments(db, chain) == 0


def test_a_recorded_clone_whose_nonce_went_elsewhere_fails(
    db: sessionmaker[Session],
    deploy_settings: Settings,
    chain: BridgeAccounts,
    w3: Web3,
    owner: str,
) -> None:
    before = event_count(chain)
    crash_at("signed:clone", deploy_settings, organizer(db, owner))
    (recorded,) = the_event(db).deploy_txs or []
    # the operator goes on: its next transaction takes the recorded one's nonce
    chain.operator_sender.send_and_wait({"to": owner, "value": 1})
    assert operator_nonce(w3) > recorded["nonce"]

    assert reconcile_deployments(db, chain) == 1
    row = the_event(db)
    assert row.state == EventState.FAILED and row.contract_address is None
    assert not known(w3, recorded["hash"]) and event_count(chain) == before


def test_a_deployment_with_a_live_owner_is_left_alone(
    db: sessionmaker[Session], deploy_settings: Settings, chain: BridgeAccounts
) -> None:
    crash_at("intent", deploy_settings, organizer(db, None))
    row = the_event(db)
    engine = db.kw["bind"]
    with deploy_lock(engine, row.id) as owned:  # as the request deploying it holds it
        assert owned
        assert reconcile_deployments(db, chain) == 0
        assert the_event(db).state == EventState.DEPLOYING
    assert reconcile_deployments(db, chain) == 1
    assert the_event(db).state == EventState.FAILED


def test_sqlite_deploy_lock_is_exclusive(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    with deploy_lock(engine, 7) as first:
        assert first
        with deploy_lock(engine, 7) as second:  # another open file: flock refuses
            assert not second
        with deploy_lock(engine, 8) as other:
            assert other
    with deploy_lock(engine, 7) as again:
        assert again
