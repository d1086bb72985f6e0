"""Benchmark of the bridge: order creation under concurrent load, and paid orders to minted tickets.

    .venv/bin/python scripts/bench_orders.py --json reports/bench_orders.json
    .venv/bin/python scripts/bench_orders.py --only mint --nodes anvil,ganache
    .venv/bin/python scripts/bench_orders.py --only lb --json reports/bench_lb.json
    .venv/bin/python scripts/bench_orders.py --only queue --json reports/bench_queue.json

``--only queue`` (also part of a full run): the on-sale waiting room under 10,000 fans arriving
within one second through the bridge over HTTP (the arrival tests/api/test_waiting_room_http.py
checks), ``queue_admit_p99_ms`` beside ``trivial_p99_ms`` (GET /health/live, same arrival, same
run) and the Redis floor (scripts/bench_queue.py says how).

For each node of ``--nodes`` (default ``ganache``; chain.nodes: Ganache or Anvil) it starts the
node (free port), a fresh PostgreSQL schema in database ``test``, deploys the platform, creates an
event, and serves the bridge with uvicorn (``--web-workers`` processes). The order half runs on the
first node only; the minting figures are given per node, their keys ending in ``_<node>``
(``tickets_minted_per_s_anvil``, ``floor_tickets_per_s_ganache``...).

* orders_per_s / order_p99_ms: POST /orders (reservation + local payment, PostgreSQL) by
  ``--concurrency`` concurrent keep-alive clients (asyncio streams, on the same machine), after
  500 orders of warm-up; baseline: the same load on GET /health/live of the same server (no
  database), after 500 requests of warm-up. Beside each, the server's CPU time per request (all
  web workers; PostgreSQL not included): steadier than the rates on a shared machine.
* orders_per_s_lb / order_p99_ms_lb: POST /orders through HAProxy in front of
  ``--lb-replicas`` bridge replicas (api.cluster; one uvicorn process each, Redis for the shared
  rate limit), the local provider taking ``--payment-latency-ms`` to open each payment session
  (a card processor's round trip, outside the seat lock), driven in OPEN loop: ``--lb-orders``
  arrivals at ``--lb-rate`` per second (default 1,000, the target), each request's latency
  counted from its due time (:func:`load_open`); the target reads "at 1,000 orders/s, p99 <=
  150 ms". Baseline: GET /health/live through the same balancer, driven the same way, same run.
  ``*_lb_saturated``: the same in closed loop by ``--lb-concurrency`` keep-alive clients: the
  most the cluster gives, where p99 is mostly the queue that concurrency makes (Little's law).
  ``order_cpu_ms_lb``: CPU milliseconds per order of the replicas, HAProxy, PostgreSQL and the
  driver (their sum bounds the rate 2 cores can give, whatever the load on the machine).
  orders_per_s_stripe_path / order_p99_ms_stripe_path: the same with the Stripe provider, its
  API played by scripts/stripe_fake.py with the same latency (no Stripe-compatible server
  installs here from the package registries).
* tickets_minted_per_s: paid orders -> minted tickets by the minting workers (batched mintBatch,
  receipts awaited); baseline: the same worker with one order per transaction.
* floor_tickets_per_s: what the node itself allows for exactly the worker's transaction
  (:func:`mint_floor`): full ``mintBatch`` batches of the same event and tier, as many orders
  per batch as the worker's claim takes, the same tickets per order, fresh random holders,
  random commitments, consecutive refs, the same gas limit and fees, signed beforehand and sent
  back to back on one connection, nothing else (no database, no receipt reads). Half of its
  ``--floor-batches`` run before the workers and half after (the node slows as its chain grows;
  the workers minted on the state in between), all on the same node in the same run, so the
  ratio tickets_minted_per_s / floor_tickets_per_s holds on a loaded machine better than either
  figure. Why this definition: a floor that the real mint cannot reach (the node's CPU for the
  EVM primitives alone) measures the contract, not the worker; the worker's job is to keep the
  node busy with its transaction and add as little node work as it can (receipts, fee reads).
  Beside it: floor_node_cpu_us_per_ticket (compare node_cpu_us_per_ticket: the node's extra
  work per ticket due to the worker's reads), sending_fraction (the part of the run during which
  a mint was at the node; on Ganache, which answers a send once mined, the node's queue was
  empty the rest of the time), rpc_calls_per_order by method, and node_cpu_us_per_read (what
  each read the worker makes costs the node, 10 calls each).
  floor_fraction is tickets_minted_per_s / floor_tickets_per_s (the target: >= 0.8 on
  Ganache). On a loaded machine the node gets a different share of the cores in the floor's
  seconds and in the workers' (load moves within a minute), so beside it
  floor_fraction_at_equal_share (Ganache) = sending_fraction x floor_node_cpu_us_per_ticket /
  node_cpu_us_per_ticket: what the workers reach of the floor if the node had the same share
  in both: the time the node had a mint to execute, times how much node work a ticket cost
  beyond the floor's.
* probe_floor_tickets_per_s (the figure formerly called the floor): the EVM primitives of an
  order to a new holder, two fresh storage slots and a log per ticket plus one, timed with
  contracts/test/ChainProbe.sol; what any ERC-721 mint costs at least, whatever the contract.
  On Ganache the real mintBatch costs the node about twice that (calldata decoding, checks,
  the commitments: more EVM steps at ~9 us each), so it is no ceiling for the worker.
  node_bound_tickets_per_s is the tickets per node CPU-second during the workers' run. Beside
  them the CPU time per ticket of the worker (this process), of PostgreSQL (the backends of
  this run, by application_name) and of the node, and tickets_per_cpu_s (all three on one
  core): figures that hold on a loaded machine, where tickets/s measures mostly how much of the
  2 cores the run got.
* With anvil in --nodes and --block-time S (default 2): the same on Anvil mining a block every S
  seconds (keys ending _anvil_2s_blocks); floor_tickets_per_s there is the block gas limit over
  the gas per ticket measured in the run, per block time; paid_to_minted_p50_s / _p95_s time
  --latency-orders orders paid at --paid-per-s, from payment to their ``minted`` line.

Quiet rerun (the figures of the note): ``.venv/bin/python scripts/bench_orders.py --only mint
--nodes anvil,ganache --json reports/bench_mint.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from eth_utils.address import to_checksum_address
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.accounts import BridgeAccounts  # noqa: E402
from api.db import make_engine, session_factory  # noqa: E402
from api.migrate import upgrade  # noqa: E402
from api.models import Order, OrderState  # noqa: E402
from api.services.auth import create_organizer  # noqa: E402
from api.services.locks import WorkerLocks  # noqa: E402
from api.services.minting import Minter, mint_some  # noqa: E402
from chain.deploy import deploy_platform  # noqa: E402
from chain.ganache import free_port  # noqa: E402
from chain.keys import dev_signer  # noqa: E402
from chain.nodes import NODE_KINDS, node_runner  # noqa: E402
from chain.sender import TransactionSender  # noqa: E402
from fairgate.settings import Settings  # noqa: E402
from scripts.bench_queue import run_queue_bench  # noqa: E402

FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617
PG_ROOT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def commitments(n: int) -> list[str]:
    return [str(secrets.randbelow(FIELD - 1) + 1) for _ in range(n)]


def _http_request(method: str, host: str, path: str, body: dict[str, Any] | None) -> bytes:
    """One HTTP/1.1 request of the bench's drivers (a JSON body when given)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if body is None:
        return (head + "\r\n").encode()
    data = json.dumps(body).encode()
    head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (head, then its Content-Length body) off a keep-alive connection; its
    status."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


