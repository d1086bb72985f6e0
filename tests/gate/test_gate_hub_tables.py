"""The hub without HTTP and under the bridge: the bridge's Alembic revisions of the hub's tables
(0002, 0009, 0010, 0013) create exactly its tables (SQLite and PostgreSQL), and the hub takes its
gate authentication from the bridge (it has no keys of its own)."""

from __future__ import annotations

import importlib.util
import secrets
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect, select, text

from api.gate_hub import (
    CheckInIn,
    GateDevice,
    create_hub_tables,
    gate_checkins,
    list_conflicts,
    make_hub_router,
    metadata,
    pull_checkins,
    push_checkins,
)

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
EVENT = "0x5fbdb2315678afecb367f032d93f642f64180aa3"


VERSIONS = Path(__file__).resolve().parents[2] / "api" / "migrations" / "versions"
HUB_REVISIONS = (
    "0002_gate_hub",
    "0009_gate_uses_per_device",
    "0010_gate_refusals",
    "0013_drop_hub_device_keys",
)


def _revision(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"hub_revision_{name}", VERSIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _upgrade(engine: Engine) -> None:
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        for name in HUB_REVISIONS:
            _revision(name).upgrade()


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def _exercise(engine: Engine) -> None:
    """The tables work: two gates push the same nullifier, both rows are flagged."""
    row = {
        "nullifier": "0x" + "11" * 32,
        "checked_at": 1.0,
        "root": "0x" + "22" * 32,
        "challenge": "0x" + "33" * 32,
    }
    with engine.begin() as conn:
        assert push_checkins(conn, EVENT, "A", [CheckInIn(**row)]).conflicts == []
        assert push_checkins(conn, EVENT, "B", [CheckInIn(**row)]).conflicts == [row["nullifier"]]
        (conflict,) = list_conflicts(conn, EVENT).conflicts
        assert [e.gate_id for e in conflict.entries] == ["A", "B"]


def test_revisions_match_the_tables_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    _upgrade(engine)
    assert _diff(engine) == []
    _exercise(engine)
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        for name in reversed(HUB_REVISIONS):
            _revision(name).downgrade()
    assert inspect(engine).get_table_names() == []


@pytest.fixture()
def pg_engine() -> Iterator[Engine]:
    schema = f"gate_test_{secrets.token_hex(4)}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # no server: skip, as the other postgres tests do
        admin.dispose()
        pytest.skip(f"PostgreSQL unavailable: {type(exc).__name__}")
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.mark.postgres
def test_revisions_match_the_tables_on_postgres(pg_engine: Engine) -> None:
    _upgrade(pg_engine)
    assert _diff(pg_engine) == []
    _exercise(pg_engine)


def test_the_hub_authenticates_gates_only_through_the_bridge(tmp_path: Path) -> None:
    """``gate_auth`` (the bridge's gate keys) names the device's gate; whatever it refuses, the
    hub refuses: it has no keys of its own (the old ``fgg_`` bearer keys are gone)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    create_hub_tables(engine)
    assert "gate_devices" not in inspect(engine).get_table_names()
    keys = {"bridge-key-1": GateDevice(gate_id="gate-7", device="d1")}
    app = FastAPI()
    app.include_router(
        make_hub_router(
            engine, gate_auth=lambda request, event: keys.get(request.headers.get("x-api-key", ""))
        )
    )
    http = TestClient(app)
    row = {
        "nullifier": "0x" + "11" * 32,
        "checked_at": 1.0,
        "root": "0x" + "22" * 32,
        "challenge": "0x" + "33" * 32,
    }
    url = f"/gate/events/{EVENT}/checkins"
    assert http.post(url, json={"checkins": [row]}).status_code == 401
    bearer = {"Authorization": "Bearer fgg_0123456789abcdef_secret"}
    assert http.post(url, json={"checkins": [row]}, headers=bearer).status_code == 401
    pushed = http.post(url, json={"checkins": [row]}, headers={"x-api-key": "bridge-key-1"})
    assert pushed.status_code == 200 and pushed.json()["accepted"] == 1
    with engine.connect() as conn:
        assert list_conflicts(conn, EVENT).conflicts == []
        assert conn.execute(select(gate_checkins.c.gate_id)).scalars().all() == ["gate-7"]


def test_two_devices_sharing_a_gate_id_are_a_conflict_not_a_duplicate(tmp_path: Path) -> None:
    """Issue 9 item 9: two scanners configured with the same gate id that each admit the same
    ticket. A use is (gate id, admission time): a retried push is a duplicate, the other
    device's admission a conflict; each device's pull brings the other's rows, not its own."""
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    create_hub_tables(engine)
    use = {"nullifier": "0x" + "11" * 32, "root": "0x" + "22" * 32, "challenge": "0x" + "33" * 32}
    first, second = CheckInIn(**use, checked_at=100.0), CheckInIn(**use, checked_at=160.5)
    other = CheckInIn(**{**use, "nullifier": "0x" + "44" * 32}, checked_at=101.0)
    with engine.begin() as conn:
        pushed = push_checkins(conn, EVENT, "gate-A", [first, other], device="scanner-1")
        assert (pushed.accepted, pushed.conflicts) == (2, [])
        again = push_checkins(conn, EVENT, "gate-A", [first], device="scanner-1")
        assert (again.accepted, again.duplicates, again.conflicts) == (0, 1, [])
        clash = push_checkins(conn, EVENT, "gate-A", [second], device="scanner-2")
        assert (clash.accepted, clash.conflicts) == (1, [use["nullifier"]])
        (conflict,) = list_conflicts(conn, EVENT).conflicts
        assert [(e.gate_id, e.checked_at) for e in conflict.entries] == [
            ("gate-A", 100.0),
            ("gate-A", 160.5),
        ]
        # scanner 2 sees scanner 1's admissions (same gate id), never its own
        seen = pull_checkins(conn, EVENT, "gate-A", 0, 10, device="scanner-2").checkins
        assert sorted((c.nullifier[-2:], c.checked_at) for c in seen) == [
            ("11", 100.0),
            ("44", 101.0),
        ]
