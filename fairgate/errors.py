"""The one exception root of Fairgate.

Every error the product raises on purpose derives from :class:`TicketError`. Each subclass also
derives from the builtin it resembles, so callers that only know Python still catch it sensibly
(the pattern web3.py uses with ``Web3Exception``). Contract reverts are decoded into subclasses of
:class:`ContractRevert` in ``chain.errors``, one per Solidity custom error.

Messages never contain private keys, secrets or passwords: build them from public data only.
"""

from __future__ import annotations


class TicketError(Exception):
    """Root of every error Fairgate raises on purpose.

    ``code`` is a stable machine-readable identifier (used by the API's JSON errors and the CLI's
    exit messages); subclasses override it.
    """

    code: str = "ticket_error"

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip().splitlines()[0]
        self.details = details

    def __str__(self) -> str:
        return self.message


class ConfigError(TicketError, ValueError):
    """A setting is missing or invalid."""

    code = "config_error"


class ToolchainError(TicketError, RuntimeError):
    """An external tool (solc, Ganache, circom, snarkjs, IPFS) failed or is missing."""

    code = "toolchain_error"


class ChainError(TicketError, RuntimeError):
    """The chain node failed, timed out, or answered something unexpected."""

    code = "chain_error"


class ContractRevert(ChainError):
    """A contract call reverted. Subclasses name the contract's custom error."""

    code = "contract_revert"


class KeyStoreError(TicketError, ValueError):
    """A key or keystore could not be used (wrong password, malformed file, missing secret)."""

    code = "key_error"


class ProofError(TicketError, ValueError):
    """A zero-knowledge proof, its inputs or its payload are invalid."""

    code = "proof_error"


class PaymentError(TicketError, RuntimeError):
    """A payment provider refused or failed an operation."""

    code = "payment_error"


class NotFound(TicketError, LookupError):
    """The thing asked for does not exist."""

    code = "not_found"


class Conflict(TicketError, ValueError):
    """The request conflicts with the current state (sold out, already used, wrong state)."""

    code = "conflict"
