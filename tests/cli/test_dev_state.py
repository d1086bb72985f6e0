"""``dev up`` on a chain other than the one a home's state was made on (its genesis differs):
everything derived from the old chain is wiped and the user is told; wallets stay. On the same
chain nothing is touched. (The full restart, ``dev down``/``dev up``/``dev reset``, runs in
test_readme_and_restarts.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from web3 import Web3

from cli import dev
from fairgate.settings import Settings


def _home(tmp_path: Path) -> Settings:
    for name in ("events.json", "fairgate.db", "organizer-key.json"):
        (tmp_path / name).write_text("{}")
    for folder in ("gate", "orders", "tickets", "deployments", "wallets"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.json").write_text("{}")
    return Settings(env="test", home=tmp_path)


def test_another_chain_wipes_what_belonged_to_the_old_one(
    w3: Web3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _home(tmp_path)
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / dev.GENESIS_FILE).write_text("0x" + "00" * 32 + "\n")
    dev._check_same_chain(settings, w3)
    said = capsys.readouterr().err
    assert "a new chain: cleared what belonged to the previous one" in said
    for gone in ("events.json", "fairgate.db", "organizer-key.json", "gate", "orders", "tickets"):
        assert not (tmp_path / gone).exists(), gone
    assert (tmp_path / "wallets" / "x.json").exists()  # keys are never wiped
    genesis = "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
    assert (tmp_path / "dev" / dev.GENESIS_FILE).read_text().strip() == genesis


def test_the_same_chain_keeps_everything(
    w3: Web3, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _home(tmp_path)
    (tmp_path / "dev").mkdir()
    genesis = "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
    (tmp_path / "dev" / dev.GENESIS_FILE).write_text(genesis + "\n")
    dev._check_same_chain(settings, w3)
    assert capsys.readouterr().err == ""
    assert (tmp_path / "events.json").exists() and (tmp_path / "gate" / "x.json").exists()
