"""Benchmark the zk layer beside snarkjs, measured in the same run.

    .venv/bin/python scripts/bench_zk.py [--json PATH] [--n-prove 5] [--n-verify 2000]

Ours: groth16py prover and warm verifier in this process (zk.prover, zk.verifier), the Poseidon
tree (zk.tree). Baseline: snarkjs in ONE warm Node process (zk/node/snarkjs_worker.js) that
loads snarkjs once and proves/verifies N times. The machine's load average is recorded beside
the figures (other jobs share its two cores). Uses the cached ceremony (built on first use).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zk import setup
from zk.field import P
from zk.identity import TicketSecret, gate_scope
from zk.poseidon import native
from zk.prover import GateProver
from zk.snarkjs_node import SnarkjsNode
from zk.tree import MerkleTree
from zk.verifier import GateVerifier

TARGETS = {
    "verify_per_s": (">=", 1000),
    "verify_single_ms": ("<=", 2.0),
    "prove_s_depth20": ("<=", 0.5),
    "tree_root_50k_s": ("<=", 1.0),
    "tree_update_ms": ("<=", 2.0),
}


CPU: dict[str, float] = {}  # process CPU seconds of the same runs (load-independent view)


def _median_time(fn: Any, n: int, cpu_key: str | None = None) -> float:
    times, cpus = [], []
    for _ in range(n):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    if cpu_key:
        CPU[cpu_key] = statistics.median(cpus)
    return statistics.median(times)


def bench_tree(n_leaves: int = 50_000, repeats: int = 3) -> dict[str, float]:
    """Bulk root of n_leaves commitments at depth 20, and single-leaf updates on that tree."""
    leaves = [random.randrange(1, P) for _ in range(n_leaves)]
    MerkleTree.from_leaves(leaves[:1000])  # load the native kernel outside the timing
    build = _median_time(lambda: MerkleTree.from_leaves(leaves), repeats, "tree_root_50k_cpu_s")
    tree = MerkleTree.from_leaves(leaves)
    indices = [random.randrange(0, 1 << 20) for _ in range(500)]
    values = [random.randrange(0, P) for _ in range(500)]
    start, cpu = time.perf_counter(), time.process_time()
    for i, v in zip(indices, values, strict=True):
        tree.set(i, v)
    update_ms = (time.perf_counter() - start) / len(indices) * 1000
    CPU["tree_update_cpu_ms"] = (time.process_time() - cpu) / len(indices) * 1000
    return {"tree_root_50k_s": build, "tree_update_ms": update_ms}


def bench_ours(n_prove: int, n_verify: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Prover and verifier figures, and the inputs for the snarkjs baseline (same circuit)."""
    start = time.perf_counter()
    prover = GateProver()
    load_s = time.perf_counter() - start
    secrets = [TicketSecret.generate() for _ in range(1000)]
    tree = MerkleTree.from_leaves([s.commitment() for s in secrets])
    scope = gate_scope(1337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
    path = tree.proof(777)
    proof = prover.prove(secrets[777], path, scope, 42)  # warm-up
    prove_s = _median_time(
        lambda: prover.prove(secrets[777], path, scope, 42), n_prove, "prove_cpu_s"
    )

    verifier = GateVerifier(prover.artifacts.vkey)
    assert verifier.verify(proof)
    single = _median_time(lambda: verifier.verify(proof), 200, "verify_single_cpu_s")
    start = time.perf_counter()
    for _ in range(n_verify):
        verifier.verify(proof)
    serial_per_s = n_verify / (time.perf_counter() - start)
    batch = [proof] * n_verify
    verifier.verify_many(batch[:8])
    start, cpu = time.perf_counter(), time.process_time()
    results = verifier.verify_many(batch)
    parallel_per_s = n_verify / (time.perf_counter() - start)
    CPU["verify_many_cpu_ms_per_proof"] = (time.process_time() - cpu) / n_verify * 1000
    assert all(results)
    verifier.close()
    figures = {
        "prover_load_s": load_s,
        "prove_s_depth20": prove_s,
        "verify_single_ms": single * 1000,
        "verify_per_s_one_thread": serial_per_s,
        "verify_per_s": parallel_per_s,
    }
    inputs = {
        k: [str(x) for x in v] if isinstance(v, list) else str(v)
        for k, v in prover.inputs(secrets[777], path, scope, 42).items()
    }
    return figures, inputs


def bench_snarkjs(inputs: dict[str, Any], n_prove: int, n_verify: int) -> dict[str, float]:
    """snarkjs fullProve and verify, N times each, in one warm Node process."""
    art = setup.current_artifacts()
    with SnarkjsNode() as node:
        node.call(
            "bench",
            input=inputs,
            wasm=str(art.circuit.wasm),
            zkey=str(art.zkey),
            vkey=art.vkey_json(),
            n_prove=1,
            n_verify=3,
        )  # warm-up (curve, wasm)
        out = node.call(
            "bench",
            input=inputs,
            wasm=str(art.circuit.wasm),
            zkey=str(art.zkey),
            vkey=art.vkey_json(),
            n_prove=n_prove,
            n_verify=n_verify,
        )
    verify = statistics.median(out["verify_s"])
    return {
        "snarkjs_prove_s": statistics.median(out["prove_s"]),
        "snarkjs_verify_ms": verify * 1000,
        "snarkjs_verify_per_s": len(out["verify_s"]) / sum(out["verify_s"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--n-prove", type=int, default=5)
    parser.add_argument("--n-verify", type=int, default=2000)
    parser.add_argument("--n-snarkjs-verify", type=int, default=100)
    args = parser.parse_args()

    art = setup.current_artifacts()
    load_before = os.getloadavg()[0]
    result: dict[str, Any] = {}
    result.update(bench_tree())
    ours, inputs = bench_ours(args.n_prove, args.n_verify)
    result.update(ours)
    result.update(bench_snarkjs(inputs, args.n_prove, args.n_snarkjs_verify))
    result["cpu_seconds"] = dict(CPU)
    result["onchain_verify_gas"] = None  # wired by the contracts' benchmark (GateVerifier.sol)
    result["context"] = {
        "cpus": os.cpu_count(),
        "loadavg_1m_before": load_before,
        "loadavg_1m_after": os.getloadavg()[0],
        "native_poseidon": native() is not None,
        "constraints": art.circuit.constraints,
        "zkey": str(art.zkey),
        "verifier_sol": str(setup.solidity_verifier_path()),
        "prover": "groth16py (import_zkey, in-process wasmi witness, arkworks)",
        "verifier": "groth16py prepared verifier, 2 threads for verify_per_s",
        "snarkjs": "one warm Node process, groth16.fullProve / groth16.verify",
    }
    result["targets_met"] = {
        k: (result[k] >= v if op == ">=" else result[k] <= v) for k, (op, v) in TARGETS.items()
    }

    width = max(len(k) for k in result)
    for key, value in result.items():
        if isinstance(value, float):
            print(f"{key:<{width}}  {value:,.4f}")
        elif not isinstance(value, dict):
            print(f"{key:<{width}}  {value}")
    print(f"\n{'same run':<18}{'ours':>12}{'snarkjs':>12}{'ratio':>8}")
    rows = [
        ("prove s", result["prove_s_depth20"], result["snarkjs_prove_s"]),
        ("verify ms", result["verify_single_ms"], result["snarkjs_verify_ms"]),
        ("verify per s", result["verify_per_s"], result["snarkjs_verify_per_s"]),
    ]
    for name, ours_v, theirs in rows:
        ratio = theirs / ours_v if "per s" not in name else ours_v / theirs
        print(f"{name:<18}{ours_v:>12,.3f}{theirs:>12,.3f}{ratio:>7.1f}x")
    print(f"cpu seconds (load-independent): {result['cpu_seconds']}")
    load_after = result["context"]["loadavg_1m_after"]
    print(f"load average 1 min: {load_before:.1f} before, {load_after:.1f} after")
    for key, met in result["targets_met"].items():
        print(f"target {key:<{width - 7}}  {'met' if met else 'MISSED'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
