"""Crash safety: minting workers SIGKILLed inside batches, many times, while orders flow.

Afterwards every paid order has exactly its tickets on-chain (one TicketsIssued per orderRef,
with the order's commitments, to its holder) and nothing was minted twice. Two workers share the
minter key half of the time (the advisory send lock and nonce resync are exercised too).

Where a kill lands matters, so it is not left to a random sleep (which, on a loaded machine, often
killed a worker before its first batch): each worker kills itself at a named point of a batch
(``api.services.minting.MINT_POINTS``: claimed, sent, recorded, mined, finalized), every point
several times, alone or beside a second worker. Those workers are forks of one process that
imported the worker once (mint_crash_child.py), not a Python start-up each.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from api_helpers import bridge_env, create_event, pay, place_order
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from hexbytes import HexBytes
from sqlalchemy import select

from api.models import MintBatch, Order, OrderState, Ticket
from api.services.minting import MINT_POINTS
from fairgate.settings import PROJECT_ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.ganache, pytest.mark.slow]
KILLS = 20
ORDERS = 120


CHILD = Path(__file__).with_name("mint_crash_child.py")
ROUND_TIMEOUT_S = 180  # a worker that never reaches its point is killed then, at the latest
IDLE_S = 3.0  # ... or once nothing has been left to batch for this long


def worker_env(settings) -> dict[str, str]:
    return bridge_env(
        settings, FAIRGATE_MINT_BATCH_MAX_ORDERS="4", FAIRGATE_MINT_REPLACE_AFTER_S="5"
    )


def start_worker(settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.worker", "--no-index", "--log-level", "warning"],
        cwd=PROJECT_ROOT,
        env=worker_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class Zygote:
    """mint_crash_child.py: forks workers that kill themselves at a point (pids, not Popens)."""

    def __init__(self, settings, landed: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(landed)],
            cwd=PROJECT_ROOT,
            env=worker_env(settings),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def fork(self, point: str) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(point + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    @staticmethod
    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)  # the zygote reaps its workers: a dead one is gone
        except ProcessLookupError:
            return False
        return True

    def kill(self, pid: int) -> None:
        if self.alive(pid):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while self.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def test_sigkill_many_times_no_loss_no_double(
    app_client: TestClient,
    organizer_key: str,
    settings,
    db,
    bridge_chain,
    w3,
    fans: list[LocalAccount],
    tmp_path: Path,
) -> None:
    rng = random.Random(1234)
    landed = tmp_path / "landed.txt"
    landed.touch()
    event = create_event(app_client, organizer_key, supply=1000)
    placed: list[dict] = []
    stop = threading.Event()

    def feed() -> None:
        for i in range(ORDERS):
            if stop.is_set():
                return
            wallet = "custody" if i % 3 == 0 else fans[i % len(fans)].address
            order = place_order(app_client, event, rng.randint(1, 3), wallet)
            pay(app_client, order)
            placed.append(order)

    feeder = threading.Thread(target=feed)
    feeder.start()
    zygote = Zygote(settings, landed)
    kills = 0
    try:
        while kills < KILLS:
            # every point in turn; every other round a second worker (same key) dies elsewhere
            points = [MINT_POINTS[kills % len(MINT_POINTS)]]
            if kills % 2:
                points.append(MINT_POINTS[(kills + 2) % len(MINT_POINTS)])
            workers = [zygote.fork(p) for p in points]
            deadline = time.monotonic() + ROUND_TIMEOUT_S
            idle_since: float | None = None
            while any(map(zygote.alive, workers)) and time.monotonic() < deadline:
                with db() as s:
                    paid = s.scalar(select(Order.id).where(Order.state == OrderState.PAID))
                if paid is None and not feeder.is_alive():  # nothing left to batch
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > IDLE_S:
                        break
                else:
                    idle_since = None
                time.sleep(0.1)
            for w in workers:  # a worker still alive never reached its point
                zygote.kill(w)
            kills += 1
    finally:
        zygote.close()
        feeder.join()
    # one last worker drains the queue (and reconciles whatever the killed ones left)
    final = start_worker(settings)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with db() as s:
                states = Counter(s.scalars(select(Order.state)).all())
            if set(states) == {OrderState.MINTED}:
                break
            time.sleep(0.5)
    finally:
        final.terminate()
        final.wait(20)
    assert states == {OrderState.MINTED: ORDERS}, states
    with db() as s:
        reconciled = s.scalars(
            select(MintBatch.error).where(MintBatch.error.like("reconciled%"))
        ).all()
    assert reconciled, "no kill landed inside a batch: the test proved nothing"
    where = Counter(landed.read_text().split())
    assert set(where) == set(MINT_POINTS), where  # a kill landed at every point

    contract = bridge_chain.event(event["contract_address"])
    issued = contract.issued_since(0)
    per_ref = Counter(i.order_ref for i in issued)
    assert all(n == 1 for n in per_ref.values()), "an order was minted twice"
    with db() as s:
        orders = {o.order_ref: o for o in s.scalars(select(Order)).all()}
        tickets = s.scalars(select(Ticket)).all()
    assert set(per_ref) == set(orders)
    total = sum(o.quantity for o in orders.values())
    assert contract.next_token_id() == total == len(tickets)
    for e in issued:
        order = orders[e.order_ref]
        assert list(e.commitments) == order.commitments
        holder = order.wallet or bridge_chain.custody.address
        assert e.holder == holder
    for t in rng.sample(list(tickets), 20):
        assert contract.owner_of(t.token_id) == t.holder
    assert len({(t.event_id, t.token_id) for t in tickets}) == len(tickets)
    _ = HexBytes
