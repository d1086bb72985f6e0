"""After doors: anchor the used nullifiers on-chain, in batches, resumably.

Why anchor: the gates' stores are private to the organizer; ``anchorCheckIns`` makes "these
tickets were used" public and permanent (audits, disputes, and any later on-chain ``checkIn``
refusing a ticket that already entered off-chain).

Resumable without double anchoring: before each batch, every candidate nullifier is looked up
on-chain (``nullifierUsed``); those already there (anchored by another gate's device, or by
this one before a crash between the transaction and the local bookkeeping) are marked done
without a transaction. Only the rest are sent, and marked with the transaction hash once the
receipt is in. A rerun therefore sends nothing twice, and the contract itself would ignore a
repeat anyway (it keeps already recorded nullifiers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from chain.ticket_gate import TicketGateClient
from gate.store import NullifierStore, norm_event

__all__ = ["AnchorReport", "Anchorer"]

log = logging.getLogger(__name__)


@dataclass
class AnchorReport:
    """What one anchoring run did."""

    anchored: int = 0  # nullifiers written by this run's transactions
    already_on_chain: int = 0  # found on-chain, marked without a transaction
    transactions: list[str] = field(default_factory=list)
    gas_used: int = 0


class Anchorer:
    """Anchors one event's used nullifiers from one gate device's store."""

    def __init__(
        self, store: NullifierStore, client: TicketGateClient, event: str, *, batch_size: int
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if norm_event(client.event_address) != norm_event(event):
            raise ValueError("the client is for another event")
        self.store = store
        self.client = client
        self.event = norm_event(event)
        self.batch_size = batch_size

    def pending(self) -> int:
        """Nullifiers this device has not anchored (or seen anchored) yet."""
        return len(self.store.unanchored(self.event, 1_000_000))

    def run(self) -> AnchorReport:
        """Anchor everything pending; safe to rerun or to resume after a crash."""
        report = AnchorReport()
        while todo := self._next_batch(report):
            result = self.client.anchor_check_ins(todo)
            self.store.mark_anchored(self.event, todo, result.tx_hash)
            report.anchored += len(todo)
            report.transactions.append(result.tx_hash)
            report.gas_used += result.gas_used
            log.info(
                "anchored %d nullifiers in %s (gas %d)", len(todo), result.tx_hash, result.gas_used
            )
        return report

    def _next_batch(self, report: AnchorReport) -> list[int]:
        """Up to ``batch_size`` pending nullifiers not on-chain yet (those found there are
        marked on the way, so full batches are sent even when some were anchored elsewhere)."""
        todo: list[int] = []
        while len(todo) < self.batch_size:
            taken = set(todo)
            page = [
                n
                for n in self.store.unanchored(self.event, self.batch_size + len(todo))
                if n not in taken
            ][: self.batch_size - len(todo)]
            if not page:
                break
            on_chain = [n for n in page if self.client.nullifier_used(n)]
            if on_chain:
                self.store.mark_anchored(self.event, on_chain, None)
                report.already_on_chain += len(on_chain)
            done = set(on_chain)
            todo += [n for n in page if n not in done]
        return todo
