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
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from eth_abi.abi import decode as abi_decode
from eth_account.datastructures import SignedMessage, SignedTransaction
from eth_account.messages import SignableMessage
from eth_utils.abi import event_abi_to_log_topic
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception
from web3.types import TxReceipt

from chain.client import ContractClient, DecodedEvent, TxResult
from chain.compiler import Artifact, load_artifact
from chain.errors import DecodedRevert
from chain.keys import Signer, dev_signer
from chain.receipts import checksum_address
from chain.rpc import connect, get_logs_paged
from chain.sender import Fees, NonceConflict, NonceManager, TransactionSender, TxHandle
from chain.types import ROLE_MINTER, EventParams, MintRun, encode_mint_batch
from fairgate.errors import ChainError, ConfigError
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
    """The TicketsIssued logs of one contract, decoded directly.

    web3's generic event decoding took ~4 ms per log (8.6 s of a 1,000-ticket run, profiled);
    this reads the three indexed topics and the data of the one event the worker needs. The data
    (``uint256 firstTokenId, bytes32[] commitments``) is read by its fixed layout when it has it
    (eth_abi's general decoder took ~0.1 ms a log), else decoded by eth_abi.
    """
    found = []
    wanted = address.lower()
    for entry in logs:
        topics = entry["topics"]
        if (
            not topics
            or bytes(topics[0]) != TICKETS_ISSUED
            or str(entry["address"]).lower() != wanted
        ):
            continue
        data = bytes(entry["data"])
        count = int.from_bytes(data[64:96], "big") if len(data) >= 96 else -1
        if data[32:64] == _ARRAY_AT_64 and len(data) == 96 + 32 * count:
            first = int.from_bytes(data[:32], "big")
            commitments = tuple("0x" + data[i : i + 32].hex() for i in range(96, len(data), 32))
        else:
            first, raw = abi_decode(["uint256", "bytes32[]"], data)
            commitments = tuple("0x" + bytes(c).hex() for c in raw)
        found.append(
            Issued(
                order_ref="0x" + bytes(topics[3]).hex(),
                holder=checksum_address("0x" + bytes(topics[1])[12:].hex()),
                first_token_id=int(first),
                commitments=commitments,
                tx_hash="0x" + bytes(entry["transactionHash"]).hex(),
                tier_id=int.from_bytes(bytes(topics[2]), "big"),
            )
        )
    return found


