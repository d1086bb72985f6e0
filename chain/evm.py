"""Which EVM version a build of the contracts targets, and which build a node gets.

One source, two builds (issue 13): the contracts compile for ``shanghai`` (Ganache 7.9.2 runs
nothing newer) and for ``cancun`` (Anvil, and the public chains of the network profiles). The
cancun build keeps the reentrancy lock in transient storage (``contracts/_hardfork/cancun/``,
``TLOAD``/``TSTORE``) and lets the optimizer copy memory with ``MCOPY``; the ABIs are identical
(``python -m chain.abi`` refuses builds whose ABIs differ), so every client works with either.

Which build a deployment uses is ``settings.evm_version`` (``FAIRGATE_EVM_VERSION``):

* ``auto`` (the default): the newest build the node runs, found by :func:`node_evm_version`, which
  executes a few bytes of cancun code (``TSTORE``, ``TLOAD``, ``MCOPY``) in an ``eth_call``: plain
  JSON-RPC, so it answers for Ganache, Anvil, Hardhat, geth or an L2 alike;
* ``shanghai``: the shanghai build everywhere (it runs on any newer node too);
* ``cancun``: refused with a :class:`~fairgate.errors.ConfigError` on a node that cannot run it
  (Ganache), before anything is sent.

Without a node at hand (brownie's test project is compiled before its chain starts),
:func:`build_for_hardfork` gives the build of a hardfork name (``settings.anvil_hardfork`` or
``settings.ganache_hardfork``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal, get_args

from fairgate.errors import ChainError, ConfigError
from fairgate.settings import Settings, get_settings

if TYPE_CHECKING:
    from web3 import Web3

__all__ = [
    "CANCUN_OPCODES",
    "DEFAULT_EVM_VERSION",
    "EVM_VERSIONS",
    "HARDFORKS",
    "PROBE_CODE",
    "EvmVersion",
    "build_for_hardfork",
    "cancun_opcodes",
    "deploy_evm_version",
    "node_evm_version",
    "resolve_evm_version",
]

log = logging.getLogger(__name__)

EvmVersion = Literal["shanghai", "cancun"]
#: The builds, oldest first; the first is the default one (package data's plain ABI and code).
EVM_VERSIONS: tuple[EvmVersion, ...] = get_args(EvmVersion)
DEFAULT_EVM_VERSION: EvmVersion = EVM_VERSIONS[0]
#: Hardfork names as the nodes take them, oldest first (``merge`` is Ganache's name of paris).
HARDFORKS = ("london", "arrowGlacier", "grayGlacier", "merge", "paris", "shanghai", "cancun",
             "prague", "osaka")  # fmt: skip

#: Creation code run by ``eth_call`` (no ``to``): ``TSTORE(0, 1)``, ``MSTORE(0, TLOAD(0))``,
#: ``MCOPY(32, 0, 32)``, ``RETURN(32, 32)``: the word 1 on a cancun node, an invalid-opcode error
#: (or anything else) on an older one.
PROBE_CODE = "0x600160005d60005c6000526020600060205e60206020f3"
_PROBE_OK = "0x" + "00" * 31 + "01"


def build_for_hardfork(hardfork: str) -> EvmVersion:
    """The newest build a node running ``hardfork`` can execute (ValueError for an unknown or
    pre-shanghai hardfork: no build runs there, the shanghai one uses ``PUSH0``)."""
    name = hardfork.strip()
    lowered = {h.lower(): i for i, h in enumerate(HARDFORKS)}
    if name.lower() not in lowered:
        raise ValueError(f"unknown hardfork {hardfork!r}: one of {', '.join(HARDFORKS)}")
    rank = lowered[name.lower()]
    runnable = [v for v in EVM_VERSIONS if lowered[v] <= rank]
    if not runnable:
        raise ValueError(f"no build runs on {hardfork}: the oldest is {DEFAULT_EVM_VERSION}")
    return runnable[-1]


def node_evm_version(w3: Web3) -> EvmVersion:
    """The newest build the node behind ``w3`` runs: ``cancun`` when it executes
    :data:`PROBE_CODE` correctly, else ``shanghai``. ChainError when the node cannot be reached."""
    try:
        response: Any = w3.provider.make_request(
            "eth_call",  # type: ignore[arg-type]
            [{"data": PROBE_CODE, "gas": hex(100_000)}, "latest"],
        )
    except (OSError, ValueError) as exc:
        raise ChainError(f"cannot reach the node to learn its EVM version: {exc}") from exc
    result = response.get("result")
    if isinstance(result, str) and result.lower() == _PROBE_OK:
        return "cancun"
    log.debug("cancun probe answered %s: shanghai build", response.get("error", result))
    return "shanghai"


def resolve_evm_version(setting: str, node: EvmVersion) -> EvmVersion:
    """The build for ``setting`` (``auto`` or a build name) on a node that runs up to ``node``;
    ConfigError when the setting asks for a build the node cannot run."""
    if setting == "auto":
        return node
    if setting not in EVM_VERSIONS:
        raise ConfigError(
            f"FAIRGATE_EVM_VERSION={setting!r}: choose auto or one of {', '.join(EVM_VERSIONS)}"
        )
    if EVM_VERSIONS.index(setting) > EVM_VERSIONS.index(node):
        raise ConfigError(
            f"FAIRGATE_EVM_VERSION={setting} but this node runs nothing newer than {node} "
            f"(Ganache 7.9.2 stops at shanghai): set FAIRGATE_EVM_VERSION={node} or auto, or use "
            "a node that runs it (Anvil)"
        )
    return setting


def deploy_evm_version(w3: Web3, settings: Settings | None = None) -> EvmVersion:
    """The build to deploy on the node behind ``w3``, from ``settings.evm_version``."""
    settings = settings or get_settings()
    if settings.evm_version == DEFAULT_EVM_VERSION:
        return DEFAULT_EVM_VERSION  # runs on every node we deploy to: no probe needed
    return resolve_evm_version(settings.evm_version, node_evm_version(w3))


#: The opcodes only the cancun build has (EIP-1153 transient storage, EIP-5656 MCOPY).
CANCUN_OPCODES = {0x5C: "TLOAD", 0x5D: "TSTORE", 0x5E: "MCOPY"}


def cancun_opcodes(code: str | bytes) -> dict[str, int]:
    """How often each of :data:`CANCUN_OPCODES` occurs as an instruction of ``code`` (``0x``-hex
    or bytes): a walk over the instructions that steps over ``PUSH`` data and stops at the
    compiler's metadata (CBOR, its length in the last two bytes)."""
    raw = bytes.fromhex(code.removeprefix("0x")) if isinstance(code, str) else bytes(code)
    if len(raw) >= 2:
        metadata = int.from_bytes(raw[-2:], "big") + 2
        if metadata <= len(raw) and raw[-metadata : -metadata + 1] in (b"\xa1", b"\xa2", b"\xa3"):
            raw = raw[:-metadata]  # a CBOR map: solc's metadata
    counts = dict.fromkeys(CANCUN_OPCODES.values(), 0)
    i = 0
    while i < len(raw):
        op = raw[i]
        if op in CANCUN_OPCODES:
            counts[CANCUN_OPCODES[op]] += 1
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return counts