def _p99(ordered: list[float]) -> float:
    """The 99th percentile of sorted milliseconds, rounded as the bench reports it."""
    return round(ordered[int(len(ordered) * 0.99) - 1], 2)


async def load(
    url: str, path: str, bodies: list[dict[str, Any]] | None, total: int, concurrency: int
) -> dict[str, Any]:
    """``total`` requests over ``concurrency`` keep-alive connections.

    A minimal HTTP/1.1 client on asyncio streams: httpx's async client topped out at ~360 req/s
    here against a trivial endpoint (it was the bottleneck, on the same 2 cores as the server).
    """
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(total))
    method = "GET" if bodies is None else "POST"

    def request(i: int) -> bytes:
        return _http_request(method, host, path, None if bodies is None else bodies[i])

    async def one_connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for i in counter:
                t0 = time.perf_counter()
                writer.write(request(i))
                try:
                    status = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):  # counted, never hidden
                    status = -1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": total,
        "per_s": round(total / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": _p99(latencies),
        "statuses": statuses,
    }


async def load_open(
    url: str,
    path: str,
    bodies: list[dict[str, Any]] | None,
    total: int,
    rate: float,
    *,
    preopen: int = 256,
    max_connections: int = 1024,
) -> dict[str, Any]:
    """``total`` requests at a fixed arrival rate (``rate`` per second), whatever the answers
    take: the open-loop driver. Request ``i`` is due at ``start + i / rate``; its latency runs
    from that due time, not from when it was sent, so a client that falls behind (or a server
    that makes requests wait for a connection) counts against the figure instead of quietly
    lowering the offered load (coordinated omission). ``client_lag_p99_ms`` is how late this
    process itself sent them: on a loaded machine, the part of the latency that is the driver's.

    Keep-alive connections are taken from an idle pool (``preopen`` opened before the clock
    starts, more opened as needed up to ``max_connections``), one request at a time each."""
    host, port = url.removeprefix("http://").split(":")
    method = "GET" if bodies is None else "POST"
    latencies: list[float] = []
    lags: list[float] = []
    statuses: dict[int, int] = {}
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    slots = asyncio.Semaphore(max_connections)
    opened = 0

    def request(i: int) -> bytes:
        return _http_request(method, host, path, None if bodies is None else bodies[i])

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        nonlocal opened
        opened += 1
        return await asyncio.open_connection(host, int(port))

    async def one(i: int, due: float) -> None:
        async with slots:
            conn = idle.pop() if idle else await connect()
            lags.append((time.perf_counter() - due) * 1000)
            reader, writer = conn
            writer.write(request(i))
            try:
                status = await _read_response(reader)
                idle.append(conn)
            except (asyncio.IncompleteReadError, ConnectionError):  # counted, never hidden
                status = -1
                writer.close()
            latencies.append((time.perf_counter() - due) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

    idle.extend(await asyncio.gather(*(connect() for _ in range(min(preopen, total)))))
    tasks = []
    start = time.perf_counter() + 0.01
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for _, writer in idle:
        writer.close()
    latencies.sort()
    lags.sort()
    return {
        "requests": total,
        "offered_per_s": rate,
        "per_s": round(total / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": _p99(latencies),
        "max_ms": round(latencies[-1], 2),
        "client_lag_p99_ms": _p99(lags),
        "connections": opened,
        "statuses": statuses,
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children so far, from /proc."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """CPU time of one process (all its threads) to the nanosecond: the kernel's per-process CPU
    clock (clock_getcpuclockid), not /proc's 10 ms ticks, which cannot time Anvil's sub-millisecond
    work. Falls back to :func:`cpu_seconds` where that clock cannot be read."""
    try:
        return time.clock_gettime((~pid << 3) | 2)  # CPUCLOCK_SCHED of the whole process
    except OSError:
        return cpu_seconds(pid)


def chain_floor(w3: Web3, pid: int, quantity: int) -> dict[str, float | None]:
    """The node's CPU time for the primitives of a minted order (contracts/test/ChainProbe.sol):
    a transaction, a fresh storage slot, a log. An order to a new holder needs at least two fresh
    slots (owner record, balance: any ERC-721) and quantity + 1 logs (a Transfer per ticket, one
    TicketsIssued), whatever the contract: that is the chain's floor under tickets/s."""
    from chain.abi import artifact as load_artifact
    from chain.deploy import deploy_contract

    sender = TransactionSender(w3, dev_signer(9))
    artifact = load_artifact("ChainProbe")
    address, _, _ = deploy_contract(sender, artifact)
    probe = w3.eth.contract(address=to_checksum_address(address), abi=artifact.abi)

    def cpu_of(function: str, *args: int) -> float:
        best = float("inf")
        for _ in range(3):
            before = process_cpu_seconds(pid)
            tx = {"to": address, "data": probe.encode_abi(function, list(args))}
            sender.send_and_wait(tx, gas=25_000_000)
            best = min(best, process_cpu_seconds(pid) - before)
        return best

    before = process_cpu_seconds(pid)
    for _ in range(20):  # timed together: steadier than one
        sender.send_and_wait({"to": address, "data": probe.encode_abi("nothing", [])}, gas=50_000)
    tx = (process_cpu_seconds(pid) - before) / 20
    slot = (cpu_of("freshSlots", 400) - tx) / 400
    log_ = (cpu_of("logs", 1000) - tx) / 1000
    order = 2 * slot + (quantity + 1) * log_
    return {
        "probe_node_tx_ms": round(1000 * tx, 2),
        "probe_node_fresh_slot_ms": round(1000 * slot, 4),
        "probe_node_log_ms": round(1000 * log_, 4),
        "probe_floor_ms_per_order": round(1000 * order, 4),
        "probe_floor_tickets_per_s": round(quantity / order, 1) if order > 0 else None,
    }


def mint_gas(settings: Settings, orders: int, tickets: int) -> int:
    """The gas limit the worker gives a batch (Minter.gas_for)."""
    return (
        settings.mint_gas_base
        + settings.mint_gas_per_order * orders
        + settings.mint_gas_per_ticket * tickets
    )


def batch_shape(settings: Settings, quantity: int) -> int:
    """Orders in a full batch of ``quantity``-ticket orders, picked as Minter.claim picks them."""
    n = 1
    while (
        n < settings.mint_batch_max_orders
        and (n + 1) * quantity <= settings.mint_batch_max_tickets
        and mint_gas(settings, n + 1, (n + 1) * quantity) <= settings.mint_batch_max_gas
    ):
        n += 1
    return n


def mint_floor(
    w3: Web3,
    pid: int,
    settings: Settings,
    *,
    contract: str,
    tier_index: int,
    event_id: int,
    signers: list[Any],
    quantity: int,
    batches: int,
    ref_base: int,
) -> dict[str, Any]:
    """The node alone on exactly the worker's transaction: ``batches`` full ``mintBatch``
    transactions into the event and tier the worker mints into, as :meth:`Minter.claim` builds
    them (the same orders per batch, ``quantity`` tickets each, fresh random holders, random
    commitments, consecutive order refs of the event, the worker's gas limit and fees), all
    signed beforehand, then sent back to back, one thread and connection per signer: no
    database, no receipts, no bookkeeping. (Two signers sending at once cost Ganache the same
    CPU per ticket as one, 2,670 against 2,641 us over four alternated pairs: the node's work
    does not depend on how many keys feed it, so one signer is enough.) Each send returns once
    the node took the transaction (Ganache mines it before answering; Anvil on arrival); the
    clock stops when the last one is mined. Afterwards, not timed, every receipt is checked (each
    must have minted its tickets) and the node's CPU for the reads a worker makes is measured
    (``node_cpu_us_per_read``, 10 calls each).

    Returns the raw measurement (tickets, seconds, node CPU seconds); :func:`floor_figures`
    combines the runs before and after the worker's."""
    from web3.types import RPCEndpoint

    from api.services.minting import sequential_ref
    from chain.receipts import fetch_receipt
    from chain.ticket_event import TICKETS_ISSUED, issued_from_logs
    from chain.types import MintRun, encode_mint_batch

    per_batch = batch_shape(settings, quantity)
    sender = TransactionSender(w3, signers[0], settings=settings)
    fees = sender.fees()
    nonces = [int(w3.eth.get_transaction_count(s.address, "pending")) for s in signers]
    gas = mint_gas(settings, per_batch, per_batch * quantity)
    raws: list[list[str]] = [[] for _ in signers]  # batch b is sent by signer b % len(signers)
    hashes: list[str] = []
    n = ref_base
    for b in range(batches):
        runs = []
        for _ in range(per_batch):
            n += 1
            runs.append(
                MintRun(
                    holder="0x" + secrets.token_hex(20),
                    commitments=tuple(int(c) for c in commitments(quantity)),
                    order_ref=bytes.fromhex(sequential_ref(event_id, n)[2:]),
                )
            )
        k = b % len(signers)
        signed = signers[k].sign_transaction(
            {
                "to": contract,
                "data": "0x" + encode_mint_batch(tier_index, runs).hex(),
                "value": 0,
                "gas": gas,
                "chainId": sender.chain_id,
                "nonce": nonces[k] + len(raws[k]),
                **fees.tx_fields(),
            }
        )
        raws[k].append("0x" + bytes(signed.raw_transaction).hex())
        hashes.append("0x" + bytes(signed.hash).hex())
    send = RPCEndpoint("eth_sendRawTransaction")
    count = RPCEndpoint("eth_getTransactionCount")

    def send_all(k: int) -> None:
        for raw in raws[k]:
            response = w3.provider.make_request(send, [raw])
            if "error" in response:
                raise RuntimeError(f"floor transaction refused: {response['error']}")
        while int(
            w3.provider.make_request(count, [signers[k].address, "latest"])["result"], 16
        ) < nonces[k] + len(raws[k]):
            time.sleep(0.002)

    cpu = process_cpu_seconds(pid)
    start = time.perf_counter()
    if len(signers) == 1:
        send_all(0)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(signers)) as pool:
            list(pool.map(send_all, range(len(signers))))
    elapsed = time.perf_counter() - start
    cpu = process_cpu_seconds(pid) - cpu
    tickets = 0
    for h in hashes:
        receipt = fetch_receipt(w3, h)
        if receipt["status"] != 1:
            raise RuntimeError(f"floor transaction {h} reverted")
        tickets += sum(len(i.commitments) for i in issued_from_logs(contract, receipt["logs"]))
    expected = batches * per_batch * quantity
    if tickets != expected:
        raise RuntimeError(f"floor minted {tickets} tickets, not {expected}")
    block = int(fetch_receipt(w3, hashes[-1])["blockNumber"])
    reads: dict[str, list[Any]] = {
        "eth_getTransactionReceipt": [hashes[-1]],
        "eth_getLogs": [
            {
                "address": contract,
                "fromBlock": hex(block),
                "toBlock": hex(block),
                "topics": ["0x" + TICKETS_ISSUED.hex()],
            }
        ],
        "eth_feeHistory": [5, "latest", [50.0]],
        "eth_feeHistory(1, latest, [])": [1, "latest", []],
        "eth_maxPriorityFeePerGas": [],
        "eth_getBlockByNumber": ["latest", False],
        "eth_blockNumber": [],
        "eth_getTransactionCount": [signers[0].address, "pending"],
    }
    read_cpu: dict[str, float] = {}
    for method, params in reads.items():
        before = process_cpu_seconds(pid)
        for _ in range(10):
            w3.provider.make_request(RPCEndpoint(method.split("(")[0]), params)
        read_cpu[method] = round(1e5 * (process_cpu_seconds(pid) - before), 1)  # us per call
    return {
        "tickets": tickets,
        "elapsed": elapsed,
        "cpu": cpu,
        "orders_per_batch": per_batch,
        "batches": batches,
        "reads": read_cpu,
    }


def floor_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The floor from :func:`mint_floor` runs (before and after the worker's run: the node's
    speed changes as its chain grows, and the worker minted on the state in between): all their
    tickets over all their time."""
    tickets = sum(r["tickets"] for r in runs)
    elapsed = sum(r["elapsed"] for r in runs)
    cpu = sum(r["cpu"] for r in runs)
    return {
        "floor_tickets_per_s": round(tickets / elapsed, 1),
        "floor_tickets_per_s_each": [round(r["tickets"] / r["elapsed"], 1) for r in runs],
        "floor_node_cpu_us_per_ticket": round(1e6 * cpu / tickets, 1),
        "floor_node_busy_fraction": round(cpu / elapsed, 2),
        "floor_tickets": tickets,
        "floor_orders_per_batch": runs[0]["orders_per_batch"],
        "node_cpu_us_per_read": runs[-1]["reads"],
    }


class RpcCounter:
    """Counts the JSON-RPC requests made through one web3 connection, by method (every thread)."""

    def __init__(self, w3: Web3) -> None:
        import threading
        from collections import Counter

        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        provider: Any = w3.provider
        inner = provider.make_request

        self.sends: list[tuple[float, float]] = []  # (start, end) of eth_sendRawTransaction

        def counted(method: Any, params: Any) -> Any:
            with self._lock:
                self.calls[str(method)] += 1
            if method != "eth_sendRawTransaction":
                return inner(method, params)
            start = time.perf_counter()
            try:
                return inner(method, params)
            finally:
                with self._lock:
                    self.sends.append((start, time.perf_counter()))

        provider.make_request = counted

    def sending_fraction(self, start: float, end: float) -> float:
        """The part of [start, end] during which at least one eth_sendRawTransaction was
        outstanding: on Ganache (which mines a transaction before answering its send) the time
        the node had a mint to execute; the rest it waited for the workers."""
        covered, reach = 0.0, start
        for a, b in sorted(self.sends):
            a, b = max(a, reach), min(b, end)
            if b > a:
                covered += b - a
                reach = b
        return covered / (end - start) if end > start else 0.0

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    def since(self, before: dict[str, int]) -> dict[str, int]:
        now = self.snapshot()
        return {k: v - before.get(k, 0) for k, v in sorted(now.items()) if v - before.get(k, 0)}


def mint_all(
    sessions: sessionmaker[Session],
    chains: list[BridgeAccounts],
    engine: Engine,
    settings: Settings,
    feeding: Callable[[], bool] = lambda: False,
    profile: Path | None = None,
) -> tuple[int, float]:
    """Mint every paid order with one minting worker per chain adapter (each its own key), as
    threads: one worker's database work overlaps another's wait for the node. ``profile``: a
    file prefix; each worker thread writes its cProfile statistics to ``<prefix>-<i>.prof``."""
    import cProfile
    from concurrent.futures import ThreadPoolExecutor

    def paid_left() -> bool:
        with sessions() as s:
            return (
                s.scalar(select(Order.id).where(Order.state == OrderState.PAID).limit(1))
                is not None
            )

    def run(i: int) -> int:
        minter = Minter(sessions, chains[i], WorkerLocks(engine), settings)
        minted, idle = 0, 0
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        try:
            while True:
                n = mint_some(minter)
                minted += n
                if n:
                    idle = 0
                    continue
                # an empty round ends the run only when nothing paid is left (a round can also
                # come back empty after a retried batch: once, on Anvil, the whole baseline
                # stopped there)
                idle += 1
                if feeding():  # payments are still arriving (the latency run)
                    idle = 0
                elif not paid_left() or idle > 20:
                    return minted
                time.sleep(0.05)
        finally:
            if profiler and profile:
                profiler.disable()
                profiler.dump_stats(f"{profile}-{i}.prof")

    start = time.perf_counter()
    with ThreadPoolExecutor(len(chains)) as pool:
        minted = sum(pool.map(run, range(len(chains))))
    return minted, time.perf_counter() - start


def db_cpu_seconds(engine: Engine, application: str) -> float:
    """CPU time so far of the PostgreSQL backends serving ``application`` (their
    application_name): the database's share of minting, read from /proc (same machine)."""
    with engine.connect() as c:
        pids = c.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"), {"a": application}
        ).scalars()
        total = 0.0
        for pid in pids:
            try:
                total += cpu_seconds(int(pid))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return total


def paid_to_minted(sessions: sessionmaker[Session], tier_id: int) -> list[float]:
    """Seconds from each minted order's payment to its ``minted`` history line."""
    from api.models import OrderEvent

    with sessions() as s:
        rows = s.execute(
            select(Order.paid_at, OrderEvent.at)
            .join(OrderEvent, OrderEvent.order_id == Order.id)
            .where(Order.tier_id == tier_id, OrderEvent.to_state == OrderState.MINTED)
        ).all()
    return sorted((at - paid).total_seconds() for paid, at in rows if paid is not None)


def percentile(values: list[float], q: float) -> float | None:
    return round(values[min(len(values) - 1, int(len(values) * q))], 3) if values else None


def latency_run(
    args: argparse.Namespace,
    sessions: sessionmaker[Session],
    chains: list[BridgeAccounts],
    engine: Engine,
    settings: Settings,
    tier_id: int,
    reserve: Callable[[int, int], None],
) -> dict[str, Any]:
    """Payment to minted: ``--latency-orders`` orders paid at ``--paid-per-s`` (in steps of
    0.1 s) while the workers mint; the p50/p95 of paid_at to the order's ``minted`` line."""
    import threading

    reserve(tier_id, args.latency_orders)
    with sessions() as s:
        ids = list(
            s.scalars(
                select(Order.id).where(Order.tier_id == tier_id, Order.state == OrderState.RESERVED)
            )
        )
    done = threading.Event()

    def feed() -> None:
        step = max(1, round(args.paid_per_s / 10))
        start = time.perf_counter()
        for i in range(0, len(ids), step):
            time.sleep(max(0.0, start + i / args.paid_per_s - time.perf_counter()))
            with sessions() as s, s.begin():
                s.execute(
                    update(Order)
                    .where(Order.id.in_(ids[i : i + step]))
                    .values(state=OrderState.PAID, paid_at=datetime.now(UTC))
                )
        done.set()

    feeder = threading.Thread(target=feed)
    feeder.start()
    mint_all(sessions, chains, engine, settings, lambda: not done.is_set())
    feeder.join()
    waits = paid_to_minted(sessions, tier_id)
    return {
        "paid_to_minted_p50_s": percentile(waits, 0.5),
        "paid_to_minted_p95_s": percentile(waits, 0.95),
        "paid_to_minted_orders": len(waits),
        "paid_per_s": args.paid_per_s,
    }


def lb_figures(args: argparse.Namespace, env: dict[str, str], order: Any) -> dict[str, Any]:
    """Orders through HAProxy and ``--lb-replicas`` replicas (api.cluster), the payment session
    taking ``--payment-latency-ms``: first with the local provider (beside the trivial endpoint
    through the same balancer), then with the Stripe provider against scripts/stripe_fake.py.

    Each is driven two ways: open loop at ``--lb-rate`` arrivals per second (the target's
    shape: at that rate, what p99?), and closed loop by ``--lb-concurrency`` connections (how
    many per second at saturation; there the latency is mostly the queue that concurrency
    makes: Little's law, 192 in flight at 1,200/s is 160 ms whatever the service). Beside each,
    the CPU time per request of the replicas, HAProxy, PostgreSQL (this run's backends) and this
    driver: on a shared machine, steadier than the rates, and their sum bounds the rate 2 cores
    can give."""
    from api.cluster import Cluster

    latency_s = args.payment_latency_ms / 1000
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"fairgate-bench-lb-{secrets.token_hex(4)}"
    prefix = f"bench-{secrets.token_hex(4)}:"
    base = {
        **env,
        "FAIRGATE_REDIS_URL": "redis://127.0.0.1:6379/0",
        "FAIRGATE_REDIS_PREFIX": prefix,
        "FAIRGATE_LOCAL_PAYMENT_LATENCY_S": str(latency_s),
        "FAIRGATE_DB_POOL_SIZE": "10",
    }
    total, conc, rate = args.lb_orders, args.lb_concurrency, args.lb_rate
    application = env["FAIRGATE_DATABASE_URL"].rsplit("application_name=", 1)[-1]
    root = create_engine(PG_ROOT, isolation_level="AUTOCOMMIT")

    def one_run(cluster_env: dict[str, str], with_baseline: bool) -> dict[str, Any]:
        cluster = Cluster(cluster_env, workdir, replicas=args.lb_replicas, workers=0)
        cluster.start()
        assert cluster.balancer is not None and cluster.balancer.process is not None
        pids = {
            "replicas": [p.pid for p in cluster.replica_procs if p is not None],
            "haproxy": [cluster.balancer.process.pid],
        }

        def timed(coro: Any, n: int) -> dict[str, Any]:
            """Run a load and add the CPU milliseconds per request of every part."""
            before = {k: sum(cpu_seconds(p) for p in v) for k, v in pids.items()}
            db, own = db_cpu_seconds(root, application), time.process_time()
            out: dict[str, Any] = asyncio.run(coro)
            cpu = {k: sum(cpu_seconds(p) for p in v) - before[k] for k, v in pids.items()}
            cpu["postgres"] = db_cpu_seconds(root, application) - db
            cpu["driver"] = time.process_time() - own
            out["cpu_ms"] = {k: round(1000 * v / n, 3) for k, v in cpu.items()}
            out["cpu_ms"]["total"] = round(sum(1000 * v / n for v in cpu.values()), 3)
            return out

        try:
            out: dict[str, Any] = {}
            url = cluster.url
            if with_baseline:
                live = "/health/live"
                asyncio.run(load(url, live, None, 1000, conc))  # warm-up
                out["baseline_open"] = timed(load_open(url, live, None, total, rate), total)
                out["baseline_closed"] = timed(load(url, live, None, total, conc), total)
            warm = [order() for _ in range(1000)]
            asyncio.run(load(url, "/orders", warm, len(warm), conc))
            bodies = [order() for _ in range(total)]
            out["open"] = timed(load_open(url, "/orders", bodies, total, rate), total)
            bodies = [order() for _ in range(total)]
            out["closed"] = timed(load(url, "/orders", bodies, total, conc), total)
            out["servers"] = {k: v["stot"] for k, v in cluster.balancer.servers().items()}
            return out
        finally:
            cluster.stop()

    local = one_run(base, with_baseline=True)
    print(f"[lb] local provider: {local['open']} / {local['closed']}", file=sys.stderr)
    fake_port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "scripts/stripe_fake.py", "--port", str(fake_port),
         "--latency-ms", str(args.payment_latency_ms)],
        cwd=ROOT,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{fake_port}/calls", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        stripe_env = {
            **base,
            "FAIRGATE_PAYMENT_PROVIDER": "stripe",
            "FAIRGATE_STRIPE_API_KEY": "sk_test_bench",
            "FAIRGATE_STRIPE_WEBHOOK_SECRET": "whsec_bench",
            "FAIRGATE_STRIPE_API_BASE": f"http://127.0.0.1:{fake_port}",
        }
        stripe_run = one_run(stripe_env, with_baseline=False)
    finally:
        fake.terminate()
        fake.wait(10)
        root.dispose()
    print(f"[lb] stripe path: {stripe_run['open']} / {stripe_run['closed']}", file=sys.stderr)
    opened, closed = local["open"], local["closed"]
    base_open, base_closed = local["baseline_open"], local["baseline_closed"]
    return {
        # open loop at --lb-rate: the target (>= 1,000 orders/s with p99 <= 150 ms)
        "orders_per_s_lb": opened["per_s"],
        "order_p99_ms_lb": opened["p99_ms"],
        "order_p50_ms_lb": opened["p50_ms"],
        "order_statuses_lb": opened["statuses"],
        "order_client_lag_p99_ms_lb": opened["client_lag_p99_ms"],
        "order_cpu_ms_lb": opened["cpu_ms"],
        "baseline_trivial_per_s_lb": base_open["per_s"],
        "baseline_trivial_p99_ms_lb": base_open["p99_ms"],
        "baseline_trivial_p50_ms_lb": base_open["p50_ms"],
        "baseline_trivial_client_lag_p99_ms_lb": base_open["client_lag_p99_ms"],
        "baseline_trivial_cpu_ms_lb": base_open["cpu_ms"],
        "lb_offered_per_s": rate,
        # closed loop, --lb-concurrency connections: saturation
        "orders_per_s_lb_saturated": closed["per_s"],
        "order_p99_ms_lb_saturated": closed["p99_ms"],
        "order_p50_ms_lb_saturated": closed["p50_ms"],
        "order_statuses_lb_saturated": closed["statuses"],
        "order_cpu_ms_lb_saturated": closed["cpu_ms"],
        "baseline_trivial_per_s_lb_saturated": base_closed["per_s"],
        "baseline_trivial_p99_ms_lb_saturated": base_closed["p99_ms"],
        "lb_requests_per_replica": local["servers"],
        "orders_per_s_stripe_path": stripe_run["open"]["per_s"],
        "order_p99_ms_stripe_path": stripe_run["open"]["p99_ms"],
        "order_p50_ms_stripe_path": stripe_run["open"]["p50_ms"],
        "order_statuses_stripe_path": stripe_run["open"]["statuses"],
        "order_cpu_ms_stripe_path": stripe_run["open"]["cpu_ms"],
        "orders_per_s_stripe_path_saturated": stripe_run["closed"]["per_s"],
        "order_p99_ms_stripe_path_saturated": stripe_run["closed"]["p99_ms"],
        "order_cpu_ms_stripe_path_saturated": stripe_run["closed"]["cpu_ms"],
        "lb": "HAProxy 2.6 (Debian), round robin, keep-alive",
        "lb_replicas": args.lb_replicas,
        "lb_concurrency": conc,
        "payment_latency_ms": args.payment_latency_ms,
        "stripe_api": "scripts/stripe_fake.py (no stripe-mock installs from PyPI/npm/Debian)",
    }


