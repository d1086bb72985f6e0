"""Benchmark the paths that grow with an event's size (issue 16), each beside today's path.

    .venv/bin/python scripts/bench_scale.py [--json PATH] [--only tree_append,tree_rebuild,gate]
        [--tickets 50000] [--nullifiers 1000000] [--no-baseline]

* ``tree_append_1000_at_1m_s``: 1,000 leaves appended (one ``TicketsIssued``) to a tree holding
  2^20 - 1,000, through :class:`zk.tree_sync.TreeSync` (only the touched paths rehashed).
  Baseline (``..._today``): the path it replaced, every leaf back to an int and a bulk rebuild.
* ``tree_rebuild_50k_s``: an event's tree rebuilt from a Ganache of its own (free port) holding
  ``--tickets`` tickets minted in batches of 1,000, with resales, rotations and burns among them:
  :func:`chain.tree_logs.read_tree_logs` + :func:`zk.tree_sync.tree_from_events`. Baseline: every
  ``TicketsIssued``/``Resold``/``CommitmentRotated``/``Transfer`` log read in the same chunks and
  decoded by web3's generic ``get_event_data`` (the reader before the topic filters). The split
  ``tree_rebuild_50k_read_s`` / ``..._hash_s`` says where the time goes.
* ``gate_*``: a gate store filled by hub merges (:meth:`gate.store.NullifierStore.apply_remote`,
  batches of 500 as ``gate sync`` pulls them, 8 gates, a new challenge every 200 check-ins) up to
  ``--nullifiers``: ``gate_store_bytes_per_nullifier`` (the database file after a checkpoint),
  ``gate_wal_max_mb`` (the WAL's largest size seen after any batch), ``gate_merge_us_per_row``
  (from 100,000 rows to the end) and ``gate_check_p95_ms`` (:meth:`gate.checker.GateChecker.check`
  of an already-used ticket, the refuse path, 5,000 times at the full store). The two stores
  are filled batch by batch in turn, and checked in turn, so both see the same machine load.
  Baseline (``..._today``): the store as it was at commit ``{BASELINE_STORE_COMMIT}`` (read with
  ``git show``), same figures, same run; its file is the first format that the new store converts
  on open (``gate_migrate_s`` times that conversion).

The load average is printed beside the figures: seven other engineers share these two cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_utils.abi import event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.events import get_event_data

from chain.deploy import deploy_platform
from chain.devchain import latest_timestamp
from chain.ganache import GanacheRunner, free_port
from chain.keys import Signer
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient
from chain.tree_logs import TREE_EVENTS, read_tree_logs
from chain.types import EventParams, MintRun, Tier
from fairgate.settings import Settings
from gate.challenges import ChallengeBook
from gate.checker import GateChecker
from gate.roots import RootCache, RootRecord
from gate.store import CheckIn, NullifierStore
from zk import payload
from zk.field import P
from zk.identity import gate_scope
from zk.proof import PROOF_BYTES, GateProof, PublicSignals
from zk.setup import local_setup
from zk.tree import CAPACITY, MerkleTree
from zk.tree_sync import TreeSync, tree_from_events
from zk.verifier import GateVerifier

log = logging.getLogger("bench_scale")
ETH = 10**18
DAY = 86_400
BATCH = 1_000
#: The last commit whose gate/store.py is the first (hex text) format: today's store.
BASELINE_STORE_COMMIT = "bdef2f9"
EVENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@contextmanager
def timed(out: dict[str, Any], key: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    out[key] = round(time.perf_counter() - start, 4)
    log.warning("%s = %s s (load %s)", key, out[key], loadavg())


def commitments(n: int, seed: int) -> list[int]:
    return [(seed * 1_000_003 + i * 7_919 + 1) % (P - 1) + 1 for i in range(n)]


def issued(first: int, values: list[int]) -> dict[str, Any]:
    return {
        "event": "TicketsIssued",
        "args": {"firstTokenId": first, "commitments": [f"0x{c:064x}" for c in values]},
    }


# ------------------------------------------------------------------------ tree append at 1M


def bench_tree_append(baseline: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    base = CAPACITY - BATCH
    leaves = commitments(base, 1)
    with timed(out, "tree_build_1m_s"):
        tree = MerkleTree.from_leaves(leaves)
    batch = commitments(BATCH, 2)
    sync = TreeSync(tree)
    with timed(out, "tree_append_1000_at_1m_s"):
        sync.apply(issued(base, batch))
    expected = sync.root
    if baseline:  # the replaced path: leaves back to ints, extended, rebuilt in bulk
        with timed(out, "tree_append_1000_at_1m_s_today"):
            old = MerkleTree.from_leaves(tree.leaves()[:base] + batch)
        assert old.root == expected, "the incremental root differs from the rebuild"
    return out


# ------------------------------------------------------------------------ tree rebuild on chain


def _today_read(w3: Web3, abi: list[Any], address: str, start: int) -> list[dict[str, Any]]:
    """The reader before issue 16: every tree event's log (all transfers), web3's decoder."""
    entries = {
        bytes(event_abi_to_log_topic(e)): e  # type: ignore[arg-type]
        for e in abi
        if e.get("type") == "event" and e.get("name") in TREE_EVENTS
    }
    head = int(w3.eth.block_number)
    records: list[dict[str, Any]] = []
    for first in range(start, head + 1, 2_000):  # EventReader's chunk
        logs = w3.eth.get_logs({
            "address": address, "fromBlock": first, "toBlock": min(first + 1_999, head),
            "topics": [[HexBytes(t) for t in entries]],
        })  # fmt: skip
        for entry in logs:
            data = get_event_data(w3.codec, entries[bytes(entry["topics"][0])], entry)
            records.append({"event": data["event"], "args": dict(data["args"])})
    return records


def _populate(
    w3: Web3, node: GanacheRunner, tickets: int, tmp: Path
) -> tuple[TicketEventClient, int, int]:
    signers = [Signer.from_account(a, f"dev{i}") for i, a in enumerate(node.accounts_with_keys())]
    organizer, bridge, fan, buyer = (TransactionSender(w3, s) for s in signers[1:5])
    deployment = deploy_platform(organizer, Settings(env="test", home=tmp / "home"))
    now = latest_timestamp(w3)
    event, created = deployment.factory_client(w3, organizer).create_event(
        EventParams(
            name="Scale",
            symbol="SCALE",
            organizer=organizer.address,
            starts_at=now + 10 * DAY,
            ends_at=now + 11 * DAY,
            tiers=(Tier(ETH // 1000, tickets, 11_000, 0, now, now + 9 * DAY),),
            minter=bridge.address,
        )
    )
    minter = TicketEventClient(w3, event.address, bridge)
    holder = TicketEventClient(w3, event.address, fan)
    market = TicketEventClient(w3, event.address, buyer)
    minted = 0
    batch_no = 0
    started = time.perf_counter()
    while minted < tickets:
        k = min(BATCH, tickets - minted)
        ref = batch_no.to_bytes(32, "big")
        minter.mint_batch(0, [MintRun(fan.address, tuple(commitments(k, 10 + batch_no)), ref)])
        # among the mints: resales, rotations and burns of this batch's tickets
        for j in range(2):
            token = minted + j
            holder.list(token, ETH // 1000)
            market.buy(token, commitments(1, 900_000 + token)[0], price=ETH // 1000)
        holder.rotate_commitment(minted + 2, commitments(1, 800_000 + minted)[0])
        minter.revoke([minted + 3, minted + 4])
        minted += k
        batch_no += 1
        if batch_no % 10 == 0:
            log.warning("minted %d tickets in %.0f s", minted, time.perf_counter() - started)
    return event, created.block_number, int(w3.eth.block_number)


def bench_tree_rebuild(tickets: int, baseline: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"tree_rebuild_tickets": tickets}
    with GanacheRunner(free_port()) as node, tempfile.TemporaryDirectory() as tmp:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 300}))
        with timed(out, "tree_rebuild_setup_s"):
            event, start, head = _populate(w3, node, tickets, Path(tmp))
        out["tree_rebuild_blocks"] = head - start + 1
        abi = list(event.artifact.abi)
        with timed(out, "tree_rebuild_50k_s"):
            with timed(out, "tree_rebuild_50k_read_s"):
                records, _ = read_tree_logs(w3, abi, event.address, start_block=start)
            with timed(out, "tree_rebuild_50k_hash_s"):
                root = tree_from_events(records).root
        out["tree_rebuild_logs_read"] = len(records)
        if baseline:
            with timed(out, "tree_rebuild_50k_s_today"):
                with timed(out, "tree_rebuild_50k_read_s_today"):
                    old_records = _today_read(w3, abi, event.address, start)
                old_root = tree_from_events(old_records).root
            out["tree_rebuild_logs_read_today"] = len(old_records)
            assert old_root == root, "the filtered reader's tree differs from today's"
    return out


# ------------------------------------------------------------------------ gate store


def _baseline_store(tmp: Path) -> Any:
    """gate/store.py as of :data:`BASELINE_STORE_COMMIT`, imported from ``git show``."""
    import importlib.util
    import subprocess

    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(
        ["git", "-C", str(root), "show", f"{BASELINE_STORE_COMMIT}:gate/store.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = tmp / "store_today.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("store_today", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["store_today"] = module
    spec.loader.exec_module(module)
    return module


def _entries(start: int, n: int, cls: Any = CheckIn) -> list[Any]:
    """Check-ins from 8 gates, a challenge per 200, 3 roots; nullifiers look random."""
    out = []
    for i in range(start, start + n):
        nullifier = (i * 0x9E3779B97F4A7C15F39CC0605CEDC8341082276BF3A27251) % P
        out.append(
            cls(EVENT, nullifier, f"gate-{i % 8}", 1.7e9 + i * 0.01, 10 + i // 400_000,
                P - 1 - i // 200, "hub")
        )  # fmt: skip
    return out


@dataclass
class _Filling:
    """One store being filled: its timings and WAL high-water mark."""

    store: Any
    cls: Any
    suffix: str
    seconds: list[float] = field(default_factory=list)  # per batch
    wal_max: int = 0

    def merge(self, start: int, n: int) -> None:
        batch = _entries(start, n, self.cls)  # made outside the timed part
        began = time.perf_counter()
        self.store.apply_remote(EVENT, batch)
        self.seconds.append(time.perf_counter() - began)
        wal = Path(str(self.store.path) + "-wal")
        if wal.exists():
            self.wal_max = max(self.wal_max, wal.stat().st_size)

    def report(self, out: dict[str, Any], n: int) -> None:
        per_batch = 500
        first = self.seconds[: 100_000 // per_batch]
        rest = self.seconds[100_000 // per_batch :] or first
        out[f"gate_merge_us_per_row{self.suffix}"] = round(
            sum(rest) / (len(rest) * per_batch) * 1e6, 1
        )
        out[f"gate_merge_us_per_row_first_100k{self.suffix}"] = round(
            sum(first) / (len(first) * per_batch) * 1e6, 1
        )
        out[f"gate_wal_max_mb{self.suffix}"] = round(self.wal_max / 2**20, 1)


def _fill(fillings: list[_Filling], n: int) -> None:
    """Fill the stores batch by batch in turn, so each sees the same machine load."""
    started = time.perf_counter()
    for start in range(0, n, 500):
        for filling in fillings:
            filling.merge(start, min(500, n - start))
        if start and start % 200_000 == 0:
            recent = {
                f.suffix or "new": round(sum(f.seconds[-400:]) / 200_000 * 1e6, 1) for f in fillings
            }
            log.warning("%d rows in %.0f s; us/row over the last 200k: %s",
                        start, time.perf_counter() - started, recent)  # fmt: skip


def _checker(store: Any, folder: Path, verifier: GateVerifier) -> tuple[GateChecker, str]:
    """A checker over ``store`` and the code of a ticket the hub says was used."""
    chain_id = 1337
    folder.mkdir(parents=True, exist_ok=True)
    roots = RootCache(folder / "roots.json", event=EVENT, chain_id=chain_id, grace_s=600)
    root = 10
    roots.snapshot = replace(roots.snapshot, roots={root: RootRecord(root, 1)}, current=root)
    book = ChallengeBook(folder / "challenges.sqlite3", gate_id=store.gate_id, event=EVENT,
                         ttl_s=3600)  # fmt: skip
    challenge = book.current().challenge
    used = _entries(7, 1)[0].nullifier  # merged from the hub: refused here
    code = payload.encode(
        GateProof(bytes(PROOF_BYTES), PublicSignals(used, root, gate_scope(chain_id, EVENT),
                                                    challenge))
    )  # fmt: skip
    checker = GateChecker(gate_id=store.gate_id, event=EVENT, roots=roots, challenges=book,
                          store=store, verifier=verifier)  # fmt: skip
    logging.getLogger("gate.checker").setLevel(logging.WARNING)
    return checker, code


def _refusals(checker: GateChecker, code: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        result = checker.check(code)
        assert result.code == "nullifier_used", result
        times.append(result.total_ms)
    return times


def bench_gate_store(n: int, baseline: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"gate_nullifiers": n}
    verifier = GateVerifier(local_setup().vkey)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        new = NullifierStore(folder / "new.sqlite3", gate_id="bench", synchronous="NORMAL")
        fillings = [_Filling(new, CheckIn, "")]
        if baseline:
            today = _baseline_store(folder)
            # that store kept no refusal counts (the checker counts each refusal now): a no-op
            today.NullifierStore.count_refusal = lambda self, event, code: None
            old = today.NullifierStore(folder / "old.sqlite3", gate_id="bench")
            fillings.append(_Filling(old, today.CheckIn, "_today"))
        _fill(fillings, n)
        for filling in fillings:
            filling.report(out, n)
        # the refuse path, both stores in turn (5 rounds of 1,000 checks each)
        checks = [(f, _checker(f.store, folder / f"check{f.suffix}", verifier)) for f in fillings]
        samples: dict[str, list[float]] = {f.suffix: [] for f in fillings}
        for _ in range(5):
            for filling, (checker, code) in checks:
                samples[filling.suffix] += _refusals(checker, code, 1_000)
        for filling, (checker, _) in checks:
            ordered = sorted(samples[filling.suffix])
            p95 = ordered[int(len(ordered) * 0.95) - 1]
            out[f"gate_check_p95_ms{filling.suffix}"] = round(p95, 4)
            checker.challenges.close()
        new.close()  # checkpoints (TRUNCATE) the WAL into the file
        out["gate_store_bytes_per_nullifier"] = round(
            (folder / "new.sqlite3").stat().st_size / n, 1
        )
        if baseline:
            old.close()
            import sqlite3

            db = sqlite3.connect(folder / "old.sqlite3")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            size = (folder / "old.sqlite3").stat().st_size
            out["gate_store_bytes_per_nullifier_today"] = round(size / n, 1)
            with timed(out, "gate_migrate_s"):
                NullifierStore(folder / "old.sqlite3", gate_id="bench").close()
            size = (folder / "old.sqlite3").stat().st_size
            out["gate_store_bytes_per_nullifier_migrated"] = round(size / n, 1)
    return out


SECTIONS: Mapping[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "tree_append": lambda a: bench_tree_append(not a.no_baseline),
    "tree_rebuild": lambda a: bench_tree_rebuild(a.tickets, not a.no_baseline),
    "gate": lambda a: bench_gate_store(a.nullifiers, not a.no_baseline),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--nullifiers", type=int, default=1_000_000)
    parser.add_argument("--no-baseline", action="store_true", help="skip today's paths")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    figures: dict[str, Any] = {"loadavg_start": loadavg()}
    for name in args.only.split(","):
        figures.update(SECTIONS[name.strip()](args))
    figures["loadavg_end"] = loadavg()
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
