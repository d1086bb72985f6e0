"""``/zk/gate-circuit`` serves what the set-up built and never builds it inside a request.

The bridge here is the real app on SQLite, no chain; the ceremony cache is the machine's (the
session's ``artifacts``), or a folder holding only some of its entries. Every build step of the
set-up is replaced by one that fails the test, so a request that tried to compile the circuit or
run a ceremony step is caught whatever it answered."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.db import make_engine
from api.migrate import upgrade
from api.services import circuit
from fairgate.settings import Settings, get_settings
from zk import cache, setup
from zk.setup import Artifacts

BUILD_STEPS = ("compile_circuit", "local_ptau", "public_ptau", "local_setup", "_local_phase2")


@pytest.fixture()
def bridge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("a request started building the gate circuit's set-up")

    for step in BUILD_STEPS:
        monkeypatch.setattr(setup, step, no_build)
    monkeypatch.setattr(cache, "build_entry", no_build)
    monkeypatch.setattr(circuit, "_served", [])  # what this process serves: found afresh
    settings = Settings(env="test", home=tmp_path, database_url=f"sqlite:///{tmp_path}/b.db")
    engine = make_engine(settings)
    upgrade(engine)
    with TestClient(create_app(settings, engine=engine, with_chain=False)) as client:
        yield client
    engine.dispose()


def use_cache(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The set-up's cache is ``folder`` for this test (FAIRGATE_ZK_CACHE_DIR, read afresh)."""
    monkeypatch.setenv("FAIRGATE_ZK_CACHE_DIR", str(folder))
    get_settings.cache_clear()
    monkeypatch.setattr(circuit, "_served", [])


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()  # the next test reads the environment monkeypatch restored


def test_the_files_the_set_up_built_are_served_by_hash(
    artifacts: Artifacts, bridge: TestClient
) -> None:
    answer = bridge.get("/zk/gate-circuit")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    for kind, path in (
        ("wasm", artifacts.circuit.wasm),
        ("zkey", artifacts.zkey),
        ("vkey", artifacts.vkey),
    ):
        assert body[kind]["sha256"] == cache.sha256_file(path)
        served = bridge.get(body[kind]["url"])
        assert served.status_code == 200 and served.content == path.read_bytes()


def test_without_a_set_up_the_request_answers_503_naming_the_step_and_builds_nothing(
    bridge: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-ceremony"
    empty.mkdir()
    use_cache(empty, monkeypatch)
    for url in ("/zk/gate-circuit", "/zk/files/" + "0" * 64):
        answer = bridge.get(url)
        assert answer.status_code == 503, answer.text
        error = answer.json()["error"]
        assert error["code"] == "zk_setup_missing"
        assert "missing: the compiled gate circuit" in error["message"]
        assert "make setup" in error["message"] and "python -m zk.setup local" in error["message"]
    assert list(empty.iterdir()) == []  # not even a lock file: nothing was started


def test_a_set_up_stopped_after_phase_1_is_named_as_missing_phase_2(
    artifacts: Artifacts, bridge: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the machine's compiled circuit and phase-1 entries, but no phase 2 installed
    half = tmp_path / "half-ceremony"
    real = artifacts.zkey.parent.parent.parent  # <cache>/zkey/<key>/final.zkey
    for kind in ("circuit", "ptau"):
        (half / kind).mkdir(parents=True)
        for entry in (real / kind).iterdir():
            if entry.is_dir() and not entry.name.startswith("."):
                os.symlink(entry, half / kind / entry.name)
    use_cache(half, monkeypatch)
    answer = bridge.get("/zk/gate-circuit")
    assert answer.status_code == 503, answer.text
    assert "missing: phase 2" in answer.json()["error"]["message"]
    assert sorted(p.name for p in half.iterdir()) == ["circuit", "ptau"]  # nothing added
    # once the set-up has run, the same process serves it
    use_cache(real, monkeypatch)
    assert bridge.get("/zk/gate-circuit").json()["zkey"]["sha256"] == cache.sha256_file(
        artifacts.zkey
    )
