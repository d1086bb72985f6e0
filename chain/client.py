"""The base of the typed contract clients: calls, transactions and their decoded events.

A client binds one deployed contract (address + compiled ABI) to a web3 connection and,
optionally, a :class:`chain.sender.TransactionSender` for writes. Reads go through ``eth_call``;
writes through the sender (nonces, fees, receipts, replacement). Reverts of both come back as the
contract's own exception classes (``chain.errors``), registered from the ABI here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.types import TxReceipt

from chain.abi import Artifact, artifact
from chain.errors import register_abi, revert_from_exception
from chain.logs import DecodedEvent, EventDecoder
from chain.rpc import get_logs_paged
from chain.sender import TransactionSender
from fairgate.errors import ChainError, ConfigError

__all__ = ["ContractClient", "DecodedEvent", "TxResult"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction and the contract events it emitted."""

    tx_hash: str
    gas_used: int
    block_number: int
    events: tuple[DecodedEvent, ...]

    def named(self, name: str) -> list[DecodedEvent]:
        return [event for event in self.events if event.name == name]

    def first(self, name: str) -> DecodedEvent:
        found = self.named(name)
        if not found:
            raise ChainError(f"transaction {self.tx_hash} emitted no {name} event")
        return found[0]


def _packaged(name: str) -> Artifact:
    """The contract's ABI and code from the package data (:mod:`chain.abi`; loaded once)."""
    return artifact(name)


class ContractClient:
    """A deployed contract: typed subclasses add one method per contract function."""

    artifact_name: str = ""

    def __init__(
        self,
        w3: Web3,
        address: str,
        sender: TransactionSender | None = None,
        *,
        artifact: Artifact | None = None,
    ) -> None:
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.sender = sender
        self.artifact = artifact or _packaged(self.artifact_name)
        register_abi(self.artifact.abi)
        self.contract = w3.eth.contract(address=self.address, abi=self.artifact.abi)
        self.decoder = EventDecoder(w3, self.artifact.abi)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address})"

    def with_sender(self, sender: TransactionSender) -> ContractClient:
        """The same contract, writing as another account."""
        return type(self)(self.w3, self.address, sender, artifact=self.artifact)

    def call(self, function: str, *args: Any, sender: str | None = None) -> Any:
        """Read through ``eth_call``; a revert is raised as the contract's own error class."""
        fn = self.contract.get_function_by_name(function)(*args)
        tx: dict[str, Any] = {}
        if sender or self.sender:
            tx["from"] = sender or (self.sender.address if self.sender else None)
        try:
            return fn.call(tx)
        except (Web3Exception, ValueError) as exc:
            decoded = revert_from_exception(exc)
            if decoded is not None:
                raise decoded from None
            raise ChainError(f"{function} call failed: {exc}") from exc

    def encode(self, function: str, *args: Any) -> str:
        return str(self.contract.encode_abi(function, list(args)))

    def unsent(self, function: str, *args: Any) -> dict[str, Any]:
        """A transaction to this contract, not signed nor sent (``to`` and ``data``)."""
        return {"to": self.address, "data": self.encode(function, *args)}

    def transact(
        self, function: str, *args: Any, value: int = 0, gas: int | None = None
    ) -> TxResult:
        """Send a transaction and wait for its receipt (settings.confirmations deep)."""
        if self.sender is None:
            raise ConfigError(f"{self!r} has no sender: it can only read")
        tx = {"to": self.address, "data": self.encode(function, *args), "value": value}
        receipt = self.sender.send_and_wait(tx, gas=gas)
        result = self.result(receipt)
        log.info(
            "%s.%s mined in %s (gas %d)",
            type(self).__name__,
            function,
            result.tx_hash,
            result.gas_used,
        )
        return result

    def result(self, receipt: TxReceipt) -> TxResult:
        return TxResult(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            gas_used=int(receipt["gasUsed"]),
            block_number=int(receipt["blockNumber"]),
            # only this contract's logs: another's may share an event's signature but not its
            # layout (an ERC-20 Transfer in a purchase paid in a token, beside ERC-721 Transfers)
            events=tuple(
                self.decoder.decode_all(
                    [log for log in receipt["logs"] if log["address"] == self.address]
                )
            ),
        )

    def events(
        self,
        from_block: int = 0,
        to_block: int | str = "latest",
        names: Sequence[str] | None = None,
    ) -> list[DecodedEvent]:
        """Every event of this contract in a block range, read in pages the provider allows
        (chain.events follows a contract resumably)."""
        last = None if to_block == "latest" else int(to_block)
        logs = get_logs_paged(
            self.w3,
            {"address": self.address, "fromBlock": from_block},
            to_block=last,
            settings=None if self.sender is None else self.sender.settings,
        )
        decoded = self.decoder.decode_all(logs)
        return [e for e in decoded if names is None or e.name in names]
