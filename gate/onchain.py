"""The optional on-chain path: verify a gate proof in the contract (snarkjs Solidity verifier).

For organizers who want every entry verified and recorded on-chain (at ~235k gas for the pairing
alone, too slow and costly for a door, fine for disputes, audits or a small VIP entrance).

* :func:`verifier_artifact` compiles the verifier that ``snarkjs zkey export solidityverifier``
  made for the installed ceremony (:func:`zk.setup.solidity_verifier_path`), copied alone into
  ``build/gate/verifier`` so ``chain.compiler`` compiles just that file (cached by content hash);
* :func:`deploy_verifier` deploys it; ``TicketGateClient.set_verifier`` (organizer) plugs it in;
* :func:`check_in_onchain` sends ``checkIn`` (gate or organizer), :func:`verify_onchain` asks the
  ``verifyCheckIn`` view without spending the nullifier.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from chain.abi import Artifact
from chain.client import TxResult
from chain.deploy import deploy_contract
from chain.sender import TransactionSender
from chain.ticket_gate import TicketGateClient
from fairgate.errors import ToolchainError
from fairgate.settings import Settings, get_settings
from zk.proof import GateProof
from zk.setup import solidity_verifier_path

__all__ = ["check_in_onchain", "deploy_verifier", "verifier_artifact", "verify_onchain"]

log = logging.getLogger(__name__)

VERIFIER_CONTRACT = "Groth16Verifier"  # the contract name snarkjs 0.7 exports


def verifier_artifact(settings: Settings | None = None) -> Artifact:
    """The compiled snarkjs verifier of the installed ceremony."""
    from chain.compiler import compile_contracts  # the ceremony's own contract: compiled here

    settings = settings or get_settings()
    source = solidity_verifier_path()
    folder = settings.build_dir / "gate" / "verifier"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "GateVerifier.sol"
    if not target.is_file() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)
    artifacts = compile_contracts(Path(folder), settings=settings)
    if VERIFIER_CONTRACT not in artifacts:
        raise ToolchainError(f"{source} has no contract {VERIFIER_CONTRACT}")
    return artifacts[VERIFIER_CONTRACT]


def deploy_verifier(sender: TransactionSender, settings: Settings | None = None) -> str:
    """Deploy the verifier; returns its address."""
    address, gas, _ = deploy_contract(sender, verifier_artifact(settings))
    log.info("Groth16 verifier deployed at %s (gas %d)", address, gas)
    return address


def _args(proof: GateProof) -> tuple[list[int], list[list[int]], list[int]]:
    a, b, c, _ = proof.solidity_args()
    return a, b, c


def check_in_onchain(client: TicketGateClient, proof: GateProof) -> TxResult:
    """``checkIn``: verify on-chain and spend the nullifier (reverts decoded: NullifierUsed,
    UnknownRoot, InvalidProof, NoVerifier)."""
    a, b, c = _args(proof)
    pub = proof.public
    return client.check_in(a, b, c, pub.root, pub.nullifier, pub.challenge)


def verify_onchain(client: TicketGateClient, proof: GateProof) -> bool:
    """``verifyCheckIn`` (a view): would ``checkIn`` accept this proof now?"""
    a, b, c = _args(proof)
    pub = proof.public
    return client.verify_check_in(a, b, c, pub.root, pub.nullifier, pub.challenge)
