"""The compiled circuit (circom2's wasm witness) against the Python reference."""

from __future__ import annotations

from typing import Any

import pytest

from fairgate.errors import ToolchainError
from zk.identity import TicketSecret
from zk.prover import GateProver
from zk.setup import Artifacts
from zk.snarkjs_node import SnarkjsNode

from .conftest import Event


def _signals(artifacts: Artifacts) -> dict[str, int]:
    index = {}
    for line in artifacts.circuit.sym.read_text().splitlines():
        _label, var, _component, name = line.split(",", 3)
        index[name] = int(var)
    return index


def _json(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: [str(x) for x in v] if isinstance(v, list) else str(v) for k, v in inputs.items()}


def test_public_signal_layout(artifacts: Artifacts) -> None:
    index = _signals(artifacts)
    assert [index[f"main.{n}"] for n in ("nullifier", "root", "scope", "challenge")] == [1, 2, 3, 4]
    assert artifacts.circuit.constraints < 2**13  # powers of tau 2^13 suffice
    assert artifacts.vkey_json()["nPublic"] == 4


def test_witness_matches_python_reference(
    artifacts: Artifacts, prover: GateProver, snarkjs: SnarkjsNode, event: Event, scope: int
) -> None:
    secret = event.secrets[4]
    inputs = prover.inputs(secret, event.tree.proof(4), scope, challenge=77)
    witness = [
        int(x)
        for x in snarkjs.call("witness", input=_json(inputs), wasm=str(artifacts.circuit.wasm))[
            "witness"
        ]
    ]
    index = _signals(artifacts)
    assert witness[index["main.nullifier"]] == secret.nullifier(scope)
    assert witness[index["main.root"]] == event.tree.root
    assert witness[index["main.commitment.out"]] == secret.commitment()
    assert witness[index["main.challengeSquare"]] == 77 * 77


def test_circuit_refuses_a_root_the_path_does_not_give(
    artifacts: Artifacts, prover: GateProver, snarkjs: SnarkjsNode, event: Event, scope: int
) -> None:
    inputs = prover.inputs(event.secrets[0], event.tree.proof(0), scope, challenge=1)
    inputs["root"] = inputs["root"] ^ 1
    with pytest.raises(ToolchainError, match="Assert Failed"):
        snarkjs.call("witness", input=_json(inputs), wasm=str(artifacts.circuit.wasm))


def test_circuit_refuses_a_scope_of_249_bits(
    artifacts: Artifacts, prover: GateProver, snarkjs: SnarkjsNode, event: Event, scope: int
) -> None:
    inputs = prover.inputs(event.secrets[0], event.tree.proof(0), scope, challenge=1)
    inputs["scope"] = 1 << 248  # the commitment domain: must never be a scope
    with pytest.raises(ToolchainError, match="Assert Failed"):
        snarkjs.call("witness", input=_json(inputs), wasm=str(artifacts.circuit.wasm))


def test_snarkjs_fullprove_agrees(
    artifacts: Artifacts, prover: GateProver, snarkjs: SnarkjsNode, event: Event, scope: int
) -> None:
    secret: TicketSecret = event.secrets[1]
    inputs = prover.inputs(secret, event.tree.proof(1), scope, challenge=5)
    out = snarkjs.call(
        "fullprove", input=_json(inputs), wasm=str(artifacts.circuit.wasm), zkey=str(artifacts.zkey)
    )
    expected = [secret.nullifier(scope), event.tree.root, scope, 5]
    assert [int(x) for x in out["public"]] == expected
