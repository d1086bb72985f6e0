"""Fixtures of the gate tests: a chain of their own, real events, real proofs, a real hub.

* ``gate_chain``: a chain of this package, the node ``FAIRGATE_NODE`` names like the session's
  (the tests move its clock to pass grace windows, which must not disturb the session's chain);
* ``platform``: the deployed factory and the cast of accounts (organizer, bridge, gate, fans);
* ``prover`` / ``verifier``: one warm groth16py prover and verifier for the whole session, over
  zk's cached ceremony (proofs take ~0.5 s each: tests make only the ones they need);
* :class:`EventWorld`: one event with real commitments minted, its tree rebuilt from the chain's
  events (as a fan's app would) and its root published by the gate account;
* :class:`HubServer`: the bridge (its hub and its gate keys, over SQLite, no chain) served by
  uvicorn on a free port, which a test can stop (offline gates) and start again on the same
  port and database; gate devices sync with the bridge's gate keys, as in production.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import select
from web3 import Web3

from api.app import create_app
from api.db import make_engine, session_factory
from api.migrate import upgrade
from api.models import Event, EventState, Role, utcnow
from api.services.auth import create_organizer, issue_key
from chain.deploy import Deployment, deploy_platform
from chain.devchain import latest_timestamp
from chain.factory import TicketFactoryClient
from chain.ganache import GanacheRunner, free_port
from chain.keys import Signer
from chain.nodes import node_runner
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from chain.ticket_gate import TicketGateClient
from chain.tree_logs import read_tree_logs
from chain.types import EventParams, MintRun, Tier
from fairgate.errors import ToolchainError
from fairgate.settings import Settings
from gate.service import GateService
from zk import payload
from zk.identity import TicketSecret, gate_scope
from zk.prover import GateProver
from zk.tree import MerkleTree
from zk.tree_sync import tree_from_events
from zk.verifier import GateVerifier

ETH = 10**18
DAY = 86_400
ROLES = ("platform", "organizer", "bridge", "gate", "alice", "bob", "carol", "dave")


@pytest.fixture(scope="session")
def gate_chain() -> Iterator[GanacheRunner]:
    runner = None
    for attempt in range(3):
        try:
            runner = node_runner(None, free_port()).start()
            break
        except ToolchainError:
            if attempt == 2:
                raise
    assert runner is not None
    yield runner
    runner.stop()


@dataclass
class Platform:
    w3: Web3
    senders: dict[str, TransactionSender]
    deployment: Deployment
    factory: TicketFactoryClient
    chain_id: int

    def address(self, role: str) -> str:
        return self.senders[role].address


@pytest.fixture(scope="session")
def platform(gate_chain: GanacheRunner, tmp_path_factory: pytest.TempPathFactory) -> Platform:
    w3 = Web3(Web3.HTTPProvider(gate_chain.url, request_kwargs={"timeout": 60}))
    signers = [
        Signer.from_account(a, f"dev{i}") for i, a in enumerate(gate_chain.accounts_with_keys())
    ]
    senders = {role: TransactionSender(w3, s) for role, s in zip(ROLES, signers, strict=False)}
    settings = Settings(env="test", home=tmp_path_factory.mktemp("platform-home"))
    deployment = deploy_platform(senders["platform"], settings)
    factory = deployment.factory_client(w3, senders["organizer"])
    return Platform(w3, senders, deployment, factory, int(w3.eth.chain_id))


@dataclass
class EventWorld:
    """One event on the gate chain, its tickets' secrets, and what a fan's app can compute."""

    platform: Platform
    prover: GateProver
    grace_s: int
    client: TicketEventClient = field(init=False)
    secrets: dict[int, TicketSecret] = field(default_factory=dict)
    orders: int = 0

    def __post_init__(self) -> None:
        p = self.platform
        now = latest_timestamp(p.w3)
        tier = Tier(ETH // 20, 100, 11_000, 500, now, now + DAY)
        self.client, _ = p.factory.create_event(
            EventParams(
                name="Gate test",
                symbol="GATE",
                organizer=p.address("organizer"),
                starts_at=now + 2 * DAY,
                ends_at=now + 3 * DAY,
                tiers=(tier,),
                minter=p.address("bridge"),
                gate=p.address("gate"),
                root_grace_period=self.grace_s,
            )
        )

    @property
    def address(self) -> str:
        return self.client.address

    @property
    def scope(self) -> int:
        return gate_scope(self.platform.chain_id, self.address)

    def as_role(self, role: str) -> TicketEventClient:
        client = self.client.with_sender(self.platform.senders[role])
        assert isinstance(client, TicketEventClient)
        return client

    def gate_as(self, role: str) -> TicketGateClient:
        """The event's TicketGate, writing as ``role``."""
        return TicketGateClient.for_event(self.client, self.platform.senders[role])

    def mint(self, holder: str, count: int) -> list[int]:
        """Mint ``count`` tickets to ``holder`` (a role) with fresh secrets; their token ids."""
        fresh = [TicketSecret.generate() for _ in range(count)]
        self.orders += 1
        run = MintRun(
            self.platform.address(holder),
            tuple(s.commitment() for s in fresh),
            f"order-{self.orders}".encode().ljust(32, b"\0"),
        )
        result = self.as_role("bridge").mint_batch(0, [run])
        (issued,) = TicketEventClient.issued_runs(result)
        for token, secret in zip(issued.token_ids, fresh, strict=True):
            self.secrets[token] = secret
        return list(issued.token_ids)

    def resell(self, token: int, seller: str, buyer: str) -> TicketSecret:
        """``seller`` lists at the cap, ``buyer`` buys with a fresh secret (the new holder's)."""
        cap = self.client.resale_cap(0)
        self.as_role(seller).list(token, cap)
        fresh = TicketSecret.generate()
        self.as_role(buyer).buy(token, fresh.commitment(), price=cap)
        self.secrets[token] = fresh
        return fresh

    def tree(self) -> MerkleTree:
        """The tree rebuilt from the contract's events, as anyone can."""
        records, _ = read_tree_logs(self.client.w3, self.client.artifact.abi, self.client.address)
        return tree_from_events(records)

    def publish(self) -> int:
        root = self.tree().root
        self.gate_as("gate").publish_root(root)
        return root

    def prove(
        self,
        token: int,
        challenge: int,
        *,
        secret: TicketSecret | None = None,
        tree: MerkleTree | None = None,
        scope: int | None = None,
    ) -> str:
        """The QR payload a holder's app shows for ``token`` answering ``challenge``."""
        tree = tree or self.tree()
        proof = self.prover.prove(
            secret or self.secrets[token],
            tree.proof(token),
            self.scope if scope is None else scope,
            challenge,
        )
        return payload.encode(proof)


