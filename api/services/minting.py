"""Minting paid orders exactly once, in batches, across crashes and concurrent workers.

The guarantee rests on the contract: every order has a non-zero ``orderRef`` and ``mintBatch``
skips a run whose ref was already fulfilled. So a batch may be *sent* any number of times; the
bridge only has to make sure that (1) every paid order is eventually in a batch that is mined and
(2) it learns the token ids of every fulfilled order. The steps:

1. **Claim** (one transaction): paid orders of one tier, oldest first, ``FOR UPDATE SKIP LOCKED``
   (several workers never claim the same order), a ``mint_batches`` row (the intent), orders moved
   to ``minting`` with the batch id. The worker takes the batch's advisory lock *before* commit.
2. **Send** ``mintBatch`` with a fixed gas limit from the batch's size (``eth_estimateGas`` runs
   the batch several times: three times the cost of the send on Ganache), record the hash, wait
   for the receipt (a revert is decoded from it); a transaction not mined in
   ``mint_replace_after_s`` is replaced with higher fees by the sender (same nonce: only one of
   them can be mined).
3. **Finalize** from the receipt's ``TicketsIssued`` logs; orders the receipt skipped
   (``OrderAlreadyFulfilled``: an earlier attempt was mined) are looked up by their indexed
   ``orderRef`` topic. Tickets are recorded, orders move to ``minted``.
4. **Reconcile** orphans: a batch still ``prepared``/``sent`` whose advisory lock can be taken has
   no live owner (its worker crashed). Each of its orders is looked up on-chain by ``orderRef``:
   found -> minted with its token ids; not found -> back to ``paid`` (re-batched; if the dead
   worker's transaction is still pending and mines later, the new batch's run is simply skipped).

Pipelining: :func:`mint_some` keeps up to ``mint_in_flight`` batches sent and not yet finalized
(claim and sign the next while the node mines the last), holding the minter key's send lock for
the whole round, so the local nonce counter needs no resync per batch. Each batch still has its
own row, advisory lock and crash points: a crash loses only in-flight batches, which step 4
reconciles like any other.

The hot path speaks SQL Core, not ORM objects: a batch's claim is two statements and a bulk
UPDATE, its finalization one UPDATE ... RETURNING and two multi-row INSERTs (loading ``Order``
objects also loaded each order's history and tickets: most of the worker's time, profiled).

A revert isolates the culprits instead of blocking the queue: every order is simulated alone
(``eth_call``); orders that fail alone (invalid commitment, a holder the contract refuses) and
orders beyond the tier's on-chain remaining supply (``SoldOut``: ETH buyers bought the seats) go
to ``refund_pending``; the rest return to ``paid`` and are re-batched at once.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from web3.types import TxReceipt

from api.accounts import BridgeAccounts
from api.metrics import MINT_BATCH_ORDERS, MINT_BATCH_SECONDS, MINT_BATCH_TICKETS, MINT_BATCHES
from api.models import (
    BatchState,
    Event,
    EventState,
    MailKind,
    MintBatch,
    Order,
    OrderEvent,
    OrderState,
    Ticket,
    TicketState,
    Tier,
    utcnow,
)
from api.services.locks import BATCH_NS, WorkerLocks
from api.services.notifications import enqueue
from api.services.orders import transition
from chain.errors import UnknownRevert
from chain.sender import NonceManager, TransactionSender, TxHandle
from chain.ticket_event import TICKETS_ISSUED, Issued
from chain.types import MintRun, encode_run
from fairgate.errors import ChainError, ContractRevert, TicketError
from fairgate.logs import bound_request_id
from fairgate.settings import Settings

log = logging.getLogger(__name__)
S = OrderState
#: Test hook: called at each named point of a batch (:data:`MINT_POINTS`), e.g. to kill the
#: process exactly there (tests/api/test_crash_safety.py). None in production.
MINT_HOOK: Callable[[str], None] | None = None
#: "claimed": the batch row and its orders committed, nothing sent; "sent": the transaction
#: broadcast, its hash not yet recorded; "recorded": the hash recorded, the receipt not awaited;
#: "mined": the receipt in hand, the tickets not yet recorded; "finalized": the orders minted.
MINT_POINTS = ("claimed", "sent", "recorded", "mined", "finalized")
_ORDERS = cast(Table, Order.__table__)
_ORDER_EVENTS = cast(Table, OrderEvent.__table__)
_TICKETS = cast(Table, Ticket.__table__)
_BATCHES = cast(Table, MintBatch.__table__)
BASE_GAS = 120_000
RUN_GAS = 40_000
_ISSUED_ONLY = frozenset({"0x" + TICKETS_ISSUED.hex()})
#: mint_some on an automining node: how often a worker with batches in flight and nothing paid
#: looks for paid orders (claim_tick)
CLAIM_TICK_S = 0.02


@dataclass(frozen=True)
class ClaimedOrder:
    """An order as its batch claimed it: what its run in ``mintBatch`` is made of."""

    id: str
    wallet: str | None  # None: custody
    commitments: tuple[str, ...]  # 0x-hex bytes32
    order_ref: str


@dataclass(frozen=True)
class ClaimedBatch:
    batch_id: int
    event_id: int
    contract: str
    tier_index: int
    deploy_block: int
    order_ids: tuple[str, ...]
    orders: tuple[ClaimedOrder, ...] = ()  # empty when rebuilt from the database (reconcile)


@dataclass(frozen=True)
class _TierPlace:
    event_id: int
    contract: str
    tier_index: int
    deploy_block: int


@dataclass
class InFlight:
    """A batch whose transaction was sent and whose receipt is not yet finalized."""

    claimed: ClaimedBatch
    runs: list[MintRun]
    handle: TxHandle
    next_look: float = 0.0  # time.monotonic() before which Minter.landed does not ask the node
    look_interval: float = 0.0
    seen_head: int = -1  # with a block time: the head at Minter.landed's last look


class _FinishNow(Exception):
    """Minter.landed: the look failed; finish the batch now (it handles the failure)."""


class _SendLock:
    """The minter key's send lock, taken at the first send of a round and held to its end:
    another process sharing the key may have used it only before that, so the local nonce
    counter is resynced from the node once, not before every batch."""

    def __init__(self, locks: WorkerLocks, stack: ExitStack) -> None:
        self.locks = locks
        self.stack = stack
        self.held = False

    def hold(self, sender: TransactionSender) -> None:
        if self.held:
            return
        if self.stack.enter_context(self.locks.sending(sender.address)):
            NonceManager.reset(sender.chain, sender.address)
        self.held = True


def sequential_ref(event_id: int, n: int) -> str:
    """The ``n``-th (from 1) order ref of an event: ``event_id << 64 | n`` as bytes32 hex.

    Non-zero, unique across events, and consecutive within one, so that the contract's
    fulfilled-orders bitmap (one bit per ref, 256 to a storage word) writes one word per 256
    orders: a random ref would cost a fresh storage slot (22,100 gas) per order.
    """
    if not 0 < n < 1 << 64:
        raise ValueError("order ref counter out of range")
    return f"0x{(event_id << 64) | n:064x}"


def _ref(order: Order) -> str:
    """The ref of an order in a batch (given at its first claim)."""
    if order.order_ref is None:  # pragma: no cover - claim() gives every batched order its ref
        raise AssertionError(f"order {order.id} is in a batch without an order ref")
    return order.order_ref


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Minter:
    """One minting worker's logic (the loop is in :mod:`api.worker`)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        chain: BridgeAccounts,
        locks: WorkerLocks,
        settings: Settings,
        name: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.chain = chain
        self.locks = locks
        self.settings = settings
        self.name = name or worker_name()
        self.estimate = False  # set after an out-of-gas that no order explains
        self._places: dict[int, _TierPlace] = {}

    def gas_for(self, orders: int, tickets: int) -> int:
        s = self.settings
        return s.mint_gas_base + s.mint_gas_per_order * orders + s.mint_gas_per_ticket * tickets

    # -- 1. claim ---------------------------------------------------------------------------

    def claim(self) -> ClaimedBatch | None:
        with self.sessions() as session:
            head = session.execute(
                select(Order.tier_id)
                .join(Event, Event.id == Order.event_id)
                .where(
                    Order.state == S.PAID,
                    Event.state == EventState.ACTIVE,
                    ~Order.provider_refunded,
                )
                .order_by(Order.paid_at)
                .limit(1)
                # skip orders another worker is claiming: otherwise a busy tier at the head of the
                # queue makes every other worker give up although other tiers have paid orders
                .with_for_update(skip_locked=True, of=Order)
            ).first()
            if head is None:
                return None
            tier_id = int(head[0])
            place = self._place(session, tier_id)
            candidates = session.execute(
                select(Order.id, Order.quantity, Order.wallet, Order.commitments, Order.order_ref)
                .where(Order.state == S.PAID, Order.tier_id == tier_id, ~Order.provider_refunded)
                .order_by(Order.paid_at)
                .limit(self.settings.mint_batch_max_orders)
                .with_for_update(skip_locked=True)
            ).all()
            picked: list[Any] = []
            tickets = 0
            for row in candidates:
                fits = tickets + row.quantity <= self.settings.mint_batch_max_tickets
                if picked and not (
                    fits
                    and self.gas_for(len(picked) + 1, tickets + row.quantity)
                    <= self.settings.mint_batch_max_gas
                ):
                    break
                picked.append(row)
                tickets += row.quantity
            if not picked:
                session.rollback()
                return None
            refs = self._give_refs(session, place.event_id, [r.order_ref for r in picked])
            now = utcnow()
            conn = session.connection()
            batch_id = conn.execute(
                insert(_BATCHES)
                .values(
                    event_id=place.event_id,
                    tier_id=tier_id,
                    worker=self.name,
                    minter=self.chain.minter.address,
                    state=BatchState.PREPARED,
                    tx_hashes=[],
                    created_at=now,
                    updated_at=now,
                )
                .returning(_BATCHES.c.id)
            ).scalar_one()
            if not self.locks.try_acquire(BATCH_NS, batch_id):  # pragma: no cover - fresh id
                session.rollback()
                return None
            _claim_rows(conn, batch_id, [r.id for r in picked], refs, now)
            reason = f"in mint batch {batch_id}"
            _history(conn, [(r.id, S.PAID, S.MINTING, reason) for r in picked], now)
            session.commit()
            orders = tuple(
                ClaimedOrder(r.id, r.wallet, tuple(r.commitments), ref)
                for r, ref in zip(picked, refs, strict=True)
            )
            return ClaimedBatch(
                batch_id,
                place.event_id,
                place.contract,
                place.tier_index,
                place.deploy_block,
                tuple(o.id for o in orders),
                orders,
            )

    def _place(self, session: Session, tier_id: int) -> _TierPlace:
        """Where a tier's tickets are minted (fixed once its event is active: cached)."""
        place = self._places.get(tier_id)
        if place is None:
            row = session.execute(
                select(Event.id, Event.contract_address, Tier.tier_index, Event.deploy_block)
                .select_from(Tier)
                .join(Event, Event.id == Tier.event_id)
                .where(Tier.id == tier_id)
            ).one()
            assert row.contract_address is not None
            place = _TierPlace(row.id, row.contract_address, row.tier_index, row.deploy_block)
            self._places[tier_id] = place
        return place

    @staticmethod
    def _give_refs(session: Session, event_id: int, refs: Sequence[str | None]) -> list[str]:
        """Orders claimed for the first time get their on-chain ref now, in the claim's
        transaction: the next numbers of the event's counter, in queue order. A ref never changes
        once given (a batch may be resent any number of times under it)."""
        fresh = sum(1 for r in refs if r is None)
        if not fresh:
            return [str(r) for r in refs]
        last = session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(order_refs_issued=Event.order_refs_issued + fresh)
            .returning(Event.order_refs_issued)
        ).scalar_one()
        numbers = iter(range(last - fresh + 1, last + 1))
        return [sequential_ref(event_id, next(numbers)) if r is None else r for r in refs]

    # -- 2. send ----------------------------------------------------------------------------

    def process(self, claimed: ClaimedBatch) -> int:
        """Mint a claimed batch; returns the number of tickets minted by it."""
        with ExitStack() as stack:
            sent = self.send(claimed, _SendLock(self.locks, stack))
            return sent if isinstance(sent, int) else self.finish(sent)

    def runs(self, claimed: ClaimedBatch) -> list[MintRun]:
        """The batch's runs, in order (one per claimed order)."""
        return [self._run(o) for o in claimed.orders]

    def send(self, claimed: ClaimedBatch, send_lock: _SendLock) -> InFlight | int:
        """Send a claimed batch's transaction and record its hash: the batch in flight, or the
        tickets minted if the batch ended here (an invalid order or a revert found before
        sending; an unclear failure reconciled)."""
        done = True
        try:
            _hook("claimed")
            runs: list[MintRun] = []
            bodies: list[bytes] = []
            invalid: dict[str, str] = {}
            for order in claimed.orders:
                run = self._run(order)
                try:
                    bodies.append(encode_run(run))
                    runs.append(run)
                except ValueError:
                    invalid[order.id] = "InvalidCommitment"
            if invalid:  # the contract would revert the whole batch: never send it
                self._settle(claimed, invalid, "InvalidCommitment")
                return 0
            sender = self.chain.minter_sender
            tx = self.chain.event(claimed.contract).mint_batch_tx(claimed.tier_index, bodies)
            try:
                tickets = sum(len(r.commitments) for r in runs)
                gas = sender.estimate_gas(tx) if self.estimate else self.gas_for(len(runs), tickets)
                send_lock.hold(sender)
                handle = sender.send(tx, gas=gas)
                handle.log_topics = _ISSUED_ONLY  # the Transfer logs are not read
                _hook("sent")
                self._mark_sent(claimed.batch_id, handle.hashes)
                _hook("recorded")
            except ContractRevert as exc:
                self._isolate(claimed, runs, exc)
                return 0
            done = False
            return InFlight(claimed, runs, handle)
        except TicketError as exc:
            return self._recover(claimed, exc)
        finally:
            if done:
                self.locks.release(BATCH_NS, claimed.batch_id)

    def landed(self, flight: InFlight) -> TxReceipt | None:
        """A batch's receipt if it is mined and confirmed now, without waiting (None: not yet;
        a look that fails raises :class:`_FinishNow`: :meth:`finish` meets the same answer
        and handles it). On a chain with a block time it reads the head (``eth_blockNumber``)
        and looks at the receipt only when a block came since its last look: a mined batch is
        seen within a claim tick of its block (the sender's poll interval grows to a second
        there); on an automining node it looks at the sender's poll interval."""
        sender = self.chain.minter_sender
        try:
            if self.settings.block_time_s > 0:
                # a chain with a block time: look when a block came (one cheap read per look)
                head = int(sender.w3.eth.block_number)
                if head == flight.seen_head:
                    return None
                flight.seen_head = head
            else:
                now = time.monotonic()
                if now < flight.next_look:
                    return None
                flight.look_interval = min(
                    max(flight.look_interval * 1.5, sender.poll_interval_s),
                    sender.max_poll_interval_s,
                )
                flight.next_look = now + flight.look_interval
            return sender.poll(flight.handle)
        except Exception:  # a revert, a conflict, a node error: finish() meets it and handles it
            raise _FinishNow from None

    def finish(self, flight: InFlight, receipt: TxReceipt | None = None) -> int:
        """Wait for a batch's receipt (unless given, from :meth:`landed`) and record its
        tickets; returns the tickets minted."""
        claimed = flight.claimed
        try:
            sender = self.chain.minter_sender
            try:
                if receipt is None:
                    receipt = sender.wait(flight.handle)
                if flight.handle.replacements:  # keep every hash the batch was sent under
                    self._mark_sent(claimed.batch_id, flight.handle.hashes)
            except ContractRevert as exc:
                self._isolate(claimed, flight.runs, exc)
                return 0
            _hook("mined")
            found = self.chain.event(claimed.contract).issued_in(receipt)
            minted = self._finalize(claimed, [o.order_ref for o in claimed.orders], found)
            _hook("finalized")
            return minted
        except TicketError as exc:
            return self._recover(claimed, exc)
        finally:
            self.locks.release(BATCH_NS, claimed.batch_id)

    def _recover(self, claimed: ClaimedBatch, exc: TicketError) -> int:
        log.warning("batch %d: %s (%s); reconciling", claimed.batch_id, exc.code, exc)
        try:
            return self.reconcile(claimed.batch_id)
        except TicketError as again:
            log.warning("batch %d left for later reconciliation: %s", claimed.batch_id, again.code)
            return 0

    def _run(self, order: ClaimedOrder) -> MintRun:
        return MintRun(
            holder=order.wallet or self.chain.custody.address,
            commitments=tuple(int(c, 16) for c in order.commitments),
            order_ref=bytes.fromhex(order.order_ref[2:]),
        )

    def _mark_sent(self, batch_id: int, tx_hashes: list[str]) -> None:
        with self.sessions() as session, session.begin():
            session.connection().execute(
                update(_BATCHES)
                .where(_BATCHES.c.id == batch_id)
                .values(tx_hashes=list(tx_hashes), state=BatchState.SENT, updated_at=utcnow())
            )

    # -- 3. finalize ------------------------------------------------------------------------

    def _finalize(self, claimed: ClaimedBatch, refs: Sequence[str], found: Sequence[Issued]) -> int:
        """Record what the chain minted for the batch's orders still ``minting``: tickets and
        ``minted`` for those ``found`` (or found by their ref in the chain's logs), ``paid``
        again (re-batched) for the rest. ``refs``: the batch's order refs."""
        issued = {i.order_ref: i for i in found}
        missing = [r for r in refs if r not in issued]
        if missing:  # an earlier attempt of theirs was mined (skipped by this one)
            issued |= self.chain.event(claimed.contract).find_issued(
                missing, claimed.deploy_block, settings=self.settings
            )
        now = utcnow()
        with self.sessions() as session:
            conn = session.connection()
            mine = _ORDERS.c.batch_id == claimed.batch_id, _ORDERS.c.state == S.MINTING
            minted_rows = (
                conn.execute(
                    update(_ORDERS)
                    .where(*mine, _ORDERS.c.order_ref.in_(list(issued)))
                    .values(state=S.MINTED, updated_at=now)
                    .returning(
                        _ORDERS.c.id,
                        _ORDERS.c.order_ref,
                        _ORDERS.c.wallet,
                        _ORDERS.c.event_id,
                        _ORDERS.c.tier_id,
                        _ORDERS.c.provider_refunded,
                    )
                ).all()
                if issued
                else []
            )
            retry = conn.execute(
                update(_ORDERS)
                .where(*mine)
                .values(state=S.PAID, paid_at=now, updated_at=now)
                .returning(_ORDERS.c.id)
            ).all()
            history: list[tuple[str, str, str, str]] = [
                (r.id, S.MINTING, S.PAID, f"batch {claimed.batch_id} did not mint it; retrying")
                for r in retry
            ]
            tickets: list[dict[str, object]] = []
            revoking: list[str] = []
            for row in minted_rows:
                found_one = issued[row.order_ref]
                first, count = found_one.first_token_id, len(found_one.commitments)
                tickets += [
                    {
                        "order_id": row.id,
                        "event_id": row.event_id,
                        "tier_id": row.tier_id,
                        "token_id": first + i,
                        "commitment": commitment,
                        "holder": found_one.holder,
                        "custody": row.wallet is None,
                        "mint_tx": found_one.tx_hash,
                        "state": str(TicketState.ISSUED),
                    }
                    for i, commitment in enumerate(found_one.commitments)
                ]
                reason = f"tickets {first}..{first + count - 1} in {found_one.tx_hash}"
                history.append((row.id, S.MINTING, S.MINTED, reason))
                if row.provider_refunded:
                    revoking.append(row.id)
                    history.append((row.id, S.MINTED, S.REVOKING, "payment returned while minting"))
            if revoking:
                conn.execute(
                    update(_ORDERS)
                    .where(_ORDERS.c.id.in_(revoking))
                    .values(state=S.REVOKING, updated_at=now)
                )
            _history(conn, history, now)
            # the fans' e-mails (one statement; an order revoked already gets that e-mail instead)
            enqueue(
                conn, [(r.id, MailKind.MINTED) for r in minted_rows if r.id not in revoking], now
            )
            _insert_rows(conn, _TICKETS, tickets)
            conn.execute(
                update(_BATCHES)
                .where(_BATCHES.c.id == claimed.batch_id)
                .values(state=BatchState.DONE, updated_at=now)
            )
            session.commit()
            return len(tickets)

    # -- 4. reconcile -----------------------------------------------------------------------

    def recover_orphans(self) -> int:
        """Reconcile batches whose worker died; returns the tickets found minted."""
        with self.sessions() as session:
            ids = session.scalars(
                select(MintBatch.id).where(
                    MintBatch.state.in_([BatchState.PREPARED, BatchState.SENT])
                )
            ).all()
        minted = 0
        for batch_id in ids:
            if self.locks.owns(BATCH_NS, batch_id) or not self.locks.try_acquire(
                BATCH_NS, batch_id
            ):
                continue
            try:
                minted += self.reconcile(batch_id)
            except TicketError as exc:
                log.warning("orphan batch %d not reconciled yet: %s", batch_id, exc.code)
            finally:
                self.locks.release(BATCH_NS, batch_id)
        return minted

    def reconcile(self, batch_id: int) -> int:
        with self.sessions() as session:
            batch = session.get(MintBatch, batch_id)
            assert batch is not None
            event = session.get(Event, batch.event_id)
            assert event is not None and event.contract_address is not None
            refs = session.scalars(
                select(Order.order_ref).where(Order.batch_id == batch_id, Order.state == S.MINTING)
            ).all()
            order_ids = session.scalars(
                select(Order.id).where(Order.batch_id == batch_id, Order.state == S.MINTING)
            ).all()
            tier = session.get(Tier, batch.tier_id)
            assert tier is not None
            claimed = ClaimedBatch(
                batch_id,
                event.id,
                event.contract_address,
                tier.tier_index,
                event.deploy_block,
                tuple(order_ids),
            )
        known = [r for r in refs if r is not None]
        issued = self.chain.event(claimed.contract).find_issued(
            known, claimed.deploy_block, settings=self.settings
        )
        with self.sessions() as session, session.begin():
            row = session.get(MintBatch, batch_id)
            assert row is not None
            row.error = f"reconciled by {self.name}: {len(issued)} of {len(refs)} found minted"
        log.info(
            "reconciling batch %d: %d of %d orders found on-chain", batch_id, len(issued), len(refs)
        )
        return self._finalize(claimed, known, list(issued.values()))

    # -- reverts ----------------------------------------------------------------------------

    def _isolate(self, claimed: ClaimedBatch, runs: Sequence[MintRun], exc: ContractRevert) -> None:
        name = type(exc).__name__
        log.warning("batch %d reverted with %s; isolating", claimed.batch_id, name)
        refund: dict[str, str] = {}
        keep: list[tuple[str, int]] = []
        for order_id, run in zip(claimed.order_ids, runs, strict=True):
            try:
                self.chain.event(claimed.contract).check_mint(
                    claimed.tier_index, [run], sender=self.chain.minter.address
                )
                keep.append((order_id, len(run.commitments)))
            except ContractRevert as single:
                refund[order_id] = type(single).__name__
        if not refund and isinstance(exc, UnknownRevert) and not self.estimate:
            log.warning(
                "batch %d ran out of gas with a fixed limit: estimating gas from now on",
                claimed.batch_id,
            )
            self.estimate = True
        remaining = self.chain.event(claimed.contract).tier_remaining(claimed.tier_index)
        retry: list[str] = []
        for order_id, count in keep:
            if count <= remaining:
                retry.append(order_id)
                remaining -= count
            else:
                refund[order_id] = "SoldOut"
        self._settle(claimed, refund, name)

    def _settle(self, claimed: ClaimedBatch, refund: dict[str, str], name: str) -> None:
        """End a batch that minted nothing: refund some orders, re-queue the rest."""
        with self.sessions() as session:
            orders = session.scalars(
                select(Order)
                .where(Order.batch_id == claimed.batch_id, Order.state == S.MINTING)
                .with_for_update()
            ).all()
            for order in orders:
                if order.id in refund:
                    order.failure_code = refund[order.id]
                    transition(
                        session, order, S.REFUND_PENDING, f"cannot be minted: {refund[order.id]}"
                    )
                else:
                    transition(
                        session,
                        order,
                        S.PAID,
                        f"batch {claimed.batch_id} stopped ({name}); retrying",
                    )
            batch = session.get(MintBatch, claimed.batch_id)
            assert batch is not None
            batch.state = BatchState.FAILED
            batch.error = name
            batch.updated_at = utcnow()
            session.commit()


