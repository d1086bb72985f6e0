"""The bridge's and the minting worker's metrics (see :mod:`fairgate.metrics` for how each
process is scraped). Counts only: labels are reasons, outcomes, states and numeric event ids,
never an identity.

Incremented where things happen (this process's own counters):

* ``fairgate_reservation_failures_total{reason}``: an order refused (sold_out, not_found,
  invalid_state, rate_limited, queue_*...): the error code of the answer;
* ``fairgate_webhooks_total{provider, outcome}``: verified webhooks by what they did (paid,
  declined, duplicate, refunded, ignored...) and ``rejected`` ones (failed verification);
* ``fairgate_mint_batch_orders`` / ``_tickets`` / ``_seconds``: each minting batch (worker);
* ``fairgate_indexer_head_lag_blocks``: head minus the oldest cursor of the indexed events
  (worker, after each indexer pass).

Read at scrape time from the shared stores, so every replica reports the same value (take
``max`` across replicas, not ``sum``):

* ``fairgate_orders{state}``: orders by state (PostgreSQL);
* ``fairgate_gate_verdicts_total{verdict, reason}``: check-ins (admitted) and refusals by reason
  that gate devices pushed through the hub;
* ``fairgate_queue_length{event}``, ``fairgate_queue_joined_total{event}``,
  ``fairgate_queue_admitted_total{event}`` (waiting rooms in Redis; rate() of the last is the
  admission rate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from api.models import Order

RESERVATION_FAILURES = Counter(
    "fairgate_reservation_failures_total",
    "Orders refused, by the error code of the answer",
    ["reason"],
)
WEBHOOKS = Counter(
    "fairgate_webhooks_total",
    "Payment webhooks received, by provider and outcome",
    ["provider", "outcome"],
)
MINT_BATCH_ORDERS = Histogram(
    "fairgate_mint_batch_orders",
    "Orders per minting batch",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
MINT_BATCH_TICKETS = Histogram(
    "fairgate_mint_batch_tickets",
    "Tickets per minting batch",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
MINT_BATCH_SECONDS = Histogram(
    "fairgate_mint_batch_seconds",
    "Time to mint one batch (sent, receipts awaited, recorded)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
MINT_BATCHES = Counter("fairgate_mint_batches_total", "Minting batches by result", ["result"])
INDEXER_LAG = Gauge(
    "fairgate_indexer_head_lag_blocks",
    "Blocks between the chain head and the oldest indexer cursor of an event on sale",
    multiprocess_mode="max",
)


def webhook_outcome(outcome: str) -> str:
    """A bounded label from what :func:`api.services.payments.handle_webhook` returned: its first
    word (``"ignored: order already paid"`` -> ``ignored``)."""
    word = outcome.split(":", 1)[0].strip().split(" ", 1)[0]
    return word or "unknown"


class OrdersByState(Collector):
    """``fairgate_orders{state}``, counted in the database at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("fairgate_orders", "Orders by state", labels=["state"])
        with self.engine.connect() as conn:
            rows = conn.execute(select(Order.state, func.count()).group_by(Order.state)).all()
        for state, count in sorted(rows):
            family.add_metric([str(state)], float(count))
        yield family


class GateVerdicts(Collector):
    """``fairgate_gate_verdicts_total{verdict, reason}`` from the hub's tables: check-ins pushed
    by devices (admitted) and their cumulative refusal counters (refused, by reason)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        from api.gate_hub import gate_checkins, gate_refusals

        family = CounterMetricFamily(
            "fairgate_gate_verdicts",
            "Gate verdicts pushed through the hub, by verdict and reason",
            labels=["verdict", "reason"],
        )
        with self.engine.connect() as conn:
            admitted = conn.scalar(select(func.count()).select_from(gate_checkins)) or 0
            refused = conn.execute(
                select(gate_refusals.c.reason, func.sum(gate_refusals.c.count)).group_by(
                    gate_refusals.c.reason
                )
            ).all()
        family.add_metric(["admitted", "admitted"], float(admitted))
        for reason, count in sorted(refused):
            family.add_metric(["refused", str(reason)], float(count or 0))
        yield family


class Sampled(Collector):
    """A collector from a function returning metric families (e.g. the waiting rooms' state in
    Redis); a failing source yields nothing rather than failing the whole scrape."""

    def __init__(self, sample: Callable[[], Iterable[Metric]]) -> None:
        self.sample = sample

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self.sample()
        except Exception:
            return


def scrape_collectors(state: Any) -> list[Collector]:
    """The collectors a bridge's ``/metrics`` adds to the process's own counters."""
    return [OrdersByState(state.engine), GateVerdicts(state.engine)]
