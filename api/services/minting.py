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

A revert isolates the culprits instead of blocking the queue: every order is simulated alone
(``eth_call``); orders that fail alone (invalid commitment, a holder the contract refuses) and
orders beyond the tier's on-chain remaining supply (``SoldOut``: ETH buyers bought the seats) go
to ``refund_pending``; the rest return to ``paid`` and are re-batched at once.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.chain import BridgeChain, Issued
from api.models import (
    BatchState,
    Event,
    EventState,
    MintBatch,
    Order,
    OrderState,
    Ticket,
    Tier,
    utcnow,
)
from api.services.locks import BATCH_NS, WorkerLocks
from api.services.orders import transition
from chain.errors import UnknownRevert
from chain.sender import NonceManager
from chain.types import MintRun
from fairgate.errors import ChainError, ContractRevert, TicketError
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
BASE_GAS = 120_000
RUN_GAS = 40_000


@dataclass(frozen=True)
class ClaimedBatch:
    batch_id: int
    event_id: int
    contract: str
    tier_index: int
    deploy_block: int
    order_ids: tuple[str, ...]


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
        chain: BridgeChain,
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
            tier = session.get(Tier, head[0])
            assert tier is not None
            event = session.get(Event, tier.event_id)
            assert event is not None and event.contract_address is not None
            candidates = session.scalars(
                select(Order)
                .where(Order.state == S.PAID, Order.tier_id == tier.id, ~Order.provider_refunded)
                .order_by(Order.paid_at)
                .limit(self.settings.mint_batch_max_orders)
                .with_for_update(skip_locked=True)
            ).all()
            orders: list[Order] = []
            tickets = 0
            for order in candidates:
                fits = tickets + order.quantity <= self.settings.mint_batch_max_tickets
                if orders and not (
                    fits
                    and self.gas_for(len(orders) + 1, tickets + order.quantity)
                    <= self.settings.mint_batch_max_gas
                ):
                    break
                orders.append(order)
                tickets += order.quantity
            if not orders:
                session.rollback()
                return None
            self._give_refs(session, event.id, orders)
            batch = MintBatch(
                event_id=event.id,
                tier_id=tier.id,
                worker=self.name,
                minter=self.chain.minter.address,
                state=BatchState.PREPARED,
            )
            session.add(batch)
            session.flush()
            if not self.locks.try_acquire(BATCH_NS, batch.id):  # pragma: no cover - fresh id
                session.rollback()
                return None
            for order in orders:
                transition(session, order, S.MINTING, f"in mint batch {batch.id}")
                order.batch_id = batch.id
                order.mint_attempts += 1
            session.commit()
            return ClaimedBatch(
                batch.id,
                event.id,
                event.contract_address,
                tier.tier_index,
                event.deploy_block,
                tuple(o.id for o in orders),
            )

    @staticmethod
    def _give_refs(session: Session, event_id: int, orders: Sequence[Order]) -> None:
        """Orders claimed for the first time get their on-chain ref now, in the claim's
        transaction: the next numbers of the event's counter, in queue order. A ref never changes
        once given (a batch may be resent any number of times under it)."""
        fresh = [o for o in orders if o.order_ref is None]
        if not fresh:
            return
        last = session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(order_refs_issued=Event.order_refs_issued + len(fresh))
            .returning(Event.order_refs_issued)
        ).scalar_one()
        for n, order in enumerate(fresh, start=last - len(fresh) + 1):
            order.order_ref = sequential_ref(event_id, n)

    # -- 2. send ----------------------------------------------------------------------------

    def process(self, claimed: ClaimedBatch) -> int:
        """Mint a claimed batch; returns the number of tickets minted by it."""
        try:
            _hook("claimed")
            with self.sessions() as session:
                orders = self._orders(session, claimed)
                invalid = {o.id: "InvalidCommitment" for o in orders if not _valid(self._run(o))}
                runs = [self._run(o) for o in orders if o.id not in invalid]
            if invalid:  # the contract would revert the whole batch: never send it
                self._settle(claimed, invalid, "InvalidCommitment")
                return 0
            sender = self.chain.minter_sender
            tx = self.chain.mint_batch_tx(claimed.contract, claimed.tier_index, runs)
            try:
                tickets = sum(len(r.commitments) for r in runs)
                gas = sender.estimate_gas(tx) if self.estimate else self.gas_for(len(runs), tickets)
                with self.locks.sending(sender.address) as shared:
                    if shared:
                        NonceManager.reset(sender.chain, sender.address)
                    handle = sender.send(tx, gas=gas)
                _hook("sent")
                self._mark_sent(claimed.batch_id, handle.hashes)
                _hook("recorded")
                receipt = sender.wait(handle)
                if handle.replacements:  # keep every hash the batch was sent under
                    self._mark_sent(claimed.batch_id, handle.hashes)
            except ContractRevert as exc:
                self._isolate(claimed, runs, exc)
                return 0
            _hook("mined")
            found = self.chain.issued_in_receipt(claimed.contract, receipt)
            issued = {i.order_ref: i for i in found}
            minted = self._finalize(claimed, issued)
            _hook("finalized")
            return minted
        except TicketError as exc:
            log.warning("batch %d: %s (%s); reconciling", claimed.batch_id, exc.code, exc)
            try:
                return self.reconcile(claimed.batch_id)
            except TicketError as again:
                log.warning(
                    "batch %d left for later reconciliation: %s", claimed.batch_id, again.code
                )
                return 0
        finally:
            self.locks.release(BATCH_NS, claimed.batch_id)

    def _orders(self, session: Session, claimed: ClaimedBatch) -> list[Order]:
        orders = session.scalars(select(Order).where(Order.id.in_(claimed.order_ids))).all()
        by_id = {o.id: o for o in orders}
        return [by_id[i] for i in claimed.order_ids]

    def _run(self, order: Order) -> MintRun:
        holder = order.wallet or self.chain.custody.address
        return MintRun(
            holder=holder,
            commitments=tuple(int(c, 16) for c in order.commitments),
            order_ref=bytes.fromhex(_ref(order)[2:]),
        )

    def _mark_sent(self, batch_id: int, tx_hashes: list[str]) -> None:
        with self.sessions() as session, session.begin():
            batch = session.get(MintBatch, batch_id)
            assert batch is not None
            batch.tx_hashes = list(tx_hashes)
            batch.state = BatchState.SENT
            batch.updated_at = utcnow()

    # -- 3. finalize ------------------------------------------------------------------------

    def _finalize(self, claimed: ClaimedBatch, issued: dict[str, Issued]) -> int:
        with self.sessions() as session:
            orders = session.scalars(
                select(Order)
                .where(Order.batch_id == claimed.batch_id, Order.state == S.MINTING)
                .with_for_update()
            ).all()
            missing = [_ref(o) for o in orders if _ref(o) not in issued]
            if missing:
                issued = {
                    **issued,
                    **self.chain.find_issued(claimed.contract, missing, claimed.deploy_block),
                }
            minted = 0
            tickets: list[dict[str, object]] = []
            for order in orders:
                found = issued.get(_ref(order))
                if found is None:
                    transition(
                        session,
                        order,
                        S.PAID,
                        f"batch {claimed.batch_id} did not mint it; retrying",
                    )
                    continue
                minted += self._record_tickets(session, order, found, tickets)
            if tickets:  # one multi-row INSERT: ORM objects cost ~0.5 ms a ticket here
                session.execute(insert(Ticket), tickets)
            batch = session.get(MintBatch, claimed.batch_id)
            assert batch is not None
            batch.state = BatchState.DONE
            batch.updated_at = utcnow()
            session.commit()
            return minted

    def _record_tickets(
        self, session: Session, order: Order, issued: Issued, rows: list[dict[str, object]]
    ) -> int:
        """The order's tickets go into ``rows`` (inserted together), the order to ``minted``."""
        for i, commitment in enumerate(issued.commitments):
            rows.append(
                {
                    "order_id": order.id,
                    "event_id": order.event_id,
                    "tier_id": order.tier_id,
                    "token_id": issued.first_token_id + i,
                    "commitment": commitment,
                    "holder": issued.holder,
                    "custody": order.wallet is None,
                    "mint_tx": issued.tx_hash,
                }
            )
        transition(
            session,
            order,
            S.MINTED,
            f"tickets {issued.first_token_id}.."
            f"{issued.first_token_id + len(issued.commitments) - 1} in {issued.tx_hash}",
        )
        if order.provider_refunded:
            transition(session, order, S.REVOKING, "payment returned while minting")
        return len(issued.commitments)

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
        issued = self.chain.find_issued(
            claimed.contract, [r for r in refs if r is not None], claimed.deploy_block
        )
        with self.sessions() as session, session.begin():
            row = session.get(MintBatch, batch_id)
            assert row is not None
            row.error = f"reconciled by {self.name}: {len(issued)} of {len(refs)} found minted"
        log.info(
            "reconciling batch %d: %d of %d orders found on-chain", batch_id, len(issued), len(refs)
        )
        return self._finalize(claimed, issued)

    # -- reverts ----------------------------------------------------------------------------

    def _isolate(self, claimed: ClaimedBatch, runs: Sequence[MintRun], exc: ContractRevert) -> None:
        name = type(exc).__name__
        log.warning("batch %d reverted with %s; isolating", claimed.batch_id, name)
        refund: dict[str, str] = {}
        keep: list[tuple[str, int]] = []
        for order_id, run in zip(claimed.order_ids, runs, strict=True):
            try:
                self.chain.simulate_mint(claimed.contract, claimed.tier_index, [run])
                keep.append((order_id, len(run.commitments)))
            except ContractRevert as single:
                refund[order_id] = type(single).__name__
        if not refund and isinstance(exc, UnknownRevert) and not self.estimate:
            log.warning(
                "batch %d ran out of gas with a fixed limit: estimating gas from now on",
                claimed.batch_id,
            )
            self.estimate = True
        remaining = self.chain.tier_remaining(claimed.contract, claimed.tier_index)
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


def _valid(run: MintRun) -> bool:
    try:
        run.as_abi()
    except ValueError:
        return False
    return True


def mint_some(minter: Minter) -> int:
    """One round: recover orphans, then mint one batch. Returns the tickets minted."""
    minted = minter.recover_orphans()
    claimed = minter.claim()
    if claimed is not None:
        minted += minter.process(claimed)
    return minted


__all__ = ["ChainError", "ClaimedBatch", "Minter", "mint_some"]