@pytest.fixture(scope="session")
def new_world(platform: Platform, prover: GateProver) -> type[EventWorld]:
    """``new_world(grace_s)``: a fresh event (cheap: three transactions, no proofs)."""

    class World(EventWorld):
        def __init__(self, grace_s: int = 600) -> None:
            super().__init__(platform, prover, grace_s)

    return World


def gate_settings(
    home: Path,
    gate_id: str,
    *,
    grace_s: int,
    hub_url: str | None = None,
    api_key: str | None = None,
    ttl_s: int = 120,
) -> Settings:
    return Settings(
        env="test",
        home=home,
        gate_id=gate_id,
        root_grace_s=grace_s,
        challenge_ttl_s=ttl_s,
        gate_hub_url=hub_url,
        gate_api_key=SecretStr(api_key) if api_key else None,
        gate_hub_timeout_s=1.0,
        gate_anchor_batch=2,
    )


@pytest.fixture()
def open_gate(tmp_path: Path, verifier: GateVerifier) -> Iterator[Callable[..., GateService]]:
    """``open_gate(world, gate_id, online=True, hub=None, key=None)``: a gate device in tmp."""
    opened: list[GateService] = []

    def make(
        world: EventWorld,
        gate_id: str,
        *,
        online: bool = True,
        hub_url: str | None = None,
        api_key: str | None = None,
        folder: Path | None = None,
    ) -> GateService:
        settings = gate_settings(
            tmp_path, gate_id, grace_s=world.grace_s, hub_url=hub_url, api_key=api_key
        )
        svc = GateService.open(
            event=world.address,
            chain_id=world.platform.chain_id,
            client=world.as_role("gate") if online else None,
            verifier=verifier,
            settings=settings,
            folder=folder or tmp_path / gate_id,
        )
        if online:
            assert svc.roots.sync()
        opened.append(svc)
        return svc

    yield make
    for svc in opened:
        svc.close()


class HubServer:
    """The bridge served by uvicorn in a thread; stop() makes it unreachable.

    Its database knows the gate tests' events by contract address only (no chain behind it):
    :meth:`register` issues a bridge gate key for one, named for its gate.
    """

    def __init__(self, home: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        settings = Settings(env="test", home=home, redis_url=None)
        self.engine = make_engine(settings)
        upgrade(self.engine)
        self.sessions = session_factory(self.engine)
        with self.sessions() as session:
            organizer, self.organizer_key = create_organizer(session, "Gate tests", None)
            session.commit()
            self.organizer_id = organizer.id
        self.app = create_app(settings, engine=self.engine, with_chain=False)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def organizer(self) -> dict[str, str]:
        """Headers of the events' organizer (conflicts, entries, refusals)."""
        return {"X-API-Key": self.organizer_key}

    def start(self) -> HubServer:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("hub did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = self._thread = None

    def register(self, event: str, gate_id: str) -> str:
        """A bridge gate key of ``event`` (a contract address) for a device at gate ``gate_id``."""
        with self.sessions() as session:
            row = session.scalar(select(Event).where(Event.contract_address == event.lower()))
            if row is None:
                now = utcnow()
                row = Event(
                    organizer_id=self.organizer_id,
                    name=f"Gate test {event[:10]}",
                    symbol="GATE",
                    starts_at=now,
                    ends_at=now,
                    state=EventState.ACTIVE,
                    contract_address=event.lower(),
                )
                session.add(row)
                session.flush()
            key = issue_key(
                session,
                Role.GATE,
                event_id=row.id,
                organizer_id=self.organizer_id,
                gate_name=gate_id,
            )
            session.commit()
        return key


@pytest.fixture()
def hub(tmp_path: Path) -> Iterator[HubServer]:
    """A running bridge over its own SQLite file (its hub and gate keys)."""
    home = tmp_path / "bridge-home"
    home.mkdir()
    server = HubServer(home, free_port()).start()
    yield server
    server.stop()
    server.engine.dispose()
