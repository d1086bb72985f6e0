"""The minting worker: ``python -m api.worker`` (run as many as you like on PostgreSQL).

Each round: finish or fail event deployments whose process died
(:func:`api.services.catalog.reconcile_deployments`; ``--reconcile-only`` runs just that once),
recover orphaned batches, mint one batch, expire stale reservations, refund
refund_pending orders through the provider, revoke tickets of refunded orders, fund the on-chain
refunds of card tickets given away before a cancellation (:mod:`api.services.refunds`), release
claimed custody tickets, send the fans' e-mails from the outbox
(:mod:`api.services.notifications`), and (unless ``--no-index``) advance the indexer. See
:mod:`api.services.minting` for the exactly-once argument.

Metrics: ``--metrics-port P`` (or ``FAIRGATE_WORKER_METRICS_PORT``) serves the worker's own
Prometheus registry (mint batches, indexer head lag) on that port; each worker is one scrape
target (fairgate.metrics). Logs are JSON lines (fairgate.logs).

Keys: give each worker its own ``FAIRGATE_MINTER_KEY`` and list every worker's address in
``FAIRGATE_MINTER_ADDRESSES`` (the operator grants them the minter role when an event is created):
separate nonces, no waiting on each other. Workers that share a key are safe too: each send holds
a PostgreSQL advisory lock on the account and resyncs its nonce from the node, at some throughput
cost. On SQLite run exactly one worker.
"""

from __future__ import annotations

import argparse
import logging
import signal
import time
from types import FrameType

from prometheus_client import start_http_server
from sqlalchemy.orm import Session, sessionmaker

from api.accounts import BridgeAccounts
from api.catalog_cache import CatalogCache
from api.db import make_engine, session_factory
from api.metrics import INDEXER_LAG
from api.payments import PaymentProvider, provider_from_settings
from api.services.catalog import reconcile_deployments
from api.services.claims import process_claims
from api.services.indexer import head_lag, index_once
from api.services.locks import WorkerLocks
from api.services.minting import Minter, mint_some
from api.services.notifications import send_outbox
from api.services.refunds import (
    fund_given_away_tickets,
    refund_pending_orders,
    settle_cancelled_events,
)
from api.services.reservations import expire_reservations
from api.services.revocations import revoke_orders
from api.shared import SharedState
from fairgate.errors import TicketError
from fairgate.logs import configure_logs
from fairgate.settings import Settings, get_settings

log = logging.getLogger(__name__)
RECONCILE_WAIT_S = 2.0


class Worker:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        chain: BridgeAccounts,
        provider: PaymentProvider,
        locks: WorkerLocks,
        *,
        index: bool = True,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.chain = chain
        self.provider = provider
        self.locks = locks
        self.index = index
        self.minter = Minter(sessions, chain, locks, settings)
        # the replicas' catalog cache in Redis: the indexer drops what it changed
        self.catalog = CatalogCache(
            SharedState.from_settings(settings), settings.catalog_cache_ttl_s
        )
        self.stopping = False

    def reconcile(self) -> int:
        """Stuck ``deploying`` events: a pending transaction is waited for briefly, then left to
        the next round, so the other duties never wait long on it."""
        return reconcile_deployments(self.sessions, self.chain, wait_s=RECONCILE_WAIT_S)

    def round(self) -> int:
        """One pass over every duty; returns the number of things done (0: idle)."""
        done = self.reconcile()
        done += mint_some(self.minter)
        with self.sessions() as session:
            done += expire_reservations(session)
            session.commit()
        with self.sessions() as session:
            done += settle_cancelled_events(session)
        with self.sessions() as session:
            done += refund_pending_orders(session, self.provider, self.chain)
        done += revoke_orders(self.sessions, self.chain, self.locks)
        done += fund_given_away_tickets(
            self.sessions, self.chain, self.locks, self.settings.card_dispute_days
        )
        done += process_claims(self.sessions, self.chain, self.locks)
        done += send_outbox(self.sessions, self.settings)
        if self.index:
            with self.sessions() as session:
                done += index_once(session, self.chain, on_change=self.catalog.invalidate)
                INDEXER_LAG.set(head_lag(session, self.chain))
        return done

    def run(self, *, until_idle: bool = False) -> None:
        while not self.stopping:
            try:
                done = self.round()
            except TicketError as exc:
                log.warning("worker round failed: %s (%s)", exc.code, exc)
                done = 0
            except Exception:  # a dropped database or node connection: keep serving
                # Nothing is lost: an interrupted batch is reconciled by the next round.
                log.exception("worker round failed unexpectedly")
                done = 0
            if done == 0:
                if until_idle:
                    return
                time.sleep(self.settings.worker_poll_s)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m api.worker", description="Fairgate minting worker"
    )
    parser.add_argument(
        "--no-index", action="store_true", help="do not run the indexer in this worker"
    )
    parser.add_argument(
        "--until-idle", action="store_true", help="exit when there is nothing to do"
    )
    parser.add_argument(
        "--reconcile-only",
        action="store_true",
        help="finish or fail interrupted event deployments, then exit",
    )
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus metrics on this port (default: FAIRGATE_WORKER_METRICS_PORT)",
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logs(settings, args.log_level)
    metrics_port = args.metrics_port or settings.worker_metrics_port
    if metrics_port:  # a worker has no web server: its own registry on a port of its own
        start_http_server(metrics_port, addr=settings.api_host)
        log.info("metrics on port %d", metrics_port)
    engine = (
        make_engine(settings, pool_size=3, max_overflow=2)
        if settings.database_url
        else make_engine(settings)
    )
    worker = Worker(
        settings,
        session_factory(engine),
        BridgeAccounts.from_settings(settings),
        provider_from_settings(settings),
        WorkerLocks(engine),
        index=not args.no_index,
    )

    def stop(_signum: int, _frame: FrameType | None) -> None:
        worker.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.reconcile_only:
        done = reconcile_deployments(worker.sessions, worker.chain)
        log.info("reconciled %d event deployment(s)", done)
        return
    log.info("worker started as %s (minter %s)", worker.minter.name, worker.chain.minter.address)
    worker.run(until_idle=args.until_idle)


if __name__ == "__main__":
    main()
