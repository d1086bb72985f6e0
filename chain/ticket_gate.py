"""Typed client of the platform's TicketGate, bound to one event (see ITicketGate.sol).

The gate contract keeps every event's gate roots, anchored check-ins and on-chain verifier, each
event in its own namespace. This client binds the gate to one event, so its methods take the same
arguments the event's gate functions took before they moved out of TicketEvent::

    gate = TicketGateClient.for_event(event_client)       # writes as the event client's sender
    gate.publish_root(tree.root)
    gate.is_accepted_root(root), gate.nullifier_used(n), gate.check_in(a, b, c, root, n, challenge)

Reverts come back as the contracts' own errors (``chain.errors``): ``UnknownRoot``,
``NullifierUsed``, ``NoVerifier``, ``InvalidProof``, ``MissingRole``...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from web3 import Web3

from chain.abi import Artifact
from chain.client import ContractClient, DecodedEvent, TxResult
from chain.sender import TransactionSender
from chain.ticket_event import TicketEventClient

__all__ = ["GATE_EVENTS", "TicketGateClient"]

#: The events the gate contract emits (each with the event contract as its first topic).
GATE_EVENTS = ("RootPublished", "RootRetired", "CheckInsAnchored", "CheckedIn", "VerifierSet")


def _b32(value: int) -> bytes:
    return value.to_bytes(32, "big")


class TicketGateClient(ContractClient):
    """The platform's TicketGate, seen from one event (``event_address``)."""

    artifact_name = "TicketGate"

    def __init__(
        self,
        w3: Web3,
        address: str,
        sender: TransactionSender | None = None,
        *,
        event_address: str,
        artifact: Artifact | None = None,
    ) -> None:
        super().__init__(w3, address, sender, artifact=artifact)
        self.event_address = to_checksum_address(event_address)

    @classmethod
    def for_event(
        cls, event: TicketEventClient, sender: TransactionSender | None = None
    ) -> TicketGateClient:
        """The gate of ``event`` (asked of the event: ``ticketGate()``), writing as ``sender``
        or else as the event client's sender."""
        return cls(
            event.w3, event.ticket_gate(), sender or event.sender, event_address=event.address
        )

    def __repr__(self) -> str:
        return f"TicketGateClient({self.address} for {self.event_address})"

    def with_sender(self, sender: TransactionSender) -> TicketGateClient:
        return type(self)(
            self.w3, self.address, sender, event_address=self.event_address, artifact=self.artifact
        )

    def events(
        self,
        from_block: int = 0,
        to_block: int | str = "latest",
        names: Sequence[str] | None = None,
    ) -> list[DecodedEvent]:
        """This event's gate events in a block range (other events' are left out)."""
        mine = self.event_address.lower()
        return [
            e
            for e in super().events(from_block, to_block, names)
            if str(e.args.get("ticketEvent", "")).lower() == mine
        ]

    def event_abi(self, names: Sequence[str] = GATE_EVENTS) -> list[dict[str, Any]]:
        """The ABI entries of the gate's events among ``names``, to read them with the ticket
        contract's in one :class:`chain.events.EventReader` over both addresses."""
        return [
            dict(e)
            for e in self.artifact.abi
            if e.get("type") == "event" and e.get("name") in names
        ]

    def concerns(self, record: Mapping[str, Any]) -> bool:
        """False for a decoded log of the gate about another event (the gate is shared); True
        for this event's gate logs and for any other contract's logs."""
        if str(record.get("address", "")).lower() != self.address.lower():
            return True
        args = record.get("args") or {}
        return str(args.get("ticketEvent", "")).lower() == self.event_address.lower()

    def _call(self, function: str, *args: Any) -> Any:
        return self.call(function, self.event_address, *args)

    def _transact(self, function: str, *args: Any) -> TxResult:
        return self.transact(function, self.event_address, *args)

    # ------------------------------------------------------------------ reads

    def gate_scope(self) -> int:
        return int(self._call("gateScope"))

    def window_challenge(self, window: int) -> int:
        """The rotating challenge of time window ``window`` (``zk.identity.window_challenge``)."""
        return int(self._call("windowChallenge", window))

    def current_root(self) -> int:
        """The event's latest published root (0 when none)."""
        return int.from_bytes(self._call("currentRoot"), "big")

    def root_status(self, root: int) -> tuple[int, int]:
        """(publishedAt, replacedAt) of a root; (0, 0) when never published."""
        published, replaced = self._call("rootStatus", _b32(root))
        return int(published), int(replaced)

    def is_accepted_root(self, root: int) -> bool:
        return bool(self._call("isAcceptedRoot", _b32(root)))

    def nullifier_used(self, nullifier: int) -> bool:
        return bool(self._call("nullifierUsed", _b32(nullifier)))

    def verifier(self) -> ChecksumAddress:
        return to_checksum_address(self._call("verifier"))

    def verify_check_in(
        self,
        a: Sequence[int],
        b: Sequence[Sequence[int]],
        c: Sequence[int],
        root: int,
        nullifier: int,
        challenge: int,
    ) -> bool:
        """Would ``check_in`` accept this proof now? (a view: nothing is spent)"""
        return bool(
            self._call(
                "verifyCheckIn",
                list(a),
                [list(row) for row in b],
                list(c),
                _b32(root),
                _b32(nullifier),
                challenge,
            )
        )

    # ------------------------------------------------------------------ writes

    def publish_root(self, root: int) -> TxResult:
        return self._transact("publishRoot", _b32(root))

    def retire_root(self, root: int) -> TxResult:
        """End a replaced root's grace period at once."""
        return self._transact("retireRoot", _b32(root))

    def anchor_check_ins(self, nullifiers: Sequence[int]) -> TxResult:
        return self._transact("anchorCheckIns", [_b32(n) for n in nullifiers])

    def set_verifier(self, verifier: str) -> TxResult:
        """Plug in the snarkjs-exported Groth16 verifier (organizer only; zero disables)."""
        return self._transact("setVerifier", to_checksum_address(verifier))

    def check_in(
        self,
        a: Sequence[int],
        b: Sequence[Sequence[int]],
        c: Sequence[int],
        root: int,
        nullifier: int,
        challenge: int,
    ) -> TxResult:
        """Verify a gate proof on-chain and spend its nullifier (needs a verifier set)."""
        return self._transact(
            "checkIn",
            list(a),
            [list(row) for row in b],
            list(c),
            _b32(root),
            _b32(nullifier),
            challenge,
        )
