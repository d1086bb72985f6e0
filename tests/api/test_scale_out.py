"""Scale-out on real parts (api.cluster): 2 bridge replicas behind HAProxy, 2 minting workers,
one PostgreSQL, one Redis, under a steady order load; one replica and one worker are SIGKILLed
mid-run and restarted. Afterwards every accepted order is in PostgreSQL, every paid order has
exactly its tickets on-chain, one client's rate limit held across both replicas, and the balancer
stopped sending to the dead replica (how fast is printed, and bounded only generously: speed
belongs to scripts/bench_orders.py). And a replica that is alive but has lost PostgreSQL leaves the
balancer's rotation (its health check is the readiness, not the liveness) and comes back with it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import bridge_env, create_event, order_body
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.cluster import Cluster
from api.models import Order, OrderState, Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.ganache, pytest.mark.redis, pytest.mark.slow]

RATE, BURST = 0.5, 8  # per client: one budget for both replicas
FEEDERS = 6


def test_two_replicas_and_two_workers_survive_a_sigkill_under_load(
    app_client: TestClient,
    organizer_key: str,
    settings: Any,
    db: Any,
    bridge_chain: Any,
    w3: Any,
    redis_url: str,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    event = create_event(app_client, organizer_key, supply=5000)
    env = bridge_env(
        settings,
        FAIRGATE_REDIS_URL=redis_url,
        FAIRGATE_REDIS_PREFIX=redis_prefix,
        FAIRGATE_ORDER_RATE_PER_S=str(RATE),
        FAIRGATE_ORDER_RATE_BURST=str(BURST),
        FAIRGATE_MINT_BATCH_MAX_ORDERS="8",
        FAIRGATE_DB_POOL_SIZE="5",
    )
    cluster = Cluster(env, tmp_path / "cluster", replicas=2, workers=2, check_ms=300).start()
    accepted: list[dict[str, Any]] = []
    paid: list[dict[str, Any]] = []
    failures: Counter[str] = Counter()
    stop = threading.Event()

    def feed(n: int) -> None:
        """A stream of fans (each its own address, so its own budget): order, then pay."""
        with httpx.Client(base_url=cluster.url, timeout=30) as client:
            i = 0
            while not stop.is_set():
                i += 1
                fan = {"X-Forwarded-For": f"10.{n}.{i // 250}.{i % 250 + 1}"}
                wallet = "custody" if i % 2 else "0x" + f"{n:02x}{i:038x}"
                try:
                    body = order_body(event, 1 + i % 2, wallet)
                    r = client.post("/orders", json=body, headers=fan)
                except httpx.HTTPError as exc:
                    failures[type(exc).__name__] += 1
                    continue
                if r.status_code != 201:
                    failures[str(r.status_code)] += 1  # a request in flight at the killed replica
                    continue
                order = r.json()
                accepted.append(order)
                try:
                    p = client.post(
                        f"/checkout/{order['payment_ref']}",
                        json={"card_number": "4242424242424242"},
                    )
                except httpx.HTTPError as exc:
                    failures["pay " + type(exc).__name__] += 1
                    continue
                if p.status_code == 200:
                    paid.append(order)
                else:
                    failures[f"pay {p.status_code}"] += 1

    def greedy() -> list[int]:
        """One client, as fast as it can, alternating replicas through the balancer."""
        with httpx.Client(base_url=cluster.url, timeout=30) as client:
            return [
                client.post(
                    "/orders",
                    json=order_body(event, 1),
                    headers={"X-Forwarded-For": "203.0.113.7"},
                ).status_code
                for _ in range(4 * BURST)
            ]

    pool = ThreadPoolExecutor(FEEDERS)
    try:
        feeders = [pool.submit(feed, n) for n in range(FEEDERS)]
        time.sleep(3)
        started = time.monotonic()
        greedy_statuses = greedy()
        greedy_s = time.monotonic() - started
        before_kill = len(accepted)

        cluster.kill_replica(1)
        cluster.kill_worker(1)
        killed = time.monotonic()
        while cluster.balancer.servers()["r1"]["status"] != "DOWN":  # type: ignore[union-attr]
            assert time.monotonic() - killed < 30, "the balancer never noticed the dead replica"
            time.sleep(0.02)
        out_after_s = time.monotonic() - killed
        sent_to_dead = int(cluster.balancer.servers()["r1"]["stot"])  # type: ignore[union-attr]
        time.sleep(2)  # load goes on, on one replica and one worker
        during_outage = len(accepted)
        assert int(cluster.balancer.servers()["r1"]["stot"]) == sent_to_dead  # type: ignore[union-attr]

        cluster.start_replica(1)
        cluster.start_worker(1)
        cluster.wait_replica(1)
        while cluster.balancer.servers()["r1"]["status"] != "UP":  # type: ignore[union-attr]
            time.sleep(0.1)
        time.sleep(2)
        back = int(cluster.balancer.servers()["r1"]["stot"])  # type: ignore[union-attr]
        assert back > sent_to_dead  # the restarted replica takes its share again
    finally:
        stop.set()
        pool.shutdown(wait=True)
    for f in feeders:
        f.result()
    print(
        f"\nbalancer took the dead replica out after {out_after_s * 1000:.0f} ms; "
        f"orders {before_kill} before the kill, {during_outage} after 2 s on one replica, "
        f"{len(accepted)} accepted, {len(paid)} paid; refused/failed: {dict(failures)}"
    )
    assert out_after_s < 10  # generous: a correctness bound, not a speed figure
    # refusals only where a replica died with the request in flight (502, a cut connection)
    assert not {"500", "pay 500", "409", "pay 409"} & set(failures), failures

    # one budget across both replicas: per process, this client would have had 2 x BURST
    assert greedy_statuses.count(201) <= BURST + RATE * greedy_s + 1, greedy_statuses
    assert greedy_statuses.count(429) >= 2 * BURST, greedy_statuses

    try:  # the workers (one of them restarted) mint every paid order
        deadline = time.monotonic() + 240
        paid_ids = {o["id"] for o in paid}
        while True:
            with db() as s:
                states = dict(s.execute(select(Order.id, Order.state)).all())
            if all(states.get(i) == OrderState.MINTED for i in paid_ids):
                break
            assert time.monotonic() < deadline, Counter(states[i] for i in paid_ids)
            time.sleep(0.5)
    finally:
        cluster.stop()

    with db() as s:
        rows = {o.id: o for o in s.scalars(select(Order)).all()}
        tickets = s.scalars(select(Ticket)).all()
    for order in accepted:  # every accepted order is in PostgreSQL, as it was answered
        row = rows[order["id"]]
        assert row.quantity == order["quantity"] and row.payment_ref == order["payment_ref"]
    assert len(paid) > 20 and len(accepted) > len(paid) / 2

    contract = bridge_chain.event(event["contract_address"])
    issued = contract.issued_since(0)
    per_ref = Counter(i.order_ref for i in issued)
    assert all(n == 1 for n in per_ref.values()), "an order was minted twice"
    by_ref = {rows[o["id"]].order_ref: rows[o["id"]] for o in paid}
    assert set(by_ref) <= set(per_ref)  # every paid order on-chain, once
    for e in issued:
        row = by_ref.get(e.order_ref)
        if row is None:
            continue
        assert list(e.commitments) == row.commitments
        holder = row.wallet or bridge_chain.custody.address
        assert e.holder.lower() == holder.lower()
    mine = [t for t in tickets if t.order_id in {o["id"] for o in paid}]
    assert len(mine) == sum(o["quantity"] for o in paid)  # exactly its tickets, no more


class Cuttable:
    """A TCP forwarder to PostgreSQL (127.0.0.1:5432) that can be cut: a replica's only way to
    its database, so its network to PostgreSQL fails while PostgreSQL itself keeps serving the
    others. Cut: every open connection is closed and new ones are closed on arrival."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.cut = threading.Event()
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
            with self.lock:
                self.open.discard(s)

    def sever(self) -> None:
        self.cut.set()
        with self.lock:
            for s in list(self.open):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.cut.clear()

    def close(self) -> None:
        self.sever()
        self.listener.close()


