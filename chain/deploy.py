"""Deploy the platform (TicketGate, TicketEvent + TicketEventAdmin implementations, TicketFactory)
and remember where.

On development chains the test stablecoin (``contracts/dev/TestStablecoin.sol``: 6 decimals,
EIP-2612 permit, anyone mints) is deployed beside it (:func:`ensure_test_stablecoin`) and recorded
in the same record, so events can settle in a token locally (``fairgate dev faucet`` mints it).

Events are deployed through the factory by :class:`EventDeployer`, crash-safely: an event's
deployment is several transactions (the clone, the minter roles, the hand-over to the organizer);
each is reported signed, before it is broadcast, to a :data:`DeployRecord` callback (the bridge
stores it in its database), the chain is checked before each step, and recorded transactions are
brought to an end after a crash (:meth:`EventDeployer.settle`).

The build deployed is the one :func:`chain.evm.deploy_evm_version` picks for the node
(``FAIRGATE_EVM_VERSION``, by default the newest the node runs: cancun on Anvil, shanghai on
Ganache; cancun on Ganache is refused before anything is sent); the record says which.

A deployment is recorded per chain id in ``<home>/deployments/<chain_id>.json`` so the bridge,
the command line and the demo find the factory without configuration. A record whose factory has
no code on the chain (a fresh Ganache reuses chain id 1337) is stale and ignored.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from eth_account.datastructures import SignedMessage, SignedTransaction
from eth_account.messages import SignableMessage
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception
from web3.types import TxReceipt

from chain import abi
from chain.abi import Artifact
from chain.errors import DecodedRevert
from chain.evm import DEFAULT_EVM_VERSION, deploy_evm_version
from chain.factory import TicketFactoryClient
from chain.keys import Signer
from chain.sender import Fees, NonceConflict, NonceManager, TransactionSender, TxHandle
from chain.ticket_event import TicketEventClient
from chain.types import ROLE_MINTER, EventParams
from fairgate.errors import ChainError, ConfigError
from fairgate.settings import Settings, get_settings

__all__ = [
    "TEST_STABLECOIN",
    "DeployRecord",
    "Deployment",
    "EventDeployer",
    "RecordingSigner",
    "deploy_contract",
    "deploy_platform",
    "ensure_platform",
    "ensure_test_stablecoin",
    "load_deployment",
]

#: name, symbol and decimals of the development stablecoin
TEST_STABLECOIN = ("Fairgate Test USD", "FUSD", 6)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deployment:
    """Where the platform's contracts live on one chain."""

    chain_id: int
    factory: str
    implementation: str
    block_number: int
    gate: str
    admin: str = ""  # TicketEventAdmin, which TicketEvent forwards the organizer's operations to
    stablecoin: str | None = None  # the development test stablecoin, on dev chains only
    evm_version: str = DEFAULT_EVM_VERSION  # which build of the contracts (chain.evm)

    def factory_client(
        self, w3: Web3, sender: TransactionSender | None = None
    ) -> TicketFactoryClient:
        return TicketFactoryClient(w3, self.factory, sender)


def deploy_contract(
    sender: TransactionSender, artifact: Artifact, *args: Any
) -> tuple[str, int, int]:
    """Deploy a compiled contract; returns (address, gas used, block number)."""
    if not artifact.bytecode:
        raise ChainError(f"{artifact.name} has no bytecode (abstract or an interface)")
    constructor = sender.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor(
        *args
    )
    receipt = sender.send_and_wait({"data": constructor.data_in_transaction})
    address = receipt.get("contractAddress")
    if not address:
        raise ChainError(f"deploying {artifact.name} returned no contract address")
    log.info("deployed %s at %s (gas %d)", artifact.name, address, receipt["gasUsed"])
    return to_checksum_address(address), int(receipt["gasUsed"]), int(receipt["blockNumber"])


def deploy_platform(sender: TransactionSender, settings: Settings | None = None) -> Deployment:
    """Deploy a fresh gate, implementations and factory, and record them for this chain: the
    build of ``settings.evm_version`` for this node (ConfigError if the node cannot run it)."""
    settings = settings or get_settings()
    evm = deploy_evm_version(sender.w3, settings)
    log.info("deploying the %s build of the contracts", evm)

    def code(name: str) -> Artifact:
        return abi.artifact(name, evm_version=evm)

    gate, _, _ = deploy_contract(sender, code("TicketGate"))
    admin, _, _ = deploy_contract(sender, code("TicketEventAdmin"))
    implementation, _, _ = deploy_contract(sender, code("TicketEvent"), gate, admin)
    factory, _, block = deploy_contract(sender, code("TicketFactory"), implementation)
    deployment = Deployment(
        sender.chain_id, factory, implementation, block, gate, admin, evm_version=evm
    )
    _write_record(settings, deployment)
    return deployment


def ensure_test_stablecoin(sender: TransactionSender, settings: Settings | None = None) -> str:
    """The recorded test stablecoin of this chain's platform, or a new one (deployed by
    ``sender`` and recorded); refused outside development: it is worth nothing."""
    settings = settings or get_settings()
    if settings.env == "prod":
        raise ConfigError("the test stablecoin is for development chains only")
    deployment = ensure_platform(sender, settings)
    if deployment.stablecoin and sender.w3.eth.get_code(to_checksum_address(deployment.stablecoin)):
        return deployment.stablecoin
    coin = abi.artifact("TestStablecoin", evm_version=deployment.evm_version)
    address, _, _ = deploy_contract(sender, coin, *TEST_STABLECOIN)
    _write_record(settings, replace(deployment, stablecoin=address))
    return address


def _write_record(settings: Settings, deployment: Deployment) -> None:
    path = _record_path(settings, deployment.chain_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(deployment), indent=2))
    tmp.replace(path)


