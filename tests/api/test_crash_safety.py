"""Crash safety: minting workers SIGKILLed at random points, many times, while orders flow.

Afterwards every paid order has exactly its tickets on-chain (one TicketsIssued per orderRef,
with the order's commitments, to its holder) and nothing was minted twice. Two workers share the
minter key half of the time (the advisory send lock and nonce resync are exercised too).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from api_helpers import bridge_env, create_event, pay, place_order
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from hexbytes import HexBytes
from sqlalchemy import select

from api.chain import TICKETS_ISSUED
from api.models import MintBatch, Order, OrderState, Ticket
from fairgate.settings import PROJECT_ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.ganache, pytest.mark.slow]
KILLS = 20
ORDERS = 120


def start_worker(settings) -> subprocess.Popen[bytes]:
    env = bridge_env(
        settings, FAIRGATE_MINT_BATCH_MAX_ORDERS="8", FAIRGATE_MINT_REPLACE_AFTER_S="5"
    )
    return subprocess.Popen(
        [sys.executable, "-m", "api.worker", "--no-index", "--log-level", "warning"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_many_times_no_loss_no_double(
    app_client: TestClient,
    organizer_key: str,
    settings,
    db,
    bridge_chain,
    w3,
    fans: list[LocalAccount],
) -> None:
    rng = random.Random(1234)
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
            time.sleep(rng.uniform(0, 0.03))

    feeder = threading.Thread(target=feed)
    feeder.start()
    kills = 0
    try:
        while kills < KILLS:
            workers = [start_worker(settings) for _ in range(rng.choice([1, 2]))]
            time.sleep(rng.uniform(1.0, 3.5))
            for w in workers:
                w.send_signal(signal.SIGKILL)
                w.wait()
            kills += 1
    finally:
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

    contract = bridge_chain.event(event["contract_address"])
    logs = w3.eth.get_logs(
        {
            "address": contract.address,
            "fromBlock": 0,
            "toBlock": "latest",
            "topics": ["0x" + TICKETS_ISSUED.hex()],
        }
    )
    issued = [e for e in contract.decoder.decode_all(logs) if e.name == "TicketsIssued"]
    per_ref = Counter("0x" + bytes(e.args["orderRef"]).hex() for e in issued)
    assert all(n == 1 for n in per_ref.values()), "an order was minted twice"
    with db() as s:
        orders = {o.order_ref: o for o in s.scalars(select(Order)).all()}
        tickets = s.scalars(select(Ticket)).all()
    assert set(per_ref) == set(orders)
    total = sum(o.quantity for o in orders.values())
    assert int(contract.call("nextTokenId")) == total == len(tickets)
    for e in issued:
        order = orders["0x" + bytes(e.args["orderRef"]).hex()]
        assert ["0x" + bytes(c).hex() for c in e.args["commitments"]] == order.commitments
        holder = order.wallet or bridge_chain.custody.address
        assert e.args["holder"] == holder
    for t in rng.sample(list(tickets), 20):
        assert contract.call("ownerOf", t.token_id) == t.holder
    assert len({(t.event_id, t.token_id) for t in tickets}) == len(tickets)
    _ = HexBytes
