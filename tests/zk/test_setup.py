"""The ceremony cache and zkpy's guarded faults (no new ceremony: the session's cached one)."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from fairgate.errors import ToolchainError
from fairgate.settings import PROJECT_ROOT
from zk import cache, setup
from zk.setup import Artifacts


def test_cached_setup_is_reused_and_hash_checked(
    artifacts: Artifacts, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_tool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached set-up ran a snarkjs step again")

    # reuse means no ceremony step runs (a check on what ran, not on a clock)
    for step in ("start_phase2", "contribute_phase2", "finalize_phase2", "verify_zkey", "_export"):
        monkeypatch.setattr(setup, step, no_tool)
    again = setup.local_setup()
    assert again == artifacts
    manifest = json.loads((artifacts.zkey.parent / cache.MANIFEST).read_text())
    assert manifest["files"]["final.zkey"] == cache.sha256_file(artifacts.zkey)
    assert artifacts.zkey.is_relative_to(cache.cache_root())


def test_solidity_verifier_is_exported_and_marked_generated(artifacts: Artifacts) -> None:
    path = setup.solidity_verifier_path()
    text = path.read_text()
    assert text.startswith("// GENERATED")
    assert "contract Groth16Verifier" in text and "verifyProof" in text
    assert "contracts" not in path.relative_to(PROJECT_ROOT).parts


@pytest.fixture()
def tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(cache, "cache_root", lambda: tmp_path)
    return tmp_path


def test_a_tampered_entry_is_refused_and_rebuilt(tmp_cache: Path) -> None:
    builds = []

    def build(work: Path) -> dict[str, object]:
        builds.append(1)
        (work / "a.bin").write_bytes(b"artifact")
        return {"n": 1}

    entry = cache.build_entry("kind", "k1", build)
    assert cache.build_entry("kind", "k1", build).path("a.bin") == entry.path("a.bin")
    assert len(builds) == 1
    entry.path("a.bin").write_bytes(b"tampered")
    assert cache.open_entry("kind", "k1") is None
    rebuilt = cache.build_entry("kind", "k1", build)
    assert rebuilt.path("a.bin").read_bytes() == b"artifact"
    assert len(builds) == 2


def test_a_second_builder_waits_for_the_first_and_builds_nothing(tmp_cache: Path) -> None:
    """Two builders of one entry (e.g. parallel test runs): the second waits for the first's lock,
    then opens its entry. Before the lock, every parallel run started its own ceremony."""
    builds: list[str] = []
    second_is_waiting = threading.Event()

    class WaitSeen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "being built by another process" in record.getMessage():
                second_is_waiting.set()

    def build(work: Path) -> dict[str, object]:
        builds.append(threading.current_thread().name)
        if threading.current_thread().name == "first":
            assert second_is_waiting.wait(timeout=30), "the second builder never waited"
        (work / "a.bin").write_bytes(b"artifact")
        return {}

    handler = WaitSeen()
    cache.log.addHandler(handler)
    was = cache.log.level, cache.log.disabled
    # a logging.config call elsewhere in the session (alembic's fileConfig) may disable the logger
    cache.log.setLevel(logging.INFO)
    cache.log.disabled = False
    results: dict[str, Path] = {}

    def run() -> None:
        results[threading.current_thread().name] = cache.build_entry("kind", "k2", build).path(
            "a.bin"
        )

    try:
        first = threading.Thread(target=run, name="first")
        first.start()
        while not builds:  # the first holds the lock and is inside its builder
            first.join(timeout=0.01)
        second = threading.Thread(target=run, name="second")
        second.start()
        first.join(timeout=60)
        second.join(timeout=60)
    finally:
        cache.log.removeHandler(handler)
        cache.log.level, cache.log.disabled = was
    assert builds == ["first"]
    assert results["first"] == results["second"]
    assert results["second"].read_bytes() == b"artifact"


def test_failed_compile_is_not_ignored(tmp_cache: Path) -> None:
    # zkpy's compile() ignores circom's exit status: the guard must raise with circom's message.
    folder = PROJECT_ROOT / "build" / "zk" / "test-circuits"
    folder.mkdir(parents=True, exist_ok=True)
    broken = folder / "broken.circom"
    broken.write_text("pragma circom 2.1.5;\ntemplate T() { signal input a; a === ; }\n")
    try:
        with pytest.raises(ToolchainError):
            setup.compile_circuit(broken)
    finally:
        broken.unlink()


def test_entropy_is_never_empty() -> None:
    assert len(setup._entropy(None)) == 64
    assert setup._entropy(None) != setup._entropy(None)
    with pytest.raises(ToolchainError):
        setup._entropy("two\nlines")
