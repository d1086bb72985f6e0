"""The gate's verify pipeline, kept warm in one process: scanned QR text in, plain answer out.

Steps, cheapest first, each with the reason staff read on the screen::

    decode (zk.payload)        -> "unreadable code: ..."
    scope == the event's       -> "ticket not valid for this event"
    root accepted              -> "ticket list not recognised here" / "... out of date ..."
    challenge issued here      -> "challenge not from this gate" / "challenge expired"
      or the current window's  -> "code expired (its time window ended at 19:02:40)" /
                                  "code ahead of this gate's clock ..." (gate.challenges)
    nullifier unused           -> "already used at gate B at 19:02"
    Groth16 proof (native)     -> "proof invalid"
    record (atomic insert)     -> "admitted" (or "already used ..." if another scanner won)

Why this order: everything before the pairing check is a dictionary lookup or one indexed SQLite
read, so a replayed or stale code is refused in microseconds; the pairing (~2 ms) runs only for
codes that could be admitted. The nullifier pre-check is only an early answer: the atomic insert
after the proof check is what guarantees one entry per ticket. A refusal never records anything.

Everything the checker holds (verifying key, roots, challenges, SQLite connection) is loaded
once; :meth:`GateChecker.check` does no I/O except the SQLite read and write.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from fairgate.errors import ProofError
from gate.challenges import ChallengeBook
from gate.roots import RootCache
from gate.store import NullifierStore, NullifierUsed, hex32, norm_event
from zk import payload
from zk.verifier import GateVerifier

__all__ = ["CheckResult", "GateChecker"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    """The answer for one scanned code.

    ``code`` is stable for machines (``admitted``, ``malformed``, ``wrong_event``,
    ``root_unknown``, ``root_expired``, ``root_superseded``, ``challenge_unknown``,
    ``challenge_expired``, ``code_expired`` (a rotating window code from a past window),
    ``code_ahead``, ``nullifier_used``, ``proof_invalid``); ``reason`` is for people.
    """

    admitted: bool
    code: str
    reason: str
    nullifier: int | None = None
    total_ms: float = 0.0
    verify_ms: float = 0.0

    @property
    def overhead_ms(self) -> float:
        """Time spent outside the pairing check."""
        return self.total_ms - self.verify_ms


class GateChecker:
    """Admits holders of one event at one gate."""

    def __init__(
        self,
        *,
        gate_id: str,
        event: str,
        roots: RootCache,
        challenges: ChallengeBook,
        store: NullifierStore,
        verifier: GateVerifier,
    ) -> None:
        self.gate_id = gate_id
        self.event = norm_event(event)
        if roots.snapshot.event != self.event or challenges.event != self.event:
            raise ValueError("roots, challenges and checker must be for the same event")
        if challenges.gate_id != gate_id or store.gate_id != gate_id:
            raise ValueError("challenges, store and checker must be for the same gate")
        self.roots = roots
        self.challenges = challenges
        self.store = store
        self.verifier = verifier

    def check(self, scanned: str | bytes) -> CheckResult:
        """Judge one scanned payload and, if it is admitted, record its nullifier."""
        started = time.perf_counter()
        verify_ms = 0.0
        nullifier: int | None = None

        def done(code: str, reason: str) -> CheckResult:
            total = (time.perf_counter() - started) * 1000
            result = CheckResult(code == "admitted", code, reason, nullifier, total, verify_ms)
            if not result.admitted:
                self.store.count_refusal(self.event, code)  # the code only, for the dashboard
            log.info(
                "gate %s: %s (%s…) in %.2f ms",
                self.gate_id,
                code,
                "-" if nullifier is None else hex32(nullifier)[:10],
                total,
            )
            return result

        try:
            proof = payload.decode(scanned)
        except ProofError as exc:
            return done("malformed", f"unreadable code: {exc}")
        public = proof.public
        if public.scope != self.roots.scope:
            return done("wrong_event", "ticket not valid for this event")
        nullifier = public.nullifier
        try:
            self.roots.check(public.root)
            self.challenges.check(public.challenge)
        except ProofError as exc:
            return done(exc.code, exc.message)
        first = self.store.lookup(self.event, nullifier)
        if first is not None:
            return done("nullifier_used", str(NullifierUsed(first, here=self.gate_id)))
        t0 = time.perf_counter()
        valid = self.verifier.verify(proof)
        verify_ms = (time.perf_counter() - t0) * 1000
        if not valid:
            return done("proof_invalid", "proof invalid")
        try:
            self.store.check_in(self.event, nullifier, root=public.root, challenge=public.challenge)
        except NullifierUsed as exc:
            return done("nullifier_used", str(exc))
        return done("admitted", "admitted")
