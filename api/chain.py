"""The bridge's view of the chain: a small adapter over ``chain.client.ContractClient``.

The typed clients ``chain/ticket_event.py`` and ``chain/factory.py`` were not in the tree when the
bridge was written; this adapter calls the contracts through ``chain.compiler``'s ABIs and the
shared :class:`chain.sender.TransactionSender` (nonces, EIP-1559 fees, stuck-transaction
replacement, decoded reverts). Swap it for the typed clients once they land.

Accounts: the *operator* deploys events through the factory and is their on-chain organizer (so
the bridge can cancel and grant roles); each minting worker signs with its own *minter* key, all
granted the minter role when the event is created (``minter_addresses``); the *custody* account
holds tickets of fans without a wallet and releases them (it is a minter too). Sends of one key are
serialized across processes by a PostgreSQL advisory lock (see :mod:`api.services.minting`), so a
key shared by several workers is also safe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from eth_abi.abi import decode as abi_decode
from eth_utils.abi import event_abi_to_log_topic
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from chain.client import ContractClient, DecodedEvent, TxResult
from chain.compiler import Artifact, load_artifact
from chain.keys import Signer, dev_signer
from chain.sender import TransactionSender
from chain.types import ROLE_MINTER, EventParams, MintRun
from fairgate.errors import ConfigError
from fairgate.settings import Settings

log = logging.getLogger(__name__)
TICKETS_ISSUED = bytes(Web3.keccak(text="TicketsIssued(address,uint256,bytes32,uint256,bytes32[])"))


class TicketEventContract(ContractClient):
    artifact_name = "TicketEvent"


class FactoryContract(ContractClient):
    artifact_name = "TicketFactory"


@dataclass(frozen=True)
class Issued:
    order_ref: str
    holder: str
    first_token_id: int
    commitments: tuple[str, ...]
    tx_hash: str
    tier_id: int = 0


def issued_from_logs(address: str, logs: Iterable[Any]) -> list[Issued]:
    """The TicketsIssued logs of one contract, decoded directly with eth_abi.

    web3's generic event decoding took ~4 ms per log (8.6 s of a 1,000-ticket run, profiled);
    this reads the three indexed topics and the data of the one event the worker needs.
    """
    found = []
    wanted = address.lower()
    for entry in logs:
        topics = entry["topics"]
        if (
            str(entry["address"]).lower() != wanted
            or not topics
            or bytes(topics[0]) != TICKETS_ISSUED
        ):
            continue
        first, commitments = abi_decode(["uint256", "bytes32[]"], bytes(entry["data"]))
        found.append(
            Issued(
                order_ref="0x" + bytes(topics[3]).hex(),
                holder=to_checksum_address(bytes(topics[1])[12:]),
                first_token_id=int(first),
                commitments=tuple("0x" + bytes(c).hex() for c in commitments),
                tx_hash="0x" + bytes(entry["transactionHash"]).hex(),
                tier_id=int.from_bytes(bytes(topics[2]), "big"),
            )
        )
    return found


class BridgeChain:
    """Everything the bridge sends to or reads from the chain."""

    def __init__(
        self,
        w3: Web3,
        settings: Settings,
        *,
        operator: Signer | None = None,
        minter: Signer | None = None,
        custody: Signer | None = None,
    ) -> None:
        self.w3 = w3
        self.settings = settings
        self._operator = operator
        self._minter = minter
        self._custody = custody
        self._clients: dict[tuple[str, int], TicketEventContract] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> BridgeChain:
        w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 60}))
        return cls(
            w3,
            settings,
            operator=_signer(settings, "operator_key", 0),
            minter=_signer(settings, "minter_key", 1),
            custody=_signer(settings, "custody_key", None),
        )

    def __repr__(self) -> str:
        # a node URL may carry an API key in its path or query: show only where it points
        url = urlsplit(self.settings.rpc_url)
        port = f":{url.port}" if url.port else ""
        return f"BridgeChain({url.scheme}://{url.hostname}{port})"

    # -- accounts -------------------------------------------------------------------------------

    @property
    def minter(self) -> Signer:
        if self._minter is None:
            raise ConfigError("FAIRGATE_MINTER_KEY is not set")
        return self._minter

    @property
    def custody(self) -> Signer:
        return self._custody or self.minter

    @property
    def operator(self) -> Signer:
        if self._operator is None:
            raise ConfigError("FAIRGATE_OPERATOR_KEY is not set")
        return self._operator

    @cached_property
    def minter_sender(self) -> TransactionSender:
        return TransactionSender(
            self.w3,
            self.minter,
            settings=self.settings,
            replace_after_s=self.settings.mint_replace_after_s,
        )

    @cached_property
    def custody_sender(self) -> TransactionSender:
        return TransactionSender(
            self.w3,
            self.custody,
            settings=self.settings,
            replace_after_s=self.settings.mint_replace_after_s,
        )

    @cached_property
    def operator_sender(self) -> TransactionSender:
        return TransactionSender(self.w3, self.operator, settings=self.settings)

    def minter_accounts(self) -> list[str]:
        extra = [a.strip() for a in self.settings.minter_addresses.split(",") if a.strip()]
        accounts = [self.minter.address, self.custody.address, *extra]
        return list(dict.fromkeys(to_checksum_address(a) for a in accounts))

    # -- contracts -------------------------------------------------------------------------------

    @cached_property
    def _artifacts(self) -> dict[str, Artifact]:
        # compile_contracts hashes every source on each call: load the two artifacts once
        return {name: load_artifact(name) for name in ("TicketEvent", "TicketFactory")}

    def factory(self) -> FactoryContract:
        if not self.settings.factory_address:
            raise ConfigError("FAIRGATE_FACTORY_ADDRESS is not set")
        return FactoryContract(
            self.w3,
            self.settings.factory_address,
            self.operator_sender,
            artifact=self._artifacts["TicketFactory"],
        )

    def event(self, address: str, sender: TransactionSender | None = None) -> TicketEventContract:
        key = (address.lower(), id(sender))
        client = self._clients.get(key)
        if client is None:
            client = TicketEventContract(
                self.w3, address, sender, artifact=self._artifacts["TicketEvent"]
            )
            self._clients[key] = client
        return client

    def create_event(self, params: EventParams, hand_to: str | None = None) -> tuple[str, int]:
        """Deploy an event clone, grant the minter role to every bridge minter account, and hand
        the event to ``hand_to`` (the organizer's own wallet) when given.

        The operator is the organizer only while the roles are set up: once handed over, the
        event's proceeds, royalties and cancellation belong to the organizer's wallet alone, and
        the platform keeps only the minter role it needs for card orders.
        """
        result = self.factory().transact("createEvent", params.as_abi())
        address = str(result.first("EventCreated").args["ticketEvent"])
        event = self.event(address, self.operator_sender)
        for account in self.minter_accounts():
            if account != to_checksum_address(params.minter):
                event.transact("setRoles", account, ROLE_MINTER)
        if hand_to is not None and to_checksum_address(hand_to) != self.operator.address:
            event.transact("setOrganizer", to_checksum_address(hand_to))
        log.info("event deployed at %s in block %d", address, result.block_number)
        return to_checksum_address(address), result.block_number

    def organizer_of(self, address: str) -> str:
        """The event's on-chain organizer."""
        return to_checksum_address(self.event(address).call("organizer"))

    def cancel_event(self, address: str) -> TxResult:
        return self.event(address, self.operator_sender).transact("cancel")

    def is_cancelled(self, address: str) -> bool:
        return bool(self.event(address).call("cancelled"))

    def mint_batch_tx(
        self, address: str, tier_index: int, runs: Sequence[MintRun]
    ) -> dict[str, Any]:
        event = self.event(address)
        return {
            "to": event.address,
            "data": event.encode("mintBatch", tier_index, [r.as_abi() for r in runs]),
        }

    def simulate_mint(self, address: str, tier_index: int, runs: Sequence[MintRun]) -> None:
        """eth_call of mintBatch as the minter; raises the decoded revert."""
        self.event(address).call(
            "mintBatch", tier_index, [r.as_abi() for r in runs], sender=self.minter.address
        )

    def issued_in_receipt(self, address: str, receipt: Any) -> list[Issued]:
        return issued_from_logs(address, receipt["logs"])

    def order_fulfilled(self, address: str, order_ref: str) -> bool:
        return bool(self.event(address).call("orderFulfilled", HexBytes(order_ref)))

    def find_issued(
        self, address: str, order_refs: Sequence[str], from_block: int
    ) -> dict[str, Issued]:
        """TicketsIssued of these orders, found by their indexed orderRef topic."""
        if not order_refs:
            return {}
        event = self.event(address)
        logs = self.w3.eth.get_logs(
            {
                "address": event.address,
                "fromBlock": from_block,
                "toBlock": "latest",
                "topics": [HexBytes(TICKETS_ISSUED), None, None, [HexBytes(r) for r in order_refs]],
            }
        )
        return {i.order_ref: i for i in issued_from_logs(event.address, logs)}

    def logs_for_indexer(
        self, address: str, start: int, end: int, names: Sequence[str]
    ) -> tuple[list[Issued], list[DecodedEvent]]:
        """TicketsIssued (decoded fast) and the other named events of a contract in a block range;
        other events (Transfer, the market's) are not even fetched."""
        event = self.event(address)
        wanted = [
            bytes(event_abi_to_log_topic(entry))  # type: ignore[arg-type]
            for entry in event.artifact.abi
            if entry.get("type") == "event" and entry.get("name") in names
        ]
        logs = self.w3.eth.get_logs({
            "address": event.address, "fromBlock": start, "toBlock": end,
            "topics": [[HexBytes(t) for t in (TICKETS_ISSUED, *wanted)]],
        })  # fmt: skip
        others = [entry for entry in logs if bytes(entry["topics"][0]) != TICKETS_ISSUED]
        return issued_from_logs(event.address, logs), event.decoder.decode_all(others)

    def tier_remaining(self, address: str, tier_index: int) -> int:
        tier = self.event(address).call("tier", tier_index)
        supply, minted = int(tier[1]), int(tier[2])
        return supply - minted

    def revoke_tx(self, address: str, token_ids: Sequence[int]) -> dict[str, Any]:
        event = self.event(address)
        return {"to": event.address, "data": event.encode("revoke", list(token_ids))}

    def simulate_revoke(self, address: str, token_ids: Sequence[int]) -> None:
        self.event(address).call("revoke", list(token_ids), sender=self.minter.address)

    def release_tx(self, address: str, token_id: int, to: str) -> dict[str, Any]:
        event = self.event(address)
        data = event.encode("releaseFromCustody", token_id, to_checksum_address(to))
        return {"to": event.address, "data": data}

    def owner_of(self, address: str, token_id: int) -> str:
        return to_checksum_address(self.event(address).call("ownerOf", token_id))


def _signer(settings: Settings, field: str, dev_index: int | None) -> Signer | None:
    """A key from the settings, or (in dev and test only) a Ganache development account."""
    from chain.keys import _signer_from_key

    value = getattr(settings, field)
    if value is not None:
        return _signer_from_key(value, f"env:FAIRGATE_{field.upper()}", f"FAIRGATE_{field.upper()}")
    if dev_index is not None and settings.env != "prod":
        return dev_signer(dev_index, mnemonic=settings.ganache_mnemonic, env=settings.env)
    return None
