"""Benchmark the chain layer's sender against plain web3.py, in the same run, on a fresh Ganache.

Workloads (simple ETH transfers, receipts awaited; each from its own dev account):

* ``web3 baseline fixed gas``: nonce from ``eth_getTransactionCount(pending)``, fixed fees and
  gas 21,000, ``sign_transaction`` + ``send_raw_transaction`` + ``wait_for_transaction_receipt``;
* ``web3 baseline fixed gas, poll 20 ms``: the same with ``poll_latency=0.02`` (web3's default
  0.1 s sleep is paid whenever the receipt is not there on the first look);
* ``web3 baseline estimated``: the same plus ``eth_estimateGas`` per transaction;
* ``sender fixed gas`` / ``sender estimated``: ``TransactionSender.send_and_wait`` one by one;
* ``sender 8 threads fixed gas``: eight threads sharing one account through the sender.

Each workload runs ``--repeats`` times, interleaved, and the best run is reported (the chain
grows during the run; interleaving keeps that drift out of the comparison).

    .venv/bin/python scripts/bench_chain.py --n 200 --json reports/bench_chain.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import web3
from web3 import Web3

from chain.ganache import GanacheRunner, free_port
from chain.keys import Signer, dev_signer, signing_backend
from chain.sender import TransactionSender, suggest_fees
from fairgate.settings import Settings

TARGET = "0x000000000000000000000000000000000000dEaD"


def web3_baseline(
    w3: Web3, signer: Signer, n: int, *, estimate: bool, poll_latency: float = 0.1
) -> None:
    fees = suggest_fees(w3).tx_fields()
    chain_id = w3.eth.chain_id
    for _ in range(n):
        tx: dict[str, Any] = {"to": TARGET, "value": 1, "chainId": chain_id, **fees}
        tx["nonce"] = w3.eth.get_transaction_count(signer.address, "pending")
        tx["gas"] = (
            w3.eth.estimate_gas({"from": signer.address, "to": TARGET, "value": 1})  # type: ignore[typeddict-item]
            if estimate
            else 21_000
        )
        tx_hash = w3.eth.send_raw_transaction(signer.sign_transaction(tx).raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=poll_latency)
        assert receipt["status"] == 1


def sender_sequential(sender: TransactionSender, n: int, *, estimate: bool) -> None:
    for _ in range(n):
        receipt = sender.send_and_wait({"to": TARGET, "value": 1}, gas=None if estimate else 21_000)
        assert receipt["status"] == 1


def sender_threads(sender: TransactionSender, n: int, threads: int = 8) -> None:
    def work(count: int) -> None:
        handles = [sender.send({"to": TARGET, "value": 1}, gas=21_000) for _ in range(count)]
        for handle in handles:
            assert sender.wait(handle)["status"] == 1

    per = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, per))


def sign_ms(signer: Signer, rounds: int = 300, *, backend: str | None = None) -> float:
    """Milliseconds per ``sign_transaction``; ``backend`` forces an eth-keys ECC backend (eth-keys
    reads ``ECC_BACKEND_CLASS`` whenever it makes a key object, which eth-account does per call).
    """
    saved = os.environ.get("ECC_BACKEND_CLASS")
    if backend:
        os.environ["ECC_BACKEND_CLASS"] = backend
    try:
        return _sign_ms(signer, rounds)
    finally:
        if saved is None:
            os.environ.pop("ECC_BACKEND_CLASS", None)
        else:
            os.environ["ECC_BACKEND_CLASS"] = saved


def _sign_ms(signer: Signer, rounds: int) -> float:
    tx = {"to": TARGET, "value": 1, "gas": 21_000, "chainId": 1337,
          "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9}  # fmt: skip
    signer.sign_transaction({**tx, "nonce": 0})
    started = time.perf_counter()
    for nonce in range(rounds):
        signer.sign_transaction({**tx, "nonce": nonce})
    return (time.perf_counter() - started) * 1000 / rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="transactions per workload run")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    node = GanacheRunner(free_port(), accounts=10).start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        settings = Settings(confirmations=0, receipt_timeout_s=60)
        signers = [dev_signer(i) for i in range(6)]
        senders = {i: TransactionSender(w3, signers[i], settings=settings) for i in (2, 3, 4)}
        workloads: dict[str, Callable[[], None]] = {
            "web3 baseline fixed gas": lambda: web3_baseline(
                w3, signers[0], args.n, estimate=False
            ),
            "web3 baseline fixed gas, poll 20 ms": lambda: web3_baseline(
                w3, signers[5], args.n, estimate=False, poll_latency=0.02
            ),
            "web3 baseline estimated": lambda: web3_baseline(w3, signers[1], args.n, estimate=True),
            "sender fixed gas": lambda: sender_sequential(senders[2], args.n, estimate=False),
            "sender estimated": lambda: sender_sequential(senders[3], args.n, estimate=True),
            "sender 8 threads fixed gas": lambda: sender_threads(senders[4], args.n),
        }
        runs: dict[str, list[float]] = {name: [] for name in workloads}
        for _ in range(args.repeats):
            for name, run in workloads.items():
                started = time.perf_counter()
                run()
                runs[name].append(time.perf_counter() - started)
        signing = sign_ms(signers[0])
        signing_native = sign_ms(signers[0], 100, backend="eth_keys.backends.NativeECCBackend")
    finally:
        node.stop()

    rows = []
    for name, seconds in runs.items():
        best = min(seconds)
        rows.append({
            "workload": name, "tx": args.n, "best_s": round(best, 3),
            "median_s": round(statistics.median(seconds), 3),
            "tx_per_s": round(args.n / best, 1), "ms_per_tx": round(best * 1000 / args.n, 2),
        })  # fmt: skip
    print(f"{'workload':<36} {'tx':>5} {'best s':>8} {'tx/s':>8} {'ms/tx':>8}")
    for r in rows:
        print(f"{r['workload']:<36} {r['tx']:>5} {r['best_s']:>8.2f} {r['tx_per_s']:>8.1f} "
              f"{r['ms_per_tx']:>8.2f}")  # fmt: skip
    print(f"signing: {signing:.3f} ms per transaction ({signing_backend()}); "
          f"{signing_native:.3f} ms with eth-keys' pure-Python backend")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "results": rows, "repeats": args.repeats, "sign_ms": round(signing, 4),
            "signing_backend": signing_backend(),
            "sign_ms_pure_python": round(signing_native, 4), "web3": web3.__version__,
            "python": platform.python_version(), "node": "ganache 7.9.2",
        }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
