"""The ceremony cache and zkpy's guarded faults (no new ceremony: the session's cached one)."""

from __future__ import annotations

import json
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
