"""The committed gas snapshot is a budget: no figure may get worse by more than 2 %.

Gas is deterministic for the same code and inputs, so this compares numbers, not timings. When a
change makes an operation cheaper, refresh the snapshot (``scripts/bench_gas.py
--write-snapshot``) so the gain is kept; when it makes one dearer, the change must say why.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from web3 import Web3

from chain.ganache import GanacheRunner
from chain.keys import Signer

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1.02


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_gas", ROOT / "scripts" / "bench_gas.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures(ganache: GanacheRunner, w3: Web3) -> dict[str, dict[str, int]]:
    signers = [
        Signer.from_account(a, f"dev{i}") for i, a in enumerate(ganache.accounts_with_keys()[:4])
    ]
    result: dict[str, dict[str, int]] = _bench().measure(w3, signers)
    return result


def test_snapshot_covers_every_measured_figure(figures: dict[str, dict[str, int]]) -> None:
    snapshot = json.loads((ROOT / "gas-snapshot.json").read_text())
    assert set(snapshot) == set(figures["ours"])


@pytest.mark.parametrize("metric", sorted(json.loads((ROOT / "gas-snapshot.json").read_text())))
def test_no_figure_worse_than_snapshot(figures: dict[str, dict[str, int]], metric: str) -> None:
    budget = json.loads((ROOT / "gas-snapshot.json").read_text())[metric]
    measured = figures["ours"][metric]
    assert measured <= budget * TOLERANCE, f"{metric}: {measured:,} gas > snapshot {budget:,} + 2 %"


def test_targets_of_the_issue_hold(figures: dict[str, dict[str, int]]) -> None:
    targets = _bench().TARGETS
    for metric, target in targets.items():
        assert figures["ours"][metric] <= target, metric
    # one-ticket orders to new holders: at most OpenZeppelin's plain _mint, same run (issue 14)
    assert (
        figures["ours"]["mint_batch100_distinct_per_ticket"]
        <= figures["baseline"]["oz_mint_distinct_per_token"]
    )
    # and the point of it: a batch ticket costs far less than OpenZeppelin's mint loop
    assert (
        figures["ours"]["mint_batch100_per_ticket"] * 5
        < figures["baseline"]["oz_mint_loop_per_token"]
    )
