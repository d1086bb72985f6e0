"""What the ticket e-mails' outbox costs the minting worker, beside a baseline of the same run.

    .venv/bin/python scripts/bench_outbox.py [--orders 200] [--rounds 30] [--json PATH]

The minting worker records a batch in one transaction (``minting._finalize``); the outbox adds one
multi-row ``INSERT ... ON CONFLICT DO NOTHING`` of the batch's orders to it
(:func:`api.services.notifications.enqueue`). On a fresh schema of the local PostgreSQL (database
``test``, built by the real migrations), each round commits the batch's order history (the
INSERT that ``_finalize`` already makes, N rows) alone, then with the outbox INSERT, on fresh
orders each time, alternating so both see the same load. Figures are medians over the rounds:

* ``finalize_baseline_ms``: a transaction with the history INSERT of ``--orders`` orders;
* ``finalize_with_outbox_ms``: the same plus the outbox INSERT;
* ``outbox_ms_per_order``: the difference per order.

Measured on a loaded shared machine, the figures are pessimistic; rerun it quietly.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.migrate import upgrade
from api.models import Event as EventRow
from api.models import MailKind, Order, OrderEvent, Organizer, utcnow
from api.models import Tier as TierRow
from api.services.notifications import enqueue

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200, help="orders per batch")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    schema = "fg_bench_" + secrets.token_hex(4)
    root = create_engine(PG, isolation_level="AUTOCOMMIT")
    with root.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(PG + f"?options=-csearch_path%3D{schema}")
    try:
        figures = _measure(engine, args.orders, args.rounds)
    finally:
        engine.dispose()
        with root.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        root.dispose()
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


def _measure(engine, n: int, rounds: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    upgrade(engine)
    now = utcnow()
    with engine.begin() as conn:
        organizer = conn.execute(insert(Organizer).values(name="bench").returning(Organizer.id))
        organizer_id = organizer.scalar_one()
        event_id = conn.execute(
            insert(EventRow)
            .values(
                organizer_id=organizer_id,
                name="bench",
                symbol="B",
                starts_at=now.replace(tzinfo=None) + timedelta(days=30),
                ends_at=now.replace(tzinfo=None) + timedelta(days=31),
            )
            .returning(EventRow.id)
        ).scalar_one()
        tier_id = conn.execute(
            insert(TierRow)
            .values(
                event_id=event_id,
                tier_index=0,
                name="GA",
                price_cents=5000,
                face_value_wei="1000000000000000",
                supply=10**6,
                resale_cap_bps=11_000,
                royalty_bps=500,
                resale_opens_at=0,
                resale_closes_at=0,
            )
            .returning(TierRow.id)
        ).scalar_one()

    def fresh_orders() -> list[str]:
        ids = [uuid.uuid4().hex for _ in range(n)]
        with engine.begin() as conn:
            conn.execute(
                insert(Order),
                [
                    {
                        "id": i,
                        "event_id": event_id,
                        "tier_id": tier_id,
                        "quantity": 1,
                        "email": "fan@example.com",
                        "commitments": ["0x01"],
                        "token_hash": "0" * 64,
                        "state": "minted",
                        "amount_cents": 5000,
                        "currency": "usd",
                        "provider": "local",
                        "expires_at": now,
                    }
                    for i in ids
                ],
            )
        return ids

    def finalize(ids: list[str], outbox: bool) -> float:
        at = utcnow()
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(
                insert(OrderEvent),
                [
                    {"order_id": i, "from_state": "minting", "to_state": "minted",
                     "reason": "tickets 1..1 in 0x" + "ab" * 32, "at": at}
                    for i in ids
                ],
            )  # fmt: skip
            if outbox:
                enqueue(conn, [(i, MailKind.MINTED) for i in ids], at)
        return (time.perf_counter() - start) * 1000

    finalize(fresh_orders(), True)  # warm-up: connections, statement caches
    finalize(fresh_orders(), False)
    base: list[float] = []
    with_outbox: list[float] = []
    for _ in range(rounds):
        base.append(finalize(fresh_orders(), False))
        with_outbox.append(finalize(fresh_orders(), True))
    b, w = statistics.median(base), statistics.median(with_outbox)
    return {
        "orders_per_batch": n,
        "rounds": rounds,
        "finalize_baseline_ms": round(b, 2),
        "finalize_with_outbox_ms": round(w, 2),
        "outbox_ms_per_order": round((w - b) / n, 4),
    }


if __name__ == "__main__":
    main()
