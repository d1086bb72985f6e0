"""Typed client of the TicketFactory: creates one TicketEvent clone per event."""

from __future__ import annotations

from eth_utils.address import to_checksum_address

from chain.client import ContractClient, TxResult
from chain.ticket_event import TicketEventClient
from chain.types import EventParams

__all__ = ["TicketFactoryClient"]


class TicketFactoryClient(ContractClient):
    """The platform's factory of event contracts."""

    artifact_name = "TicketFactory"

    def create_event(self, params: EventParams) -> tuple[TicketEventClient, TxResult]:
        """Create and initialize an event; returns its client (writing as this sender)."""
        result = self.transact("createEvent", params.as_abi())
        address = to_checksum_address(result.first("EventCreated").args["ticketEvent"])
        return TicketEventClient(self.w3, address, self.sender), result

    def event_count(self) -> int:
        return int(self.call("eventCount"))

    def event_at(self, index: int) -> str:
        return to_checksum_address(self.call("eventAt", index))

    def implementation(self) -> str:
        return to_checksum_address(self.call("implementation"))

    def created_base_uri(self, calldata: bytes | str) -> str:
        """The metadata base an event was created with, from its ``createEvent`` calldata."""
        _, args = self.contract.decode_function_input(calldata)
        return str(args["params"]["baseURI"])  # web3 decodes the struct as a dict