def load_deployment(w3: Web3, settings: Settings | None = None) -> Deployment | None:
    """The recorded deployment of this chain, if its factory still has code."""
    settings = settings or get_settings()
    path = _record_path(settings, int(w3.eth.chain_id))
    try:
        deployment = Deployment(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if not w3.eth.get_code(to_checksum_address(deployment.factory)):
        log.info("recorded factory %s has no code on this chain: ignoring it", deployment.factory)
        return None
    return deployment


def ensure_platform(sender: TransactionSender, settings: Settings | None = None) -> Deployment:
    """The recorded deployment, or a new one."""
    return load_deployment(sender.w3, settings) or deploy_platform(sender, settings)


def _record_path(settings: Settings, chain_id: int) -> Path:
    return settings.home / "deployments" / f"{chain_id}.json"


#: ``record(step, tx_hash, nonce, raw_tx)``: persist a deployment transaction before broadcast.
DeployRecord = Callable[[str, str, int, str], None]
#: ``hook(point)``: called at named points (``signed:<step>``, ``mined:<step>``); crash tests
#: kill the process there.
DeployHook = Callable[[str], None]


def _call(hook: DeployHook | None, point: str) -> None:
    if hook is not None:
        hook(point)


class RecordingSigner(Signer):
    """A signer reporting each signed transaction to ``record`` (with the current ``step``)
    before returning it to the sender, which broadcasts it only then."""

    __slots__ = ("_hook", "_inner", "_record", "step")

    def __init__(self, inner: Signer, record: DeployRecord, hook: DeployHook | None) -> None:
        # no super().__init__(): the key stays inside ``inner``
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


class EventDeployer:
    """Creates event clones through the factory as the platform's operator, crash-safely.

    ``minters`` get the minter role on every event; ``sender`` is the operator's (its signer is
    wrapped in a :class:`RecordingSigner` when a ``record`` callback is given).
    """

    def __init__(
        self, sender: TransactionSender, factory: str | None, minters: Sequence[str]
    ) -> None:
        self.sender = sender
        self.w3 = sender.w3
        self._factory = factory
        self.minters = [to_checksum_address(m) for m in minters]

    @property
    def operator(self) -> ChecksumAddress:
        return to_checksum_address(self.sender.address)

    def factory(self, sender: TransactionSender | None = None) -> TicketFactoryClient:
        if not self._factory:
            raise ConfigError("FAIRGATE_FACTORY_ADDRESS is not set")
        return TicketFactoryClient(self.w3, self._factory, sender or self.sender)

    def create_event(
        self,
        params: EventParams,
        hand_to: str | None = None,
        *,
        record: DeployRecord | None = None,
        on_cloned: Callable[[str, int], None] | None = None,
        hook: DeployHook | None = None,
    ) -> tuple[str, int]:
        """Deploy an event clone, grant the minter role to every minter account, and propose
        ``hand_to`` (the organizer's own wallet) as its organizer when given.

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
        sender = self._sender(record, hook, step="clone")
        client, result = self.factory(sender).create_event(params)
        _call(hook, "mined:clone")
        if on_cloned is not None:
            on_cloned(client.address, result.block_number)
        self.finish_event(client.address, hand_to, record=record, hook=hook)
        log.info("event deployed at %s in block %d", client.address, result.block_number)
        return client.address, result.block_number

    def finish_event(
        self,
        address: str,
        hand_to: str | None,
        *,
        record: DeployRecord | None = None,
        hook: DeployHook | None = None,
    ) -> int:
        """The steps after the clone, each only if the chain shows it is still missing: the
        minter role for every minter account, then the proposal to ``hand_to``. Returns the
        transactions sent (0: already set up)."""
        sender = self._sender(record, hook, step="roles")
        signer = sender.signer
        event = TicketEventClient(self.w3, address, sender)
        sent = 0
        for account in self.minters:
            roles = event.roles_of(account)
            if roles & ROLE_MINTER:
                continue
            if isinstance(signer, RecordingSigner):
                signer.step = f"roles:{account}"
            event.set_roles(account, roles | ROLE_MINTER)
            sent += 1
            _call(hook, "mined:roles")
        if hand_to is not None and to_checksum_address(hand_to) != self.operator:
            # Two-step hand-over: the operator proposes, the organizer's wallet accepts (CLI
            # `organizer accept`, or the dashboard). Until then the operator keeps the event.
            owner = to_checksum_address(hand_to)
            current = event.organizer()
            if current != owner and event.pending_organizer() != owner:
                if current != self.operator:
                    raise ChainError(
                        f"event {address} belongs to {current}, neither the operator nor {owner}"
                    )
                if isinstance(signer, RecordingSigner):
                    signer.step = "organizer"
                event.propose_organizer(owner)
                sent += 1
                _call(hook, "mined:organizer")
        return sent

    def settle(
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
        sender = self.sender
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
                    handle = TxHandle(self.operator, nonce, {}, Fees(), hashes, time.monotonic())
                    try:
                        receipt = sender.wait(handle, timeout=wait_s)
                    except DecodedRevert:
                        receipt = self._receipt_of(hashes)
                    except NonceConflict:
                        continue
                if receipt is not None:
                    receipts.append(receipt)
        finally:
            NonceManager.reset(sender.chain, self.operator)
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

    def _sender(
        self, record: DeployRecord | None, hook: DeployHook | None, *, step: str
    ) -> TransactionSender:
        if record is None:
            return self.sender
        signer = RecordingSigner(self.sender.signer, record, hook)
        signer.step = step
        return TransactionSender(self.w3, signer, settings=self.sender.settings)

    def _operator_nonce(self) -> int:
        return int(self.w3.eth.get_transaction_count(self.operator, "latest"))

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
