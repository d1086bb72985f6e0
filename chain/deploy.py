"""Deploy the platform (TicketGate, TicketEvent + TicketEventAdmin implementations, TicketFactory)
and remember where.

A deployment is recorded per chain id in ``<home>/deployments/<chain_id>.json`` so the bridge,
the command line and the demo find the factory without configuration. A record whose factory has
no code on the chain (a fresh Ganache reuses chain id 1337) is stale and ignored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from chain.compiler import Artifact, load_artifact
from chain.factory import TicketFactoryClient
from chain.sender import TransactionSender
from fairgate.errors import ChainError
from fairgate.settings import Settings, get_settings

__all__ = ["Deployment", "deploy_contract", "deploy_platform", "ensure_platform", "load_deployment"]

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
    _record_path(settings, sender.chain_id).parent.mkdir(parents=True, exist_ok=True)
    _record_path(settings, sender.chain_id).write_text(json.dumps(asdict(deployment), indent=2))
    return deployment


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