_ARRAY_AT_64 = (64).to_bytes(32, "big")


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
        return cls(
            connect(settings, timeout_s=60),
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

    def create_event(
        self,
        params: EventParams,
        hand_to: str | None = None,
        *,
        record: DeployRecord | None = None,
        on_cloned: Callable[[str, int], None] | None = None,
        hook: Callable[[str], None] | None = None,
    ) -> tuple[str, int]:
        """Deploy an event clone, grant the minter role to every bridge minter account, and
        propose ``hand_to`` (the organizer's own wallet) as its organizer when given.

        The hand-over is two-step (the contract requires the named organizer's consent): the
        operator keeps the event until the organizer's wallet accepts it (`fairgate organizer
        accept`, or the dashboard); from then on the event's proceeds, royalties and
        cancellation belong to that wallet alone, and the platform keeps only the minter role it
        needs for card orders. Sales start at once: what the operator holds meanwhile (escrow,
        royalties) stays in the contract and goes to the organizer's wallet after it accepts.

        Crash safety: ``record(step, tx_hash, nonce, raw_tx)`` is called for every transaction
        once signed and *before* it is broadcast (replacements included), so the caller can
        persist it; ``on_cloned(address, block)`` once the clone is mined. The steps after the
        clone are :meth:`finish_event`, which checks the chain before each send.
        """
        sender = self._deploy_sender(record, hook)
        result = self._factory_with(sender, "clone").transact("createEvent", params.as_abi())
        address = to_checksum_address(str(result.first("EventCreated").args["ticketEvent"]))
        _call(hook, "mined:clone")
        if on_cloned is not None:
            on_cloned(address, result.block_number)
        self.finish_event(address, hand_to, record=record, hook=hook)
        log.info("event deployed at %s in block %d", address, result.block_number)
        return address, result.block_number

    def finish_event(
        self,
        address: str,
        hand_to: str | None,
        *,
        record: DeployRecord | None = None,
        hook: Callable[[str], None] | None = None,
    ) -> int:
        """The steps after the clone, each only if the chain shows it is still missing: the
        minter role for every bridge minter account, then the proposal to ``hand_to``. Returns
        the transactions sent (0: already set up)."""
        sender = self._deploy_sender(record, hook)
        signer = sender.signer
        event = TicketEventContract(
            self.w3, address, sender, artifact=self._artifacts["TicketEvent"]
        )
        sent = 0
        for account in self.minter_accounts():
            if int(event.call("rolesOf", account)) & ROLE_MINTER:
                continue
            if isinstance(signer, _RecordingSigner):
                signer.step = f"roles:{account}"
            roles = int(event.call("rolesOf", account)) | ROLE_MINTER
            event.transact("setRoles", account, roles)
            sent += 1
            _call(hook, "mined:roles")
        if hand_to is not None and to_checksum_address(hand_to) != self.operator.address:
            # Two-step hand-over: the operator proposes, the organizer's wallet accepts (CLI
            # `organizer accept`, or the dashboard). Until then the operator keeps the event.
            owner = to_checksum_address(hand_to)
            current = to_checksum_address(event.call("organizer"))
            pending = to_checksum_address(event.call("pendingOrganizer"))
            if current != owner and pending != owner:
                if current != self.operator.address:
                    raise ChainError(
                        f"event {address} belongs to {current}, neither the operator nor {owner}"
                    )
                if isinstance(signer, _RecordingSigner):
                    signer.step = "organizer"
                event.transact("proposeOrganizer", owner)
                sent += 1
                _call(hook, "mined:organizer")
        return sent

    def settle_deploy_txs(
        self, txs: Sequence[Mapping[str, Any]], *, wait_s: float | None = None
    ) -> list[TxReceipt]:
        """Bring recorded deployment transactions (``hash``, ``nonce``, ``raw``) to an end, in
        nonce order: the receipts of those mined (failed ones included).

        A nonce already used by another transaction means ours never will be mined: skipped. A
        nonce still free: if the node knows none of its hashes (the process died between
        recording and broadcasting), the recorded raw transaction is broadcast again; then its
        receipt is awaited, at most ``wait_s`` (default ``settings.receipt_timeout_s``) seconds
        (:class:`chain.sender.TransactionTimeout` if it does not come).
        """
        by_nonce: dict[int, list[Mapping[str, Any]]] = {}
        for tx in txs:
            by_nonce.setdefault(int(tx["nonce"]), []).append(tx)
        sender = self.operator_sender
        receipts: list[TxReceipt] = []
        try:
            for nonce, group in sorted(by_nonce.items()):
                hashes = [str(t["hash"]) for t in group]
                used = self._operator_nonce() > nonce  # read before the receipts: no race
                receipt = self._receipt_of(hashes)
                if receipt is None and used:
                    log.info("deployment nonce %d was used by another transaction", nonce)
                    continue
                if receipt is None:
                    if not any(self._known(h) for h in hashes):
                        log.info("broadcasting recorded deployment transaction %s", hashes[-1])
                        try:
                            self.w3.eth.send_raw_transaction(HexBytes(str(group[-1]["raw"])))
                        except (Web3Exception, ValueError) as exc:
                            log.warning("rebroadcast of %s refused: %s", hashes[-1], exc)
                    handle = TxHandle(
                        self.operator.address, nonce, {}, Fees(), hashes, time.monotonic()
                    )
                    try:
                        receipt = sender.wait(handle, timeout=wait_s)
                    except DecodedRevert:
                        receipt = self._receipt_of(hashes)
                    except NonceConflict:
                        continue
                if receipt is not None:
                    receipts.append(receipt)
        finally:
            NonceManager.reset(sender.chain, self.operator.address)
        return receipts

    def clone_from_receipts(self, receipts: Sequence[TxReceipt]) -> tuple[str, int] | None:
        """The clone created by one of these (successful) receipts, with its block."""
        factory = self.factory()
        for receipt in receipts:
            if receipt["status"] != 1:
                continue
            created = factory.result(receipt).named("EventCreated")
            if created:
                address = to_checksum_address(str(created[0].args["ticketEvent"]))
                return address, int(receipt["blockNumber"])
        return None

    def _deploy_sender(
        self, record: DeployRecord | None, hook: Callable[[str], None] | None
    ) -> TransactionSender:
        if record is None:
            return self.operator_sender
        return TransactionSender(
            self.w3, _RecordingSigner(self.operator, record, hook), settings=self.settings
        )

    def _factory_with(self, sender: TransactionSender, step: str) -> FactoryContract:
        if isinstance(sender.signer, _RecordingSigner):
            sender.signer.step = step
        if not self.settings.factory_address:
            raise ConfigError("FAIRGATE_FACTORY_ADDRESS is not set")
        return FactoryContract(
            self.w3,
            self.settings.factory_address,
            sender,
            artifact=self._artifacts["TicketFactory"],
        )

    def _operator_nonce(self) -> int:
        return int(self.w3.eth.get_transaction_count(self.operator.address, "latest"))

    def _receipt_of(self, hashes: Sequence[str]) -> TxReceipt | None:
        for tx_hash in reversed(hashes):
            try:
                return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                continue
        return None

    def _known(self, tx_hash: str) -> bool:
        try:
            return self.w3.eth.get_transaction(HexBytes(tx_hash)) is not None
        except TransactionNotFound:
            return False

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
            "data": "0x" + encode_mint_batch(tier_index, runs).hex(),
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
        logs = get_logs_paged(
            self.w3,
            {
                "address": event.address,
                "fromBlock": from_block,
                "topics": [HexBytes(TICKETS_ISSUED), None, None, [HexBytes(r) for r in order_refs]],
            },
            settings=self.settings,
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

    def held_sale(self, address: str, token_id: int) -> tuple[str, int]:
        """The held first sale of a card ticket: (seller, price), price 0 when none is held."""
        seller, price = self.event(address).call("heldSale", token_id)
        return to_checksum_address(seller), int(price)

    def paid_in_eth(self, address: str, token_id: int) -> bool:
        """Whether the contract's escrow backs the ticket's face value (ETH-paid, a settled held
        sale, or funded by ``fundGiftRefunds``)."""
        return bool(self.event(address).call("paidInEth", token_id))

    def fund_gift_refunds_tx(
        self, address: str, token_ids: Sequence[int], value: int
    ) -> dict[str, Any]:
        event = self.event(address)
        data = event.encode("fundGiftRefunds", list(token_ids))
        return {"to": event.address, "data": data, "value": value}

    def release_tx(self, address: str, token_id: int, to: str) -> dict[str, Any]:
        event = self.event(address)
        data = event.encode("releaseFromCustody", token_id, to_checksum_address(to))
        return {"to": event.address, "data": data}

    def owner_of(self, address: str, token_id: int) -> str:
        return to_checksum_address(self.event(address).call("ownerOf", token_id))


#: ``record(step, tx_hash, nonce, raw_tx)``: persist a deployment transaction before broadcast.
DeployRecord = Callable[[str, str, int, str], None]


def _call(hook: Callable[[str], None] | None, point: str) -> None:
    if hook is not None:
        hook(point)


class _RecordingSigner(Signer):
    """The operator's signer, reporting each signed transaction to ``record`` (with the current
    ``step``) before returning it to the sender, which broadcasts it only then."""

    __slots__ = ("_hook", "_inner", "_record", "step")

    def __init__(
        self, inner: Signer, record: DeployRecord, hook: Callable[[str], None] | None
    ) -> None:  # no super().__init__(): the key stays inside ``inner``
        self._inner = inner
        self._record = record
        self._hook = hook
        self.address = inner.address
        self.source = inner.source
        self.step = "clone"

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTransaction:
        signed = self._inner.sign_transaction(tx)
        raw = "0x" + bytes(signed.raw_transaction).hex()
        self._record(self.step, "0x" + bytes(signed.hash).hex(), int(tx["nonce"]), raw)
        _call(self._hook, f"signed:{self.step}")
        return signed

    def sign_message(self, message: SignableMessage) -> SignedMessage:
        return self._inner.sign_message(message)

    def encrypt(self, password: Any, *, scrypt_n: int = 0) -> dict[str, Any]:
        raise ConfigError("a recording signer cannot export its key")


def _signer(settings: Settings, field: str, dev_index: int | None) -> Signer | None:
    """A key from the environment (``FAIRGATE_<ROLE>_KEY``) or a keystore file
    (``FAIRGATE_<ROLE>_KEYSTORE``), or, on a development chain outside prod only, a development
    account (:attr:`fairgate.settings.Settings.dev_accounts_allowed`)."""
    from chain.keys import _signer_from_key, load_keystore

    value = getattr(settings, field)
    if value is not None:
        return _signer_from_key(value, f"env:FAIRGATE_{field.upper()}", f"FAIRGATE_{field.upper()}")
    keystore = getattr(settings, field.replace("_key", "_keystore"), None)
    if keystore is not None:
        if settings.keystore_password is None:
            raise ConfigError(f"{keystore} needs its password in FAIRGATE_KEYSTORE_PASSWORD")
        return load_keystore(keystore, settings.keystore_password)
    if dev_index is not None and settings.dev_accounts_allowed:
        return dev_signer(dev_index, mnemonic=settings.ganache_mnemonic, env=settings.env)
    return None