def test_a_replica_without_postgresql_leaves_the_rotation_and_comes_back(
    app_client: TestClient,
    organizer_key: str,
    settings: Any,
    redis_url: str,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    event = create_event(app_client, organizer_key, supply=500)
    env = bridge_env(settings, FAIRGATE_REDIS_URL=redis_url, FAIRGATE_REDIS_PREFIX=redis_prefix)
    forwarder = Cuttable()
    assert "127.0.0.1:5432" in settings.database_url
    cut_url = settings.database_url.replace("127.0.0.1:5432", f"127.0.0.1:{forwarder.port}")
    cluster = Cluster(
        env,
        tmp_path / "cluster",
        replicas=2,
        workers=0,
        check_ms=200,
        replica_env=[{}, {"FAIRGATE_DATABASE_URL": cut_url}],
    )

    def status(name: str) -> str:
        return cluster.balancer.servers()[name]["status"]  # type: ignore[union-attr]

    def sent(name: str) -> int:
        return int(cluster.balancer.servers()[name]["stot"])  # type: ignore[union-attr]

    def wait_for(name: str, wanted: str) -> float:
        started = time.monotonic()
        while status(name) != wanted:
            assert time.monotonic() - started < 30, f"{name} never {wanted}: {status(name)}"
            time.sleep(0.02)
        return time.monotonic() - started

    def orders(client: httpx.Client, n: int) -> Counter[int]:
        return Counter(
            client.post("/orders", json=order_body(event, 1)).status_code for _ in range(n)
        )

    cluster.start()
    try:
        wait_for("r0", "UP")
        wait_for("r1", "UP")
        with httpx.Client(base_url=cluster.url, timeout=30) as client:
            assert orders(client, 10) == {201: 10}
            assert sent("r1") > 0  # both replicas serve

            forwarder.sever()  # replica 1 alive, its PostgreSQL gone
            out_s = wait_for("r1", "DOWN")
            replica1 = f"http://127.0.0.1:{cluster.replica_ports[1]}"
            assert httpx.get(replica1 + "/health/live").status_code == 200  # alive
            ready = httpx.get(replica1 + "/health/ready", timeout=10)
            assert ready.status_code == 503, ready.text
            assert not ready.json()["checks"]["database"]["ok"]
            assert status("r0") == "UP"
            before = sent("r1")
            assert orders(client, 20) == {201: 20}  # none lost to the replica without a database
            assert sent("r1") == before

            forwarder.restore()
            back_s = wait_for("r1", "UP")
            before = sent("r1")
            assert orders(client, 10) == {201: 10}
            assert sent("r1") > before  # in rotation again
    finally:
        cluster.stop()
        forwarder.close()
    print(f"\nreplica without PostgreSQL out after {out_s:.2f} s, back after {back_s:.2f} s")