def mark_paid(sessions: sessionmaker[Session], event_id: int, tier_id: int) -> None:
    with sessions() as s, s.begin():
        s.execute(
            update(Order)
            .where(Order.tier_id == tier_id, Order.state == OrderState.RESERVED)
            .values(state=OrderState.PAID, paid_at=datetime.now(UTC))
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    parser.add_argument("--orders", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--web-workers",
        type=int,
        default=os.cpu_count() or 2,
        help="uvicorn processes (default: one per core; more only add contention here)",
    )
    parser.add_argument("--mint-orders", type=int, default=3000)
    parser.add_argument("--baseline-mint-orders", type=int, default=200)
    parser.add_argument("--mint-quantity", type=int, default=2, help="tickets per minted order")
    parser.add_argument("--mint-workers", type=int, default=2, help="minting workers, own keys")
    parser.add_argument(
        "--only",
        choices=("orders", "lb", "mint", "queue"),
        help="run one part: orders (one server and the load balancer), lb (the balancer only), "
        "mint, queue (the waiting room under 10,000 fans: scripts/bench_queue.py; needs only "
        "Redis) (the others' figures are absent)",
    )
    parser.add_argument(
        "--block-time",
        type=float,
        default=2.0,
        help="with anvil in --nodes, mint again on Anvil mining a block every S seconds "
        "(keys ending _anvil_<S>s_blocks, with paid_to_minted_p50_s/_p95_s); 0: skip",
    )
    parser.add_argument(
        "--latency-orders", type=int, default=1000, help="orders paid over time (block-time run)"
    )
    parser.add_argument(
        "--paid-per-s", type=float, default=200.0, help="payment rate of the latency run (orders/s)"
    )
    parser.add_argument("--baseline-mint-orders-blocks", type=int, default=10)
    parser.add_argument(
        "--floor-batches",
        type=int,
        default=6,
        help="full batches of the worker's transaction sent pre-signed for the node's floor",
    )
    parser.add_argument(
        "--mint-in-flight",
        type=int,
        default=None,
        help="batches in flight per worker (default: settings; 4 in the block-time run)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="cProfile each minting worker of the batched run: PREFIX-<node>-<i>.prof",
    )
    parser.add_argument("--lb-replicas", type=int, default=2)
    parser.add_argument("--lb-concurrency", type=int, default=192)
    parser.add_argument("--lb-orders", type=int, default=8000)
    parser.add_argument(
        "--lb-rate",
        type=float,
        default=1000.0,
        help="arrivals per second of the open-loop runs through the balancer (the target rate)",
    )
    parser.add_argument("--payment-latency-ms", type=float, default=100.0)
    parser.add_argument(
        "--nodes",
        default="ganache",
        help=f"comma-separated nodes to mint on, of {', '.join(NODE_KINDS)} (default: ganache)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    nodes = [n.strip() for n in args.nodes.split(",") if n.strip()]
    unknown = [n for n in nodes if n not in NODE_KINDS]
    if not nodes or unknown:
        parser.error(f"--nodes: unknown {unknown or args.nodes!r}; choose of {NODE_KINDS}")
    result: dict[str, Any] = {}
    if args.only == "queue":
        result.update(run_queue_bench(), machine={"load_average": os.getloadavg()})
        nodes = []
    for i, node in enumerate(nodes):
        common, mint = run(args, node, do_orders=i == 0 and args.only != "mint")
        if i == 0:
            result.update(common)
            result["machine"]["chains"] = []
            result["machine"]["load_average"] = os.getloadavg()
        result["machine"]["chains"].append(mint.pop("chain"))
        result.update({f"{key}_{node}": value for key, value in mint.items()})
    if args.block_time > 0 and "anvil" in nodes and args.only in (None, "mint"):
        variant = f"anvil_{args.block_time:g}s_blocks"
        _, mint = run(args, "anvil", do_orders=False, block_time=args.block_time)
        result["machine"]["chains"].append(mint.pop("chain"))
        result.update({f"{key}_{variant}": value for key, value in mint.items()})
        nodes = [*nodes, variant]
    if args.only is None:
        result.update(run_queue_bench())
    result["nodes"] = nodes
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def run(
    args: argparse.Namespace, node: str, *, do_orders: bool, block_time: float = 0.0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One bench on one node: (figures of the order half, figures of the mint half). With
    ``block_time`` (Anvil), the node mines a block every so many seconds instead of one per
    transaction, and the mint half also times payment to minted at a steady payment rate."""
    do_mint = args.only not in ("orders", "lb")
    do_lb = do_orders and args.only != "mint"
    do_orders = do_orders and args.only != "lb"
    schema = "bench_" + secrets.token_hex(4)
    root = create_engine(PG_ROOT, isolation_level="AUTOCOMMIT")
    with root.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    timed = {"block_time_s": block_time} if block_time else {}
    chain_node = node_runner(node, free_port(), **timed).start()
    server = None
    try:
        home = Path(os.environ.get("TMPDIR", "/tmp")) / f"fairgate-bench-{schema}"
        settings = Settings(
            env="test",
            home=home,
            rpc_url=chain_node.url,
            receipt_timeout_s=120,
            database_url=f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
            f"&application_name={schema}",  # to find the database's CPU time (db_cpu_seconds)
            admin_api_key=SecretStr(secrets.token_hex(16)),
            order_rate_per_s=1e9,
            order_rate_burst=10**9,
            db_pool_size=10,
            block_time_s=block_time,
            mint_in_flight=args.mint_in_flight or (4 if block_time else 2),
        )
        from web3 import Web3

        w3 = Web3(Web3.HTTPProvider(chain_node.url, request_kwargs={"timeout": 120}))
        rpc = RpcCounter(w3)
        calls: dict[str, int] = {}
        sending = 0.0
        factory = deploy_platform(
            TransactionSender(w3, dev_signer(0), settings=settings), settings
        ).factory
        settings = settings.model_copy(update={"factory_address": factory})
        engine = make_engine(settings)
        upgrade(engine)
        sessions = session_factory(engine)
        chain = BridgeAccounts(w3, settings, operator=dev_signer(0), minter=dev_signer(1))
        with sessions() as s:
            _, key = create_organizer(s, "Bench", None)
            s.commit()

        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRGATE_")}
        env.update(
            {
                "FAIRGATE_ENV": "test",
                "FAIRGATE_HOME": str(home),
                "FAIRGATE_DATABASE_URL": settings.database_url or "",
                "FAIRGATE_RPC_URL": chain_node.url,
                "FAIRGATE_FACTORY_ADDRESS": factory,
                "FAIRGATE_ORDER_RATE_PER_S": "1e9",
                "FAIRGATE_ORDER_RATE_BURST": "1000000000",
                "FAIRGATE_DB_POOL_SIZE": "10",
                "FAIRGATE_MINTER_ADDRESSES": ",".join(
                    dev_signer(1 + i).address for i in range(1, args.mint_workers)
                ),
            }
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api",
                "--port",
                str(port),
                "--workers",
                str(args.web_workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        now = datetime.now(UTC)
        tier = {
            "name": "GA",
            "price_cents": 5000,
            "face_value_wei": 10**15,
            "supply": 100_000,
            "resale_cap_bps": 11000,
            "royalty_bps": 500,
            "resale_opens_at": 0,
            "resale_closes_at": 0,
        }
        body = {
            "name": "Bench",
            "symbol": "BNCH",
            "starts_at": (now + timedelta(days=30)).isoformat(),
            "ends_at": (now + timedelta(days=31)).isoformat(),
            "tiers": [tier, {**tier, "name": "Baseline"}, {**tier, "name": "Mint"}],
        }
        event = httpx.post(
            url + "/organizer/events", json=body, headers={"X-API-Key": key}, timeout=60
        ).json()
        print(f"[{node}] event {event.get('id')}: {event.get('state')}", file=sys.stderr)
        tier_id, baseline_tier_id = event["tiers"][0]["id"], event["tiers"][1]["id"]
        mint_tier_id = event["tiers"][2]["id"]

        def order(tid: int) -> dict[str, Any]:
            return {
                "event_id": event["id"],
                "tier_id": tid,
                "quantity": 1,
                "email": "fan@example.com",
                "wallet": "0x" + secrets.token_hex(20),
                "commitments": commitments(1),
            }

        orders: dict[str, Any] = {}
        baseline: dict[str, Any] = {}
        if do_orders:
            asyncio.run(load(url, "/health/live", None, 500, args.concurrency))  # warm-up
            cpu = cpu_seconds(server.pid)
            baseline = asyncio.run(load(url, "/health/live", None, args.orders, args.concurrency))
            baseline["server_cpu_ms"] = (cpu_seconds(server.pid) - cpu) * 1000 / args.orders
            # warm-up as the baseline had: connections, prepared statements, the tier's cache
            warm = [order(tier_id) for _ in range(500)]
            asyncio.run(load(url, "/orders", warm, len(warm), args.concurrency))
            bodies = [order(tier_id) for _ in range(args.orders)]
            cpu = cpu_seconds(server.pid)
            orders = asyncio.run(load(url, "/orders", bodies, args.orders, args.concurrency))
            orders["server_cpu_ms"] = (cpu_seconds(server.pid) - cpu) * 1000 / args.orders
        server.terminate()
        server.wait(20)
        server = None
        lb: dict[str, Any] = {}
        if do_lb:
            lb = lb_figures(args, env, order=lambda: order(tier_id))

        # minting: orders of --mint-quantity tickets to distinct wallets, created through the
        # service as the API does; baseline one order per transaction, then batched
        with sessions() as s, s.begin():  # the load test's orders are not part of this
            s.execute(text("UPDATE orders SET state='expired' WHERE state='reserved'"))
        from api.payments.local import LocalProvider
        from api.schemas import OrderCreate
        from api.services.orders import create_order

        provider = LocalProvider(settings)

        def paid_orders_reserved(tid: int, n: int) -> None:
            with sessions() as s:
                for _ in range(n):
                    body = {
                        **order(tid),
                        "quantity": args.mint_quantity,
                        "commitments": commitments(args.mint_quantity),
                    }
                    create_order(s, provider, settings, OrderCreate(**body))

        def paid_orders(tid: int, n: int) -> None:
            with sessions() as s:
                for _ in range(n):
                    body = {
                        **order(tid),
                        "quantity": args.mint_quantity,
                        "commitments": commitments(args.mint_quantity),
                    }
                    create_order(s, provider, settings, OrderCreate(**body))
            mark_paid(sessions, event["id"], tid)

        base_minted, base_elapsed, minted, elapsed, chain_cpu = 0, 1.0, 0, 1.0, 1.0
        floor: dict[str, Any] = {}
        cpu_figures: dict[str, Any] = {}
        latency: dict[str, Any] = {}
        if do_mint:
            paid_orders(
                baseline_tier_id,
                args.baseline_mint_orders_blocks if block_time else args.baseline_mint_orders,
            )
            one = settings.model_copy(update={"mint_batch_max_orders": 1})
            base_minted, base_elapsed = mint_all(sessions, [chain], engine, one)
            print(f"[{node}] one tx per order: {base_minted} tickets", file=sys.stderr)
            paid_orders(mint_tier_id, args.mint_orders)
            node_pid = chain_node.pid
            assert node_pid is not None
            floor_runs: list[dict[str, Any]] = []

            def measure_floor(batches: int, ref_base: int) -> None:
                if block_time or batches <= 0:
                    return
                floor_runs.append(
                    mint_floor(
                        w3,
                        node_pid,
                        settings,
                        contract=event["contract_address"],
                        tier_index=event["tiers"][2]["tier_index"],
                        event_id=event["id"],
                        signers=[dev_signer(1)],
                        quantity=args.mint_quantity,
                        batches=batches,
                        ref_base=ref_base,
                    )
                )
                print(f"[{node}] floor run: {floor_runs[-1]}", file=sys.stderr)

            # the floor: half its batches before the worker's run, half after (refs far above the
            # worker's, so never an order of the run)
            measure_floor((args.floor_batches + 1) // 2, 1 << 40)
            chains = [chain] + [
                BridgeAccounts(w3, settings, operator=dev_signer(0), minter=dev_signer(1 + i))
                for i in range(1, args.mint_workers)
            ]
            first_block = int(w3.eth.block_number) + 1
            chain_cpu = process_cpu_seconds(node_pid)
            db_cpu = db_cpu_seconds(root, schema)
            own_cpu = time.process_time()
            calls_before = rpc.snapshot()
            began = time.perf_counter()
            profile = args.profile and args.profile.parent / f"{args.profile.name}-{node}"
            minted, elapsed = mint_all(sessions, chains, engine, settings, profile=profile)
            calls = rpc.since(calls_before)
            sending = rpc.sending_fraction(began, began + elapsed)
            own_cpu = time.process_time() - own_cpu
            db_cpu = db_cpu_seconds(root, schema) - db_cpu
            chain_cpu = process_cpu_seconds(node_pid) - chain_cpu
            per_ticket = {
                "worker_cpu_us_per_ticket": 1e6 * own_cpu / max(minted, 1),
                "db_cpu_us_per_ticket": 1e6 * db_cpu / max(minted, 1),
                "node_cpu_us_per_ticket": 1e6 * chain_cpu / max(minted, 1),
            }
            total_us = sum(per_ticket.values())
            cpu_figures = {k: round(v, 1) for k, v in per_ticket.items()} | {
                # all three on one core, one after the other: what the machine's CPU allows
                # whatever the load (on 2 quiet cores, up to twice this)
                "tickets_per_cpu_s": round(1e6 / total_us, 1) if total_us else None,
            }
            gas = sum(
                int(w3.eth.get_block(n)["gasUsed"])
                for n in range(first_block, int(w3.eth.block_number) + 1)
            )
            cpu_figures["gas_per_ticket"] = round(gas / max(minted, 1))
            if block_time:
                # the floor of a chain with a block time is its block gas: what fits per second
                limit = int(w3.eth.get_block("latest")["gasLimit"])
                floor = {
                    "block_gas_limit": limit,
                    "floor_tickets_per_s": round(limit / (gas / max(minted, 1)) / block_time, 1),
                }
                latency = latency_run(
                    args, sessions, chains, engine, settings, tier_id, paid_orders_reserved
                )
            else:
                measure_floor(args.floor_batches // 2, 1 << 41)
                floor = chain_floor(w3, node_pid, args.mint_quantity)
                if floor_runs:
                    floor |= floor_figures(floor_runs)
        common = {
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "db": "PostgreSQL 15 (local)",
            },
            "orders_per_s": orders.get("per_s"),
            "order_p99_ms": orders.get("p99_ms"),
            "order_p50_ms": orders.get("p50_ms"),
            "order_statuses": orders.get("statuses"),
            "order_server_cpu_ms": round(orders.get("server_cpu_ms", 0.0), 3),
            "baseline_trivial_per_s": baseline.get("per_s"),
            "baseline_trivial_p99_ms": baseline.get("p99_ms"),
            "baseline_trivial_p50_ms": baseline.get("p50_ms"),
            "baseline_trivial_server_cpu_ms": round(baseline.get("server_cpu_ms", 0.0), 3),
            **lb,
            "concurrency": args.concurrency,
            "web_workers": args.web_workers,
            "mint_batch_max_tickets": settings.mint_batch_max_tickets,
            "mint_quantity": args.mint_quantity,
            "mint_workers": args.mint_workers,
            "targets": {
                "orders_per_s": ">= 1000",
                "order_p99_ms": "<= 100",
                "orders_per_s_lb": ">= 1000",
                "order_p99_ms_lb": "<= 150",
                "tickets_minted_per_s_anvil": ">= 3000",
                "tickets_minted_per_s_ganache": ">= 80 % of floor_tickets_per_s_ganache",
            },
        }
        mining = f"a block every {block_time:g} s" if block_time else "automine"
        mint: dict[str, Any] = {
            "chain": f"{w3.client_version} ({mining})",
        }
        if do_mint:
            mint |= {
                "tickets_minted_per_s": round(minted / elapsed, 1),
                "tickets_minted": minted,
                # the node's own CPU time while the workers minted: busy fraction near 1 means the
                # chain bounds the figure; tickets per node CPU-second is that bound
                "node_cpu_ms_per_order": round(
                    1000 * chain_cpu / max(minted // args.mint_quantity, 1), 2
                ),
                "node_busy_fraction": round(chain_cpu / elapsed, 2),
                "node_bound_tickets_per_s": round(minted / chain_cpu, 1) if chain_cpu > 0 else None,
                # the node alone on the worker's transaction (mint_floor), or the block gas
                # (a chain with a block time); the old ChainProbe figure as probe_floor_*
                **floor,
                "floor_fraction": (
                    round(minted / elapsed / floor["floor_tickets_per_s"], 3)
                    if floor.get("floor_tickets_per_s")
                    else None
                ),
                # the same ratio from counts that the machine's load does not move as much: the
                # part of the run the node had a mint to execute, times the floor's node CPU
                # per ticket over the run's (only where a send returns once mined: Ganache)
                "floor_fraction_at_equal_share": (
                    round(
                        sending
                        * floor["floor_node_cpu_us_per_ticket"]
                        / cpu_figures["node_cpu_us_per_ticket"],
                        3,
                    )
                    if node == "ganache"
                    and floor.get("floor_node_cpu_us_per_ticket")
                    and cpu_figures.get("node_cpu_us_per_ticket")
                    else None
                ),
                **cpu_figures,
                # the worker's JSON-RPC requests per order minted, by method
                "rpc_calls_per_order": {
                    k: round(v / max(minted // args.mint_quantity, 1), 4) for k, v in calls.items()
                },
                "sending_fraction": round(sending, 3),
                "rpc_calls_per_batch": round(
                    sum(calls.values()) / max(calls.get("eth_sendRawTransaction", 0), 1), 2
                ),
                "baseline_one_tx_per_order_tickets_per_s": round(base_minted / base_elapsed, 1),
                "baseline_tickets_minted": base_minted,
                "mint_in_flight": settings.mint_in_flight,
                **latency,
            }
        return common, mint
    finally:
        if server is not None:
            server.terminate()
        chain_node.stop()
        with root.connect() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