def _hook(point: str) -> None:
    if MINT_HOOK is not None:
        MINT_HOOK(point)


def _history(conn: Connection, lines: Sequence[tuple[str, str, str, str]], at: datetime) -> None:
    """Order history lines (order id, from, to, reason) in one multi-row INSERT: what
    :func:`api.services.orders.transition` adds one ORM object at a time."""
    _insert_rows(
        conn,
        _ORDER_EVENTS,
        [
            {"order_id": o, "from_state": str(f), "to_state": str(t), "reason": r, "at": at}
            for o, f, t, r in lines
        ],
    )


def _claim_rows(
    conn: Connection, batch_id: int, ids: Sequence[str], refs: Sequence[str], now: datetime
) -> None:
    """Orders into ``minting`` in the batch, each with its ref. PostgreSQL: one UPDATE over
    arrays (an executemany ran a statement per order on the server: the claim's largest cost);
    elsewhere an executemany."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "UPDATE orders SET state = :state, batch_id = :batch, order_ref = v.ref, "
                "mint_attempts = orders.mint_attempts + 1, updated_at = :now "
                "FROM unnest(CAST(:ids AS text[]), CAST(:refs AS text[])) AS v(id, ref) "
                "WHERE orders.id = v.id"
            ),
            {
                "state": str(S.MINTING),
                "batch": batch_id,
                "now": now,
                "ids": list(ids),
                "refs": list(refs),
            },
        )
        return
    conn.execute(
        update(_ORDERS)
        .where(_ORDERS.c.id == bindparam("oid"))
        .values(
            state=S.MINTING,
            batch_id=batch_id,
            order_ref=bindparam("ref"),
            mint_attempts=_ORDERS.c.mint_attempts + 1,
            updated_at=now,
        ),
        [{"oid": i, "ref": r} for i, r in zip(ids, refs, strict=True)],
    )


def _insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, all with the same keys. PostgreSQL: one ``COPY ... FROM STDIN`` (profiled
    per 600-row batch: a multi-row INSERT spent ~0.2 s of CPU compiling and re-parsing a
    statement of thousands of parameters, an executemany runs a statement per row on the
    server). Elsewhere (SQLite): an executemany."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    dbapi: Any = conn.connection.driver_connection  # psycopg's, in this transaction
    names = ", ".join(f'"{c}"' for c in columns)
    with dbapi.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def mint_some(minter: Minter) -> int:
    """One round: recover orphans, then claim, send and finalize batches until nothing is left
    to claim and nothing is in flight, or the round's budget is spent (``mint_round_batches``
    full batches' worth of orders, or ``mint_round_max_s``). Returns the tickets minted.

    In flight: batches sent and not yet finalized; the worker claims while they hold fewer than
    ``mint_in_flight`` full batches' worth of orders (``mint_batch_max_orders`` each: with full
    batches, ``mint_in_flight`` batches). With paid orders waiting, the worker claims
    until that room is full, then waits for its oldest receipt (as before: on an automining
    node, the next batch is signed while the node mines the last). With nothing paid and
    batches in flight it does not sit on the oldest receipt: it looks for paid orders again
    every :func:`claim_tick` (an eighth of a block) and at the oldest receipt when a block came
    (:meth:`Minter.landed`), so orders paid while a block is being made go into the next block,
    not the one after; small batches, which fill a block together, take little of the room."""
    settings = minter.settings
    minted = minter.recover_orphans()
    flights: deque[InFlight] = deque()
    started: dict[int, float] = {}  # batch id -> when it was claimed (fairgate_mint_batch_seconds)
    room = settings.mint_in_flight * settings.mint_batch_max_orders  # orders in flight
    budget = settings.mint_round_batches * settings.mint_batch_max_orders  # orders this round
    ends = time.monotonic() + settings.mint_round_max_s
    tick = claim_tick(settings)
    with ExitStack() as stack:
        send_lock = _SendLock(minter.locks, stack)
        try:
            while True:
                flying = sum(len(f.claimed.order_ids) for f in flights)
                can_claim = budget > 0 and time.monotonic() < ends
                if can_claim and flying < room:
                    claimed = minter.claim()
                    if claimed is not None:
                        budget -= len(claimed.order_ids)
                        started[claimed.batch_id] = time.perf_counter()
                        sent = minter.send(claimed, send_lock)
                        if isinstance(sent, int):
                            minted += _observed(minter, claimed, sent, started)
                        else:
                            flights.append(sent)
                        continue
                    if not flights:
                        break
                    # nothing paid: the oldest receipt if it is there, else look again soon
                    try:
                        receipt = minter.landed(flights[0])
                    except _FinishNow:
                        receipt = None
                    else:
                        if receipt is None:
                            time.sleep(tick)
                            continue
                elif not flights:
                    break
                else:
                    receipt = None  # no room (or the round is over): wait for the oldest
                flight = flights.popleft()
                tickets = minter.finish(flight, receipt)
                minted += _observed(minter, flight.claimed, tickets, started)
        finally:  # every batch sent is finalized (or left to reconciliation) before returning
            while flights:
                flight = flights.popleft()
                try:
                    tickets = minter.finish(flight)
                    minted += _observed(minter, flight.claimed, tickets, started)
                except Exception:  # its lock is released: the next round reconciles it
                    log.exception("batch %d not finalized", flight.claimed.batch_id)
    return minted


def claim_tick(settings: Settings) -> float:
    """How long a worker with batches in flight and nothing paid waits before it looks for paid
    orders again: an eighth of a block on a chain with a block time (a block takes a few
    batches, not one per look), :data:`CLAIM_TICK_S` on an automining node."""
    return max(CLAIM_TICK_S, settings.block_time_s / 8)


def _observed(
    minter: Minter, claimed: ClaimedBatch, tickets: int, started: dict[int, float]
) -> int:
    """Metrics of a batch that ended (api.metrics), and one log line per order under the
    order's own request id (fairgate.logs). Returns ``tickets``."""
    began = started.pop(claimed.batch_id, None)
    if began is not None:
        MINT_BATCH_SECONDS.observe(time.perf_counter() - began)
    MINT_BATCH_ORDERS.observe(len(claimed.order_ids))
    MINT_BATCH_TICKETS.observe(tickets)
    MINT_BATCHES.labels("minted" if tickets else "not_minted").inc()
    if log.isEnabledFor(logging.INFO):
        with minter.sessions() as session:
            rows = session.execute(
                select(Order.id, Order.state, Order.request_id).where(
                    Order.id.in_(claimed.order_ids)
                )
            ).all()
        for order_id, state, request_id in rows:
            with bound_request_id(request_id):
                log.info(
                    "order minted" if state == S.MINTED else "order not minted",
                    extra={"order_id": order_id, "state": str(state), "batch": claimed.batch_id},
                )
    return tickets


__all__ = ["ChainError", "ClaimedBatch", "ClaimedOrder", "InFlight", "Minter", "mint_some"]
