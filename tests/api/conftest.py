"""Fixtures of the bridge tests: a PostgreSQL schema per module, truncated between tests, and the
platform deployed on the session's Ganache (tests/conftest.py).

Isolation: each test module gets its own schema in the ``test`` database (migrated with Alembic,
so the migrations are what is tested), reached through ``search_path`` in the URL; every test
starts from empty tables (TRUNCATE ... RESTART IDENTITY). Subprocesses (the worker, uvicorn) get
the same URL and so the same schema.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import ADMIN_KEY
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from api.accounts import BridgeAccounts
from api.app import create_app
from api.db import make_engine, session_factory
from api.gate_hub import metadata as hub_metadata
from api.migrate import upgrade
from api.models import Base
from api.payments.local import LocalProvider
from api.services.auth import create_organizer
from api.shared import SharedState
from chain.deploy import deploy_platform
from chain.ganache import GanacheRunner
from chain.keys import dev_signer
from chain.sender import TransactionSender
from fairgate.settings import Settings

PG_ROOT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def pg_schema() -> Iterator[str]:
    schema = "fg_" + secrets.token_hex(6)
    root = create_engine(PG_ROOT, isolation_level="AUTOCOMMIT")
    with root.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with root.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    root.dispose()


@pytest.fixture(scope="module")
def database_url(pg_schema: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{pg_schema}"


@pytest.fixture(scope="module")
def platform(ganache: GanacheRunner, w3: Web3, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The factory address (implementation + factory deployed by dev account 0, the operator)."""
    settings = Settings(home=tmp_path_factory.mktemp("deploy"), rpc_url=ganache.url)
    sender = TransactionSender(w3, dev_signer(0), settings=settings)
    return deploy_platform(sender, settings).factory


@pytest.fixture(scope="module")
def settings(
    database_url: str,
    ganache: GanacheRunner,
    platform: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    from pydantic import SecretStr

    return Settings(
        env="test",
        home=tmp_path_factory.mktemp("home"),
        database_url=database_url,
        rpc_url=ganache.url,
        factory_address=platform,
        admin_api_key=SecretStr(ADMIN_KEY),
        order_rate_per_s=1000,
        order_rate_burst=1000,
        receipt_timeout_s=60,
        reservation_ttl_s=600,
        worker_poll_s=0.05,
    )


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture()
def db(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory over empty tables."""
    tables = [*Base.metadata.sorted_tables, *hub_metadata.sorted_tables]
    names = ", ".join(f'"{t.name}"' for t in tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield session_factory(engine)


@pytest.fixture(scope="module")
def bridge_chain(settings: Settings, w3: Web3) -> BridgeAccounts:
    return BridgeAccounts(w3, settings, operator=dev_signer(0), minter=dev_signer(1))


@pytest.fixture()
def provider(settings: Settings) -> LocalProvider:
    return LocalProvider(settings)


@pytest.fixture()
def app_client(
    settings: Settings,
    engine: Engine,
    db: sessionmaker[Session],
    bridge_chain: BridgeAccounts,
    provider: LocalProvider,
) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine, provider=provider, chain=bridge_chain)
    with TestClient(app) as client:
        yield client


@pytest.fixture()
def organizer_key(db: sessionmaker[Session]) -> str:
    with db() as session:
        _, key = create_organizer(session, "Organizer A", None)
        session.commit()
    return key


@pytest.fixture()
def other_organizer_key(db: sessionmaker[Session]) -> str:
    with db() as session:
        _, key = create_organizer(session, "Organizer B", None)
        session.commit()
    return key


@pytest.fixture(scope="module")
def fans(dev_accounts: list[LocalAccount]) -> list[LocalAccount]:
    return dev_accounts[5:10]


HERE = Path(__file__).parent


@pytest.fixture()
def shared(redis_url: str, redis_prefix: str) -> Iterator[SharedState]:
    """The bridge's SharedState on the machine's Redis, under this test's own key prefix
    (deleted after), patient (5 s) as the room's own client is."""
    state = SharedState(redis_url, redis_prefix, timeout_s=5.0)
    yield state
    state.close()
