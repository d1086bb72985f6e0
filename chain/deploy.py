"""Deploy the platform (TicketGate, TicketEvent + TicketEventAdmin implementations, TicketFactory)
and remember where.

On development chains the test stablecoin (``contracts/dev/TestStablecoin.sol``: 6 decimals,
EIP-2612 permit, anyone mints) is deployed beside it (:func:`ensure_test_stablecoin`) and recorded
in the same record, so events can settle in a token locally (``fairgate dev faucet`` mints it).

A deployment is recorded per chain id in ``<home>/deployments/<chain_id>.json`` so the bridge,
the command line and the demo find the factory without configuration. A record whose factory has
no code on the chain (a fresh Ganache reuses chain id 1337) is stale and ignored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from chain.compiler import Artifact, load_artifact
from chain.factory import TicketFactoryClient
from chain.sender import TransactionSender
from fairgate.errors import ChainError, ConfigError
from fairgate.settings import Settings, get_settings

__all__ = [
    "TEST_STABLECOIN",
    "Deployment",
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
    """Deploy a fresh gate, implementations and factory, and record them for this chain."""
    settings = settings or get_settings()
    gate, _, _ = deploy_contract(sender, load_artifact("TicketGate", settings=settings))
    admin, _, _ = deploy_contract(sender, load_artifact("TicketEventAdmin", settings=settings))
    implementation, _, _ = deploy_contract(
        sender, load_artifact("TicketEvent", settings=settings), gate, admin
    )
    factory, _, block = deploy_contract(
        sender, load_artifact("TicketFactory", settings=settings), implementation
    )
    deployment = Deployment(sender.chain_id, factory, implementation, block, gate, admin)
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
    address, _, _ = deploy_contract(
        sender, load_artifact("TestStablecoin", settings=settings), *TEST_STABLECOIN
    )
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
